"""Projections: PCA against scikit-learn, custom axes on a constructed case, t-SNE and UMAP
keeping planted clusters apart, and the save/load round trip of a Projection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA

from deepscope.embed import Projection, project
from deepscope.errors import InvalidArgumentError, ShapeError
from deepscope.track import Run, open_logdir


def _blobs(n_per: int = 60, dims: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=8.0, size=(3, dims))
    labels = np.repeat(np.arange(3), n_per)
    return (centres[labels] + rng.normal(size=(len(labels), dims))).astype(np.float32), labels


@pytest.mark.parametrize(("rows", "dims"), [(300, 2), (12_000, 3)])
def test_pca_equals_scikit_learn_up_to_sign(rows, dims):
    x = np.random.default_rng(1).normal(size=(rows, 20)).astype(np.float32)
    x[:, 0] *= 6
    x[:, 1] *= 4
    x[:, 2] *= 3  # well separated leading components, so the randomized solver agrees
    ours = project(x, "pca", dims=dims)
    solver = "randomized" if rows > 10_000 else "full"
    reference = PCA(n_components=dims, svd_solver=solver, random_state=0).fit(x)
    expected = reference.transform(x)
    signs = np.sign((ours.coords * expected).sum(axis=0))
    np.testing.assert_allclose(ours.coords * signs, expected, atol=2e-3 * np.abs(expected).max())
    np.testing.assert_allclose(ours.explained_variance, reference.explained_variance_ratio_, rtol=1e-4)
    assert ours.axis_labels[0].startswith("PC1 (")


def test_custom_axes_measure_position_between_the_query_centroids():
    # points on a line from "cat" centroid (0,...) to "dog" centroid (e0 * 4) plus orthogonal noise
    rng = np.random.default_rng(0)
    t = rng.uniform(-1, 2, size=40)
    x = np.zeros((40, 5))
    x[:, 0] = 4 * t
    x[:, 1:] = rng.normal(size=(40, 4))
    kind = np.array(["other"] * 40, dtype=object)
    cats = np.arange(0, 40, 5)
    dogs = np.arange(1, 40, 5)
    x[cats, 0] = 0.0
    x[dogs, 0] = 4.0
    x[np.concatenate([cats, dogs]), 2] = 0.0
    kind[cats], kind[dogs] = "cat", "dog"
    meta = pd.DataFrame({"kind": kind})
    p = project(x, "custom", metadata=meta, axes=[("kind=cat", "kind=dog"), ("kind=cat", "kind=dog")])
    cat_centre = x[cats].mean(axis=0)
    direction = x[dogs].mean(axis=0) - cat_centre
    expected = (x - cat_centre) @ (direction / np.linalg.norm(direction))
    np.testing.assert_allclose(p.coords[:, 0], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(p.coords[cats, 0].mean(), 0.0, atol=1e-5)
    np.testing.assert_allclose(p.coords[dogs, 0].mean(), np.linalg.norm(direction), rtol=1e-5)
    assert p.axis_labels[0] == "kind=cat → kind=dog"
    mask_version = project(x, "custom", dims=2, axes=[(kind == "cat", kind == "dog")])
    np.testing.assert_allclose(mask_version.coords[:, 0], expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("method", ["tsne", "umap"])
def test_nonlinear_projections_keep_planted_clusters_apart_and_are_seeded(method):
    x, labels = _blobs()
    options = {"n_iter": 250} if method == "tsne" else {"n_epochs": 100}
    first = project(x, method, seed=3, **options)
    again = project(x, method, seed=3, **options)
    np.testing.assert_allclose(first.coords, again.coords, rtol=1e-4, atol=1e-4)
    centres = np.stack([first.coords[labels == c].mean(axis=0) for c in range(3)])
    spread = max(np.linalg.norm(first.coords[labels == c] - centres[c], axis=1).mean() for c in range(3))
    gaps = [np.linalg.norm(centres[a] - centres[b]) for a in range(3) for b in range(a + 1, 3)]
    assert min(gaps) > 2 * spread
    assert first.method == method and first.coords.shape == (len(x), 2)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_umap_neighbour_graph_above_4096_points_agrees_with_exact_search(metric):
    from sklearn.neighbors import NearestNeighbors

    from deepscope.embed.projection import UMAP_EXACT_BELOW, _umap_neighbours

    x, _ = _blobs(n_per=1500, dims=10)
    assert len(x) >= UMAP_EXACT_BELOW
    found = _umap_neighbours(x, 15, metric, seed=0)
    assert found is not None
    indices, distances = found
    assert indices.shape == distances.shape == (len(x), 15)
    assert (indices[:, 0] == np.arange(len(x))).all() and (distances[:, 0] == 0).all()
    exact_distances, exact = NearestNeighbors(n_neighbors=15, metric=metric).fit(x).kneighbors(x)
    recall = np.mean([len(set(a) & set(b)) / 15 for a, b in zip(indices, exact, strict=True)])
    assert recall >= 0.95
    # the distances are the metric's own (cosine: 1 - cos, as UMAP's pynndescent reports it)
    same = indices[:, 1] == exact[:, 1]
    np.testing.assert_allclose(distances[same, 1], exact_distances[same, 1], rtol=1e-3, atol=1e-5)
    assert _umap_neighbours(x[:100], 15, metric, seed=0) is None  # UMAP's own exact search


def test_umap_above_4096_points_keeps_planted_clusters_apart():
    x, labels = _blobs(n_per=1400, dims=10)
    p = project(x, "umap", n_epochs=30)
    centres = np.stack([p.coords[labels == c].mean(axis=0) for c in range(3)])
    spread = max(np.linalg.norm(p.coords[labels == c] - centres[c], axis=1).mean() for c in range(3))
    assert min(np.linalg.norm(centres[a] - centres[b]) for a in range(3) for b in range(a + 1, 3)) > 2 * spread


def test_progress_reaches_the_end():
    x, _ = _blobs(20)
    seen: list[float] = []
    project(x, "tsne", n_iter=50, perplexity=10, progress=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] == pytest.approx(1.0)


def test_projection_round_trips_through_a_run(tmp_path):
    x, _ = _blobs(10)
    p = project(x, "pca", dims=3)
    with Run(tmp_path, name="r") as run:
        tag = p.save(run)
    loaded = open_logdir(tmp_path).load("r", tag)
    assert isinstance(loaded, Projection) and tag == "projection"
    np.testing.assert_array_equal(loaded.coords, p.coords)
    np.testing.assert_array_equal(loaded.explained_variance, p.explained_variance)
    assert (loaded.method, loaded.dims, loaded.axis_labels) == ("pca", 3, p.axis_labels)
    assert list(loaded.to_frame().columns) == ["x", "y", "z"]
    assert loaded.figure().data[0].type == "scatter3d"


def test_bad_arguments_raise_typed_errors():
    x, _ = _blobs(5)
    with pytest.raises(InvalidArgumentError, match="method"):
        project(x, "lda")
    with pytest.raises(InvalidArgumentError, match="dims"):
        project(x, dims=4)
    with pytest.raises(ShapeError, match="vectors"):
        project(np.ones(5))
    with pytest.raises(InvalidArgumentError, match="matching at least one"):
        project(x, "custom", metadata={"k": ["a"] * len(x)}, axes=[("k=a", "k=b")])
