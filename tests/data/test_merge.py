"""Profiles merge: profile(A + B) equals merge(profile(A), profile(B)); saved profiles merge too."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepscope.data import Profile, profile

_EXACT_FIELDS = (
    "type",
    "rows",
    "count",
    "missing",
    "nan",
    "infinite",
    "zeros",
    "min",
    "max",
    "unique",
    "top_values",
    "values_per_example",
)


def _assert_same(merged: Profile, whole: Profile) -> None:
    assert merged.rows == whole.rows
    assert merged.features == whole.features
    for name in whole.features:
        a, b = merged[name], whole[name]
        for field in _EXACT_FIELDS:
            assert getattr(a, field) == getattr(b, field), (name, field)
        for field in ("mean", "std", "avg_length"):
            x, y = getattr(a, field), getattr(b, field)
            assert (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, rel=1e-9, abs=1e-9), (name, field)
        if a.is_numeric and a.min is not None:
            qs = np.linspace(0, 1, 11)
            # Few distinct values: quantiles are exact on both sides, so they agree exactly.
            assert a.quantiles(qs).tolist() == b.quantiles(qs).tolist()


_floats = st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6), st.sampled_from([0.0, np.inf, -np.inf]))
_rows = st.tuples(
    _floats,
    st.one_of(st.none(), st.integers(-1000, 1000)),
    st.one_of(st.none(), st.sampled_from(["", "a", "bb", "ccc", "naïve"])),
    st.booleans(),
)


def _frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["x", "n", "s", "b"])
    frame["x"] = frame["x"].astype(float)
    frame["n"] = frame["n"].astype("Int64")
    return frame


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_rows, min_size=1, max_size=40), st.lists(_rows, min_size=1, max_size=40))
def test_profile_of_concatenation_equals_merge(first, second):
    a, b = _frame(first), _frame(second)
    whole = profile(pd.concat([a, b], ignore_index=True), batch_size=7)
    merged = profile(a, batch_size=5).merge(profile(b, batch_size=3))
    _assert_same(merged, whole)


def test_merge_of_sketched_quantiles_stays_within_rank_error():
    rng = np.random.default_rng(0)
    parts = [rng.normal(i, 1 + i, 40_000) for i in range(4)]
    merged = profile(pd.DataFrame({"x": parts[0]}))
    for part in parts[1:]:
        merged = merged.merge(profile(pd.DataFrame({"x": part})))
    values = np.sort(np.concatenate(parts))
    assert merged["x"].count == values.size
    assert merged["x"].mean == pytest.approx(values.mean(), rel=1e-12)
    assert merged["x"].std == pytest.approx(values.std(ddof=1), rel=1e-10)
    for q, estimate in zip(
        np.linspace(0.05, 0.95, 19), merged.quantiles("x", np.linspace(0.05, 0.95, 19)), strict=True
    ):
        rank = np.searchsorted(values, estimate) / values.size
        assert abs(rank - q) <= 0.01


def test_exact_counts_switch_to_a_sketch_when_merged_past_the_limit():
    left = profile(pd.DataFrame({"x": np.arange(0, 1500.0)}))
    right = profile(pd.DataFrame({"x": np.arange(1500, 3000.0)}))
    assert left["x"].sketch().is_exact and right["x"].sketch().is_exact
    merged = left.merge(right)
    assert not merged["x"].sketch().is_exact
    assert merged["x"].median == pytest.approx(1500, abs=30)
    assert merged["x"].unique == pytest.approx(3000, rel=0.02)


def test_merge_with_different_columns_counts_absent_ones_as_missing():
    a = profile(pd.DataFrame({"x": [1.0, 2.0], "only_a": ["u", "v"]}))
    b = profile(pd.DataFrame({"x": [3.0], "only_b": [True]}))
    merged = a.merge(b)
    assert merged.rows == 3
    assert (merged["only_a"].count, merged["only_a"].missing) == (2, 1)
    assert (merged["only_b"].count, merged["only_b"].missing) == (1, 2)
    assert merged["x"].mean == pytest.approx(2.0)


def test_int_and_float_parts_merge_as_float():
    merged = profile(pd.DataFrame({"x": [1, 2]})).merge(profile(pd.DataFrame({"x": [2.5, None]})))
    assert merged["x"].type == "float"
    assert merged["x"].count == 3 and merged["x"].missing == 1


def test_incompatible_parts_become_unsupported_with_a_reason():
    merged = profile(pd.DataFrame({"x": [1, 2]})).merge(profile(pd.DataFrame({"x": ["a", "b"]})))
    feature = merged["x"]
    assert feature.type == "unsupported"
    assert "int" in feature.reason and "string" in feature.reason
    assert feature.rows == 4


def test_save_load_round_trip_and_merge(tmp_path, mixed_frame):
    half = len(mixed_frame) // 2
    first = profile(mixed_frame.iloc[:half], name="monday")
    second = profile(mixed_frame.iloc[half:], name="tuesday")
    first.to_file(tmp_path / "monday.json")
    second.to_file(tmp_path / "tuesday.json")
    loaded = Profile.read(tmp_path / "monday.json")
    assert loaded == first
    combined = loaded.merge(Profile.read(tmp_path / "tuesday.json"), name="week")
    assert combined.name == "week"
    _assert_same(combined, profile(mixed_frame))


def test_save_into_a_run_uses_log_result():
    logged = {}

    class FakeRun:
        def log_result(self, tag, result):
            logged[tag] = result

    p = profile(pd.DataFrame({"x": [1, 2]}))
    p.save(FakeRun(), tag="train-profile")
    assert logged == {"train-profile": p}
