"""A density image of many points (1M and more), aggregated on the server for one view.

Aggregation uses datashader when it is installed, else numpy's 2-D histogram; both give the
point count per pixel, shaded here with a log scale so sparse regions stay visible.

>>> import numpy as np
>>> image = density_image(np.random.default_rng(0).normal(size=(1000, 2)), width=40, height=30)
>>> image.rgba.shape, image.count
((30, 40, 4), 1000)
"""

from __future__ import annotations

import dataclasses
import importlib.util
from typing import Any

import numpy as np

from deepscope.errors import InvalidArgumentError, ShapeError
from deepscope.validation import check_int

__all__ = ["DensityImage", "density_image", "in_view", "ENGINE"]


def _engine() -> str:
    return "datashader" if importlib.util.find_spec("datashader") is not None else "numpy"


#: what aggregates points into pixels here: "datashader" or "numpy"
ENGINE = _engine()
# Viridis at 8 stops, from low to high density
_RAMP = np.array(
    [
        [68, 1, 84],
        [70, 50, 126],
        [54, 92, 141],
        [39, 127, 142],
        [31, 161, 135],
        [74, 193, 109],
        [160, 218, 57],
        [253, 231, 37],
    ],
    dtype=np.float64,
)


@dataclasses.dataclass(frozen=True)
class DensityImage:
    """Pixels [height, width, 4] (RGBA, row 0 at the top) covering ``x_range`` x ``y_range``.

    ``counts`` [height, width] is the number of points per pixel (row 0 at the top), ``count``
    the number of points inside the view, ``engine`` what aggregated them.
    """

    rgba: np.ndarray
    counts: np.ndarray
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    count: int
    engine: str


def in_view(coords: np.ndarray, x_range: tuple[float, float], y_range: tuple[float, float]) -> np.ndarray:
    """Boolean mask of the points of ``coords`` [N, 2] inside the view."""
    x, y = coords[:, 0], coords[:, 1]
    return (x >= x_range[0]) & (x <= x_range[1]) & (y >= y_range[0]) & (y <= y_range[1])


def density_image(
    coords: Any,
    *,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    width: int = 600,
    height: int = 450,
    engine: str | None = None,
) -> DensityImage:
    """Count the points of ``coords`` [N, 2] per pixel of a ``width`` x ``height`` view and shade them.

    The view defaults to the points' extent; ``engine`` ("datashader" or "numpy") defaults to
    :data:`ENGINE`.
    """
    points = np.asarray(coords)
    if points.ndim != 2 or points.shape[1] < 2 or len(points) == 0:
        raise ShapeError("coords", "coordinates [N, 2] of at least one point", points)
    width = check_int(width, "width", low=4, high=4096, hint="a pixel count")
    height = check_int(height, "height", low=4, high=4096, hint="a pixel count")
    engine = ENGINE if engine is None else engine
    if engine not in ("datashader", "numpy"):
        raise InvalidArgumentError("engine", "'datashader' or 'numpy'", engine)
    x_range = _range(points[:, 0], x_range, "x_range")
    y_range = _range(points[:, 1], y_range, "y_range")
    if engine == "datashader":
        counts = _datashader_counts(points, x_range, y_range, width, height)
    else:
        counts = _numpy_counts(points, x_range, y_range, width, height)
    counts = counts[::-1]  # row 0 at the top, as images are drawn
    return DensityImage(_shade(counts), counts, x_range, y_range, int(counts.sum()), engine)


def _range(values: np.ndarray, given: Any, argument: str) -> tuple[float, float]:
    if given is None:
        low, high = float(values.min()), float(values.max())
        pad = (high - low) * 0.02 or 1.0
        return (low - pad, high + pad)
    try:
        low, high = (float(v) for v in given)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(argument, "a pair (low, high)", given) from exc
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise InvalidArgumentError(argument, "finite bounds with low < high", given)
    return (low, high)


def _numpy_counts(
    points: np.ndarray,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    width: int,
    height: int,
) -> np.ndarray:
    counts, _, _ = np.histogram2d(points[:, 1], points[:, 0], bins=(height, width), range=(y_range, x_range))
    return counts.astype(np.uint32)


def _datashader_counts(
    points: np.ndarray,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    width: int,
    height: int,
) -> np.ndarray:
    import datashader
    import pandas as pd

    frame = pd.DataFrame({"x": points[:, 0], "y": points[:, 1]}, copy=False)
    canvas = datashader.Canvas(plot_width=width, plot_height=height, x_range=x_range, y_range=y_range)
    aggregate = canvas.points(frame, "x", "y", agg=datashader.count())
    return np.asarray(aggregate.values, dtype=np.uint32)  # row 0 at y_range[0]


def _shade(counts: np.ndarray) -> np.ndarray:
    """Log-scaled Viridis; empty pixels transparent."""
    rgba = np.zeros((*counts.shape, 4), dtype=np.uint8)
    filled = counts > 0
    if not filled.any():
        return rgba
    level = np.log1p(counts[filled].astype(np.float64))
    top = level.max()
    level = level / top if top > 0 else np.zeros_like(level)
    position = level * (len(_RAMP) - 1)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, len(_RAMP) - 1)
    weight = (position - low)[:, None]
    colour = _RAMP[low] * (1 - weight) + _RAMP[high] * weight
    rgba[filled, :3] = np.round(colour).astype(np.uint8)
    rgba[filled, 3] = 255
    return rgba
