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
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from deepscope.errors import InvalidArgumentError
from deepscope.escape import escape, escape_all
from deepscope.track.charts import ChartData
from deepscope.track.downsample import minmax_indices
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
    "ScalarsPreview",
    "scalars_preview",
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
# The grey layer is a backdrop: each of its lines keeps the lowest and highest value of buckets
# twice as wide as the coloured lines' (the same envelope, half the points for the browser).
RAW_LAYER_THINNING = 2
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
                    "line": {"color": hex_to_rgba(color, round(raw_opacity, 3)), "width": 1, "simplify": False},
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
            "line": {"color": color, "width": 1.75 if smoothed else 1.25, "simplify": False},
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
        # The legend of NaN/Inf markers takes 41 px: a margin that holds it is not pushed by plotly
        # (a pushed margin would also move the chart away from its preview).
        "margin": {"l": 60, "r": 12, "t": 44 if data.nonfinite else 12, "b": 44},
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
    x, y = _envelopes([s.x for s in data.series], [s.y for s in data.series], RAW_LAYER_THINNING)
    if data.xaxis == "wall":
        x = x * 1000.0
    elif data.xaxis == "relative":
        x = x / unit
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
        "line": {"color": RAW_LAYER_COLOR, "width": 1, "simplify": False},
        "hoverinfo": "skip",
    }


def _envelopes(xs: list[np.ndarray], ys: list[np.ndarray], thinning: int) -> tuple[np.ndarray, np.ndarray]:
    """Lines (each sorted by x, finite) joined into one, a NaN between two, each thinned to the
    lowest and highest point of ``thinning`` times fewer equal slices of its x range, its first
    and last point kept. All lines in one pass: a call per line cost ten times as much."""
    if not xs:
        return np.zeros(0), np.zeros(0)
    sizes = np.array([len(x) for x in xs])
    x = np.concatenate([np.asarray(x, np.float64) for x in xs])
    y = np.concatenate([np.asarray(y, np.float64) for y in ys])
    line = np.repeat(np.arange(len(xs)), sizes)
    starts = np.cumsum(sizes) - sizes
    ends = starts + sizes - 1
    nonempty = sizes > 0
    low = np.zeros(len(xs))
    span = np.ones(len(xs))
    low[nonempty] = x[starts[nonempty]]
    span[nonempty] = np.maximum(x[ends[nonempty]] - low[nonempty], 1e-300)
    slices = np.maximum(sizes // (2 * thinning), 1)
    where = np.minimum(((x - low[line]) / span[line] * slices[line]).astype(np.int64), slices[line] - 1)
    key = np.cumsum(slices) - slices  # each line's first slice number
    key = key[line] + where  # ascending: lines one after another, each in x order
    keep = np.zeros(x.size, bool)
    keep[minmax_indices(y, key)] = True
    keep[starts[nonempty]] = True
    keep[ends[nonempty]] = True
    # A NaN after each line (the gap): kept points, then the gaps in their places.
    kept_line = line[keep]
    gaps = np.flatnonzero(np.diff(kept_line, append=-1)) + 1
    out_x = np.insert(x[keep], gaps, np.nan)
    out_y = np.insert(y[keep], gaps, np.nan)
    return out_x, out_y


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


# -- the preview: the figure's lines as a plain SVG, drawn before plotly.js has loaded ----------

PREVIEW_GRID = "#E4E7EB"  # the theme's grid colour
PREVIEW_AXIS = "#9AA5B1"  # the theme's axis and zero-line colour
_PREVIEW_SCALE = 1  # SVG units per pixel of the nominal plot area (pixel precision)
_SI = ((1e9, "G"), (1e6, "M"), (1e3, "k"))


@dataclass(frozen=True)
class ScalarsPreview:
    """A chart's lines as an SVG of its plot area, with the axes' ticks, for a page to draw at once.

    ``svg``: the plot area (stretch it to the plot area's box: the lines keep their width).
    ``x_ticks``/``y_ticks``: (position in the plot area from left / from bottom, 0..1; label).
    ``margin``: the figure's margins in pixels (l, r, t, b); ``height``: the figure's height.
    """

    svg: str
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    x_title: str
    margin: dict
    height: int


def _decoded(values: object) -> np.ndarray:
    """A trace's array as numbers: plotly's typed-array spec or a list."""
    if isinstance(values, dict) and "bdata" in values:
        dtype = np.dtype(str(values["dtype"])).newbyteorder("<")
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=dtype).astype(np.float64)
    return np.asarray(values if values is not None else [], dtype=np.float64)


def _nice_ticks(low: float, high: float, length: float, min_px: float) -> tuple[np.ndarray, float]:
    """The ticks plotly's automatic linear axis puts on [low, high] ``length`` pixels long:
    about one per ``min_px`` pixels (4 to 9 intervals), at 1, 2 or 5 times a power of ten."""
    span = high - low
    if not (math.isfinite(span) and span > 0):
        return np.array([low]), 1.0
    rough = span / (min(max(length / min_px, 4.0), 9.0) + 1.0)
    base = 10.0 ** math.floor(math.log10(rough))
    step = next(m for m in (2.0, 5.0, 10.0) if m >= rough / base) * base
    first = math.ceil(low / step - 1e-9) * step
    ticks = np.arange(first, high + step * 1e-9, step)
    return ticks[(ticks >= low - step * 1e-9) & (ticks <= high + step * 1e-9)], step


def _tick_labels(ticks: np.ndarray, step: float) -> list[str]:
    """Labels as plotly writes them on a linear axis ("B" format): 0.5, 1500, 20k, −2."""
    top = float(np.abs(ticks).max()) if ticks.size else 0.0
    scale, suffix = next(((s, x) for s, x in _SI if top >= 10 * s), (1.0, ""))
    digits = max(0, -math.floor(math.log10(step / scale) + 1e-9)) if step > 0 else 0
    labels = []
    for tick in ticks:
        value = round(float(tick) / scale, digits)
        text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
        text = "0" if text in ("-0", "") else text
        labels.append(text.replace("-", "−") + (suffix if text != "0" else ""))
    return labels


def scalars_preview(figure: Mapping, *, width: int = 520) -> ScalarsPreview | None:
    """The lines of ``figure`` (from :func:`scalars_figure_json`) as a :class:`ScalarsPreview`,
    for a plot area about ``width`` pixels wide; None for axes it does not draw (dates, log).

    The same points as the figure, on the same ranges plotly's autorange gives them (x tight,
    y padded by 5% of the plot's height on each side, or the figure's own y range), with ticks
    where plotly's automatic ticks go, so the interactive chart replaces it without a jump.
    """
    layout = figure.get("layout", {})
    xaxis, yaxis = layout.get("xaxis", {}), layout.get("yaxis", {})
    if xaxis.get("type", "linear") != "linear" or yaxis.get("type", "linear") != "linear":
        return None
    margin = {k: int(layout.get("margin", {}).get(k, 0)) for k in ("l", "r", "t", "b")}
    height = int(layout.get("height", CHART_HEIGHT))
    plot_height = max(height - margin["t"] - margin["b"], 1)
    lines, marks = [], []
    for trace in figure.get("data", []):
        x, y = _decoded(trace.get("x")), _decoded(trace.get("y"))
        if x.size == 0 or x.size != y.size:
            continue
        (marks if trace.get("yaxis") == "y2" else lines).append((trace, x, y))
    xs = [x[np.isfinite(x)] for _, x, _ in lines + marks]
    ys = [y[np.isfinite(y)] for _, _, y in lines]
    xs, ys = [v for v in xs if v.size], [v for v in ys if v.size]
    x0, x1 = (min(float(v.min()) for v in xs), max(float(v.max()) for v in xs)) if xs else (0.0, 1.0)
    if "range" in yaxis:
        y0, y1 = (float(v) for v in yaxis["range"])
    elif ys:
        y0, y1 = min(float(v.min()) for v in ys), max(float(v.max()) for v in ys)
        pad = (y1 - y0) * 0.05 / 0.9
        y0, y1 = y0 - pad, y1 + pad
    else:
        y0, y1 = -1.0, 4.0  # plotly's range for an axis with no data
    if x1 <= x0:
        x0, x1 = x0 - 1.0, x1 + 1.0
    if y1 <= y0:
        y0, y1 = y0 - 1.0, y1 + 1.0
    view_w, view_h = width * _PREVIEW_SCALE, plot_height * _PREVIEW_SCALE
    x_ticks, x_step = _nice_ticks(x0, x1, width, 80)
    y_ticks, y_step = _nice_ticks(y0, y1, plot_height, 40)

    def px(values: np.ndarray) -> np.ndarray:
        return (values - x0) / (x1 - x0) * view_w

    def py(values: np.ndarray) -> np.ndarray:
        return (y1 - values) / (y1 - y0) * view_h

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {view_w} {view_h}' preserveAspectRatio='none'>",
        "<g stroke-width='1' vector-effect='non-scaling-stroke'>",
    ]
    for tick in x_ticks:
        at = round(float(px(np.array([tick]))[0]))
        color = PREVIEW_AXIS if tick == 0 else PREVIEW_GRID
        parts.append(
            f"<line x1='{at}' x2='{at}' y1='0' y2='{view_h}' stroke='{color}' vector-effect='non-scaling-stroke'/>"
        )
    for tick in y_ticks:
        at = round(float(py(np.array([tick]))[0]))
        color = PREVIEW_AXIS if tick == 0 else PREVIEW_GRID
        parts.append(
            f"<line x1='0' x2='{view_w}' y1='{at}' y2='{at}' stroke='{color}' vector-effect='non-scaling-stroke'/>"
        )
    parts.append("</g>")
    for trace, x, y in lines:
        line = trace.get("line", {})
        stroke, stroke_width = str(line.get("color", PREVIEW_AXIS)), float(line.get("width", 1))
        points = np.column_stack([px(x), py(y)])
        if "lines" in str(trace.get("mode", "lines")):
            for run in _finite_runs(points):
                if len(run) > 1:
                    parts.append(
                        f"<path d='{_path(run)}' fill='none' stroke='{stroke}' "
                        f"stroke-width='{stroke_width:g}' stroke-linejoin='round' vector-effect='non-scaling-stroke'/>"
                    )
        if "markers" in str(trace.get("mode", "")):
            for x_at, y_at in np.round(points[np.isfinite(points).all(axis=1)]).astype(int).tolist():
                parts.append(_mark(x_at, y_at, stroke, 4 * _PREVIEW_SCALE))
    for trace, x, y in marks:
        colors = trace.get("marker", {}).get("color", PREVIEW_AXIS)
        colors = colors if isinstance(colors, list) else [colors] * x.size
        for x_at, y_at, color in zip(px(x).tolist(), ((1 - y) * view_h).tolist(), colors, strict=False):
            if math.isfinite(x_at):
                parts.append(_mark(round(x_at), round(y_at), str(color), 5 * _PREVIEW_SCALE))
    parts.append("</svg>")
    return ScalarsPreview(
        svg="".join(parts),
        x_ticks=tuple(
            (float((t - x0) / (x1 - x0)), label)
            for t, label in zip(x_ticks, _tick_labels(x_ticks, x_step), strict=True)
        ),
        y_ticks=tuple(
            (float((t - y0) / (y1 - y0)), label)
            for t, label in zip(y_ticks, _tick_labels(y_ticks, y_step), strict=True)
        ),
        x_title=str(xaxis.get("title", {}).get("text", "")),
        margin=margin,
        height=height,
    )


def _finite_runs(points: np.ndarray) -> list[np.ndarray]:
    """The stretches of ``points`` between non-finite ones (a line's gaps)."""
    finite = np.isfinite(points).all(axis=1)
    if finite.all():
        return [points]
    edges = np.flatnonzero(np.diff(np.r_[False, finite, False].astype(np.int8)))
    return [points[start:end] for start, end in zip(edges[::2], edges[1::2], strict=True)]


def _path(points: np.ndarray) -> str:
    """An SVG path through ``points`` rounded to whole units, as short as it gets: the first point,
    then each step from the one before ("M3 40l1-2 1 3"), a point that repeats the one before left
    out."""
    ints = np.round(points).astype(np.int64)
    keep = np.r_[True, np.any(ints[1:] != ints[:-1], axis=1)]
    ints = ints[keep]
    steps = np.diff(ints, axis=0).ravel().tolist()
    text = [f"M{ints[0, 0]} {ints[0, 1]}"]
    if steps:
        text.append("l")
        text.append(str(steps[0]))
        text.extend(str(n) if n < 0 else f" {n}" for n in steps[1:])  # a minus sign separates
    return "".join(text)


def _mark(x: int, y: int, color: str, size: int) -> str:
    """A marker that stays a short upright stroke however the plot area is stretched."""
    return (
        f"<line x1='{x}' x2='{x}' y1='{y - size}' y2='{y + size}' stroke='{color}' "
        f"stroke-width='2' vector-effect='non-scaling-stroke'/>"
    )
