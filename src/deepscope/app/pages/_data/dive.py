"""Dive, as Facets Dive: every example a point, in a grid of cells faceted by any two features,
coloured by a third, stacked or scattered inside each cell; click a point to see its record.

The figure is WebGL (``viz.data.dive_figure``) and its positions travel as typed arrays (float32
coordinates, int32 example numbers), about 12 bytes a point, so 100,000 examples stay interactive.
Images show as the points themselves when a stacked layout has few enough examples, and always
beside a clicked record.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import dash
import numpy as np
import pandas as pd
from dash import Input, Output, State, dcc, html

from deepscope.app.cache import Cache
from deepscope.app.pages._data import sources, ui
from deepscope.app.plugin import AppContext
from deepscope.data import Dive, dive
from deepscope.png import thumbnail_data_uri
from deepscope.viz.data import dive_figure

POSITIONING = [{"label": "Stacked", "value": "stacked"}, {"label": "Scatter", "value": "scatter"}]
COLOR_FIRST = ("class_name", "label", "split", "prediction")
MAX_COLOR_VALUES = 8
RECORD_WIDTH = "300px"
_LAYOUTS = Cache(8)


def layout(ctx: AppContext) -> Any:
    options = sources.dive_options(ctx)
    if not options:
        return ui.empty(
            "No examples to dive into",
            "Log a table with run.log_table('dive/name', frame), or "
            "register a dataset with ds.serve(..., datasets={...}).",
            id="data-dive-empty",
        )

    def facet(id: str, label: str, placeholder: str = "none") -> Any:
        return ui.field(label, ui.dropdown(id, [], None, width="190px", clearable=True, placeholder=placeholder), id)

    return html.Div(
        [
            html.Div(
                style=ui.ROW,
                children=[
                    ui.field(
                        "Examples",
                        ui.dropdown("data-dive-source", options, options[0]["value"], width="320px"),
                        "data-dive-source",
                    ),
                    facet("data-dive-row", "Rows by"),
                    facet("data-dive-column", "Columns by"),
                    facet("data-dive-color", "Colour by"),
                    ui.field(
                        "Positioning",
                        dcc.RadioItems(
                            id="data-dive-positioning",
                            options=POSITIONING,
                            value="stacked",
                            inline=True,
                            inputStyle={"marginRight": "4px"},
                            labelStyle={"marginRight": "12px"},
                        ),
                        "data-dive-positioning",
                    ),
                    html.Div(
                        id="data-dive-xy",
                        hidden=True,
                        style={"display": "flex", "gap": "24px"},
                        children=[
                            facet("data-dive-x", "X", "choose a number"),
                            facet("data-dive-y", "Y", "random jitter"),
                        ],
                    ),
                ],
            ),
            html.Div(id="data-dive-summary", style=ui.NOTE),
            html.Div(
                style={"display": "flex", "gap": "16px", "alignItems": "flex-start"},
                children=[
                    html.Div(
                        style={"flex": "1", "minWidth": "0"},
                        children=ui.graph(
                            "data-dive-graph",
                            {},
                            style={"height": "640px"},
                            config={**ui.GRAPH_CONFIG, "scrollZoom": True},
                        ),
                    ),
                    html.Div(id="data-dive-record", style={"width": RECORD_WIDTH, "flex": "none", "fontSize": "13px"}),
                ],
            ),
        ]
    )


def register(app: dash.Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("data-dive-row", "options"),
        Output("data-dive-row", "value"),
        Output("data-dive-column", "options"),
        Output("data-dive-column", "value"),
        Output("data-dive-color", "options"),
        Output("data-dive-color", "value"),
        Output("data-dive-x", "options"),
        Output("data-dive-x", "value"),
        Output("data-dive-y", "options"),
        Output("data-dive-y", "value"),
        Output("data-dive-record", "children"),
        Input("data-dive-source", "value"),
    )
    def choose_source(source: str | None) -> tuple:
        if not source:
            return [], None, [], None, [], None, [], None, [], None, None
        records = sources.load_table(ctx, source).records
        every = [{"label": c, "value": c} for c in facet_columns(records)]
        numbers = [{"label": c, "value": c} for c in numeric_columns(records)]
        first_number = numbers[0]["value"] if numbers else None
        hint = ui.note("Click a point to see its example.", id="data-dive-record-hint")
        return every, None, every, None, every, default_color(records), numbers, first_number, numbers, None, hint

    @app.callback(
        Output("data-dive-graph", "figure"),
        Output("data-dive-summary", "children"),
        Output("data-dive-xy", "hidden"),
        Input("data-dive-source", "value"),
        Input("data-dive-row", "value"),
        Input("data-dive-column", "value"),
        Input("data-dive-color", "value"),
        Input("data-dive-positioning", "value"),
        Input("data-dive-x", "value"),
        Input("data-dive-y", "value"),
    )
    def draw(
        source: str | None,
        row: str | None,
        column: str | None,
        color: str | None,
        positioning: str | None,
        x: str | None,
        y: str | None,
    ) -> tuple:
        if not source:
            return {}, "", True
        scatter = positioning == "scatter"
        if scatter and not x:
            return dash.no_update, "Scatter positioning needs a numeric feature for X.", False
        laid = layout_of(
            ctx,
            source,
            row=row,
            column=column,
            color=color,
            positioning="scatter" if scatter else "stacked",
            x=x if scatter else None,
            y=y if scatter else None,
        )
        figure = dive_figure(laid)
        # Points may be a pixel or two wide; the legend's swatches must not shrink with them.
        figure.update_layout(legend={"itemsizing": "constant"})
        return figure, _summary(laid), not scatter

    @app.callback(
        Output("data-dive-record", "children", allow_duplicate=True),
        Input("data-dive-graph", "clickData"),
        State("data-dive-source", "value"),
        State("data-dive-row", "value"),
        State("data-dive-column", "value"),
        State("data-dive-color", "value"),
        State("data-dive-positioning", "value"),
        State("data-dive-x", "value"),
        State("data-dive-y", "value"),
        prevent_initial_call=True,
    )
    def show_record(
        click: dict | None,
        source: str | None,
        row: str | None,
        column: str | None,
        color: str | None,
        positioning: str | None,
        x: str | None,
        y: str | None,
    ) -> Any:
        points = (click or {}).get("points") or []
        if not points or not source:
            return dash.no_update
        scatter = positioning == "scatter"
        laid = layout_of(
            ctx,
            source,
            row=row,
            column=column,
            color=color,
            positioning="scatter" if scatter else "stacked",
            x=x if scatter else None,
            y=y if scatter else None,
        )
        index = clicked_example(laid, points[0])
        if index is None:
            return dash.no_update
        return record_panel(sources.load_table(ctx, source), index)


def clicked_example(laid: Dive, point: dict) -> int | None:
    """The example a click landed on.

    Dash leaves ``customdata`` out of click events when it travels as a typed array, so the
    example is found from the trace (one per colour, in ``color_labels`` order) and the point's
    position in it, checked against the clicked coordinates; failing that, the nearest point.
    """
    points = laid.points
    try:
        x, y = float(point["x"]), float(point["y"])
    except (KeyError, TypeError, ValueError):
        return None
    curve, number = point.get("curveNumber"), point.get("pointNumber")
    if isinstance(curve, int) and isinstance(number, int) and 0 <= curve < len(laid.color_labels):
        trace = points[points["color"] == laid.color_labels[curve]]
        if 0 <= number < len(trace):
            hit = trace.iloc[number]
            if np.isclose(hit["x"], x, rtol=0, atol=1e-4) and np.isclose(hit["y"], y, rtol=0, atol=1e-4):
                return int(hit["index"])
    if not len(points):
        return None
    distance = (points["x"].to_numpy(float) - x) ** 2 + (points["y"].to_numpy(float) - y) ** 2
    return int(points["index"].iloc[int(np.argmin(distance))])


def facet_columns(records: pd.DataFrame) -> list[str]:
    """Columns to facet and colour by: any of plain values (not lists, arrays or dicts)."""
    found = []
    for name in records.columns:
        column = records[name]
        if column.dtype == object:
            first = column.dropna().head(1)
            if len(first) and isinstance(first.iloc[0], (list, tuple, dict, np.ndarray)):
                continue
        found.append(str(name))
    return found


def numeric_columns(records: pd.DataFrame) -> list[str]:
    return [
        str(c)
        for c in records.columns
        if pd.api.types.is_numeric_dtype(records[c]) and not pd.api.types.is_bool_dtype(records[c])
    ]


def default_color(records: pd.DataFrame) -> str | None:
    """A label-like column, else the first category (then number) with a few distinct values."""
    for name in COLOR_FIRST:
        if name in records.columns and 1 < records[name].nunique() <= 2 * MAX_COLOR_VALUES:
            return name
    few = [name for name in facet_columns(records) if 1 < records[name].nunique() <= MAX_COLOR_VALUES]
    numbers = set(numeric_columns(records))
    return next((name for name in few if name not in numbers), few[0] if few else None)


def layout_of(ctx: AppContext, source: str, **options: Any) -> Dive:
    """``dive`` of the source with compact points: float32 positions and int32 example numbers."""

    def make() -> Dive:
        table = sources.load_table(ctx, source)
        stacked = options["positioning"] == "stacked"
        images = (
            table.images if stacked and table.images is not None and len(table.records) <= sources.MAX_SPRITES else None
        )
        laid = dive(table.records, images=images, **options)
        points = laid.points.astype({"x": np.float32, "y": np.float32, "index": np.int32})
        return dataclasses.replace(laid, points=points)

    return _LAYOUTS.get((source, tuple(sorted(options.items())), id(ctx)), make)


def _summary(laid: Dive) -> str:
    parts = [f"{len(laid.points):,} examples"]
    if laid.row:
        parts.append(f"rows by {laid.row} ({len(laid.row_labels)})")
    if laid.column:
        parts.append(f"columns by {laid.column} ({len(laid.column_labels)})")
    if laid.color:
        parts.append(f"colour by {laid.color}")
    return (
        " · ".join(parts) + ". Numbers are cut into equal-width bins, rare values pooled in (other). "
        "Scroll to zoom, drag to pan."
    )


def record_panel(table: sources.DiveTable, index: int) -> Any:
    """The clicked example: its image (when there is one) and every field."""
    if not 0 <= index < len(table.records):
        return ui.note(f"Example {index} is not in this table any more; click another point.")
    thumbnail = None
    if table.thumbnails is not None:
        thumbnail = table.thumbnails[index]
    elif table.images is not None:
        thumbnail = thumbnail_data_uri(table.images[index], size=64)
    row = table.records.iloc[index]
    rows = [
        html.Tr(
            [
                html.Th(
                    str(name),
                    style={
                        "textAlign": "left",
                        "fontWeight": 600,
                        "padding": "3px 12px 3px 0",
                        "color": "#52606D",
                        "verticalAlign": "top",
                        "overflowWrap": "anywhere",
                    },
                ),
                html.Td(
                    ui.number(value) if not isinstance(value, str) else value,
                    style={"padding": "3px 0", "overflowWrap": "anywhere"},
                ),
            ]
        )
        for name, value in row.items()
    ]
    return html.Div(
        id="data-dive-record-body",
        style={"border": "1px solid #E4E7EB", "borderRadius": "8px", "padding": "12px 14px"},
        children=[
            html.H3(f"Example {index}", style={"fontSize": "15px", "margin": "0 0 8px"}),
            html.Img(
                src=thumbnail,
                alt=f"image of example {index}",
                style={
                    "width": "128px",
                    "height": "128px",
                    "imageRendering": "pixelated",
                    "objectFit": "contain",
                    "border": "1px solid #E4E7EB",
                    "marginBottom": "8px",
                },
            )
            if thumbnail
            else None,
            html.Table(html.Tbody(rows), style={"borderCollapse": "collapse", "width": "100%"}),
        ],
    )
