"""Anomalies: every way a dataset breaks its schema (kind, feature, description), errors first,
and the schema it was checked against."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, html

from deepscope.app.pages._data import sources, ui
from deepscope.app.plugin import AppContext
from deepscope.data import Anomalies, Schema

MAX_DOMAIN_SHOWN = 8


def layout(ctx: AppContext) -> Any:
    options = sources.anomaly_options(ctx)
    if not options:
        return ui.empty(
            "No anomalies checked",
            "Log them with ds.data.validate(profile, schema).save(run), or "
            "register a TabularDataset (its serving data is checked against a schema of its train "
            "data).",
            id="data-anomalies-empty",
        )
    return html.Div(
        [
            html.Div(
                style=ui.ROW,
                children=[
                    ui.field(
                        "Checked data",
                        ui.dropdown("data-anomalies-source", options, options[0]["value"], width="520px"),
                        "data-anomalies-source",
                    ),
                ],
            ),
            html.Div(id="data-anomalies-summary"),
            html.Div(id="data-anomalies-list"),
            html.Div(id="data-anomalies-schema"),
        ]
    )


def register(app: dash.Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("data-anomalies-summary", "children"),
        Output("data-anomalies-list", "children"),
        Output("data-anomalies-schema", "children"),
        Input("data-anomalies-source", "value"),
    )
    def show(source: str | None) -> tuple:
        if not source:
            return None, None, None
        anomalies, schema = sources.load_anomalies(ctx, source)
        return _summary(anomalies), anomalies_table(anomalies), schema_table(schema)


def _summary(anomalies: Anomalies) -> Any:
    errors = sum(a.severity == "error" for a in anomalies)
    warnings = len(anomalies) - errors
    if errors:
        text = (
            f"{anomalies.profile}: {errors} error{'s' if errors != 1 else ''}"
            + (f" and {warnings} warning{'s' if warnings != 1 else ''}" if warnings else "")
            + " against the schema."
        )
        color, surface = ui.BAD, ui.BAD_SURFACE
    elif warnings:
        text = f"{anomalies.profile}: no errors, {warnings} warning{'s' if warnings != 1 else ''} against the schema."
        color, surface = ui.WARN, "#FFF8E6"
    else:
        text = f"{anomalies.profile} matches the schema: no anomalies."
        color, surface = ui.GOOD, "#EDF7EF"
    return html.Div(
        text,
        id="data-anomalies-verdict",
        role="status",
        style={
            "borderLeft": f"4px solid {color}",
            "background": surface,
            "padding": "8px 12px",
            "borderRadius": "4px",
            "margin": "0 0 8px",
            "fontWeight": 600,
            "color": "#1F2933",
        },
    )


def anomalies_table(anomalies: Anomalies) -> Any:
    if not len(anomalies):
        return None
    frame = anomalies.to_frame()
    frame["_order"] = (frame["severity"] != "error").astype(int)
    frame = frame.sort_values(["_order", "feature"], kind="stable")
    columns = [
        {"id": c, "name": n}
        for c, n in (
            ("severity", "Severity"),
            ("kind", "Kind"),
            ("feature", "Feature"),
            ("description", "Description"),
            ("examples", "Examples"),
        )
    ]
    data = [
        {
            "severity": r.severity,
            "kind": r.kind,
            "feature": r.feature,
            "description": r.description,
            "examples": ", ".join(map(str, r.examples)),
        }
        for r in frame.itertuples()
    ]
    styles = [
        {"if": {"filter_query": '{severity} = "error"', "column_id": "severity"}, "color": ui.BAD, "fontWeight": 600},
        {
            "if": {"filter_query": '{severity} = "warning"', "column_id": "severity"},
            "color": ui.WARN,
            "fontWeight": 600,
        },
        {"if": {"column_id": "kind"}, "fontFamily": "var(--ds-mono)", "fontSize": "12px"},
    ]
    return ui.table(
        "data-anomalies-table", columns, data, page_size=50, style_data_conditional=styles, sort_action="native"
    )


def schema_table(schema: Schema | None) -> Any:
    if schema is None:
        return None
    data = []
    for spec in schema.features.values():
        domain = ""
        if spec.domain is not None:
            shown = list(spec.domain[:MAX_DOMAIN_SHOWN])
            domain = ", ".join(shown) + (
                f" and {len(spec.domain) - len(shown)} more" if len(spec.domain) > len(shown) else ""
            )
        value_range = ""
        if spec.range is not None:
            value_range = f"{ui.number(spec.range[0])} to {ui.number(spec.range[1])}"
            if spec.max_out_of_range:
                value_range += f" (up to {ui.percent(spec.max_out_of_range)} outside)"
        data.append(
            {
                "feature": spec.name,
                "type": spec.type,
                "presence": f"≥ {ui.percent(spec.min_presence)}",
                "domain": domain,
                "range": value_range,
                "non_finite": ("allowed" if spec.allow_non_finite else "not allowed") if spec.type == "float" else "",
            }
        )
    columns = [
        {"id": c, "name": n}
        for c, n in (
            ("feature", "Feature"),
            ("type", "Type"),
            ("presence", "Present in"),
            ("domain", "Domain"),
            ("range", "Range"),
            ("non_finite", "NaN / inf"),
        )
    ]
    return html.Div(
        [
            ui.section("Schema"),
            ui.note(
                "What each feature should look like; save it with Schema.save, edit the JSON, and check new data "
                "with deepscope profile DATA --schema schema.json."
            ),
            ui.table("data-anomalies-schema-table", columns, data, page_size=50),
        ]
    )
