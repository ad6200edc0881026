"""HParams: the hyper-parameter explorer, after HiPlot, with Ludwig-style views beside it.

Parallel coordinates of every run's hyper-parameters and metrics (final, best or at a step).
Brushing an axis filters the linked table and XY scatter; axes can be dragged into another order
and keep it across redraws; any column can colour the lines. Tabs hold learning curves, a bar per
metric per run, and the target metric against each hyper-parameter.

The same page opens on a CSV or Parquet file (``deepscope serve results.csv``): see
:func:`file_page`.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dash
import numpy as np
import pandas as pd
from dash import Input, Output, State, dash_table, dcc, html

from deepscope.app.pickers import keep_choice
from deepscope.app.plugin import AppContext, Page
from deepscope.app.updates import fit_box, graph_box, unless_shown
from deepscope.errors import LogdirError
from deepscope.hparams import ludwig
from deepscope.hparams.parallel import brushed_rows, default_color, default_columns
from deepscope.hparams.table import (
    CATEGORICAL,
    NUMERIC,
    HParamTable,
    as_frame,
    hparams_table,
    read_table,
)
from deepscope.lru import LRUCache
from deepscope.viz.hparams import COMPARE_HEIGHT, HYPEROPT_HEIGHT, parallel_figure, scatter_figure
from deepscope.viz.hparams_axes import Axis, make_axes, make_axis

PATH = "/hparams"
TABLE_PAGE_SIZE = 12
CURVES_HEIGHT = 420
_GRAPH_CONFIG: Any = {"displaylogo": False, "responsive": True}  # Any: dash types config as a TypedDict
_PARCOORDS_CONFIG: Any = {**_GRAPH_CONFIG, "displayModeBar": False}
_SELECT_OPTIONS = [
    {"label": "Final", "value": "final"},
    {"label": "Best", "value": "best"},
    {"label": "At step", "value": "at"},
]
_TABS = ("explorer", "curves", "compare", "hyperopt")


@dataclass(frozen=True)
class Source:
    """Where the table comes from: the app's logdir, or a results file (CSV/TSV/Parquet)."""

    file: Path | None = None

    @property
    def is_file(self) -> bool:
        return self.file is not None

    def key(self, ctx: AppContext) -> Any:
        """Changes when the data does (cheap)."""
        if self.file is not None:
            stat = os.stat(self.file)
            return (stat.st_mtime_ns, stat.st_size)
        return ctx.logdir.version() if ctx.logdir is not None else None

    def load(self, ctx: AppContext, select: str, step: int | None) -> HParamTable:
        if self.file is not None:
            frame, types, _ = as_frame(self.file)
            numeric = [c for c, kind in types.items() if kind != CATEGORICAL]
            return HParamTable(
                frame=frame,
                hparams=[c for c in frame.columns if c not in numeric[-1:]],
                metrics=numeric[-1:],
                types=types,
            )
        if ctx.logdir is None:
            raise LogdirError("no logdir: serve one (deepscope serve LOGDIR) or a results file")
        return hparams_table(ctx.logdir, select=select, step=step if select == "at" else None)


class _Tables:
    """The last few tables, keyed by data version and metric selection (callbacks share them)."""

    def __init__(self, source: Source, size: int = 8):
        self.source = source
        self._tables = LRUCache(size)

    def get(self, ctx: AppContext, select: str | None, step: Any) -> HParamTable:
        select = select if select in ("final", "best", "at") else "final"
        step = _as_step(step) if select == "at" else None
        if select == "at" and step is None:
            select = "final"
        key = (self.source.key(ctx), select, step)
        return self._tables.get(key, lambda: self.source.load(ctx, select, step))


def _as_step(value: Any) -> int | None:
    if (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and math.isfinite(value)
    ):
        return int(value)
    return None


# -- layout --------------------------------------------------------------------------------------


def make_layout(source: Source, tables: _Tables) -> Callable[[AppContext], Any]:
    def layout(ctx: AppContext) -> Any:
        table = tables.get(ctx, "final", None)
        columns = default_columns(table.frame, table.types)
        color = default_color(columns, table.types, table.metrics)
        x, y = _default_xy(table, columns, color)
        options = [{"label": c, "value": c} for c in table.frame.columns if c != "run"]
        # Runs that logged no scalars have no metric to compare or report: the Compare and
        # Hyperopt tabs say so (and how to log one) instead of failing.
        no_metrics = not table.metrics and not source.is_file
        target = table.metrics[-1] if table.metrics else (color if source.is_file else None)
        title = f"Hyper-parameters: {source.file.name}" if source.file else "Hyper-parameters"
        return html.Div(
            className="ds-page",
            children=[
                html.Div(
                    className="ds-page-head",
                    children=[html.H1(title), html.Span(id="hparams-summary", className="ds-muted")],
                ),
                html.Div(
                    id="hparams-metric-controls",
                    hidden=source.is_file,
                    style=_ROW,
                    children=[
                        html.Span("Metric values", className="ds-muted"),
                        dcc.RadioItems(
                            id="hparams-select",
                            options=_SELECT_OPTIONS,
                            value="final",
                            inline=True,
                            inputStyle={"marginRight": "4px"},
                            labelStyle={"marginRight": "14px"},
                        ),
                        html.Label("Step for 'At step'", htmlFor="hparams-step", className="ds-visually-hidden"),
                        dcc.Input(
                            id="hparams-step",
                            type="number",
                            min=0,
                            step=1,
                            debounce=True,
                            value=_last_step(ctx) if not source.is_file else None,
                            placeholder="step",
                            className="ds-input",
                            style={"width": "110px"},
                        ),
                        html.Span(id="hparams-message", className="ds-muted"),
                    ],
                ),
                dcc.Tabs(
                    id="hparams-tabs",
                    value="explorer",
                    # A results file has no runs over steps: no curves, no per-run comparison.
                    children=[
                        dcc.Tab(label="Explorer", value="explorer"),
                        *(
                            []
                            if source.is_file
                            else [
                                dcc.Tab(label="Learning curves", value="curves"),
                                dcc.Tab(label="Compare performance", value="compare"),
                            ]
                        ),
                        dcc.Tab(label="Hyperopt report", value="hyperopt"),
                    ],
                    style={"marginBottom": "12px"},
                ),
                html.Div(id="hparams-panel-explorer", children=_explorer(options, color, x, y, source)),
                html.Div(
                    id="hparams-panel-curves",
                    hidden=True,
                    children=[
                        html.Div(
                            id="hparams-curves-controls",
                            style=_ROW,
                            children=[
                                _labelled(
                                    "Metric",
                                    dcc.Dropdown(id="hparams-curves-metric", clearable=False, style={"width": "260px"}),
                                ),
                                html.Span(id="hparams-curves-note", className="ds-muted"),
                            ],
                        ),
                        _empty("hparams-curves-empty", ludwig.NO_CURVES, ludwig.NO_CURVES_HINT, hidden=True),
                        html.Div(
                            id="hparams-curves-figure",
                            children=dcc.Graph(
                                id="hparams-curves", config=_GRAPH_CONFIG, style=graph_box(CURVES_HEIGHT)
                            ),
                        ),
                    ],
                ),  # fmt: skip
                html.Div(
                    id="hparams-panel-compare",
                    hidden=True,
                    children=[
                        _empty(
                            "hparams-compare-empty", ludwig.NO_COMPARE, ludwig.NO_COMPARE_HINT, hidden=not no_metrics
                        ),
                        html.Div(
                            id="hparams-compare-figure",
                            hidden=no_metrics,
                            children=dcc.Graph(
                                id="hparams-compare", config=_GRAPH_CONFIG, style=graph_box(COMPARE_HEIGHT)
                            ),
                        ),
                    ],
                ),
                html.Div(
                    id="hparams-panel-hyperopt",
                    hidden=True,
                    children=[
                        html.Div(
                            id="hparams-hyperopt-controls",
                            hidden=no_metrics,
                            children=_labelled(
                                "Target metric",
                                dcc.Dropdown(
                                    id="hparams-target",
                                    options=options,
                                    value=target,
                                    clearable=False,
                                    style={"width": "260px"},
                                ),
                            ),
                        ),
                        _empty(
                            "hparams-hyperopt-empty", ludwig.NO_HYPEROPT, ludwig.NO_HYPEROPT_HINT, hidden=not no_metrics
                        ),
                        html.Div(
                            id="hparams-hyperopt-figure",
                            hidden=no_metrics,
                            children=dcc.Graph(
                                id="hparams-hyperopt", config=_GRAPH_CONFIG, style=graph_box(HYPEROPT_HEIGHT)
                            ),
                        ),
                    ],
                ),  # fmt: skip
                dcc.Store(id="hparams-selection", data={}),
                dcc.Store(id="hparams-drawn"),
            ],
        )

    return layout


def _empty(id_: str, title: str, hint: str, *, hidden: bool) -> Any:
    """What a view says in place of its figure when there is nothing to draw, and how to log it."""
    return html.Div(id=id_, className="ds-empty", hidden=hidden, children=[html.H2(title), html.P(hint)])


_ROW = {"display": "flex", "alignItems": "center", "gap": "12px", "flexWrap": "wrap",
        "marginBottom": "10px"}  # fmt: skip


def _labelled(text: str, control: Any) -> Any:
    return html.Label([html.Span(text, className="ds-muted"), control], style=_ROW)


def _explorer(options: list[dict], color: str | None, x: str | None, y: str | None, source: Source) -> list:
    unit = "rows" if source.is_file else "runs"
    return [
        html.Div(
            style=_ROW,
            children=[
                _labelled(
                    "Colour by",
                    dcc.Dropdown(
                        id="hparams-color", options=options, value=color, clearable=False, style={"width": "240px"}
                    ),
                ),
                html.Span(
                    f"Drag along an axis to keep only the {unit} in that range (click the "
                    "axis off the brush to clear it); drag an axis title to reorder.",
                    className="ds-muted",
                ),
            ],
        ),
        dcc.Graph(id="hparams-parcoords", config=_PARCOORDS_CONFIG),
        html.Div(
            style={
                "display": "grid",
                "gridTemplateColumns": "minmax(0, 5fr) minmax(0, 7fr)",
                "gap": "20px",
                "alignItems": "start",
                "marginTop": "8px",
            },
            children=[
                html.Div(
                    [
                        html.Div(
                            style=_ROW,
                            children=[
                                _labelled(
                                    "X",
                                    dcc.Dropdown(
                                        id="hparams-x",
                                        options=options,
                                        value=x,
                                        clearable=False,
                                        style={"width": "200px"},
                                    ),
                                ),
                                _labelled(
                                    "Y",
                                    dcc.Dropdown(
                                        id="hparams-y",
                                        options=options,
                                        value=y,
                                        clearable=False,
                                        style={"width": "200px"},
                                    ),
                                ),
                            ],
                        ),
                        dcc.Graph(id="hparams-scatter", config=_GRAPH_CONFIG),
                    ]
                ),
                html.Div(
                    [
                        html.Div(id="hparams-table-caption", className="ds-muted", style={"margin": "6px 0 8px"}),
                        dash_table.DataTable(
                            id="hparams-table",
                            columns=[],
                            data=[],
                            sort_action="native",
                            page_action="native",
                            page_size=TABLE_PAGE_SIZE,
                            cell_selectable=False,
                            style_as_list_view=True,
                            style_table={"overflowX": "auto"},
                            style_cell=_CELL,
                            style_header=_HEADER,
                            style_cell_conditional=[
                                {
                                    "if": {"column_type": "numeric"},
                                    "textAlign": "right",
                                    "fontVariantNumeric": "tabular-nums",
                                },
                                {"if": {"column_id": "c0"}, "fontWeight": "600"},
                            ],
                        ),
                    ]
                ),
            ],
        ),  # fmt: skip
    ]


_CELL = {
    "fontFamily": "var(--ds-font)", "fontSize": "13px", "padding": "6px 8px",
    "backgroundColor": "transparent", "textAlign": "left", "border": "none",
    "borderBottom": "1px solid #E4E7EB", "maxWidth": "220px", "overflow": "hidden",
    "textOverflow": "ellipsis",
}  # fmt: skip
_HEADER = {
    "fontFamily": "var(--ds-font)", "whiteSpace": "normal", "height": "auto", "fontWeight": "600",
    "backgroundColor": "transparent", "color": "#3E4C59", "borderBottom": "1px solid #CBD2D9",
}  # fmt: skip


def _default_xy(table: HParamTable, columns: list[str], color: str | None) -> tuple[str | None, str | None]:
    """X: the first numeric hyper-parameter (else the first one); Y: the colour column."""
    hparams = [c for c in table.hparams if c in columns]
    numeric = [c for c in hparams if table.types.get(c) != CATEGORICAL]
    x = (numeric or hparams or columns or [None])[0]
    y = color if color != x else next((c for c in columns if c != x), x)
    return x, y


def _last_step(ctx: AppContext) -> int | None:
    if ctx.logdir is None:
        return None
    last = ctx.logdir.last_scalars()
    return int(last["step"].max()) if len(last) else None


# -- callbacks -----------------------------------------------------------------------------------


def make_callbacks(source: Source, tables: _Tables) -> Callable[[Any, AppContext], None]:
    def register_callbacks(app: Any, ctx: AppContext) -> None:
        @app.callback(
            Output("hparams-parcoords", "figure"),
            Output("hparams-message", "children"),
            Output("hparams-drawn", "data"),
            Input("hparams-select", "value"),
            Input("hparams-step", "value"),
            Input("hparams-color", "value"),
            Input("app-logdir-version", "data"),
            State("hparams-parcoords", "figure"),
            State("hparams-selection", "data"),
            State("hparams-drawn", "data"),
        )
        def draw_parallel(
            select: str,
            step: Any,
            color: str | None,
            _version: Any,
            shown: dict | None,
            selections: dict | None,
            drawn: str | None,
        ) -> tuple:
            data_key = str(source.key(ctx))
            # Redraw on a version tick only when the data changed: a redraw racing a brush the
            # user is drawing would drop it.
            if dash.ctx.triggered_id == "app-logdir-version" and drawn == data_key:
                return dash.no_update, dash.no_update, dash.no_update
            message = ""
            if select == "at" and _as_step(step) is None:
                message = "Type a step to read the metrics at; showing final values until then."
            table = tables.get(ctx, select, step)
            columns = _column_order(shown, default_columns(table.frame, table.types), table.frame)
            axes = make_axes(table.frame, table.types, columns)
            by_name = {axis.name: axis for axis in axes}
            selections = dict(selections or {})
            # A brush not yet in the store (drawn a moment ago) is read off the figure itself.
            for name, ranges in _figure_constraints(shown, None).items():
                if name not in selections and name in by_name:
                    selections[name] = by_name[name].selection(ranges)
            constraints = {}
            for axis in axes:
                constraint = axis.constraint(selections.get(axis.name))
                if constraint:
                    constraints[axis.name] = constraint
            color_axis = _color_axis(table, by_name, color)
            return parallel_figure(axes, color_axis, constraints=constraints), message, data_key

        @app.callback(
            Output("hparams-table", "data"),
            Output("hparams-table", "columns"),
            Output("hparams-table-caption", "children"),
            Output("hparams-scatter", "figure"),
            Output("hparams-summary", "children"),
            Output("hparams-selection", "data"),
            Input("hparams-parcoords", "restyleData"),
            Input("hparams-parcoords", "figure"),
            Input("hparams-x", "value"),
            Input("hparams-y", "value"),
            State("hparams-select", "value"),
            State("hparams-step", "value"),
            State("hparams-color", "value"),
        )
        def filter_linked(
            restyle: Any, shown: dict | None, x: str | None, y: str | None, select: str, step: Any, color: str | None
        ) -> tuple:
            table = tables.get(ctx, select, step)
            frame = table.frame
            ranges = _figure_constraints(shown, restyle)
            columns = [c for c in ranges if c in frame.columns]
            axes = {a.name: a for a in make_axes(frame, table.types, columns)}
            selections = {name: axes[name].selection(ranges[name]) for name in columns}
            selections = {name: s for name, s in selections.items() if s is not None}
            mask = brushed_rows(frame, table.types, selections)
            rows, table_columns = _table_rows(frame[mask], table)
            unit = "rows" if source.is_file else "runs"
            total, kept = len(frame), int(mask.sum())
            summary = f"{kept} of {total} {unit} inside the brushes" if selections else f"{total} {unit}"
            caption = (
                f"{kept} {unit} inside the brushes"
                if selections
                else f"All {total} {unit}; brush the axes above to filter"
            )
            scatter = _scatter(table, x, y, color, mask)
            return rows, table_columns, caption, scatter, summary, selections

        @app.callback(Output("hparams-step", "disabled"), Input("hparams-select", "value"))
        def enable_step(select: str) -> bool:
            return select != "at"

        @app.callback(
            Output("hparams-panel-explorer", "hidden"),
            Output("hparams-panel-curves", "hidden"),
            Output("hparams-panel-compare", "hidden"),
            Output("hparams-panel-hyperopt", "hidden"),
            Input("hparams-tabs", "value"),
        )
        def show_tab(tab: str) -> tuple:
            return tuple(tab != name for name in _TABS)

        @app.callback(
            Output("hparams-curves-metric", "options"),
            Output("hparams-curves-metric", "value"),
            Output("hparams-curves-controls", "hidden"),
            Output("hparams-curves-figure", "hidden"),
            Output("hparams-curves-empty", "hidden"),
            Input("hparams-tabs", "value"),
            Input("app-logdir-version", "data"),
            State("hparams-curves-metric", "options"),
            State("hparams-curves-metric", "value"),
        )
        def curve_metrics(tab: str, _version: Any, shown: list | None, current: str | None) -> tuple:
            if tab != "curves" or source.is_file or ctx.logdir is None:
                return (dash.no_update,) * 5
            metrics = ludwig.curve_metrics(ctx.logdir)
            options = [{"label": m, "value": m} for m in metrics]
            value = keep_choice(current, metrics)
            # Nothing to plot: say what is missing instead of drawing empty axes.
            empty = not metrics
            # Unchanged options and value are not sent again: the figure would be drawn twice.
            return unless_shown(options, shown), unless_shown(value, current), empty, empty, not empty

        @app.callback(
            Output("hparams-curves", "figure"),
            Output("hparams-curves-note", "children"),
            Input("hparams-tabs", "value"),
            Input("hparams-curves-metric", "value"),
            Input("app-logdir-version", "data"),
        )
        def draw_curves(tab: str, metric: str | None, _version: Any) -> Any:
            if tab != "curves" or metric is None or ctx.logdir is None:
                return dash.no_update, dash.no_update
            scalars = ctx.logdir.scalars()
            figure = ludwig.learning_curves(scalars, metric).figure().update_layout(height=CURVES_HEIGHT)
            return figure, _curves_note(ludwig.curve_splits(scalars, metric), metric)

        @app.callback(
            Output("hparams-compare", "figure"),
            Output("hparams-compare", "style"),
            Output("hparams-compare-figure", "hidden"),
            Output("hparams-compare-empty", "hidden"),
            Input("hparams-tabs", "value"),
            Input("hparams-select", "value"),
            Input("hparams-step", "value"),
            Input("app-logdir-version", "data"),
            State("hparams-compare", "style"),
        )
        def draw_compare(tab: str, select: str, step: Any, _version: Any, style: dict | None) -> Any:
            if tab != "compare" or source.is_file:
                return (dash.no_update,) * 4
            table = tables.get(ctx, select, step)
            if not table.metrics:  # nothing logged to compare: say so, not an error
                return dash.no_update, dash.no_update, True, False
            figure = ludwig.compare_performance(table).figure()
            return figure, fit_box(figure.layout.height, style), False, True

        @app.callback(
            Output("hparams-target", "options"),
            Output("hparams-target", "value"),
            Output("hparams-hyperopt-controls", "hidden"),
            Output("hparams-hyperopt-figure", "hidden"),
            Output("hparams-hyperopt-empty", "hidden"),
            Input("hparams-tabs", "value"),
            Input("app-logdir-version", "data"),
            State("hparams-select", "value"),
            State("hparams-step", "value"),
            State("hparams-target", "options"),
            State("hparams-target", "value"),
        )
        def hyperopt_targets(
            tab: str, _version: Any, select: str, step: Any, shown: list | None, current: str | None
        ) -> tuple:
            if tab != "hyperopt" or source.is_file:
                return (dash.no_update,) * 5
            table = tables.get(ctx, select, step)
            names = [c for c in table.frame.columns if c != "run"]
            options = [{"label": c, "value": c} for c in names]
            value = current if current in names else (table.metrics[-1] if table.metrics else None)
            empty = not table.metrics
            # Unchanged options and value are not sent again: the figure would be drawn twice.
            return unless_shown(options, shown), unless_shown(value, current), empty, empty, not empty

        @app.callback(
            Output("hparams-hyperopt", "figure"),
            Output("hparams-hyperopt", "style"),
            Input("hparams-tabs", "value"),
            Input("hparams-target", "value"),
            Input("hparams-select", "value"),
            Input("hparams-step", "value"),
            Input("app-logdir-version", "data"),
            State("hparams-hyperopt", "style"),
        )
        def draw_hyperopt(
            tab: str, target: str | None, select: str, step: Any, _version: Any, style: dict | None
        ) -> Any:
            if tab != "hyperopt" or target is None:
                return dash.no_update, dash.no_update
            table = tables.get(ctx, select, step)
            if not table.metrics and not source.is_file:  # hyperopt_targets shows the message
                return dash.no_update, dash.no_update
            columns = [
                c
                for c in default_columns(table.frame, table.types)
                if c != target and c not in table.metrics and c != "run"
            ]
            if not source.is_file:
                columns = [c for c in table.hparams if c != target]
            figure = ludwig.hyperopt_report(table, target, columns=columns).figure()
            return figure, fit_box(figure.layout.height, style)

    return register_callbacks


def _curves_note(splits: list[str], metric: str) -> str:
    """What the lines of a tag that names no split are."""
    if ludwig.UNSPLIT not in splits:
        return ""
    how = f"To compare training with validation, log both, e.g. train/{metric} and val/{metric}."
    if splits == [ludwig.UNSPLIT]:
        return f"'{metric}' names no train/validation split, so each run's line is drawn as logged. {how}"
    return f"Dash-dot lines: runs that log '{metric}' with no train/validation split, drawn as logged. {how}"


def _color_axis(table: HParamTable, axes: Mapping[str, Axis], color: str | None) -> Axis | None:
    if color is None or color not in table.frame.columns:
        return None
    return axes.get(color) or make_axis(color, table.frame[color], table.types.get(color, NUMERIC))


def _column_order(shown: dict | None, defaults: list[str], frame: pd.DataFrame) -> list[str]:
    """The axes in the order the user left them (dragging reorders the figure's dimensions),
    columns that appeared since at the end."""
    before = [d.get("name") for d in _dimensions(shown)]
    kept = [c for c in before if c in defaults]
    return kept + [c for c in defaults if c not in kept] if kept else defaults


def _dimensions(figure: dict | None) -> list[dict]:
    try:
        dimensions = figure["data"][0]["dimensions"]  # type: ignore[index]
    except (TypeError, KeyError, IndexError):
        return []
    return [d for d in dimensions if isinstance(d, dict)] if isinstance(dimensions, list) else []


_RESTYLE_KEY = re.compile(r"^dimensions\[(\d+)\]\.constraintrange$")


def _figure_constraints(figure: dict | None, restyle: Any) -> dict[str, Any]:
    """Column -> brush ranges, read off the figure's dimensions (plotly keeps them up to date
    there as the user brushes and reorders), with the latest restyle event applied on top."""
    dimensions = _dimensions(figure)
    ranges = {d["name"]: d.get("constraintrange") for d in dimensions if d.get("name")}
    if isinstance(restyle, list) and restyle and isinstance(restyle[0], dict):
        for key, value in restyle[0].items():
            match = _RESTYLE_KEY.match(str(key))
            if match and int(match.group(1)) < len(dimensions):
                name = dimensions[int(match.group(1))].get("name")
                # plotly sends the new value wrapped in a list, one entry per trace
                ranges[name] = value[0] if isinstance(value, list) and value and _nested(value) else value
    return {name: r for name, r in ranges.items() if r}


def _nested(value: list) -> bool:
    """True for plotly's per-trace wrapping, [[lo, hi]] or [[[lo, hi], ...]], of one trace's value."""
    first = value[0]
    return len(value) == 1 and isinstance(first, list) and (not first or isinstance(first[0], list))


def _table_rows(frame: pd.DataFrame, table: HParamTable) -> tuple[list[dict], list[dict]]:
    """DataTable rows and columns; ids are positional since column names may hold any character."""
    columns = []
    names = list(frame.columns)
    for i, name in enumerate(names):
        kind = table.types.get(name, CATEGORICAL)
        columns.append({"id": f"c{i}", "name": _breakable(name), "type": "text" if kind == CATEGORICAL else "numeric"})
    rows = []
    for record in frame.itertuples(index=False, name=None):
        rows.append({f"c{i}": _cell(v, table.types.get(names[i]) == CATEGORICAL) for i, v in enumerate(record)})
    return rows, columns


def _cell(value: Any, categorical: bool) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NaN" if not categorical else ""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        if not math.isfinite(value):
            return "inf" if value > 0 else "-inf"
        if categorical:
            return str(value)
        return int(value) if isinstance(value, numbers.Integral) else float(f"{float(value):.4g}")
    return str(value)


def _breakable(label: str) -> str:
    return re.sub(r"([/_.])(?=.)", "\\1\u200b", str(label))


def _scatter(table: HParamTable, x: str | None, y: str | None, color: str | None, mask: np.ndarray) -> Any:
    frame = table.frame
    if x is None or y is None or x not in frame.columns or y not in frame.columns:
        return {}
    x_axis = make_axis(x, frame[x], table.types.get(x, NUMERIC))
    y_axis = make_axis(y, frame[y], table.types.get(y, NUMERIC))
    color_axis = None
    if color is not None and color in frame.columns:
        color_axis = make_axis(color, frame[color], table.types.get(color, NUMERIC))
    names = [str(r) for r in frame["run"]] if "run" in frame.columns else None
    return scatter_figure(x_axis, y_axis, color_axis, selected=mask, names=names)


# -- the page -------------------------------------------------------------------------------------


def _has_hparams(ctx: AppContext) -> bool:
    if ctx.logdir is None:
        return False
    return any(isinstance(h, dict) and h for h in ctx.logdir.runs()["hparams"])


def file_page(path: str | os.PathLike, *, home: bool = False) -> Page:
    """The explorer on a results file (CSV, TSV or Parquet) instead of the logdir.

    ``home=True`` puts it at ``/`` (when the app serves only the file).
    """
    file = Path(path).expanduser().resolve()
    read_table(file)  # fail now, with a clear message, rather than on first page load
    return _page(Source(file=file), path="/" if home else PATH, order=0 if home else 40, is_active=lambda ctx: True)


def _page(source: Source, *, path: str, order: int, is_active: Callable[[AppContext], bool]) -> Page:
    tables = _Tables(source)
    return Page(
        name="HParams",
        path=path,
        order=order,
        is_active=is_active,
        layout=make_layout(source, tables),
        register_callbacks=make_callbacks(source, tables),
    )


PAGE = _page(Source(), path=PATH, order=40, is_active=_has_hparams)
