"""Activation atlas: cells cover the points, counts add up, labels follow the class read-out."""

from __future__ import annotations

import numpy as np
import pytest

import deepscope as ds
from deepscope.errors import InvalidArgumentError, NotFoundError


@pytest.fixture
def small_atlas(cnn, images):
    labels = np.arange(len(images)) % 3
    dataset = ds.datasets.ImageDataset(images, labels, None, ["a", "b", "c"])
    return ds.features.atlas(
        cnn,
        dataset,
        "relu2",
        n=200,
        grid=5,
        method="pca",
        min_count=3,
        steps=4,
        size=16,
        progress=False,
    )


def test_cells_cover_the_points_and_counts_add_up(small_atlas):
    a = small_atlas
    assert a.counts.sum() + a.dropped == len(a.points) == 200
    assert (a.counts >= 3).all()
    for i in range(len(a.counts)):
        inside = a.points[a.point_cell == i]
        assert len(inside) == a.counts[i]
        squares = np.minimum((inside * a.grid).astype(int), a.grid - 1)
        assert (squares[:, 0] == a.cell_x[i]).all() and (squares[:, 1] == a.cell_y[i]).all()
    assert a.points.min() >= 0 and a.points.max() <= 1
    assert a.images.shape == (len(a.counts), 3, 16, 16)
    assert set(a.labels) <= {0, 1, 2}


def test_class_filter_keeps_the_cells_of_one_class(small_atlas):
    label = int(small_atlas.labels[0])
    name = small_atlas.class_names[label]
    only = small_atlas.filter(name)
    assert len(only.counts) == int((small_atlas.labels == label).sum())
    assert (only.labels == label).all()
    assert (only.point_cell >= 0).sum() == only.counts.sum()
    with pytest.raises(NotFoundError):
        small_atlas.filter("zebra")
    fig = small_atlas.figure(label=name)
    assert "class" in fig.layout.title.text


def test_atlas_round_trips_and_draws(small_atlas, tmp_path):
    with ds.Run(tmp_path, name="r") as run:
        tag = small_atlas.save(run)
    loaded = ds.open_logdir(tmp_path).load("r", tag)
    np.testing.assert_array_equal(loaded.images, small_atlas.images)
    np.testing.assert_array_equal(loaded.counts, small_atlas.counts)
    assert loaded.to_frame().equals(small_atlas.to_frame())
    assert len(loaded.cells) == len(small_atlas.counts)
    assert len(loaded.figure().data) == 2


def test_atlas_arguments_are_checked(cnn, images):
    with pytest.raises(InvalidArgumentError, match="method"):
        ds.features.atlas(cnn, images, "relu2", method="tsne", progress=False)
    with pytest.raises(NotFoundError):
        ds.features.atlas(cnn, images, "relu9", progress=False)
