"""The scalar chart: one tag, every shown run overlaid in its own colour.

Draws a :class:`~deepscope.track.charts.ChartData` (already smoothed and downsampled): the raw
series faded behind the smoothed one, NaN and Inf points as markers on the chart's edges (they
have no place on the y axis, and dropping them would hide a diverged run), and a hover that lists
every run's value at the step under the cursor.

>>> from deepscope.app.series import SeriesSource  # doctest: +SKIP
>>> scalars_figure(SeriesSource(logdir).chart("loss", ["a", "b"]))  # doctest: +SKIP
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from deepscope.errors import InvalidArgumentError
from deepscope.escape import escape, escape_all
from deepscope.track.charts import ChartData
from deepscope.viz.theme import PALETTE, TEMPLATE

__all__ = [
    "scalars_figure",
    "scalars_figure_json",
    "typed_array",
    "hex_to_rgba",
    "XAXIS_TITLES",
    "CHART_HEIGHT",
    "chart_height",
    "RUN_PALETTE",
    "run_colors",
]

# Twenty colours for the lines of one chart (the page draws at most twenty runs): Paul Tol's
# "muted" nine first, then his "vibrant" and "medium/high contrast" colours, each readable as a
# thin line on white. Assigned by run order, so runs next to each other never share a colour.
RUN_PALETTE: tuple[str, ...] = (
    *PALETTE,
    "#0077BB",  # blue
    "#EE7733",  # orange
    "#CC3311",  # red
    "#EE3377",  # magenta
    "#009988",  # teal
    "#4D4D4D",  # dark grey
    "#997700",  # ochre
    "#6699CC",  # steel blue
    "#994455",  # brick
    "#33BBEE",  # sky
    "#004488",  # navy
)[:20]


def run_colors(runs: Sequence[str]) -> dict[str, str]:
    """A colour per run by its position in ``runs`` (the logdir's runs, oldest first).

    Unlike a hash of the name, twenty runs in a row always get twenty different colours; a run
    keeps its colour while runs are added after it. Pages pass the same ordering, so a run has
    the same colour on every chart and page.

    >>> run_colors(["a", "b"]) == {"a": RUN_PALETTE[0], "b": RUN_PALETTE[1]}
    True
    """
    return {run: RUN_PALETTE[i % len(RUN_PALETTE)] for i, run in enumerate(dict.fromkeys(runs))}


CHART_HEIGHT = 300  # at least; taller with many runs, so the hover can list every one
HOVER_ROW = 19  # pixels per run in the hover label (11 px text)
RAW_OPACITY = 0.25  # of the raw series behind the smoothed one, for up to RAW_FULL_RUNS runs
RAW_FULL_RUNS = 5
RAW_MIN_OPACITY = 0.08
# Above this many runs the raw series are one grey layer: faded to near-invisibility their
# colours cannot be told apart, and a trace per run would double what the browser draws.
RAW_LAYER_RUNS = 10
RAW_LAYER_COLOR = "rgba(82,96,109,0.18)"
# Markers for values a line cannot show: where on the chart (0 = bottom, 1 = top) and how.
_NONFINITE = {
    "+inf": ("+Inf", 0.97, "triangle-up"),
    "nan": ("NaN", 0.9, "x-thin-open"),
    "-inf": ("−Inf", 0.03, "triangle-down"),
}
XAXIS_TITLES = {"step": "step", "relative": "relative time", "wall": "wall time (UTC)"}
_TIME_UNITS = ((3 * 3600.0, 3600.0, "h"), (180.0, 60.0, "min"), (0.0, 1.0, "s"))
_TEMPLATE_JSON = TEMPLATE.to_plotly_json()


def hex_to_rgba(color: str, alpha: float) -> str:
    """``"#RRGGBB"`` as ``"rgba(r,g,b,alpha)"``.

    >>> hex_to_rgba("#332288", 0.5)
    'rgba(51,34,136,0.5)'
    """
    value = color.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:g})"


def _time_unit(data: ChartData) -> tuple[float, str]:
    span = max((float(s.x.max()) for s in data.series if s.x.size), default=0.0)
    for threshold, seconds, name in _TIME_UNITS:
        if span >= threshold:
            return seconds, name
    return 1.0, "s"


def _xs(values: np.ndarray, xaxis: str, unit: float) -> dict:
    if xaxis == "wall":
        return typed_array(values * 1000.0, np.float64)  # plotly dates: ms since the epoch
    if xaxis == "relative":
        return typed_array(values / unit, np.float32)
    small = values.size == 0 or np.abs(values).max() < 2**31
    return typed_array(values, np.int32 if small else np.float64)


def chart_height(runs: int) -> int:
    """The figure's height in pixels: ``CHART_HEIGHT``, or enough for a hover row per run."""
    return max(CHART_HEIGHT, HOVER_ROW * runs + 64)


def typed_array(values: np.ndarray, dtype: type) -> dict:
    """An array as plotly's base64 typed-array spec: a quarter of the size of JSON numbers.

    >>> typed_array(np.array([1.0]), np.float32)
    {'dtype': 'f4', 'bdata': 'AACAPw=='}
    """
    array = np.ascontiguousarray(values, dtype=np.dtype(dtype).newbyteorder("<"))
    code = {"f": "f", "i": "i", "u": "u"}[array.dtype.kind] + str(array.dtype.itemsize)
    return {"dtype": code, "bdata": base64.b64encode(array.tobytes()).decode("ascii")}


def scalars_figure(
    data: ChartData,
    *,
    yscale: str = "linear",
    ignore_outliers: bool = False,
    colors: Mapping[str, str] | None = None,
) -> go.Figure:
    """The chart of one tag: a line per run (smoothed over faded raw), NaN/Inf markers, hover.

    ``yscale``: "linear" or "log" (values <= 0 are not drawn on a log axis; a note says how
    many). ``ignore_outliers``: fit the y axis to the 2nd-98th percentiles of the values, plus a
    margin, instead of to every point. ``colors``: run -> colour (see :func:`run_colors`); by
    default the runs of the chart in their order.
    """
    return go.Figure(scalars_figure_json(data, yscale=yscale, ignore_outliers=ignore_outliers, colors=colors))


SPARSE_POINTS = 30  # at or below this many points a series also gets markers


def _mode(points: int) -> str:
    """A line needs two points to show: a lone point is a marker, a short series gets both."""
    if points <= 1:
        return "markers"
    return "lines+markers" if points <= SPARSE_POINTS else "lines"


def scalars_figure_json(
    data: ChartData,
    *,
    yscale: str = "linear",
    ignore_outliers: bool = False,
    colors: Mapping[str, str] | None = None,
) -> dict:
    """:func:`scalars_figure` as plotly JSON, built directly (the dashboard's fast path: a
    chart of 20 runs takes milliseconds instead of the tenth of a second graph objects need)."""
    if yscale not in ("linear", "log"):
        raise InvalidArgumentError("yscale", "'linear' or 'log'", yscale)
    palette = run_colors([s.run for s in data.series])
    if colors is not None:
        palette.update({run: color for run, color in colors.items() if run in palette})
    unit, unit_name = _time_unit(data) if data.xaxis == "relative" else (1.0, "")
    smoothed = data.smoothing > 0
    # Many runs' raw series would bury the smoothed lines under noise: fade them further.
    crowd = max(len(data.series), RAW_FULL_RUNS)
    raw_opacity = max(RAW_MIN_OPACITY, RAW_OPACITY * (RAW_FULL_RUNS / crowd) ** 0.5)
    traces: list[dict] = []
    layered = smoothed and len(data.series) > RAW_LAYER_RUNS
    if layered:
        traces.append(_raw_layer(data, unit))
    for series in data.series:
        color = palette[series.run]
        name = escape(series.run if len(series.run) <= 40 else series.run[:37] + "…")
        if smoothed and not layered:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": series.run,
                    "showlegend": False,
                    "x": _xs(series.x, data.xaxis, unit),
                    "y": typed_array(series.y, np.float32),
                    "line": {"color": hex_to_rgba(color, round(raw_opacity, 3)), "width": 1},
                    "hoverinfo": "skip",
                }
            )
        trace = {
            "type": "scatter",
            "mode": _mode(len(series.smooth_x)),
            "name": series.run,
            "showlegend": False,
            "x": _xs(series.smooth_x, data.xaxis, unit),
            "y": typed_array(series.smooth_y, np.float32),
            "line": {"color": color, "width": 1.75 if smoothed else 1.25},
            "marker": {"color": color, "size": 7 if len(series.smooth_x) == 1 else 5},
            "hovertemplate": f"{name}: %{{y:.4g}}<extra></extra>",
        }
        if smoothed:
            trace["customdata"] = typed_array(series.smooth_raw, np.float32)
            trace["hovertemplate"] = f"{name}: %{{y:.4g}} (raw %{{customdata:.4g}})<extra></extra>"
        traces.append(trace)
    traces.extend(_nonfinite_markers(data, unit, palette))

    layout: dict = {
        "template": _TEMPLATE_JSON,
        "height": chart_height(len(data.series)),
        "margin": {"l": 60, "r": 12, "t": 28 if data.nonfinite else 12, "b": 44},
        "hovermode": "x unified",
        "hoverlabel": {"namelength": -1, "font": {"size": 11}},
        "showlegend": data.nonfinite > 0,
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom", "font": {"size": 11}},
        "uirevision": f"{data.tag}|{data.xaxis}|{yscale}|{ignore_outliers}",
        # Fixed margins instead of the theme's automargin, which lays every chart out twice (the
        # second pass costs as much as the first draw); the left one fits seven-character ticks.
        "xaxis": {
            "title": {"text": _xtitle(data.xaxis, unit_name), "standoff": 6},
            "type": "date" if data.xaxis == "wall" else "linear",
            "automargin": False,
        },
        "yaxis": {"type": yscale, "exponentformat": "power" if yscale == "log" else "B", "automargin": False},
        # NaN/Inf markers live on a hidden 0..1 axis, so they stay on the chart's edges.
        "yaxis2": {"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True},
        "annotations": [],
    }
    y_range = _y_range(data, yscale) if ignore_outliers else None
    if y_range is not None:
        layout["yaxis"]["range"] = list(y_range)
    if yscale == "log" and data.nonpositive:
        layout["annotations"].append(
            {
                "text": f"{data.nonpositive:,} values ≤ 0 not drawn on the log scale",
                "xref": "paper",
                "yref": "paper",
                "x": 1,
                "y": 1,
                "xanchor": "right",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 11, "color": "#616E7C"},
            }
        )
    if not data.series:
        layout["annotations"].append(
            {
                "text": "No shown run logged this tag",
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
                "font": {"color": "#616E7C"},
            }
        )
    return {"data": traces, "layout": layout}


def _raw_layer(data: ChartData, unit: float) -> dict:
    """Every run's raw series as one faint grey trace, the lines apart by a gap (NaN) between them."""
    xs, ys = [], []
    for series in data.series:
        x = series.x.astype(np.float64)
        if data.xaxis == "wall":
            x = x * 1000.0
        elif data.xaxis == "relative":
            x = x / unit
        xs += [x, np.array([np.nan])]
        ys += [series.y, np.array([np.nan])]
    x = np.concatenate(xs) if xs else np.zeros(0)
    y = np.concatenate(ys) if ys else np.zeros(0)
    # Steps below 2**24 and relative times are exact enough as float32 (half the bytes to send);
    # wall times (milliseconds since the epoch) are not.
    finite = x[np.isfinite(x)]
    exact = data.xaxis == "relative" or (data.xaxis == "step" and (finite.size == 0 or np.abs(finite).max() < 2**24))
    return {
        "type": "scatter",
        "mode": "lines",
        "name": "raw",
        "showlegend": False,
        "x": typed_array(x, np.float32 if exact else np.float64),
        "y": typed_array(y, np.float32),
        "connectgaps": False,
        "line": {"color": RAW_LAYER_COLOR, "width": 1},
        "hoverinfo": "skip",
    }


def _xtitle(xaxis: str, unit_name: str) -> str:
    title = XAXIS_TITLES[xaxis]
    return f"{title} ({unit_name})" if unit_name else title


def _y_range(data: ChartData, yscale: str) -> tuple[float, float] | None:
    """The 2nd-98th percentile band plus 10% of its height on each side (log10 units on a log axis)."""
    band = data.robust_log_range if yscale == "log" else data.robust_range
    if band is None:
        return None
    low, high = band
    margin = 0.1 * (high - low) if high > low else max(abs(low) * 0.1, 0.1 if yscale == "log" else 1.0)
    return low - margin, high + margin


def _nonfinite_markers(data: ChartData, unit: float, palette: Mapping[str, str]) -> list[dict]:
    traces = []
    for kind, (label, position, symbol) in _NONFINITE.items():
        xs, colors, runs = [], [], []
        for series in data.series:
            mine = series.nonfinite_x[series.nonfinite_kind == kind]
            if mine.size:
                xs.append(mine)
                colors.extend([palette[series.run]] * mine.size)
                runs.extend([series.run] * mine.size)
        if not xs:
            continue
        x = np.concatenate(xs)
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "yaxis": "y2",
                "name": label,
                "x": _xs(x, data.xaxis, unit),
                "y": typed_array(np.full(x.size, position), np.float32),
                "marker": {"symbol": symbol, "size": 9, "color": colors, "line": {"width": 1.5, "color": colors}},
                "text": escape_all(runs),
                "hovertemplate": f"%{{text}}: {label}<extra></extra>",
                "showlegend": True,
            }
        )
    return traces
