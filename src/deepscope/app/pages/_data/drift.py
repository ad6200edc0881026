"""Drift: per feature the distance metrics between a reference (train) and a current dataset
(serving), each against its threshold, the verdicts, and the distributions of one feature side by
side (the most drifted one first; click a bar to pick another)."""

from __future__ import annotations

import math
from html import unescape
from typing import Any

import dash
from dash import Input, Output, State, html

from deepscope.app.pages._data import sources, ui
from deepscope.app.plugin import AppContext
from deepscope.data import DriftReport
from deepscope.viz.data import drift_feature_figure, drift_figure

METRICS = {
    "jensen_shannon": "JS divergence",
    "psi": "PSI",
    "linf": "L∞",
    "wasserstein": "Wasserstein (normed)",
    "ks": "KS",
    "ks_pvalue": "KS p-value",
}
# Thresholds applied to these rise with small samples (three standard errors), so they vary by feature.
NOISE_FLOORED = ("linf", "wasserstein")


def layout(ctx: AppContext) -> Any:
    options = sources.drift_options(ctx)
    if not options:
        return ui.empty(
            "No drift reports",
            "Log one with ds.data.drift(train, serving).save(run), log two "
            "profiles in one run, or register a TabularDataset.",
            id="data-drift-empty",
        )
    return html.Div(
        [
            html.Div(
                style=ui.ROW,
                children=[
                    ui.field(
                        "Report",
                        ui.dropdown("data-drift-report", options, options[0]["value"], width="520px"),
                        "data-drift-report",
                    ),
                ],
            ),
            html.Div(id="data-drift-summary"),
            html.Div(id="data-drift-chart"),
            ui.section("Metrics per feature"),
            html.Div(id="data-drift-table"),
            html.Div(id="data-drift-notes", style=ui.NOTE),
            ui.section("Distributions of one feature"),
            html.Div(
                style=ui.ROW,
                children=[
                    ui.field(
                        "Feature", ui.dropdown("data-drift-feature", [], None, width="320px"), "data-drift-feature"
                    ),
                ],
            ),
            html.Div(id="data-drift-feature-chart"),
        ]
    )


def register(app: dash.Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("data-drift-summary", "children"),
        Output("data-drift-chart", "children"),
        Output("data-drift-table", "children"),
        Output("data-drift-notes", "children"),
        Output("data-drift-feature", "options"),
        Output("data-drift-feature", "value"),
        Input("data-drift-report", "value"),
    )
    def show_report(source: str | None) -> tuple:
        if not source:
            return None, None, None, None, [], None
        report = sources.load_drift(ctx, source)
        features = _ranked(report)
        options = [
            {"label": f"{f} (drifted)" if d else f, "value": f}
            for f, d in zip(features["feature"], features["drifted"], strict=True)
        ]
        first = features["feature"].iloc[0] if len(features) else None
        chart = ui.graph("data-drift-chart-graph", drift_figure(report)) if len(features) else None
        return _verdict(report), chart, metrics_table(report), _notes(report), options, first

    @app.callback(
        Output("data-drift-feature", "value", allow_duplicate=True),
        Input("data-drift-chart-graph", "clickData"),
        State("data-drift-report", "value"),
        prevent_initial_call=True,
    )
    def pick_feature(click: dict | None, source: str | None) -> Any:
        points = (click or {}).get("points") or []
        label = unescape(str(points[0].get("y", ""))) if points else ""  # shown escaped
        if not label or not source:
            return dash.no_update
        features = sources.load_drift(ctx, source).features["feature"].tolist()
        # The chart shortens long names with a trailing ellipsis.
        found = [f for f in features if f == label or (label.endswith("…") and f.startswith(label[:-1]))]
        return found[0] if found else dash.no_update

    @app.callback(
        Output("data-drift-feature-chart", "children"),
        Input("data-drift-feature", "value"),
        Input("data-drift-report", "value"),
    )
    def show_feature(feature: str | None, source: str | None) -> Any:
        if not feature or not source:
            return None
        report = sources.load_drift(ctx, source)
        if feature not in report.histograms:
            return ui.note(f"{feature} was not compared.")
        return ui.graph("data-drift-feature-graph", drift_feature_figure(report, feature))


def _ranked(report: DriftReport) -> Any:
    """Features most drifted first: drifted before steady, then by metric / threshold."""
    features = report.features.copy()
    features["_score"] = features["score"].fillna(-1.0)
    return features.sort_values(["drifted", "_score"], ascending=[False, False], kind="stable")


def _verdict(report: DriftReport) -> Any:
    compared = len(report.features)
    drifted = report.drifted_features
    if report.drifted:
        text = (
            f"Drift: {len(drifted)} of {compared} features of {report.current} drifted from "
            f"{report.reference}: {', '.join(drifted)}."
        )
        color, surface = ui.BAD, ui.BAD_SURFACE
    elif drifted:
        text = (
            f"No dataset drift: {len(drifted)} of {compared} features drifted ({', '.join(drifted)}), "
            f"within the allowed share of {report.thresholds.get('dataset_share') or 0:.0%}."
        )
        color, surface = ui.WARN, "#FFF8E6"
    else:
        text = (
            f"No drift: none of the {compared} compared features of {report.current} drifted from {report.reference}."
        )
        color, surface = ui.GOOD, "#EDF7EF"
    return html.Div(
        text,
        id="data-drift-verdict",
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


def metrics_table(report: DriftReport) -> Any:
    """One row per feature: verdict, the deciding metric, and each metric's value (red when it
    crossed its threshold; the threshold applied is in the header, or the cell's tooltip where it
    varies by feature)."""
    present = [m for m in METRICS if m in set(report.metrics["metric"])]
    columns = [
        {"id": "feature", "name": ["", "Feature"]},
        {"id": "type", "name": ["", "Type"]},
        {"id": "verdict", "name": ["", "Verdict"]},
        {"id": "decided", "name": ["", "Decided by"]},
    ]
    for metric in present:
        limit = report.thresholds.get(metric)
        if limit is None:
            rule = "not judged"
        else:
            rule = (
                ("< " if metric == "ks_pvalue" else "> ") + ui.number(limit) + ("*" if metric in NOISE_FLOORED else "")
            )
        columns.append({"id": metric, "name": [METRICS[metric], rule]})
    values = report.metrics.set_index(["feature", "metric"])
    data, tooltips, styles = [], [], []
    for row in _ranked(report).itertuples():
        record = {
            "feature": row.feature,
            "type": row.type,
            "verdict": "drifted" if row.drifted else "ok",
            "decided": METRICS.get(row.metric, "") if row.drifted else "",
        }
        tips = {}
        for metric in present:
            if (row.feature, metric) not in values.index:
                continue
            entry = values.loc[(row.feature, metric)]
            record[metric] = ui.number(entry["value"])
            threshold = entry["threshold"]
            if threshold is not None and not (isinstance(threshold, float) and math.isnan(threshold)):
                tips[metric] = f"{METRICS[metric]} = {entry['value']:.4g}, threshold {threshold:.4g}"
            if entry["drifted"]:
                styles.append(
                    {
                        "if": {"row_index": len(data), "column_id": metric},
                        "color": ui.BAD,
                        "fontWeight": 600,
                        "backgroundColor": ui.BAD_SURFACE,
                    }
                )
        data.append(record)
        tooltips.append(tips)
    styles.append(
        {"if": {"filter_query": '{verdict} = "drifted"', "column_id": "verdict"}, "color": ui.BAD, "fontWeight": 600}
    )
    styles.append({"if": {"filter_query": '{verdict} = "ok"', "column_id": "verdict"}, "color": ui.GOOD})
    return ui.table(
        "data-drift-metrics",
        columns,
        data,
        page_size=50,
        tooltip_data=tooltips,
        merge_duplicate_headers=True,
        style_data_conditional=styles,
        style_cell_conditional=[
            {"if": {"column_id": m}, "textAlign": "right", "fontVariantNumeric": "tabular-nums"} for m in present
        ],
    )


def _notes(report: DriftReport) -> Any:
    notes = [
        "JS divergence is in bits (0 to 1); numeric features are bucketed at the reference's deciles. "
        "* L∞ and Wasserstein thresholds rise to three standard errors when samples are small: hover a "
        "value for the threshold applied to it."
    ]
    if report.skipped:
        notes.append("Not compared: " + "; ".join(f"{f} ({why})" for f, why in report.skipped.items()) + ".")
    return [html.Span(n, style={"display": "block"}) for n in notes]
