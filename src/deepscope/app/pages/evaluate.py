"""Evaluate: how well the model works, on which data, and why it fails there.

Views: Slices (metrics per slice), Fairness (thresholds per group), Compare (models side by
side, generators, salience), Errors (query language, named groups, rewrite rules) and What-if
(example editor, nearest counterfactual, partial dependence). They are linked: choosing a slice
or a group sets the page's filter (a query in ``evaluate-filter``), and the example table and
every view show only the examples it keeps; clicking an example picks it for the editor.

The data is a predictions table logged in a run (``ds.evaluate.predictions(..., run=run)``); live
models registered with ``ds.serve(..., models=...)`` re-run edited and generated examples.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from deepscope.app.pages._evaluate import compare, data, errors, fairness, linked, slices, ui, whatif
from deepscope.app.plugin import AppContext, Page
from deepscope.evaluate.query import QueryError

log = logging.getLogger(__name__)

VIEWS = {
    "slices": ("Slices", slices),
    "fairness": ("Fairness", fairness),
    "compare": ("Compare", compare),
    "errors": ("Errors", errors),
    "whatif": ("What-if", whatif),
}
PAGE_SIZE = 12
TAB = {"padding": "8px 12px", "height": "40px", "boxSizing": "border-box", "color": "#52606D"}
TAB_SELECTED = {**TAB, "color": "#332288", "fontWeight": 600, "borderTop": "2px solid #332288"}
MAX_INPUT_COLUMNS = 10


def is_active(ctx: AppContext) -> bool:
    """Whether some run has a predictions table or live models are registered."""
    return len(ctx.models) > 0 or data.has_logged_table(ctx)


def layout(ctx: AppContext) -> Any:
    options = data.source_options(ctx)
    models = [{"label": name, "value": name} for name in ctx.models]
    if not options:
        return html.Div(
            className="ds-page",
            children=[
                html.Div(className="ds-page-head", children=[html.H1("Evaluate")]),
                html.Div(className="ds-empty", id="evaluate-empty", children=_empty_state(ctx)),
            ],
        )
    return html.Div(
        className="ds-page",
        children=[
            html.Div(
                className="ds-page-head",
                children=[
                    html.H1("Evaluate"),
                    html.Span(id="evaluate-summary", className="ds-muted"),
                ],
            ),
            html.Div(
                style=ui.ROW,
                children=[
                    ui.field(
                        "Predictions",
                        ui.dropdown("evaluate-source", options, options[0]["value"], width="380px"),
                        "evaluate-source",
                    ),
                    ui.field(
                        "Live model",
                        dcc.Dropdown(
                            id="evaluate-model",
                            options=models,
                            value=None,
                            clearable=True,
                            style={"width": "240px"},
                            placeholder="none registered" if not models else "choose a model",
                        ),
                        "evaluate-model",
                    ),
                ],
            ),
            html.Div(
                id="evaluate-filter-bar",
                style={
                    "display": "flex",
                    "gap": "10px",
                    "alignItems": "center",
                    "flexWrap": "wrap",
                    "minHeight": "30px",
                },
            ),
            *linked.stores(),
            dcc.Tabs(
                id="evaluate-view",
                value="slices",
                children=[
                    dcc.Tab(label=label, value=key, id=f"evaluate-tab-{key}", style=TAB, selected_style=TAB_SELECTED)
                    for key, (label, _) in VIEWS.items()
                ],
                style={"marginTop": "6px", "height": "40px"},
            ),
            html.Div(id="evaluate-view-body", style={"minHeight": "200px", "paddingTop": "8px"}),
            html.H2("Examples", style=ui.SECTION),
            html.P(id="evaluate-examples-note", style=ui.NOTE),
            ui.table("evaluate-examples", page_action="custom", page_current=0, page_size=PAGE_SIZE, wide=("c0",)),
            dcc.Store(id="evaluate-filter", data=None),
            dcc.Store(id="evaluate-selected", data=None),
            dcc.Store(id="evaluate-history", data=[]),
        ],
    )


def register_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("evaluate-filter", "data"),
        Output("evaluate-selected", "data"),
        Output("evaluate-history", "data"),
        Output("evaluate-model", "value"),
        Output("evaluate-summary", "children"),
        Input("evaluate-source", "value"),
    )
    def change_source(key: str | None) -> tuple:
        if not key:
            return None, None, [], None, ""
        source = data.load(ctx, key)
        summary = f"{len(source.table):,} examples · {len(source.inputs)} input columns"
        return None, None, [], _default_model(ctx, source), summary

    @app.callback(
        Output("evaluate-view-body", "children"),
        Input("evaluate-view", "value"),
        Input("evaluate-source", "value"),
        State("evaluate-filter", "data"),
    )
    def render_view(view: str | None, key: str | None, filter_text: str | None) -> Any:
        if not key:
            return None
        _, module = VIEWS.get(view or "slices", VIEWS["slices"])
        return module.layout(ctx, data.load(ctx, key), {"filter": filter_text})

    @app.callback(
        Output("evaluate-filter-bar", "children"),
        Input("evaluate-filter", "data"),
        Input("evaluate-source", "value"),
    )
    def show_filter(filter_text: str | None, key: str | None) -> Any:
        if not key:
            return None
        source = data.load(ctx, key)
        total = len(source.table)
        if not filter_text:
            return [
                html.Span(
                    f"Showing all {total:,} examples. Pick a slice, a group or write a query (Errors) to filter them.",
                    style=ui.NOTE,
                )
            ]
        try:
            kept = len(data.filtered(source, filter_text))
        except QueryError as err:
            return [ui.error_box(str(err))]
        return [
            html.Span("Filter", style=ui.LABEL),
            html.Code(
                filter_text,
                id="evaluate-filter-text",
                style={"background": "#EBE9F6", "padding": "3px 8px", "borderRadius": "4px"},
            ),
            html.Span(f"{kept:,} of {total:,} examples", id="evaluate-filter-count", style=ui.NOTE),
            html.Button("Clear filter", id="evaluate-filter-clear", n_clicks=0, style=ui.QUIET_BUTTON),
        ]

    @app.callback(
        Output("evaluate-filter", "data", allow_duplicate=True),
        Input("evaluate-filter-clear", "n_clicks"),
        prevent_initial_call=True,
    )
    def clear_filter(n_clicks: int | None) -> Any:
        return None if n_clicks else dash.no_update

    @app.callback(
        Output("evaluate-examples", "data"),
        Output("evaluate-examples", "columns"),
        Output("evaluate-examples", "page_count"),
        Output("evaluate-examples", "page_current"),
        Output("evaluate-examples", "style_data_conditional"),
        Output("evaluate-examples-note", "children"),
        Input("evaluate-source", "value"),
        Input("evaluate-filter", "data"),
        Input("evaluate-examples", "page_current"),
        Input("evaluate-selected", "data"),
        Input("evaluate-ids", "data"),
    )
    def show_examples(key: str | None, filter_text: str | None, page: int | None, selected: Any, chosen: Any) -> tuple:
        if not key:
            return [], [], 1, 0, [], ""
        source = data.load(ctx, key)
        try:
            rows = data.filtered(source, filter_text)
        except QueryError:
            rows = source.table
        rows = linked.keep(rows, chosen, key)  # the examples another page chose (the Projector's selection)
        pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
        if dash.ctx.triggered_id != "evaluate-examples":
            page = 0 if dash.ctx.triggered_id in ("evaluate-source", "evaluate-filter", "evaluate-ids") else page
        page = min(max(int(page or 0), 0), pages - 1)
        shown = rows.iloc[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        columns, records = ui.records(ui.rounded_confidences(example_columns(source, shown)), digits=6)
        note = (
            f"{len(rows):,} examples{' match the filter' if filter_text else ''}. "
            "Click one to pick it for the What-if editor and the Compare view."
        )
        return records, columns, pages, page, ui.selected_style(selected), note

    @app.callback(
        Output("evaluate-selected", "data", allow_duplicate=True),
        Input("evaluate-examples", "active_cell"),
        prevent_initial_call=True,
    )
    def pick_example(cell: dict | None) -> Any:
        return cell["row_id"] if cell and cell.get("row_id") is not None else dash.no_update

    for _, module in VIEWS.values():
        module.register(app, ctx)
    linked.register(app, ctx)


def example_columns(source: data.Source, rows: Any) -> Any:
    """The example table's columns: inputs (text first, at most ten), label, prediction, confidence."""
    inputs = ([source.text] if source.text else []) + [c for c in source.inputs if c != source.text]
    extra = [c for c in ("label", "prediction", "confidence", "correct") if c in rows.columns]
    return rows[inputs[:MAX_INPUT_COLUMNS] + extra]


def _default_model(ctx: AppContext, source: data.Source) -> str | None:
    """The live model that made the source: registered under its run's name, or the model of a
    live source; else the only registered model when it can run on the source. Otherwise none:
    a model is a guess the user should make."""
    kind, _, model = json.loads(source.key)
    named = model if kind == "live" else source.run
    if named in ctx.models:
        return named
    if len(ctx.models) != 1:
        return None
    (name,) = ctx.models
    try:
        return name if data.model_problem(ctx.models[name], source) is None else None
    except data.MODEL_ERRORS:
        log.exception("live model %r could not be loaded", name)
        return None


def _empty_state(ctx: AppContext) -> Any:
    where = str(ctx.logdir_path) if ctx.logdir_path is not None else "logs"
    snippet = (
        "import deepscope as ds\n\n"
        f"with ds.Run({where!r}, name='my-model') as run:\n"
        "    ds.evaluate.predictions(model, test_frame, label='label', run=run)"
    )
    return [
        html.H2("No predictions yet"),
        html.P("Log a predictions table in a run, then open this page again:"),
        html.Pre(html.Code(snippet)),
        html.P(
            [
                "Or pass datasets with the live models: ",
                html.Code("ds.serve(logdir, models={...}, datasets={...})"),
                ".",
            ]
        ),
    ]


PAGE = Page(
    name="Evaluate",
    path="/evaluate",
    order=50,
    is_active=is_active,
    layout=layout,
    register_callbacks=register_callbacks,
)
