"""What a chart of logged series holds: plain data read from the store, drawn by ``deepscope.viz``.

``ChartData`` (one scalar chart: each run's line, smoothed and downsampled, and where its y values
lie) is drawn by ``deepscope.viz.scalars``; ``HistogramSeries`` (one run's histograms of one tag
over steps) by ``deepscope.viz.histograms``. The dashboard's read model (``deepscope.app.series``)
builds them from a logdir.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SeriesData", "ChartData", "HistogramSeries"]


@dataclass(frozen=True)
class SeriesData:
    """One run's lines on a chart, downsampled.

    ``x``/``y``: the raw series' line points. ``smooth_x``/``smooth_y``: the smoothed series'
    line points and ``smooth_raw`` the raw value at each of them (for the hover).
    ``nonfinite_x``/``nonfinite_kind``: NaN, +Inf and -Inf points ("nan", "+inf", "-inf").
    ``points``: points before downsampling; ``nonfinite``: how many of them are NaN or Inf.
    """

    run: str
    x: np.ndarray
    y: np.ndarray
    smooth_x: np.ndarray
    smooth_y: np.ndarray
    smooth_raw: np.ndarray
    nonfinite_x: np.ndarray
    nonfinite_kind: np.ndarray
    points: int
    nonfinite: int


@dataclass(frozen=True)
class ChartData:
    """Everything one scalar chart draws: a tag, its runs' series, and where its y values lie.

    ``robust_range``: the 2nd and 98th percentiles of the finite values of every shown run (the
    y range "ignore outliers" keeps), ``robust_log_range`` the same of the positive values in
    log10 units; None when there are no such values. ``nonpositive``: finite values <= 0, which
    a log axis cannot draw.
    """

    tag: str
    xaxis: str
    smoothing: float
    series: tuple[SeriesData, ...]
    robust_range: tuple[float, float] | None
    robust_log_range: tuple[float, float] | None
    nonpositive: int

    @property
    def points(self) -> int:
        """Points sent to the browser (line points of every series, raw and smoothed)."""
        return sum(len(s.x) + (len(s.smooth_x) if self.smoothing > 0 else 0) for s in self.series)

    @property
    def nonfinite(self) -> int:
        return sum(s.nonfinite for s in self.series)


@dataclass(frozen=True)
class HistogramSeries:
    """One run's histograms of one tag over steps, ready to draw in either view.

    ``centers[i]``/``density[i]``: bucket centres and the fraction of values per unit of value
    at ``steps[i]`` (comparable across steps whose buckets differ). ``percentiles[i, j]``: the
    ``levels[j]`` percentile at ``steps[i]``, interpolated within buckets (0 and 100 are the
    exact min and max). ``count``: finite values per step; ``nan_count``/``inf_count``: values
    left out of the buckets. ``total_steps``: steps logged, before thinning to ``max_steps``;
    ``total_nan``/``total_inf``: NaN and infinite values over all those steps.
    """

    run: str
    tag: str
    steps: np.ndarray
    centers: tuple[np.ndarray, ...]
    density: tuple[np.ndarray, ...]
    percentiles: np.ndarray
    levels: tuple[float, ...]
    count: np.ndarray
    nan_count: np.ndarray
    inf_count: np.ndarray
    total_steps: int
    total_nan: int = 0
    total_inf: int = 0
