"""Nearest neighbours: exact equals scikit-learn; approximate keeps recall >= 0.95 at 200k points."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from deepscope.embed import Neighbors, neighbors
from deepscope.errors import InvalidArgumentError
from deepscope.track import Run, open_logdir


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_exact_neighbours_equal_scikit_learns(metric):
    x = np.random.default_rng(0).normal(size=(400, 16)).astype(np.float32)
    queries = [0, 17, 399]
    ours = neighbors(x, queries, k=7, metric=metric)
    distances, found = NearestNeighbors(n_neighbors=8, metric=metric).fit(x).kneighbors(x[queries])
    np.testing.assert_array_equal(ours.indices, found[:, 1:])
    np.testing.assert_allclose(ours.distances, distances[:, 1:], rtol=1e-4, atol=1e-5)
    assert ours.exact and ours.recall == 1.0
    assert all(q not in row for q, row in zip(queries, ours.indices, strict=True))


@pytest.mark.slow  # builds a pynndescent graph of 200k points (about two minutes on 2 busy cores)
def test_approximate_recall_at_200k_points():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200_000, 8)).astype(np.float32)
    result = neighbors(x, np.arange(0, 200_000, 1000), k=10, metric="euclidean")
    assert not result.exact
    assert result.recall >= 0.95
    # the reported recall is measured, so it must agree with our own check
    truth = NearestNeighbors(n_neighbors=11).fit(x).kneighbors(x[result.queries[:50]])[1][:, 1:]
    hits = np.mean([len(np.intersect1d(a, b)) / 10 for a, b in zip(result.indices[:50], truth, strict=True)])
    assert hits >= 0.95


def test_neighbors_round_trip_and_table(tmp_path):
    x = np.random.default_rng(1).normal(size=(30, 4))
    result = neighbors(x, 3, k=4)
    frame = result.to_frame()
    assert frame["rank"].tolist() == [1, 2, 3, 4] and (frame["query"] == 3).all()
    assert frame["distance"].is_monotonic_increasing
    with Run(tmp_path, name="r") as run:
        result.save(run)
    loaded = open_logdir(tmp_path).load("r", "neighbors")
    assert isinstance(loaded, Neighbors)
    np.testing.assert_array_equal(loaded.indices, result.indices)
    assert loaded.figure().data[0].type == "bar"


def test_bad_k_and_index():
    x = np.ones((5, 2))
    with pytest.raises(InvalidArgumentError, match="k"):
        neighbors(x, 0, k=5)
    with pytest.raises(InvalidArgumentError, match="index"):
        neighbors(x, 9, k=2)
    with pytest.raises(InvalidArgumentError, match="metric"):
        neighbors(x, 0, k=2, metric="manhattan")
