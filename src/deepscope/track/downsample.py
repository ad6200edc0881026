"""Server-side downsampling of scalar series for charts.

A chart ``width`` pixels wide never needs more than about two points per pixel: the lowest and the
highest value that fall on that pixel column draw the same envelope as every point would. Each
series keeps its first and last point and, through its buckets, its global minimum and maximum.
NaN and infinite values cannot be drawn on a line, so they come back separately as marker
positions instead of being dropped.

>>> import numpy as np
>>> from deepscope.track.downsample import downsample
>>> steps = np.arange(10_000)
>>> values = np.sin(steps / 300.0)
>>> values[5_000] = np.nan
>>> d = downsample(steps, values, width=400)
>>> len(d.x) <= 800, d.nonfinite_x.tolist(), d.nonfinite_kind.tolist()
(True, [5000], ['nan'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np

from deepscope.errors import InvalidArgumentError, ShapeError
from deepscope.validation import check_int

__all__ = ["Downsampled", "downsample", "minmax_indices"]

_KINDS = np.array(["nan", "+inf", "-inf"])


@dataclass(frozen=True)
class Downsampled:
    """What a chart draws for one series.

    ``x``/``y`` are the finite points to draw as a line (in x order) and ``index`` their positions
    in the series given. ``nonfinite_*`` are the NaN/Inf points to draw as markers: their x, their
    value and kind (``"nan"``, ``"+inf"``, ``"-inf"``), and their positions; at most one marker of
    each kind per bucket. ``total`` and ``total_nonfinite`` count the points before downsampling.
    """

    x: np.ndarray
    y: np.ndarray
    index: np.ndarray
    nonfinite_x: np.ndarray
    nonfinite_y: np.ndarray
    nonfinite_kind: np.ndarray
    nonfinite_index: np.ndarray
    total: int
    total_nonfinite: int


def downsample(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    width: int | None = None,
    max_points: int | None = None,
    points_per_pixel: int = 2,
) -> Downsampled:
    """Downsample one series to at most ``max_points`` line points with min/max buckets.

    Give the chart's ``width`` in pixels (``max_points = points_per_pixel * width``) or
    ``max_points`` directly. ``x`` is the step, relative or wall time, and need not be evenly
    spaced; it is sorted (stably) if it is not already. Buckets are equal slices of the x range,
    so one bucket is one pixel column. Each bucket keeps its lowest and highest finite value, and
    the series its first and last finite point, all in x order.

    >>> d = downsample(range(8), [3.0, -1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0], max_points=6)
    >>> d.x.tolist(), d.y.tolist()
    ([0, 1, 2, 5, 6, 7], [3.0, -1.0, 4.0, 9.0, 2.0, 6.0])
    """
    limit = _max_points(width, max_points, points_per_pixel)
    xs = _as_1d("x", x, keep_integers=True)
    ys = _as_1d("y", y)
    if xs.shape != ys.shape:
        raise ShapeError("y", f"as many values as x ({xs.size})", ys)
    if not np.all(np.isfinite(xs)):
        raise InvalidArgumentError("x", "finite numbers (steps or times)", "NaN or Inf in x")

    order = None
    if xs.size > 1 and np.any(xs[1:] < xs[:-1]):
        order = np.argsort(xs, kind="stable")
        xs, ys = xs[order], ys[order]

    finite = np.isfinite(ys)
    buckets = max((limit - 2) // 2, 1)
    bucket = _bucket_of(xs, buckets)

    keep = np.flatnonzero(finite)
    if keep.size > limit:
        keep = keep[minmax_indices(ys[keep], bucket[keep])]

    bad = np.flatnonzero(~finite)
    kind = np.where(np.isnan(ys[bad]), 0, np.where(ys[bad] > 0, 1, 2))
    if bad.size:
        # One marker per (bucket, kind): the first in x order.
        key = bucket[bad] * 3 + kind
        _, first = np.unique(key, return_index=True)
        first.sort()
        marked, kind = bad[first], kind[first]
    else:
        marked = bad

    original = order if order is not None else np.arange(xs.size)
    return Downsampled(
        x=xs[keep],
        y=ys[keep],
        index=original[keep],
        nonfinite_x=xs[marked],
        nonfinite_y=ys[marked],
        nonfinite_kind=_KINDS[kind],
        nonfinite_index=original[marked],
        total=int(xs.size),
        total_nonfinite=int(bad.size),
    )


def minmax_indices(values: np.ndarray, bucket: np.ndarray) -> np.ndarray:
    """Positions to keep: per bucket its min and max, plus the first and last point, sorted.

    ``values`` are finite and ``bucket`` is non-decreasing (points in x order). Ties keep the
    earliest point. Vectorised: one pass of ``reduceat`` per extreme, no per-point Python.
    """
    n = values.size
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    new_bucket = np.empty(n, dtype=bool)  # where a bucket starts
    new_bucket[0] = True
    np.not_equal(bucket[1:], bucket[:-1], out=new_bucket[1:])
    starts = np.flatnonzero(new_bucket)
    counts = np.diff(starts, append=n)
    picks = [np.array([0, n - 1], dtype=np.intp)]
    for reduce in (np.minimum, np.maximum):
        extreme = np.repeat(reduce.reduceat(values, starts), counts)
        hits = np.flatnonzero(values == extreme)
        # The first hit in each bucket: hits are sorted, so a new bucket starts a new run.
        hit_bucket = bucket[hits]
        first = np.empty(hits.size, dtype=bool)
        first[:1] = True
        np.not_equal(hit_bucket[1:], hit_bucket[:-1], out=first[1:])
        picks.append(hits[first])
    # Sorted without repeats (np.unique's own set-up costs more than this on a few hundred picks).
    kept = np.concatenate(picks)
    kept.sort()
    distinct = np.empty(kept.size, dtype=bool)
    distinct[0] = True
    np.not_equal(kept[1:], kept[:-1], out=distinct[1:])
    return kept[distinct]


def _bucket_of(xs: np.ndarray, buckets: int) -> np.ndarray:
    if xs.size == 0:
        return np.zeros(0, dtype=np.intp)
    lo, hi = xs[0], xs[-1]
    span = hi - lo
    if span <= 0:
        return np.zeros(xs.size, dtype=np.intp)
    scaled = (xs - lo).astype(np.float64) * (buckets / float(span))
    return np.minimum(scaled.astype(np.intp), buckets - 1)


def _max_points(width: int | None, max_points: int | None, points_per_pixel: int) -> int:
    if (width is None) == (max_points is None):
        raise InvalidArgumentError(
            "width",
            "exactly one of width (pixels) or max_points",
            f"width={width!r}, max_points={max_points!r}",
        )
    if width is not None:
        _check_int("width", width, 1)
        _check_int("points_per_pixel", points_per_pixel, 1)
        return max(points_per_pixel * int(width), 4)
    _check_int("max_points", max_points, 4, "room for the first, last, min and max points")
    return int(cast(int, max_points))  # exactly one of width and max_points is set


def _check_int(name: str, value: object, low: int, why: str | None = None) -> None:
    check_int(value, name, low=low, hint=why)


def _as_1d(name: str, values: Sequence[float] | np.ndarray, keep_integers: bool = False) -> np.ndarray:
    try:
        array = np.asarray(values)
        if not (keep_integers and array.dtype.kind in "iu"):
            array = array.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidArgumentError(name, "a 1-D sequence of numbers", values) from error
    if array.ndim != 1:
        raise ShapeError(name, "a 1-D sequence of numbers", array)
    return array
