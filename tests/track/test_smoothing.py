"""deepscope.track.smoothing.smooth against TensorBoard's scalar-card smoothing.

The reference below is written from TensorBoard's documented algorithm (the classic smoothing of
its line chart): an EMA started at 0, each output divided by 1 - w**k where k counts the finite
values seen; non-finite values pass through and do not advance the accumulator; a series whose
values are all equal (by ==) is returned unchanged.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepscope.errors import InvalidArgumentError, ShapeError
from deepscope.track.smoothing import smooth


def tensorboard_smoothing(values: list[float], weight: float) -> list[float]:
    if not values or all(v == values[0] for v in values):
        return list(values)
    last, seen, out = 0.0, 0, []
    for value in values:
        if not math.isfinite(value):
            out.append(value)
            continue
        last = last * weight + (1 - weight) * value
        seen += 1
        out.append(last / (1 if weight == 1 else 1 - weight**seen))
    return out


def test_known_series_by_hand():
    # w = 0.5: 0.5/0.5 = 1; (0.25 + 1)/0.75; (0.625 + 1.5)/0.875
    np.testing.assert_allclose(smooth([1.0, 2.0, 3.0], 0.5), [1.0, 1.25 / 0.75, 2.125 / 0.875])


def test_nan_gap_is_kept_and_skipped_by_the_accumulator():
    series = [1.0, 2.0, math.nan, math.inf, 3.0, -math.inf]
    out = smooth(series, 0.5)
    # The gap does not count: the 3.0 is the third finite value, smoothed as in [1, 2, 3].
    np.testing.assert_allclose(out[[0, 1, 4]], smooth([1.0, 2.0, 3.0], 0.5))
    assert math.isnan(out[2]) and out[3] == math.inf and out[5] == -math.inf


def test_default_weight_is_tensorboards_0_6():
    series = [0.3, 0.9, 0.1, 0.5]
    np.testing.assert_array_equal(smooth(series), tensorboard_smoothing(series, 0.6))


def test_constant_series_stays_constant():
    np.testing.assert_array_equal(smooth([0.7] * 50, 0.99), [0.7] * 50)


def test_weight_zero_is_identity_and_one_is_tensorboards_flat_line():
    series = [3.0, -1.0, 2.5]
    np.testing.assert_array_equal(smooth(series, 0.0), series)
    np.testing.assert_array_equal(smooth(series, 1.0), [0.0, 0.0, 0.0])


def test_empty_and_single():
    assert smooth([]).shape == (0,)
    np.testing.assert_array_equal(smooth([4.0]), [4.0])


def test_does_not_modify_input():
    series = np.array([1.0, 5.0, 2.0])
    smooth(series)
    np.testing.assert_array_equal(series, [1.0, 5.0, 2.0])


@pytest.mark.parametrize("weight", [-0.1, 1.5, math.nan, "0.5", True])
def test_bad_weight(weight):
    with pytest.raises(InvalidArgumentError, match="weight"):
        smooth([1.0, 2.0], weight)


def test_bad_values():
    with pytest.raises(ShapeError, match="values"):
        smooth(np.ones((2, 2)))
    with pytest.raises(InvalidArgumentError, match="values"):
        smooth(["a", "b"])


values = st.lists(
    st.one_of(
        st.floats(-1e6, 1e6, allow_nan=False),
        st.sampled_from([math.nan, math.inf, -math.inf, 0.0]),
    ),
    max_size=400,
)
weights = st.one_of(st.sampled_from([0.0, 0.6, 0.9, 0.99, 0.999, 1.0]), st.floats(0.0, 1.0))


@settings(max_examples=300, deadline=None)
@given(values, weights)
def test_equals_tensorboard_exactly(series, weight):
    np.testing.assert_array_equal(smooth(series, weight), tensorboard_smoothing(series, weight))


def test_long_series_with_weight_near_one_equals_tensorboard_exactly():
    rng = np.random.default_rng(0)
    series = rng.normal(size=20_000).cumsum()
    series[rng.random(series.size) < 0.01] = np.nan
    for weight in (0.6, 0.999, 0.9999):
        np.testing.assert_array_equal(smooth(series, weight), tensorboard_smoothing(series.tolist(), weight))
