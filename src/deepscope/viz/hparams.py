"""Figures of the hyper-parameter explorer: parallel coordinates, the linked scatter, and the
Ludwig-style views (learning curves, performance per run, each hyper-parameter against a target).

Results come from ``deepscope.hparams`` (``ParallelCoordinates``, ``HParamTable``,
``LearningCurves``, ``PerformanceComparison``, ``HyperoptReport``); their columns are placed on
axes by ``deepscope.viz.hparams_axes`` (positions, ticks and the slots for NaN and infinities).

>>> import pandas as pd
>>> from deepscope.viz.hparams_axes import make_axis
>>> lr = make_axis("lr", pd.Series([1e-4, 1e-2]), "log-numeric")
>>> parallel_figure([lr], lr).data[0].type
'parcoords'
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sequential
from plotly.subplots import make_subplots

from deepscope.escape import escape
from deepscope.hparams.ludwig import UNSPLIT, HyperoptReport, LearningCurves, PerformanceComparison
from deepscope.hparams.parallel import MISSING, ParallelCoordinates, parallel_coordinates
from deepscope.hparams.table import CATEGORICAL, LOG_NUMERIC, NUMERIC, HParamTable
from deepscope.viz.hparams_axes import Axis, make_axes, make_axis
from deepscope.viz.theme import PALETTE, TEMPLATE_NAME, run_color

__all__ = [
    "parallel_coordinates_figure",
    "hparams_table_figure",
    "parallel_figure",
    "scatter_figure",
    "color_scale",
    "learning_curves_figure",
    "compare_performance_figure",
    "hyperopt_figure",
    "COMPARE_HEIGHT",
    "HYPEROPT_HEIGHT",
]

# Non-finite values (NaN, inf, missing) are grey everywhere: not a value on the colour scale.
NONFINITE_GREY = "#B8BEC6"
UNSELECTED_GREY = "#D5D9DE"
_VIRIDIS = list(sequential.Viridis)
_SPLIT_DASH = {"train": "solid", "validation": "dash", "test": "dot"}
_DASH_WORD = {"solid": "solid:", "dash": "dashed:", "dot": "dotted:", "dashdot": "dash-dot:"}
# Heights of the per-run and hyperopt figures with one row of panels (more rows, taller figures).
COMPARE_HEIGHT = 360
COMPARE_ROW_HEIGHT = 380  # pixels per row of metric panels, slanted run names included
LABELLED_BARS = 8  # up to this many runs per panel every bar carries its value
HYPEROPT_HEIGHT = 340


def color_scale(axis: Axis) -> tuple[np.ndarray, list[list[Any]], dict[str, Any]]:
    """Colour of each row of ``axis`` as (values in [0, 1], colorscale, colorbar).

    Numbers use viridis (on log10 for a log axis); categories a qualitative palette; NaN and
    infinities a grey band at the bottom of the scale, labelled.
    """
    positions = np.asarray(axis.positions, dtype=float)
    title = {"text": escape(_short(axis.label, 24)), "side": "right"}
    if axis.kind == CATEGORICAL:
        n = max(len(axis.categories), 1)
        colors = _category_colors(axis.categories)
        scale: list[list[Any]] = []
        for i, color in enumerate(colors):
            scale += [[i / n, color], [(i + 1) / n, color]]
        shown = _thin(list(range(len(axis.categories))), 20)
        colorbar = {
            "title": title,
            "tickvals": [(i + 0.5) / n for i in shown],
            "ticktext": [escape(_short(axis.categories[i])) for i in shown],
        }
        return (positions + 0.5) / n, scale or [[0, PALETTE[0]], [1, PALETTE[0]]], colorbar

    slots = set(axis.slots.values())
    finite = ~np.isin(positions, list(slots)) & np.isfinite(positions)
    lo = float(positions[finite].min()) if finite.any() else 0.0
    hi = float(positions[finite].max()) if finite.any() else 1.0
    span = hi - lo if hi > lo else 1.0
    base = 0.1 if slots else 0.0  # room for the grey non-finite band
    values = np.where(finite, base + (1 - base) * (positions - lo) / span, 0.0)
    stops = np.linspace(0, 1, len(_VIRIDIS))
    scale = [[base + (1 - base) * s, c] for s, c in zip(stops, _VIRIDIS, strict=True)]
    if slots:
        scale = [[0.0, NONFINITE_GREY], [0.06, NONFINITE_GREY], [0.06, _VIRIDIS[0]], *scale]
    ticks = [(v, t) for v, t in zip(axis.tickvals, axis.ticktext, strict=True) if lo <= v <= hi]
    if not ticks:
        ticks = [(v, _number(v, axis)) for v in _even(lo, hi)]
    colorbar = {
        "title": title,
        "tickvals": [base + (1 - base) * (v - lo) / span for v, _ in ticks],
        "ticktext": [escape(t) for _, t in ticks],
    }
    if slots:
        colorbar["tickvals"].append(0.03)
        colorbar["ticktext"].append(" / ".join(axis.slots))
    return values, scale, colorbar


def _category_colors(categories: Sequence[str]) -> list[str]:
    named = [c for c in categories if c != MISSING]
    if len(named) <= len(PALETTE):
        palette = list(PALETTE)
    else:  # more categories than distinguishable colours: an ordered ramp rather than repeats
        palette = [_VIRIDIS[round(i * (len(_VIRIDIS) - 1) / max(len(named) - 1, 1))] for i in range(len(named))]
    colors, i = [], 0
    for category in categories:
        if category == MISSING:
            colors.append(NONFINITE_GREY)
        else:
            colors.append(palette[i % len(palette)])
            i += 1
    return colors


def parallel_coordinates_figure(chart: ParallelCoordinates, *, height: int = 460) -> go.Figure:
    """A ``ParallelCoordinates`` result: its columns placed on axes, its brushes drawn."""
    axes = make_axes(chart.frame, chart.types, chart.columns)
    color_axis = None
    if chart.color is not None:
        color_axis = next((a for a in axes if a.name == chart.color), None) or make_axis(
            chart.color, chart.frame[chart.color], chart.types.get(chart.color, NUMERIC)
        )
    constraints = {}
    for axis in axes:
        constraint = axis.constraint(chart.selections.get(axis.name))
        if constraint is not None:
            constraints[axis.name] = constraint
    return parallel_figure(axes, color_axis, constraints=constraints, height=height)


def hparams_table_figure(
    table: HParamTable, *, color: str | None = None, columns: list[str] | None = None
) -> go.Figure:
    """An ``HParamTable`` as parallel coordinates (see ``deepscope.hparams.parallel_coordinates``)."""
    return parallel_coordinates_figure(parallel_coordinates(table, color=color, columns=columns))


def parallel_figure(
    axes: Sequence[Axis],
    color: Axis | None,
    *,
    constraints: Mapping[str, list[list[float]]] | None = None,
    height: int = 460,
) -> go.Figure:
    """Parallel coordinates: an axis per column, a line per row, coloured by ``color``.

    constraints: column -> brush ranges in axis positions, drawn as plotly's ``constraintrange``.
    Each dimension's ``name`` is its column, so a page can map plotly's events back to columns.
    """
    constraints = constraints or {}
    dimensions = []
    for axis in axes:
        dimension: dict[str, Any] = {
            "name": axis.name,
            "label": escape(_short(axis.label, 24)),
            "values": axis.positions,
            "range": list(axis.range),
        }
        if axis.tickvals:
            dimension["tickvals"] = axis.tickvals
            dimension["ticktext"] = [escape(t) for t in axis.ticktext]
        if constraints.get(axis.name):
            dimension["constraintrange"] = constraints[axis.name]
        dimensions.append(dimension)
    line: dict[str, Any] = {"color": PALETTE[0]}
    if color is not None:
        values, scale, colorbar = color_scale(color)
        line = {
            "color": values, "colorscale": scale, "cmin": 0.0, "cmax": 1.0, "showscale": True,
            "colorbar": {**colorbar, "thickness": 14, "len": 0.9, "x": 1.0, "xpad": 24},
        }  # fmt: skip
    # Slant the labels when they would collide (about 7 px a character, ~1100 px of width).
    longest = max((len(_short(a.label, 24)) for a in axes), default=0)
    many = longest * 7.5 > 1100 / max(len(axes), 1)
    figure = go.Figure(
        go.Parcoords(
            dimensions=dimensions,
            line=line,
            labelangle=-20 if many else 0,
            labelside="top",
            unselected={"line": {"color": UNSELECTED_GREY, "opacity": 0.35}},
            labelfont={"size": 13},
            tickfont={"size": 11},
            rangefont={"size": 1, "color": "rgba(0,0,0,0)"},
        )
    )
    figure.update_layout(
        template=TEMPLATE_NAME,
        height=height,
        margin={"l": 64, "r": 110 if color is not None else 48, "t": 96 if many else 64, "b": 28},
    )
    return figure


def scatter_figure(
    x: Axis,
    y: Axis,
    color: Axis | None,
    *,
    selected: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    height: int = 420,
) -> go.Figure:
    """``y`` against ``x`` for every row; rows outside the brushes (``selected`` False) in grey.

    Log axes are drawn as log10 positions with decade ticks, categories as codes with their labels
    (jittered so equal values stay visible), NaN and infinities at their labelled slots.
    """
    n = len(x.positions)
    selected = np.ones(n, dtype=bool) if selected is None else np.asarray(selected, dtype=bool)
    names = list(names) if names is not None else [f"row {i}" for i in range(n)]
    xs = _jitter(x)
    ys = _jitter(y)
    hover = [_hover(name, [a for a in (x, y, color) if a is not None], i) for i, name in enumerate(names)]
    kind = go.Scattergl if n > 2000 else go.Scatter
    figure = go.Figure()
    rest = ~selected
    if rest.any():
        figure.add_trace(kind(
            x=xs[rest], y=ys[rest], mode="markers", name="outside the brushes",
            marker={"color": UNSELECTED_GREY, "size": 7},
            hovertext=[h for h, r in zip(hover, rest, strict=True) if r], hoverinfo="text",
        ))  # fmt: skip
    marker: dict[str, Any] = {"color": PALETTE[0], "size": 9, "line": {"width": 0.5, "color": "white"}}
    if color is not None:
        values, scale, _ = color_scale(color)
        marker.update(color=values[selected], colorscale=scale, cmin=0.0, cmax=1.0, showscale=False)
    figure.add_trace(kind(
        x=xs[selected], y=ys[selected], mode="markers", name="selected",
        marker=marker, hovertext=[h for h, s in zip(hover, selected, strict=True) if s],
        hoverinfo="text",
    ))  # fmt: skip
    figure.update_layout(
        template=TEMPLATE_NAME, height=height, showlegend=False,
        margin={"l": 64, "r": 16, "t": 24, "b": 56},
    )  # fmt: skip
    figure.update_xaxes(**_cartesian_axis(x))
    figure.update_yaxes(**_cartesian_axis(y))
    return figure


def _cartesian_axis(axis: Axis) -> dict[str, Any]:
    spec: dict[str, Any] = {"title": {"text": escape(axis.label)}, "zeroline": False}
    if axis.tickvals:
        spec.update(tickmode="array", tickvals=axis.tickvals, ticktext=[escape(t) for t in axis.ticktext])
    if axis.kind == CATEGORICAL:
        spec.update(range=[axis.range[0], axis.range[1]], showgrid=False)
    return spec


def _jitter(axis: Axis) -> np.ndarray:
    positions = np.asarray(axis.positions, dtype=float)
    if axis.kind != CATEGORICAL:
        return positions
    # Deterministic spread within a category (golden-ratio sequence), so equal values stay visible.
    offsets = ((np.arange(len(positions)) * 0.618034) % 1.0 - 0.5) * 0.36
    return positions + offsets


def _hover(name: str, axes: Sequence[Axis], i: int) -> str:
    lines = [f"<b>{escape(name)}</b>"]
    for axis in {a.name: a for a in axes}.values():
        lines.append(f"{escape(axis.name)}: {escape(_value_text(axis, i))}")
    return "<br>".join(lines)


def _value_text(axis: Axis, i: int) -> str:
    position = float(axis.positions[i])
    if axis.kind == CATEGORICAL:
        return axis.categories[int(position)]
    for kind, slot in axis.slots.items():
        if position == slot:
            return kind
    return _number(position, axis)


def _number(position: float, axis: Axis) -> str:
    value = 10.0**position if axis.kind == LOG_NUMERIC else position
    return f"{value:.4g}"


def _even(lo: float, hi: float, count: int = 5) -> list[float]:
    return [lo] if hi <= lo else list(np.linspace(lo, hi, count))


def _thin(items: list[int], limit: int) -> list[int]:
    step = max(1, math.ceil(len(items) / limit))
    return items[::step]


def _short(text: str, limit: int = 18) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- Ludwig-style views ---------------------------------------------------------------------------


def learning_curves_figure(result: LearningCurves, *, height: int = 420) -> go.Figure:
    """Train against validation (and test) over steps, for one metric.

    ``result.curves``: DataFrame(run, split, step, value), split one of "train", "validation",
    "test", "as logged" (a tag that names no split) or another label. One colour per run (the same
    as on every page), one dash per split; curves that are all "as logged" are solid lines.
    ``result.message``: what to say instead of empty axes when there are no curves.
    """
    curves, metric, message = result.curves, result.metric, result.message
    figure = go.Figure()
    if curves.empty:
        text = message or f"Nothing to draw: no points of {metric}."
        figure.add_annotation(
            text="<br>".join(escape(line) for line in textwrap.wrap(text, 72)),
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
            showarrow=False,
            font={"size": 14, "color": "#52606D"},
            align="center",
        )
        figure.update_layout(template=TEMPLATE_NAME, height=height, xaxis={"visible": False}, yaxis={"visible": False})
        return figure
    runs = list(dict.fromkeys(curves["run"]))
    splits = list(dict.fromkeys(curves["split"]))
    as_logged = splits == [UNSPLIT]
    dashes = {UNSPLIT: "solid"} if as_logged else _SPLIT_DASH
    for run in runs:
        first = True
        for split in splits:
            points = curves[(curves["run"] == run) & (curves["split"] == split)]
            if points.empty:
                continue
            # One legend entry per run (clicking it hides all its splits); dashes tell the splits.
            figure.add_trace(go.Scatter(
                x=points["step"], y=points["value"], mode="lines+markers" if len(points) < 30 else "lines",
                name=escape(run), legendgroup=str(run), showlegend=first,
                line={"color": run_color(str(run)), "dash": dashes.get(split, "dashdot"), "width": 2},
                marker={"size": 5},
                hovertemplate=f"{escape(run)} · {split}<br>step %{{x}}<br>{escape(metric)} %{{y:.4g}}<extra></extra>",
            ))  # fmt: skip
            first = False
    if as_logged:
        title = f"{escape(metric)} as logged, a line per run"
        legend = "run"
    else:
        title = f"Learning curves: {escape(metric)}"
        styles = ", ".join(f"{_DASH_WORD.get(dashes.get(s, 'dashdot'))} {s}" for s in splits)
        legend = f"run<br><sub>{styles}</sub>"
    figure.update_layout(
        template=TEMPLATE_NAME, height=height,
        title={"text": title},
        legend={"title": {"text": legend}},
        hovermode="closest",
    )  # fmt: skip
    figure.update_xaxes(title_text="step")
    figure.update_yaxes(title_text=escape(metric))
    return figure


def compare_performance_figure(result: PerformanceComparison, *, columns: int = 3) -> go.Figure:
    """A bar per run for each metric, each metric in its own panel (their scales differ).

    ``result.values``: a frame indexed by run with a column per metric. Bars start at zero; the
    best run of each metric (by ``result.goals``: "min" or "max") is outlined; NaN or infinite
    values are noted above their bar position instead of being drawn as a bar.
    """
    values, goals = result.values, dict(result.goals)
    metrics = [str(c) for c in values.columns]
    cols = max(1, min(columns, len(metrics)))
    rows = max(1, math.ceil(len(metrics) / cols))
    runs = [str(r) for r in values.index]
    # Each row of panels gets room for its slanted run names below it, whatever the row count.
    height = max(COMPARE_HEIGHT, COMPARE_ROW_HEIGHT * rows + 80)
    figure = make_subplots(
        rows=rows, cols=cols, subplot_titles=[escape(_short(m, 40)) for m in metrics] or None,
        horizontal_spacing=0.08, vertical_spacing=min(0.4, 170 / height) if rows > 1 else 0.1,
    )  # fmt: skip
    # Beside a few bars their values fit as labels; beside many they overlap, so only the
    # non-finite ones are labelled (there is no bar to read) and the hover gives the others.
    label_all = len(runs) <= LABELLED_BARS
    for k, metric in enumerate(metrics):
        row, col = k // cols + 1, k % cols + 1
        column = pd.to_numeric(values[metric], errors="coerce").to_numpy(dtype=float)
        finite = np.isfinite(column)
        goal = goals.get(metric, "max")
        best = None
        if finite.any():
            best = int(
                np.nanargmin(np.where(finite, column, np.nan))
                if goal == "min"
                else np.nanargmax(np.where(finite, column, np.nan))
            )
        shown = [f"{v:.4g}" if f else _nonfinite(v) for v, f in zip(column, finite, strict=True)]
        figure.add_trace(go.Bar(
            x=runs, y=np.where(finite, column, 0.0),
            marker={"color": [run_color(r) for r in runs],
                    "line": {"width": [2.5 if i == best else 0 for i in range(len(runs))], "color": "#1F2933"}},
            text=[t if label_all or not f else "" for t, f in zip(shown, finite, strict=True)],
            customdata=shown,
            textposition="outside", cliponaxis=False, showlegend=False, textfont={"size": 11},
            hovertemplate="%{x}<br>" + escape(metric) + " %{customdata}<extra></extra>",
        ), row=row, col=col)  # fmt: skip
        note = "lower is better" if goal == "min" else "higher is better"
        figure.update_yaxes(title_text=note, title_font={"size": 11}, rangemode="tozero", row=row, col=col)
        figure.update_xaxes(tickangle=-30 if len(runs) > 3 else 0, row=row, col=col)
    figure.update_layout(
        template=TEMPLATE_NAME, height=height, bargap=0.3,
        uniformtext={"mode": "show", "minsize": 11},
        title={"text": "Performance per run (outlined: the best run of each metric)"},
        margin={"t": 80},
    )  # fmt: skip
    return figure


def hyperopt_figure(report: HyperoptReport, *, columns: int = 3) -> go.Figure:
    """The target metric against each hyper-parameter, one panel per hyper-parameter.

    ``report.best``: the row of the best trial, drawn as a star in every panel.
    """
    axes = make_axes(report.frame, report.types, report.columns)
    target = make_axis(report.target, report.frame[report.target], report.types.get(report.target, NUMERIC))
    best, names = report.best, report.names
    cols = max(1, min(columns, len(axes)))
    rows = max(1, math.ceil(len(axes) / cols))
    figure = make_subplots(
        rows=rows, cols=cols, shared_yaxes=True,
        horizontal_spacing=0.06, vertical_spacing=0.2 if rows > 1 else 0.1,
    )  # fmt: skip
    n = len(target.positions)
    names = list(names) if names is not None else [f"row {i}" for i in range(n)]
    ys = np.asarray(target.positions, dtype=float)
    for k, axis in enumerate(axes):
        row, col = k // cols + 1, k % cols + 1
        xs = _jitter(axis)
        hover = [_hover(name, [axis, target], i) for i, name in enumerate(names)]
        figure.add_trace(go.Scatter(
            x=xs, y=ys, mode="markers", showlegend=False,
            marker={"color": PALETTE[0], "size": 8, "opacity": 0.75},
            hovertext=hover, hoverinfo="text",
        ), row=row, col=col)  # fmt: skip
        if best is not None:
            figure.add_trace(go.Scatter(
                x=[xs[best]], y=[ys[best]], mode="markers", showlegend=k == 0, name="best trial",
                marker={"color": PALETTE[1], "size": 16, "symbol": "star", "line": {"width": 1, "color": "#1F2933"}},
                hovertext=[hover[best]], hoverinfo="text",
            ), row=row, col=col)  # fmt: skip
        figure.update_xaxes(title_text=escape(axis.label), row=row, col=col, **_ticks(axis))
        figure.update_yaxes(title_text=escape(target.label) if col == 1 else None, row=row, col=col, **_ticks(target))
    figure.update_layout(
        template=TEMPLATE_NAME, height=max(HYPEROPT_HEIGHT, 300 * rows),
        title={"text": f"{escape(target.name)} against each hyper-parameter"},
        legend={"orientation": "h", "y": 1.08, "x": 1, "xanchor": "right"},
    )  # fmt: skip
    return figure


def _ticks(axis: Axis) -> dict[str, Any]:
    spec: dict[str, Any] = {"zeroline": False}
    if axis.tickvals:
        spec.update(tickmode="array", tickvals=axis.tickvals, ticktext=[escape(t) for t in axis.ticktext])
    if axis.kind == CATEGORICAL:
        spec.update(range=list(axis.range), showgrid=False)
    return spec


def _nonfinite(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "inf" if value > 0 else "-inf"
