"""Profiles and reports of awkward columns: nothing to histogram first, values near +-1e308, infinities."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import deepscope as ds
from deepscope.cli import main
from deepscope.data.accumulators import NumericValues
from deepscope.viz.data_tables import profile_table_html

HUGE = np.array([1e308, -1e308, 1.5e308, -1.7e308, 1e308] * 20)


def _reference(values: np.ndarray) -> tuple[float, float]:
    scaled = values / 1e300  # exact enough in float64, and far from overflow
    return float(scaled.mean()) * 1e300, float(scaled.std(ddof=1)) * 1e300


@pytest.mark.parametrize(
    "first",
    [
        pa.array([None] * 6, pa.float64()),
        pa.array([{"a": 1}] * 6),
        pa.array([[1, 2]] * 6),
        pa.array([b"\xff\xfe\x00"] * 6, pa.binary()),
    ],
    ids=["all-null", "struct", "list", "not-utf8"],
)
def test_report_when_the_first_column_has_no_histogram(tmp_path, capsys, first):
    data = tmp_path / "d.parquet"
    pq.write_table(pa.table({"first": first, "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}), data)
    report = tmp_path / "r.html"
    assert main(["profile", str(data), "-o", str(report)]) in (0, 1)
    assert "Traceback" not in capsys.readouterr().err
    assert "first" in report.read_text()


def test_values_near_the_float_limit_have_finite_mean_and_std(tmp_path):
    data = tmp_path / "huge.parquet"
    pq.write_table(pa.table({"big": HUGE}), data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        feature = ds.data.profile(data)["big"]
    mean, std = _reference(HUGE)
    assert math.isclose(feature.mean, mean, rel_tol=1e-9)
    assert math.isclose(feature.std, std, rel_tol=1e-9)
    assert feature.min == HUGE.min() and feature.max == HUGE.max()


def test_huge_moments_merge_like_one_pass():
    whole, left, right = NumericValues(), NumericValues(), NumericValues()
    ordinary = np.linspace(-3.0, 5.0, 40)
    values = np.concatenate([ordinary, HUGE])
    whole.update(values)
    left.update(ordinary)
    right.update(HUGE)
    left.merge(NumericValues.from_state(right.to_state()))
    mean, std = _reference(values)
    for acc in (whole, left):
        assert math.isclose(acc.mean, mean, rel_tol=1e-9)
        assert math.isclose(acc.std, std, rel_tol=1e-9)
    small = NumericValues()
    small.update(ordinary)
    assert small.m2_shift == 0 and math.isclose(small.std, float(ordinary.std(ddof=1)))


def test_report_shows_infinite_counts(tmp_path):
    data = tmp_path / "inf.parquet"
    half = np.array([1.0, 2.0, 3.0, 4.0, 5.0, np.inf, -np.inf, np.inf, -np.inf, np.inf] * 10)
    pq.write_table(pa.table({"halfinf": half}), data)
    profile = ds.data.profile(data)
    assert profile["halfinf"].infinite == 50
    table = profile_table_html([profile])
    assert ">infinite</th>" in table and "<td>50</td>" in table
