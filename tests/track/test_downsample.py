"""deepscope.track.downsample: bounded point counts that keep what a chart must show."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, ShapeError
from deepscope.track.downsample import downsample

series_values = hnp.arrays(
    np.float64,
    st.integers(0, 3000),
    elements=st.one_of(
        st.floats(-1e9, 1e9, allow_nan=False),
        st.sampled_from([math.nan, math.inf, -math.inf]),
    ),
)


@settings(max_examples=300, deadline=None)
@given(series_values, st.integers(4, 300), st.booleans(), st.randoms(use_true_random=False))
def test_keeps_extremes_and_ends_and_bounds_the_count(values, max_points, shuffle, rnd):
    steps = np.arange(values.size) * 3 + 10
    if shuffle:
        order = list(range(values.size))
        rnd.shuffle(order)
        steps, values = steps[order], values[order]
    d = downsample(steps, values, max_points=max_points)

    assert len(d.x) == len(d.y) == len(d.index) <= max_points
    np.testing.assert_array_equal(d.x, steps[d.index])
    np.testing.assert_array_equal(d.y, values[d.index])
    assert np.all(np.diff(d.x) > 0)  # in step order, no duplicates

    finite = np.isfinite(values)
    assert np.all(np.isfinite(d.y))
    if finite.any():
        by_step = np.argsort(steps, kind="stable")
        finite_in_order = by_step[finite[by_step]]
        kept = set(d.index.tolist())
        assert finite_in_order[0] in kept and finite_in_order[-1] in kept
        assert d.y.min() == values[finite].min() and d.y.max() == values[finite].max()
        if finite.sum() <= max_points:
            assert kept == set(np.flatnonzero(finite).tolist())
    else:
        assert len(d.x) == 0

    # Every non-finite kind that occurs is marked, at a real point of that kind.
    assert d.total_nonfinite == int((~finite).sum())
    kinds = {"nan": np.isnan, "+inf": lambda v: v == math.inf, "-inf": lambda v: v == -math.inf}
    for kind, test in kinds.items():
        present = bool(test(values).any())
        marked = d.nonfinite_kind == kind
        assert present == bool(marked.any())
        assert np.all(test(values[d.nonfinite_index[marked]]))
    np.testing.assert_array_equal(d.nonfinite_x, steps[d.nonfinite_index])


def test_width_gives_two_points_per_pixel():
    rng = np.random.default_rng(0)
    values = rng.normal(size=10_000).cumsum()
    d = downsample(np.arange(10_000), values, width=300)
    assert 500 <= len(d.x) <= 600
    assert d.total == 10_000


def test_each_bucket_keeps_its_envelope():
    # A spike inside an otherwise flat series survives, at its step.
    values = np.zeros(10_000)
    values[4321] = 7.0
    values[8765] = -3.0
    d = downsample(np.arange(10_000), values, max_points=20)
    assert {4321, 8765} <= set(d.index.tolist())


def test_nan_and_inf_are_marked_not_dropped():
    values = np.linspace(0.0, 1.0, 1000)
    values[100] = np.nan
    values[500:] = np.inf
    d = downsample(np.arange(1000), values, max_points=50)
    assert d.nonfinite_kind[0] == "nan" and d.nonfinite_x[0] == 100
    assert set(d.nonfinite_kind.tolist()) == {"nan", "+inf"}
    inf_steps = d.nonfinite_x[d.nonfinite_kind == "+inf"]
    assert inf_steps.min() == 500 and len(inf_steps) <= 24  # one marker per bucket
    assert d.total_nonfinite == 501


def test_uneven_x_buckets_by_x_range():
    # Wall time with a long pause: the points after the pause keep their own buckets.
    x = np.r_[np.linspace(0, 1, 5000), np.linspace(1000, 1001, 5000)]
    values = np.sin(np.arange(10_000))
    d = downsample(x, values, max_points=100)
    assert len(d.x) <= 100
    assert (d.x > 999).sum() >= 2


def test_int_steps_stay_ints():
    d = downsample([0, 1, 2], [1.0, 2.0, 3.0], width=10)
    assert d.x.dtype.kind == "i"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({}, InvalidArgumentError),
        ({"width": 10, "max_points": 10}, InvalidArgumentError),
        ({"max_points": 3}, InvalidArgumentError),
        ({"width": 0}, InvalidArgumentError),
        ({"width": 1.5}, ArgumentTypeError),
    ],
)
def test_bad_limits(kwargs, error):
    with pytest.raises(error):
        downsample([0, 1], [0.0, 1.0], **kwargs)


def test_bad_series():
    with pytest.raises(ShapeError, match="y"):
        downsample([0, 1, 2], [0.0, 1.0], width=10)
    with pytest.raises(InvalidArgumentError, match="x"):
        downsample([0, math.nan], [0.0, 1.0], width=10)
