"""The dashboard's read model: what the monitor pages draw, read from a logdir and cached.

A :class:`SeriesSource` answers the dashboard's questions (which runs and tags, the points of one
chart) through a small LRU cache keyed by the logdir's ``version()``, so a chart update that only
changes the smoothing or the x axis does not read the store again, and a write shows up on the
next version. Each chart is smoothed (TensorBoard's debiased EMA) on every point, then
downsampled to at most ``points_per_pixel`` points per pixel per series with min/max buckets,
keeping NaN and Inf points as markers. Name filters (``match_names``) are ``deepscope.patterns``'
RE2 matcher.

>>> import tempfile, deepscope as ds
>>> from deepscope.app.series import SeriesSource, match_names
>>> folder = tempfile.mkdtemp()
>>> with ds.Run(folder, name="a") as run:
...     for step in range(1000):
...         run.log({"loss": 1 / (step + 1)})
>>> source = SeriesSource(ds.open_logdir(folder))
>>> chart = source.chart("loss", source.run_names(), smoothing=0.6, width=100)
>>> [s.run for s in chart.series], len(chart.series[0].x) <= 200
(['a'], True)
>>> match_names(["cnn-1", "mlp-2"], "^cnn").names
['cnn-1']
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, LogdirError
from deepscope.lru import LRUCache
from deepscope.patterns import NameMatch, match_names
from deepscope.track import _db, _paths
from deepscope.track._summary import signature
from deepscope.track.charts import ChartData, HistogramSeries, SeriesData
from deepscope.track.downsample import downsample
from deepscope.track.smoothing import smooth
from deepscope.validation import check_number

__all__ = [
    "XAXES",
    "DISTRIBUTION_LEVELS",
    "NameMatch",
    "match_names",
    "RawSeries",
    "histogram_series",
    "bucket_percentiles",
    "SeriesSource",
    "run_signature",
]

T = TypeVar("T")

XAXES = ("step", "relative", "wall")
# TensorBoard's distribution bands: the percentiles of a normal's -inf, -1.5, -1, -0.5, 0, ...
# standard deviations, so a normal distribution draws evenly spaced bands.
DISTRIBUTION_LEVELS = (0.0, 6.68, 15.87, 30.85, 50.0, 69.15, 84.13, 93.32, 100.0)
ROBUST_QUANTILES = (2.0, 98.0)  # the y range that "ignore outliers" keeps
MARKER_SPACING = 8  # pixels between NaN/Inf markers of one kind of one run, at least


# -- scalar charts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawSeries:
    """Every committed point of one tag of one run, in the order they were logged."""

    step: np.ndarray
    wall_time: np.ndarray
    value: np.ndarray

    @property
    def nbytes(self) -> int:
        return int(self.step.nbytes + self.wall_time.nbytes + self.value.nbytes)

    def x(self, xaxis: str) -> np.ndarray:
        """The x of each point: the step, seconds since the series' first point, or epoch seconds."""
        if xaxis == "step":
            return self.step
        if xaxis == "relative":
            return self.wall_time - (self.wall_time.min() if self.wall_time.size else 0.0)
        return self.wall_time


def _check_xaxis(xaxis: str) -> str:
    if xaxis not in XAXES:
        raise InvalidArgumentError("xaxis", f"one of {', '.join(XAXES)}", xaxis)
    return xaxis


@dataclass(frozen=True)
class _Line:
    """A raw series downsampled for one x axis and width (cached apart from the smoothing)."""

    x: np.ndarray
    y: np.ndarray
    nonfinite_x: np.ndarray
    nonfinite_kind: np.ndarray
    points: int
    nonfinite: int

    @property
    def nbytes(self) -> int:
        return int(self.x.nbytes + self.y.nbytes + self.nonfinite_x.nbytes) + 512


def _line(data: RawSeries, xaxis: str, width: int, points_per_pixel: int) -> _Line:
    x = data.x(xaxis)
    line = downsample(x, data.value, width=width, points_per_pixel=points_per_pixel)
    marked = _thin_markers(line.nonfinite_x, line.nonfinite_kind, x, width // MARKER_SPACING)
    return _Line(
        line.x, line.y, line.nonfinite_x[marked], line.nonfinite_kind[marked], line.total, line.total_nonfinite
    )


def _series_data(
    run: str,
    data: RawSeries,
    line: _Line,
    smoothing: float,
    xaxis: str,
    width: int,
    points_per_pixel: int,
) -> SeriesData:
    if smoothing > 0:
        smoothed = smooth(data.value, smoothing)
        # The smoothed line varies little within a pixel column: half the points draw it (its
        # extremes still among them), which halves what the browser has to draw.
        smooth_line = downsample(data.x(xaxis), smoothed, max_points=max(4, width * points_per_pixel // 2))
        smooth_x, smooth_y = smooth_line.x, smooth_line.y
        smooth_raw = data.value[smooth_line.index]
    else:
        smooth_x, smooth_y, smooth_raw = line.x, line.y, line.y
    return SeriesData(
        run=run,
        x=line.x,
        y=line.y,
        smooth_x=smooth_x,
        smooth_y=smooth_y,
        smooth_raw=smooth_raw,
        nonfinite_x=line.nonfinite_x,
        nonfinite_kind=line.nonfinite_kind,
        points=line.points,
        nonfinite=line.nonfinite,
    )


def _value_ranges(
    raw: Sequence[RawSeries],
) -> tuple[tuple[float, float] | None, tuple[float, float] | None, int]:
    """(robust range, robust range of log10 of the positive values, values <= 0) of finite values."""
    parts = [data.value[np.isfinite(data.value)] for data in raw]
    finite = np.concatenate(parts) if parts else np.zeros(0)
    positive = finite[finite > 0]
    log_range = _quantiles(np.log10(positive)) if positive.size else None
    return _quantiles(finite), log_range, int(finite.size - positive.size)


def _thin_markers(x: np.ndarray, kind: np.ndarray, all_x: np.ndarray, columns: int) -> np.ndarray:
    """Positions of the NaN/Inf markers to draw: the first of each kind per ``columns`` slice of
    the x range, so a run that stays NaN draws a dotted row, not a solid bar of markers."""
    if x.size <= 1:
        return np.arange(x.size)
    low, high = float(all_x.min()), float(all_x.max())
    scale = max(columns, 1) / (high - low) if high > low else 0.0
    column = ((x - low) * scale).astype(np.int64)
    codes = np.searchsorted(np.array(["+inf", "-inf", "nan"]), kind)
    _, first = np.unique(column * 3 + codes, return_index=True)
    return np.sort(first)


def _quantiles(values: np.ndarray) -> tuple[float, float] | None:
    if values.size == 0:
        return None
    low, high = np.percentile(values, ROBUST_QUANTILES)
    return float(low), float(high)


# -- histograms ---------------------------------------------------------------------------------


def bucket_percentiles(
    edges: np.ndarray,
    counts: np.ndarray,
    levels: Sequence[float] = DISTRIBUTION_LEVELS,
    *,
    low: float | None = None,
    high: float | None = None,
) -> np.ndarray:
    """Percentiles of a bucketed distribution, linear within each bucket (as TensorBoard does).

    ``low``/``high``: the exact min and max, used for the 0th and 100th percentiles when given.

    >>> bucket_percentiles(np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0]), [0, 25, 50, 100]).tolist()
    [0.0, 0.5, 1.0, 2.0]
    """
    edges = np.asarray(edges, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    fractions = np.asarray(levels, dtype=np.float64) / 100.0
    total = counts.sum()
    if counts.size == 0 or total <= 0:
        return np.full(fractions.shape, np.nan)
    cumulative = np.r_[0.0, np.cumsum(counts)] / total
    # The value where the cumulative fraction reaches each level; flat stretches (empty buckets)
    # resolve to their left end, so a percentile never lands inside an empty bucket.
    result = np.interp(fractions, cumulative, edges)
    first = np.searchsorted(cumulative, fractions, side="left")
    flat = (first < cumulative.size) & (cumulative[np.minimum(first, cumulative.size - 1)] == fractions)
    result[flat] = edges[first[flat]]
    if low is not None and math.isfinite(low):
        result[fractions <= 0.0] = low
    if high is not None and math.isfinite(high):
        result[fractions >= 1.0] = high
    return result


def histogram_series(
    frame: pd.DataFrame,
    *,
    levels: Sequence[float] = DISTRIBUTION_LEVELS,
    max_steps: int | None = None,
) -> HistogramSeries:
    """Turn ``Logdir.histograms(tag, runs=run)`` (one run) into what the views draw.

    ``max_steps`` thins the steps evenly, keeping the first and the last.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ArgumentTypeError("frame", "the DataFrame of Logdir.histograms(tag, runs=run)", frame)
    runs = frame["run"].unique() if len(frame) else []
    if len(runs) > 1:
        raise InvalidArgumentError("frame", "the histograms of one run", f"{len(runs)} runs")
    frame = frame.sort_values("step", kind="stable").drop_duplicates("step", keep="last")
    total = len(frame)
    total_nan, total_inf = int(frame["nan_count"].sum()), int(frame["inf_count"].sum())
    if max_steps is not None and total > max_steps:
        picks = np.unique(np.linspace(0, total - 1, max_steps).round().astype(int))
        frame = frame.iloc[picks]
    centers, density, rows = [], [], []
    for edges, counts, low, high in zip(frame["edges"], frame["counts"], frame["min"], frame["max"], strict=True):
        edges = np.asarray(edges, dtype=np.float64)
        counts = np.asarray(counts, dtype=np.float64)
        widths = np.diff(edges)
        total_count = counts.sum()
        per_unit = np.divide(
            counts, widths * total_count, out=np.zeros_like(counts), where=(widths > 0) & (total_count > 0)
        )
        centers.append((edges[:-1] + edges[1:]) / 2)
        density.append(per_unit)
        rows.append(bucket_percentiles(edges, counts, levels, low=low, high=high))
    return HistogramSeries(
        run=str(runs[0]) if len(runs) else "",
        tag=str(frame["tag"].iloc[0]) if len(frame) else "",
        steps=frame["step"].to_numpy(dtype=np.int64),
        centers=tuple(centers),
        density=tuple(density),
        percentiles=np.array(rows).reshape(len(rows), len(levels)),
        levels=tuple(float(level) for level in levels),
        count=frame["count"].to_numpy(dtype=np.int64),
        nan_count=frame["nan_count"].to_numpy(dtype=np.int64),
        inf_count=frame["inf_count"].to_numpy(dtype=np.int64),
        total_steps=total,
        total_nan=total_nan,
        total_inf=total_inf,
    )


# -- the cache ----------------------------------------------------------------------------------


def _small(_value: Any) -> int:
    return 1024


def _listing_bytes(listing: dict) -> int:
    return 256 * sum(len(runs) for runs in listing.values()) + 1024


def _chart_bytes(chart: ChartData) -> int:
    return (
        sum(s.x.nbytes + s.y.nbytes + s.smooth_x.nbytes + s.smooth_y.nbytes + s.smooth_raw.nbytes for s in chart.series)
        + 1024
    )


# What each kind of tag listing asks a run's index (the store's schema, see track/_db.py).
_TAG_QUERIES = {
    "scalars": "SELECT DISTINCT tag FROM scalar_chunks",
    "histograms": "SELECT DISTINCT tag FROM histograms",
    "images": "SELECT DISTINCT tag FROM artifacts WHERE kind='image'",
    "embeddings": "SELECT DISTINCT tag FROM artifacts WHERE kind='embedding'",
    "tables": "SELECT DISTINCT tag FROM artifacts WHERE kind='table'",
    "results": "SELECT DISTINCT tag FROM artifacts WHERE kind='result'",
}


def run_signature(logdir_path: Path, run: str) -> tuple | None:
    """What changes whenever ``run`` commits anything: inode, size and mtime of its index and
    write-ahead log, and the log's header (a log restarted after a checkpoint may keep its size).

    The same facts ``Logdir.version()`` hashes for the whole logdir, for one run: a few ``stat``
    calls and a 32-byte read. None when the run's folder is not where its name puts it.
    """
    return signature(os.path.join(logdir_path, _paths.run_folder(run), _paths.RUN_DB))


class SeriesSource:
    """The monitor pages' reads of one logdir, cached.

    Listings and charts are kept per logdir ``version`` (the dashboard passes the one its poll
    saw; ``None`` asks the logdir now). Underneath, each run's points are kept per run
    signature (see :func:`run_signature`), so when one run of a thousand writes, the next
    version reads only that run again. Everything lives in one LRU of at most ``max_bytes``.

    >>> source = SeriesSource(logdir)  # doctest: +SKIP
    >>> source.chart("train/loss", source.run_names(), smoothing=0.6, xaxis="step", width=640)  # doctest: +SKIP
    """

    def __init__(self, logdir: Any, *, max_bytes: int = 256 * 2**20, max_entries: int = 65536):
        if logdir is None or not hasattr(logdir, "scalars"):
            raise ArgumentTypeError("logdir", "a Logdir from deepscope.open_logdir", logdir)
        self.logdir = logdir
        self._cache = LRUCache(max_entries, max_bytes)

    def version(self, version: int | None = None) -> int:
        """``version`` if given, else the logdir's current one."""
        return self.logdir.version() if version is None else version

    @classmethod
    def shared(cls, logdir: Any) -> SeriesSource:
        """The one source of ``logdir`` that the dashboard's pages share, and so their cache.

        Kept while ``logdir`` (the app's reader) lives, in ``_SHARED``.
        """
        with _SHARED_LOCK:
            source = _SHARED.get(logdir)
            if source is None:
                source = _SHARED[logdir] = cls(logdir)
            return source

    def _signature(self, run: str, version: int | None) -> Hashable:
        signature = run_signature(self.logdir.path, run)
        if signature is None:
            return ("version", self.version(version))
        return signature

    def run_signatures(self, runs: Sequence[str], version: int | None = None) -> tuple:
        """What changes whenever one of ``runs`` commits: each run's :func:`run_signature`."""
        version = self.version(version)
        return tuple((run, self._signature(run, version)) for run in runs)

    def memo(self, key: Hashable, compute: Callable[[], Any], nbytes: Callable[[Any], int]) -> Any:
        """``compute()``, kept under ``key`` in the source's cache (with its charts and series) at
        ``nbytes(value)`` bytes: for what pages make from them, such as a chart's preview. Put the
        logdir version or the runs' signatures in ``key``."""
        return self._cache.get(("memo", key), compute, nbytes)

    # -- listings ---------------------------------------------------------------------------

    def run_names(self, version: int | None = None) -> list[str]:
        """The runs, oldest first."""
        key = ("runs", self.version(version))
        return list(self._cache.get(key, self.logdir.run_names, _small))

    def tags_by_run(self, kind: str = "scalars", version: int | None = None) -> dict[str, list[str]]:
        """Every readable run (oldest first) -> its tags of ``kind`` (see ``Logdir.tags_by_run``),
        kept per logdir version: one pass over the runs per version, each run's index read only
        when it changed."""
        if kind not in _TAG_QUERIES:
            raise InvalidArgumentError("kind", f"one of {', '.join(_TAG_QUERIES)}", kind)
        # every kind in one pass: the pages' is_active ask for each kind in turn
        key = ("tags_by_kind", self.version(version))
        return self._cache.get(key, self.logdir.tags_by_kind, _listing_bytes)[kind]

    def run_tags(self, run: str, kind: str = "scalars", version: int | None = None) -> list[str]:
        """The tags of ``kind`` that ``run`` has, sorted: "scalars", "histograms", "images",
        "embeddings", "tables" or "results"."""
        known = self.tags_by_run(kind, version).get(run)
        if known is not None:
            return list(known)
        # a run newer than ``version`` (or damaged): ask its index directly
        key = ("tags", kind, run, self._signature(run, version))
        return list(self._cache.get(key, lambda: self._read_tags(run, kind), _small))

    def _read_tags(self, run: str, kind: str) -> list[str]:
        db = self.logdir.path / _paths.run_folder(run) / _paths.RUN_DB
        try:
            rows = _db.read(db, lambda conn: conn.execute(_TAG_QUERIES[kind]).fetchall())
            return sorted(row[0] for row in rows)
        except LogdirError:
            # Not where its name puts it (or unreadable): ask the logdir, which knows every run.
            return self.logdir.tags_by_run(kind).get(run, [])

    def tags(self, version: int | None = None) -> list[str]:
        """Every scalar tag of the logdir, sorted."""
        version = self.version(version)

        def union() -> list[str]:
            return sorted({tag for tags in self.tags_by_run("scalars", version).values() for tag in tags})

        return list(self._cache.get(("scalar_tags", version), union, _small))

    def has_any(self, kind: str) -> bool:
        """Whether any run has a tag of ``kind`` (see :meth:`run_tags`). Cheap once the summaries
        are cached (a few ``stat`` calls per run), so a page's ``is_active`` can call it on every
        navigation: ``SeriesSource.shared(ctx.logdir).has_any("tables")``."""
        return any(self.tags_by_run(kind).values())

    def runs_with(self, kind: str, version: int | None = None) -> list[str]:
        """The runs that have any tag of ``kind`` ("histograms", "images", "scalars"), oldest first."""
        return [run for run, tags in self.tags_by_run(kind, version).items() if tags]

    # -- scalars ----------------------------------------------------------------------------

    def series(
        self, tags: Sequence[str], runs: Sequence[str], version: int | None = None
    ) -> dict[tuple[str, str], RawSeries]:
        """Every point of each (run, tag) that has any; what is not cached is read in one query."""
        return self._series(tags, runs, self.version(version))[0]

    def _series(
        self, tags: Sequence[str], runs: Sequence[str], version: int
    ) -> tuple[dict[tuple[str, str], RawSeries], dict[str, Hashable]]:
        tags, runs = list(tags), list(runs)
        # Signatures first: a write while we read shows up as a new signature next time.
        signatures = {run: self._signature(run, version) for run in runs}
        found: dict[tuple[str, str], RawSeries] = {}
        missing_runs: dict[str, None] = {}
        missing_tags: dict[str, None] = {}
        for run in runs:
            for tag in tags:
                hit = self._cache.peek(("series", run, tag, signatures[run]))
                if hit is None:
                    missing_runs[run] = None
                    missing_tags[tag] = None
                elif hit.step.size:
                    found[(run, tag)] = hit
        if missing_runs:
            read = self._read(list(missing_tags), list(missing_runs))
            for run in missing_runs:
                for tag in missing_tags:
                    data = read.get((run, tag), _EMPTY)
                    self._cache.put(("series", run, tag, signatures[run]), data, data.nbytes + 256)
                    if data.step.size:
                        found[(run, tag)] = data
        ordered = {(run, tag): found[(run, tag)] for run in runs for tag in tags if (run, tag) in found}
        return ordered, signatures

    def _read(self, tags: list[str], runs: list[str]) -> dict[tuple[str, str], RawSeries]:
        frame = self.logdir.scalars(tags=tags, runs=runs)
        if frame.empty:
            return {}
        run_codes, run_names = pd.factorize(frame["run"], sort=False)
        tag_codes, tag_names = pd.factorize(frame["tag"], sort=False)
        key = run_codes.astype(np.int64) * len(tag_names) + tag_codes
        unsorted = key.size > 1 and np.any(key[1:] < key[:-1])
        order = np.argsort(key, kind="stable") if unsorted else None  # keeps each series in logged order
        steps = frame["step"].to_numpy(dtype=np.int64)
        walls = frame["wall_time"].to_numpy(dtype=np.float64)
        values = frame["value"].to_numpy(dtype=np.float64)
        if order is not None:
            key, steps, walls, values = key[order], steps[order], walls[order], values[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        ends = np.r_[starts[1:], key.size]
        result = {}
        for start, end in zip(starts, ends, strict=True):
            code = int(key[start])
            run, tag = run_names[code // len(tag_names)], tag_names[code % len(tag_names)]
            result[(str(run), str(tag))] = RawSeries(
                steps[start:end].copy(), walls[start:end].copy(), values[start:end].copy()
            )
        return result

    def chart(
        self,
        tag: str,
        runs: Sequence[str],
        *,
        version: int | None = None,
        smoothing: float = 0.6,
        xaxis: str = "step",
        width: int = 640,
        points_per_pixel: int = 2,
    ) -> ChartData:
        """One chart: ``tag`` for each of ``runs`` that logged it, smoothed and downsampled.

        ``smoothing``: TensorBoard's smoothing weight in [0, 1) (0: no smoothed line).
        ``xaxis``: "step", "relative" (seconds since the series' first point) or "wall" (epoch
        seconds). ``width``: the chart's width in pixels; each raw line keeps at most
        ``points_per_pixel * width`` points and each smoothed line half that, their extremes
        among them.
        """
        if not isinstance(tag, str):
            raise ArgumentTypeError("tag", "a scalar tag", tag)
        smoothing = _check_smoothing(smoothing)
        _check_xaxis(xaxis)
        version = self.version(version)
        runs = tuple(runs)
        key = ("chart", version, tag, runs, smoothing, xaxis, width, points_per_pixel)

        def compute() -> ChartData:
            raw, signatures = self._series([tag], runs, version)
            found = [(run, raw[(run, tag)]) for run in runs if (run, tag) in raw]
            series = []
            for run, data in found:
                line = self._cache.get(
                    ("line", run, tag, signatures[run], xaxis, width, points_per_pixel),
                    lambda data=data: _line(data, xaxis, width, points_per_pixel),
                    lambda line: line.nbytes,
                )
                series.append(_series_data(run, data, line, smoothing, xaxis, width, points_per_pixel))
            robust, robust_log, nonpositive = self._cache.get(
                ("ranges", tag, tuple((run, signatures[run]) for run, _ in found)),
                lambda: _value_ranges([data for _, data in found]),
                _small,
            )
            return ChartData(tag, xaxis, smoothing, tuple(series), robust, robust_log, nonpositive)

        return self._cache.get(key, compute, _chart_bytes)

    def frame(
        self, tag: str, runs: Sequence[str], *, version: int | None = None, smoothing: float = 0.6
    ) -> pd.DataFrame:
        """A chart's data at full resolution, for download:
        DataFrame(run, tag, step, wall_time, relative_time, value, smoothed)."""
        smoothing = _check_smoothing(smoothing)
        raw = self.series([tag], list(runs), version)
        parts = []
        for (run, _), data in raw.items():
            parts.append(
                pd.DataFrame(
                    {
                        "run": run,
                        "tag": tag,
                        "step": data.step,
                        "wall_time": data.wall_time,
                        "relative_time": data.x("relative"),
                        "value": data.value,
                        "smoothed": smooth(data.value, smoothing) if smoothing > 0 else data.value,
                    }
                )
            )
        columns = ["run", "tag", "step", "wall_time", "relative_time", "value", "smoothed"]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)

    # -- histograms and images --------------------------------------------------------------

    def histograms(
        self, tag: str, run: str, *, version: int | None = None, max_steps: int | None = None
    ) -> HistogramSeries:
        """``tag``'s histograms in ``run``, as :func:`histogram_series` makes them."""
        key = ("histograms", run, self._signature(run, self.version(version)), tag, max_steps)

        def compute() -> HistogramSeries:
            return histogram_series(self.logdir.histograms(tag, runs=[run]), max_steps=max_steps)

        def size(value: HistogramSeries) -> int:
            return sum(c.nbytes * 2 for c in value.centers) + value.percentiles.nbytes + 1024

        return self._cache.get(key, compute, size)

    def images(self, tag: str, run: str, *, version: int | None = None) -> list[Any]:
        """``tag``'s images in ``run``: [(step, uint8 array)], by step."""
        key = ("images", run, self._signature(run, self.version(version)), tag)

        def size(records: list[Any]) -> int:
            return sum(record[1].nbytes for record in records) + 1024

        return self._cache.get(key, lambda: list(self.logdir.images(tag, run)), size)


_SHARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()
_EMPTY = RawSeries(np.zeros(0, np.int64), np.zeros(0), np.zeros(0))


def _check_smoothing(smoothing: Any) -> float:
    return check_number(smoothing, "smoothing", low=0, high=1, closed="left", hint="1 would flatten every line to zero")
