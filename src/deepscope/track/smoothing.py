"""TensorBoard's scalar smoothing: a debiased exponential moving average.

The dashboard's smoothing slider uses this, so a curve looks the same here as in TensorBoard.

>>> from deepscope.track.smoothing import smooth
>>> smooth([1.0, 2.0, float("nan"), 3.0], weight=0.5).round(4).tolist()
[1.0, 1.6667, nan, 2.4286]
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
from scipy.signal import lfilter

from deepscope.errors import InvalidArgumentError, ShapeError
from deepscope.validation import check_number

__all__ = ["smooth"]


def smooth(values: Sequence[float] | np.ndarray, weight: float = 0.6) -> np.ndarray:
    """Smooth a series as TensorBoard's scalar card does.

    A first-order low-pass filter started at zero, each output divided by ``1 - weight**k`` where
    ``k`` counts the finite values seen so far, so early points are not pulled towards zero.
    NaN and infinite values are returned unchanged and skipped by the accumulator; a constant
    series is returned as it is. ``weight=0`` returns the series, ``weight=1`` TensorBoard's flat
    zero line.

    >>> smooth([2.0, 2.0, 2.0]).tolist()
    [2.0, 2.0, 2.0]
    """
    weight = check_number(weight, "weight", low=0, high=1)
    try:
        y = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidArgumentError("values", "a 1-D sequence of numbers", values) from error
    if y.ndim != 1:
        raise ShapeError("values", "a 1-D sequence of numbers", y)
    # TensorBoard compares with `==`, so a series holding NaN is never constant (see its #786).
    if y.size == 0 or np.all(y == y[0]):
        return y
    finite = np.isfinite(y)
    x = y[finite]
    # y[n] = (1 - w) * x[n] + w * y[n-1] from a zero state: the same products and sum, in the same
    # order, as TensorBoard's `last * w + (1 - w) * next`, so the result is bit-identical.
    last = np.asarray(lfilter([1.0 - weight], [1.0, -weight], x))  # an array (no zi), typed as maybe a tuple
    if weight != 1.0:
        debias = _debias(weight, x.size)
        last[: debias.size] /= debias
    y[finite] = last
    return y


@functools.lru_cache(maxsize=32)
def _debias_table(weight: float, size: int) -> np.ndarray:
    # math.pow, not np.power: numpy's vectorised pow can differ from the C library's in the last
    # bit, and the reference algorithm is written with a scalar pow.
    table = np.array([1.0 - math.pow(weight, k) for k in range(1, size + 1)])
    table.flags.writeable = False
    return table


def _debias(weight: float, count: int) -> np.ndarray:
    """``1 - weight**k`` for k = 1.., only as far as it differs from 1.0 (dividing by 1.0 is exact)."""
    if weight == 0.0:
        return np.ones(0)
    # Past weight**k <= 2**-54, 1 - weight**k rounds to exactly 1.0; 8 terms of margin.
    needed = math.ceil(-54 * math.log(2) / math.log(weight)) + 8
    size = min(count, needed)
    # Round the cached length up to a power of two so series of many lengths share one table.
    table = _debias_table(weight, min(needed, 1 << max(size - 1, 0).bit_length()))
    return table[:size]
