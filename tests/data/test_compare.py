"""Side-by-side overview: shared buckets, percentages, and the three sort orders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepscope.data import compare, profile
from deepscope.errors import ArgumentTypeError, InvalidArgumentError


@pytest.fixture(scope="module")
def profiles():
    rng = np.random.default_rng(0)
    train = pd.DataFrame(
        {
            "steady": rng.normal(0, 1, 4000),
            "moved": rng.normal(0, 1, 4000),
            "gappy": np.where(rng.random(4000) < 0.4, np.nan, rng.normal(0, 1, 4000)),
            "spiky": np.where(rng.random(4000) < 0.95, 0.0, rng.normal(5, 1, 4000)),
            "color": rng.choice(["red", "green", "blue"], 4000),
        }
    )
    serving = pd.DataFrame(
        {
            "steady": rng.normal(0, 1, 1000),
            "moved": rng.normal(3, 1, 1000),
            "gappy": rng.normal(0, 1, 1000),
            "spiky": np.where(rng.random(1000) < 0.95, 0.0, rng.normal(5, 1, 1000)),
            "color": rng.choice(["red", "green", "blue"], 1000),
        }
    )
    return profile(train, name="train"), profile(serving, name="serving")


def test_histograms_share_buckets_and_are_percentages(profiles):
    comparison = compare(*profiles)
    for feature, hist in comparison.histograms.items():
        assert set(hist["datasets"]) == {"train", "serving"}
        for shares in hist["datasets"].values():
            assert sum(shares) == pytest.approx(100.0), feature
    counts = compare(*profiles, normalize=False).histograms["moved"]["datasets"]
    assert sum(counts["serving"]) == pytest.approx(1000)


@pytest.mark.parametrize(
    "sort, first", [("distance", "moved"), ("missing", "gappy"), ("non_uniformity", "spiky"), ("name", "color")]
)
def test_sort_orders(profiles, sort, first):
    comparison = compare(*profiles, sort=sort)
    assert comparison.order[0] == first
    assert sorted(comparison.order) == sorted(profiles[0].features)
    frame = comparison.to_frame()
    assert frame["feature"].iloc[0] == first and frame["dataset"].tolist()[:2] == ["train", "serving"]


def test_sorting_changes_the_order_and_keeps_the_data(profiles):
    by_distance = compare(*profiles)
    by_name = by_distance.sorted_by("name")
    assert by_distance.order != by_name.order
    assert by_name.histograms is by_distance.histograms


def test_a_feature_absent_from_one_dataset_sorts_first_by_distance(profiles):
    extra = profile(pd.DataFrame({"steady": [0.1, 0.2], "only_here": [1, 2]}), name="extra")
    comparison = compare(profiles[0], extra)
    assert comparison.scores.set_index("feature").loc["only_here", "distance"] == 1.0
    assert comparison.order[0] in {"only_here", "moved", "gappy", "spiky", "color"}


def test_a_feature_whose_kind_changes_counts_as_far_apart():
    a = profile(pd.DataFrame({"v": [1.0, 2.0], "w": [1.0, 2.0], "e": [np.nan, np.nan]}), name="a")
    b = profile(pd.DataFrame({"v": ["x", "y"], "w": [1.0, 2.0], "e": [np.nan, np.nan]}), name="b")
    scores = compare(a, b).scores.set_index("feature")["distance"]
    assert (scores["v"], scores["w"], scores["e"]) == (1.0, 0.0, 0.0)


def test_same_names_are_told_apart_and_bad_input_is_typed(profiles):
    comparison = compare(profiles[0], profiles[0])
    assert comparison.datasets == ["train", "train (2)"]
    with pytest.raises(InvalidArgumentError, match="sort"):
        compare(*profiles, sort="size")
    with pytest.raises(ArgumentTypeError, match=r"profiles\[1\]"):
        compare(profiles[0], "serving")
    with pytest.raises(InvalidArgumentError, match="profiles"):
        compare()


def test_one_dataset_has_no_distance_to_sort_by(profiles):
    """A distance is between two distributions: alone, a dataset's distances are undefined (NaN,
    not 0), and sorting by distance keeps its column order."""
    one = compare(profiles[0])
    assert not one.has_distance
    assert one.scores["distance"].isna().all()
    assert one.order == profiles[0].features  # the column order, as no distance ranks them
    assert one.sorted_by("non_uniformity").order[0] == "spiky"
    two = compare(*profiles)
    assert two.has_distance and two.scores["distance"].notna().all()
    assert two.scores.set_index("feature").loc["moved", "distance"] > 0.5
