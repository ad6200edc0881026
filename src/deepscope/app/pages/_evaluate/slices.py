"""Slices view: a metric per slice with its interval; clicking a slice filters the examples."""

from __future__ import annotations

from html import unescape
from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from deepscope.app.pages._evaluate import data, ui
from deepscope.app.plugin import AppContext
from deepscope.errors import InvalidArgumentError, NotFoundError
from deepscope.evaluate.slices import slices

DEFAULT_COLUMNS = 3


def layout(ctx: AppContext, source: data.Source, state: dict) -> Any:
    columns = source.sliceable
    if not columns:
        return ui.note("This table has no columns to slice by (numbers or columns of a few values).")
    return html.Div(
        [
            html.Div(
                style=ui.ROW,
                children=[
                    ui.field(
                        "Slice by",
                        dcc.Dropdown(
                            id="evaluate-slices-by",
                            options=columns,
                            multi=True,
                            value=columns[:DEFAULT_COLUMNS],
                            style={"minWidth": "320px"},
                        ),
                        "evaluate-slices-by",
                    ),
                    ui.field("Metric", ui.dropdown("evaluate-slices-metric", [], None), "evaluate-slices-metric"),
                ],
            ),
            html.Div(id="evaluate-slices-message"),
            ui.figure_slot("evaluate-slices-figure"),
            ui.note("Click a slice (a dot or a row) to show only its examples everywhere on the page."),
            ui.table("evaluate-slices-table", page_size=12),
            dcc.Store(id="evaluate-slices-queries"),
        ]
    )


def register(app: dash.Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("evaluate-slices-figure", "children"),
        Output("evaluate-slices-table", "data"),
        Output("evaluate-slices-table", "columns"),
        Output("evaluate-slices-metric", "options"),
        Output("evaluate-slices-metric", "value"),
        Output("evaluate-slices-queries", "data"),
        Output("evaluate-slices-message", "children"),
        Input("evaluate-slices-by", "value"),
        Input("evaluate-slices-metric", "value"),
        State("evaluate-source", "value"),
    )
    def update(by: list | None, metric: str | None, key: str) -> tuple:
        source = data.load(ctx, key)
        if not by:
            return None, [], [], [], None, {}, ui.note("Choose at least one column to slice by.")
        if not source.has_label:
            return None, [], [], [], None, {}, ui.note("Slice metrics need a label column in the table.")
        try:
            result = slices(source.table, by=list(by))
        except (InvalidArgumentError, NotFoundError) as err:
            return None, [], [], [], None, {}, ui.error_box(str(err))
        metric = metric if metric in result.metrics else result.metrics[0]
        frame = result.to_frame()
        shown = frame[["slice", "n", metric] + [c for c in (f"{metric}_low", f"{metric}_high") if c in frame]]
        shown = shown.set_index("slice").rename(columns={f"{metric}_low": "low", f"{metric}_high": "high"})
        columns, records = ui.records(shown)
        columns[0]["name"] = "slice"
        queries = dict(zip(frame["slice"], frame["query"], strict=True))
        return (
            ui.filled_slot("evaluate-slices-figure", result.figure(metric=metric)),
            records,
            columns,
            list(result.metrics),
            metric,
            queries,
            None,
        )

    # Two callbacks, not one: the graph exists only once its figure is drawn, and a callback whose
    # inputs are only partly in the page is an error in the browser.
    @app.callback(
        Output("evaluate-filter", "data", allow_duplicate=True),
        Input("evaluate-slices-figure-graph", "clickData"),
        State("evaluate-slices-queries", "data"),
        prevent_initial_call=True,
    )
    def pick_dot(click: dict | None, queries: dict | None) -> Any:
        return _query_of(_clicked_slice(click), queries)

    @app.callback(
        Output("evaluate-filter", "data", allow_duplicate=True),
        Input("evaluate-slices-table", "active_cell"),
        State("evaluate-slices-queries", "data"),
        prevent_initial_call=True,
    )
    def pick_row(cell: dict | None, queries: dict | None) -> Any:
        return _query_of((cell or {}).get("row_id"), queries)


def _query_of(name: str | None, queries: dict | None) -> Any:
    return queries[name] if queries and name in queries else dash.no_update


def _clicked_slice(click: dict | None) -> str | None:
    points = (click or {}).get("points") or []
    # the figure shows slice names escaped (deepscope.escape); the queries are keyed by the real name
    return unescape(str(points[0].get("y"))) if points else None
