"""Fairness view: a threshold per group by one of six strategies, each group's ROC and rates."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from deepscope.app.pages._evaluate import data, ui
from deepscope.app.plugin import AppContext
from deepscope.errors import InvalidArgumentError
from deepscope.evaluate.fairness import STRATEGIES, thresholds
from deepscope.evaluate.query.parser import Column, Literal, unparse

STRATEGY_NAMES = {
    "single": "Single threshold",
    "group": "Group thresholds (each its best)",
    "demographic_parity": "Demographic parity",
    "equal_opportunity": "Equal opportunity",
    "equal_accuracy": "Equal accuracy",
    "custom": "Custom threshold",
}
SHOWN = ["threshold", "n", "positive_rate", "tpr", "fpr", "accuracy", "precision"]


def layout(ctx: AppContext, source: data.Source, state: dict) -> Any:
    if not source.binary:
        return ui.note(
            "Fairness thresholds need a binary classifier's table: a label column and a "
            "'score' column (the positive class's probability)."
        )
    groups = source.categorical
    if not groups:
        return ui.note("This table has no column of a few values to compare groups by.")
    default = "group" if "group" in groups else groups[0]
    return html.Div(
        [
            html.Div(
                style=ui.ROW,
                children=[
                    ui.field(
                        "Group by", ui.dropdown("evaluate-fairness-group", groups, default), "evaluate-fairness-group"
                    ),
                    ui.field(
                        "Strategy",
                        ui.dropdown(
                            "evaluate-fairness-strategy",
                            [{"label": STRATEGY_NAMES[s], "value": s} for s in STRATEGIES if s in STRATEGY_NAMES],
                            "single",
                            width="280px",
                        ),
                        "evaluate-fairness-strategy",
                    ),
                    ui.field(
                        "Cost of a false positive (× a false negative)",
                        dcc.Input(
                            id="evaluate-fairness-cost",
                            type="number",
                            min=0.01,
                            step="any",
                            value=1.0,
                            debounce=True,
                            className="ds-input",
                            style={"width": "120px"},
                        ),
                        "evaluate-fairness-cost",
                    ),
                    ui.field(
                        "Custom threshold",
                        dcc.Input(
                            id="evaluate-fairness-custom",
                            type="number",
                            min=0,
                            max=1,
                            step="any",
                            value=0.5,
                            debounce=True,
                            className="ds-input",
                            style={"width": "110px"},
                        ),
                        "evaluate-fairness-custom",
                    ),
                ],
            ),
            html.Div(id="evaluate-fairness-message"),
            ui.figure_slot("evaluate-fairness-figure"),
            ui.note(
                "A score at or above a group's threshold is a positive prediction. Click a group to show its examples."
            ),
            ui.table("evaluate-fairness-table", page_size=20),
        ]
    )


def register(app: dash.Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("evaluate-fairness-figure", "children"),
        Output("evaluate-fairness-table", "data"),
        Output("evaluate-fairness-table", "columns"),
        Output("evaluate-fairness-message", "children"),
        Output("evaluate-fairness-custom", "disabled"),
        Input("evaluate-fairness-group", "value"),
        Input("evaluate-fairness-strategy", "value"),
        Input("evaluate-fairness-cost", "value"),
        Input("evaluate-fairness-custom", "value"),
        State("evaluate-source", "value"),
    )
    def update(group: str, strategy: str, cost: float | None, custom: float | None, key: str) -> tuple:
        source = data.load(ctx, key)
        try:
            result = thresholds(
                source.table,
                group=group,
                strategy=strategy,
                cost_ratio=cost if cost is not None else 1.0,
                custom=custom if strategy == "custom" else None,
            )
        except InvalidArgumentError as err:
            return None, [], [], ui.error_box(str(err)), strategy != "custom"
        frame = result.to_frame().set_index("group")[SHOWN]
        columns, records = ui.records(frame.rename(columns=lambda c: c.replace("_", " ")))
        columns[0]["name"] = group
        cost_text = f"total cost {result.cost:g} (false positives × {result.cost_ratio:g} + false negatives)"
        figure = result.figure().update_layout(margin={"t": 80})  # room between title and panel titles
        return (
            ui.filled_slot("evaluate-fairness-figure", figure),
            records,
            columns,
            ui.note(cost_text),
            strategy != "custom",
        )

    @app.callback(
        Output("evaluate-filter", "data", allow_duplicate=True),
        Input("evaluate-fairness-table", "active_cell"),
        State("evaluate-fairness-group", "value"),
        State("evaluate-source", "value"),
        prevent_initial_call=True,
    )
    def pick(cell: dict | None, group: str, key: str) -> Any:
        if not cell or cell.get("row_id") is None:
            return dash.no_update
        source = data.load(ctx, key)
        values = {str(v): v for v in source.table[group].dropna().unique()}
        value = values.get(cell["row_id"])
        if value is None:
            return dash.no_update
        value = value.item() if hasattr(value, "item") else value
        return f"{unparse(Column(group))} == {unparse(Literal(value))}"
