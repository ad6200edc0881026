"""Figures of profiles, drift and Dive draw what the results hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepscope.data import compare, dive, drift, profile
from deepscope.viz.data import (
    comparison_figure,
    dive_figure,
    drift_feature_figure,
    drift_figure,
    feature_figure,
    sparkline_figure,
)
from deepscope.viz.theme import category_colors


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(0, 1, 2000), "c": rng.choice(["a", "b", "c"], 2000)})
    serving = pd.DataFrame({"x": rng.normal(2, 1, 500), "c": rng.choice(["a", "b", "c"], 500)})
    return train, serving


def test_comparison_figure_overlays_datasets_per_feature(pair):
    comparison = compare(profile(pair[0], name="train"), profile(pair[1], name="serving"))
    fig = comparison_figure(comparison)
    assert len(fig.data) == 2 * len(comparison.order)
    colors = category_colors(["train", "serving"])
    assert {t.marker.color for t in fig.data if t.name == "train"} == {colors["train"]}
    bars = [t for t in fig.data if t.name == "serving" and t.xaxis in (None, "x")]
    assert sum(bars[0].y) == pytest.approx(100)
    single = feature_figure(comparison, "c")
    assert [t.name for t in single.data] == ["train", "serving"]
    assert set(single.data[0].x) == {"a", "b", "c"}
    spark = sparkline_figure(comparison, "x")
    assert spark.layout.width == 160 and not spark.layout.xaxis.visible


def test_profile_figure_from_the_result(pair):
    fig = profile(pair[0]).figure()
    assert {t.type for t in fig.data} == {"bar"}


def test_drift_figures_mark_drifted_features(pair):
    report = drift(*pair)
    fig = drift_figure(report)
    bar = fig.data[0]
    assert report.drifted_features == ["x"]
    colors = dict(zip(bar.y, bar.marker.color, strict=True))
    assert colors["x"] != colors["c"]
    scores = dict(zip(bar.y, bar.x, strict=True))
    assert scores["x"] > 1 > scores["c"] >= 0
    detail = drift_feature_figure(report, "x")
    assert [t.name for t in detail.data] == ["reference", "current"]
    assert sum(detail.data[0].y) == pytest.approx(100)


def test_dive_figure_draws_every_point_with_webgl():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"k": rng.choice(["u", "v"], 5000), "z": rng.random(5000)})
    fig = dive_figure(dive(frame, column="k", color="k"))
    assert {t.type for t in fig.data} == {"scattergl"}
    assert sum(len(t.x) for t in fig.data) == 5000
    assert [a.text for a in fig.layout.annotations] == ["u", "v"]


def test_dive_figure_shows_thumbnails_for_small_image_sets():
    images = np.random.default_rng(0).random((6, 1, 8, 8))
    fig = dive_figure(dive(pd.DataFrame({"i": range(6)}), images=images))
    assert len(fig.layout.images) == 6
    assert fig.layout.images[0].source.startswith("data:image/png;base64,")


def _spans(trace) -> np.ndarray:
    """[left, right] of each bar in axis units, as plotly draws a bar with an explicit offset."""
    x, width = np.asarray(trace.x, float), np.broadcast_to(np.asarray(trace.width, float), len(trace.x))
    assert trace.offset is not None  # without it plotly's grouping shifts the bar off its bucket
    left = x + np.broadcast_to(np.asarray(trace.offset, float), len(trace.x))
    return np.stack([left, left + width], axis=1)


def test_numeric_bars_sit_between_their_bucket_edges(pair):
    one = compare(profile(pair[0], name="train"))
    edges = np.asarray(one.histograms["x"]["edges"])
    (bar,) = [t for t in comparison_figure(one, features=["x"]).data]
    np.testing.assert_allclose(_spans(bar), np.stack([edges[:-1], edges[1:]], axis=1))
    np.testing.assert_allclose(
        np.asarray(bar.x) + np.asarray(bar.offset) + np.asarray(bar.width) / 2, (edges[:-1] + edges[1:]) / 2
    )

    two = compare(profile(pair[0], name="train"), profile(pair[1], name="serving"))
    edges = np.asarray(two.histograms["x"]["edges"])
    train, serving = comparison_figure(two, features=["x"]).data
    # Each dataset takes its half of every bucket, train first; together they fill it edge to edge.
    middle = (edges[:-1] + edges[1:]) / 2
    np.testing.assert_allclose(_spans(train), np.stack([edges[:-1], middle], axis=1))
    np.testing.assert_allclose(_spans(serving), np.stack([middle, edges[1:]], axis=1))
    for figure in (feature_figure(two, "x"), sparkline_figure(two, "x")):  # what the Data page draws
        for drawn, reference in zip(figure.data, (train, serving), strict=True):
            np.testing.assert_allclose(_spans(drawn), _spans(reference))
            np.testing.assert_allclose(drawn.y, reference.y)


def test_buckets_of_unequal_width_are_labelled_with_their_edges(pair):
    report = drift(*pair)
    edges = report.histograms["x"]["edges"]
    assert len(set(np.round(np.diff(edges), 6))) > 1  # cut at the reference's deciles
    fig = drift_feature_figure(report, "x")
    assert fig.layout.xaxis.type == "category"
    labels = list(fig.data[0].x)
    assert list(fig.data[1].x) == labels and len(set(labels)) == len(edges) - 1
    for label, low, high in zip(labels, edges[:-1], edges[1:], strict=True):
        a, b = label.split("–")
        assert float(a) == pytest.approx(low, rel=1e-2) and float(b) == pytest.approx(high, rel=1e-2)
