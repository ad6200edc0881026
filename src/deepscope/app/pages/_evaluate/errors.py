"""Errors view (after Errudite): a query box in the query language, named groups with their
coverage and error rates, and rewrite rules that re-run the model on a group."""

from __future__ import annotations

from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, dcc, html

from deepscope.app.pages._evaluate import data, ui
from deepscope.app.plugin import AppContext
from deepscope.errors import UnsupportedModelError
from deepscope.evaluate.query import QueryError, groups, mask, rewrite

COMMON_GROUPS = (
    ("low confidence", "confidence < 0.6"),
    ("confidently wrong", "prediction != label and confidence >= 0.8"),
)
TEXT_GROUPS = (
    ("negation", 'has_token(text, "not") or has_token(text, "n\'t")'),
    ("double negation", 'count_token(text, "not") + count_token(text, "n\'t") >= 2'),
    ("long", "length(text) >= 12"),
)
EXAMPLE_QUERY = 'prediction != label and has_token(text, "not")'
MAX_CHANGED_SHOWN = 200


def layout(ctx: AppContext, source: data.Source, state: dict) -> Any:
    text = source.text
    return html.Div(
        [
            html.H3("Query", style={**ui.SECTION, "marginTop": "8px"}),
            html.Div(
                style=ui.ROW,
                children=[
                    dcc.Input(
                        id="evaluate-errors-query",
                        type="text",
                        value=state.get("filter") or "",
                        debounce=False,
                        className="ds-input",
                        spellCheck=False,
                        placeholder=_example_query(source),
                        style={"width": "620px", "maxWidth": "100%", "fontFamily": "var(--ds-mono)"},
                    ),
                    html.Button("Apply", id="evaluate-errors-apply", n_clicks=0, style=ui.BUTTON),
                ],
            ),
            html.Div(id="evaluate-errors-query-message"),
            ui.note(
                [
                    "Columns by name; comparisons, ",
                    html.Code("and"),
                    "/",
                    html.Code("or"),
                    "/",
                    html.Code("not"),
                    ", ",
                    html.Code("in [...]"),
                    ", arithmetic; functions ",
                    html.Code("length(text)"),
                    ", ",
                    html.Code('has_token(text, "not")'),
                    ", ",
                    html.Code("count_token"),
                    ", ",
                    html.Code("matches(text, regex)"),
                    ", ",
                    html.Code("correct()"),
                    ", ",
                    html.Code("confidence()"),
                    ". Apply filters the examples everywhere on the page.",
                ]
            ),
            html.H3("Groups", style=ui.SECTION),
            ui.note("One group per line, as name: query. Click a group to show its examples."),
            html.Div(
                style=ui.ROW,
                children=[
                    dcc.Textarea(
                        id="evaluate-errors-groups",
                        value=_default_groups(source),
                        spellCheck=False,
                        style={
                            "width": "620px",
                            "maxWidth": "100%",
                            "height": "110px",
                            "fontFamily": "var(--ds-mono)",
                            "fontSize": "13px",
                        },
                    ),
                    html.Button("Update groups", id="evaluate-errors-groups-update", n_clicks=0, style=ui.BUTTON),
                ],
            ),
            html.Div(id="evaluate-errors-groups-message"),
            ui.figure_slot("evaluate-errors-groups-figure"),
            ui.table("evaluate-errors-groups-table", page_size=12),
            html.H3("Rewrite rules", style=ui.SECTION),
            html.Div(
                hidden=text is None,
                children=[
                    ui.note(
                        "A rule rewrites the text of the examples the filter keeps; the live model is re-run on "
                        'the changed ones. E.g. remove_token(text, "not"), replace(text, "good", "great"), '
                        "swap_names(text)."
                    ),
                    html.Div(
                        style=ui.ROW,
                        children=[
                            dcc.Input(
                                id="evaluate-errors-rule",
                                type="text",
                                value=f'remove_token({text or "text"}, "not")',
                                className="ds-input",
                                spellCheck=False,
                                style={"width": "620px", "maxWidth": "100%", "fontFamily": "var(--ds-mono)"},
                            ),
                            html.Button("Apply rule", id="evaluate-errors-rewrite", n_clicks=0, style=ui.BUTTON),
                        ],
                    ),
                    html.Div(id="evaluate-errors-rewrite-message"),
                    ui.figure_slot("evaluate-errors-rewrite-figure"),
                    ui.table("evaluate-errors-rewrite-table", page_size=10, wide=("c0", "c1")),
                ],
            ),
            html.Div(hidden=text is not None, children=ui.note("Rewrite rules work on a text column.")),
        ]
    )


def register(app: dash.Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("evaluate-filter", "data", allow_duplicate=True),
        Output("evaluate-errors-query-message", "children"),
        Input("evaluate-errors-apply", "n_clicks"),
        Input("evaluate-errors-query", "n_submit"),
        State("evaluate-errors-query", "value"),
        State("evaluate-source", "value"),
        prevent_initial_call=True,
    )
    def apply_query(clicks: int | None, submits: int | None, text: str | None, key: str) -> tuple:
        if not clicks and not submits:  # the view was just drawn: nothing was applied
            return dash.no_update, dash.no_update
        text = (text or "").strip()
        if not text:
            return None, ui.note("No query: every example is shown.")
        source = data.load(ctx, key)
        try:
            kept = int(mask(source.table, text).sum())
        except QueryError as err:
            return dash.no_update, ui.error_box(str(err), id="evaluate-errors-query-error")
        return text, ui.note(f"{kept:,} of {len(source.table):,} examples match.")

    @app.callback(
        Output("evaluate-errors-groups-figure", "children"),
        Output("evaluate-errors-groups-table", "data"),
        Output("evaluate-errors-groups-table", "columns"),
        Output("evaluate-errors-groups-message", "children"),
        Input("evaluate-errors-groups-update", "n_clicks"),
        State("evaluate-errors-groups", "value"),
        State("evaluate-source", "value"),
    )
    def update_groups(_n: int, text: str | None, key: str) -> tuple:
        source = data.load(ctx, key)
        if not source.has_label or not source.classes:
            return (
                None,
                [],
                [],
                ui.note(
                    "Error groups count misclassified examples: they need a classifier's table with a label column."
                ),
            )
        definitions, problems = _definitions(source.table, text or "")
        messages = [ui.error_box(p) for p in problems]
        if not definitions:
            return None, [], [], messages or ui.note("Write a group as name: query.")
        result = groups(source.table, definitions)
        frame = result.to_frame().set_index("name")[
            ["n", "coverage", "errors", "error_coverage", "local_error_rate", "global_error_rate", "query"]
        ]
        columns, records = ui.records(frame.rename(columns=lambda c: c.replace("_", " ")))
        columns[0]["name"] = "group"
        figure = result.figure().update_traces(cliponaxis=False).update_layout(margin={"l": 80, "r": 40})
        return ui.filled_slot("evaluate-errors-groups-figure", figure), records, columns, messages

    @app.callback(
        Output("evaluate-filter", "data", allow_duplicate=True),
        Input("evaluate-errors-groups-table", "active_cell"),
        State("evaluate-errors-groups", "value"),
        State("evaluate-source", "value"),
        prevent_initial_call=True,
    )
    def pick_group(cell: dict | None, text: str | None, key: str) -> Any:
        if not cell or cell.get("row_id") is None:
            return dash.no_update
        definitions, _ = _definitions(data.load(ctx, key).table, text or "")
        return definitions.get(cell["row_id"], dash.no_update)

    @app.callback(
        Output("evaluate-errors-rewrite-figure", "children"),
        Output("evaluate-errors-rewrite-table", "data"),
        Output("evaluate-errors-rewrite-table", "columns"),
        Output("evaluate-errors-rewrite-message", "children"),
        Input("evaluate-errors-rewrite", "n_clicks"),
        State("evaluate-errors-rule", "value"),
        State("evaluate-filter", "data"),
        State("evaluate-source", "value"),
        State("evaluate-model", "value"),
        prevent_initial_call=True,
    )
    def apply_rule(_n: int, rule: str | None, filter_text: str | None, key: str, model: str | None) -> tuple:
        source = data.load(ctx, key)
        if source.text is None:  # the section is hidden then; a stale click can still arrive
            return None, [], [], ui.note("Rewrite rules work on a text column.")
        if not model:
            return None, [], [], ui.note("Choose a live model (top of the page) to re-run on the rewrites.")
        live = ctx.models[model]
        labels = [str(c) for c in source.classes] if any(isinstance(c, str) for c in source.classes) else None
        try:
            problem = data.model_problem(live, source)
            if problem:
                raise UnsupportedModelError("model", "a text model for this table", problem)
            result = rewrite(
                live,
                source.table,
                (rule or "").strip(),
                where=filter_text or None,
                text=source.text,
                label="label" if source.has_label else None,
                labels=labels,
            )
        except data.MODEL_ERRORS as err:  # a QueryError is a ValueError
            return None, [], [], ui.error_box(data.describe_error(err))
        changed = result.to_frame().head(MAX_CHANGED_SHOWN)
        columns, records = ui.records(
            changed[
                [
                    "original",
                    "rewritten",
                    "label",
                    "prediction",
                    "new_prediction",
                    "confidence",
                    "new_confidence",
                    "flipped",
                ]
            ].rename(columns=lambda c: c.replace("_", " "))
        )
        rate = f"{result.flip_rate:.1%}" if result.n_changed else "n/a"
        note = ui.note(
            f"The rule changed {result.n_changed:,} of the {result.n_group:,} examples "
            f"{'the filter keeps' if filter_text else 'in the table'}; {result.n_flipped:,} "
            f"predictions flipped (flip rate {rate}). Flips first."
        )
        figure = result.figure().update_layout(height=320)
        return ui.filled_slot("evaluate-errors-rewrite-figure", figure), records, columns, note


def _definitions(table: pd.DataFrame, text: str) -> tuple[dict[str, str], list[str]]:
    """Groups from ``name: query`` lines; a line that does not parse or run becomes a message."""
    definitions: dict[str, str] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, query_text = line.partition(":")
        if not colon or not name.strip() or not query_text.strip():
            problems.append(f"line {number}: expected name: query, got {line.strip()!r}")
            continue
        try:
            mask(table, query_text.strip())
        except QueryError as err:
            problems.append(f"group {name.strip()!r} (line {number}):\n{err}")
            continue
        definitions[name.strip()] = query_text.strip()
    return definitions, problems


def _default_groups(source: data.Source) -> str:
    lines = list(COMMON_GROUPS) if "confidence" in source.table else []
    if source.text == "text":
        lines += list(TEXT_GROUPS)
    return "\n".join(f"{name}: {query}" for name, query in lines)


def _example_query(source: data.Source) -> str:
    if source.text == "text":
        return f"e.g. {EXAMPLE_QUERY}"
    column = source.numeric[0] if source.numeric else None
    return f"e.g. prediction != label and {column} > 0" if column else "e.g. prediction != label"
