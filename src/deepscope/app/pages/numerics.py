"""Numerics: where NaN and Inf first appeared, and every layer's tensor health over steps.

Reads what ``ds.debug.numerics(model, run=run)`` saved: the table ``"numerics"`` (one row per
step, module and direction) and the run's meta ``"numerics_first_nonfinite"``. Shows the first
offending module's path up front, a layers x steps heat map of a chosen statistic, and the alerts:
every module that produced NaN or Inf, from the first step it did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd
from dash import Input, Output, dash_table, dcc, html

from deepscope.app.plugin import AppContext, Page
from deepscope.viz.numerics import STATS, health_heatmap, module_label

if TYPE_CHECKING:
    from deepscope.track import Logdir

TABLE = "numerics"
META = "numerics_first_nonfinite"
_KINDS = (("nan", "NaN"), ("pos_inf", "+Inf"), ("neg_inf", "-Inf"))


def runs_with_numerics(ctx: AppContext) -> list[str]:
    """Runs that saved a numerics table, oldest first."""
    if ctx.logdir is None:
        return []
    from deepscope.app.series import SeriesSource

    source = SeriesSource.shared(ctx.logdir)  # cached per run: cheap on every navigation
    return [run for run, tags in source.tags_by_run("tables").items() if TABLE in tags]


def nonfinite_alerts(stats: pd.DataFrame) -> pd.DataFrame:
    """One row per module and direction that ever produced NaN or Inf, in the order it first did
    (step, then execution order within the step): first and last step, how many steps, which
    kinds, and the most non-finite values in one step."""
    columns = ["module", "direction", "first_step", "last_step", "steps", "kinds", "most"]
    if stats.empty:
        return pd.DataFrame(columns=columns)
    stats = stats.reset_index(drop=True)
    count = stats["nan"] + stats["pos_inf"] + stats["neg_inf"]
    bad = stats[count > 0].assign(count=count[count > 0])
    if bad.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for (module, direction), group in bad.groupby(["module", "direction"], sort=False):
        kinds = [text for column, text in _KINDS if group[column].sum() > 0]
        rows.append({
            "module": module, "direction": direction,
            "first_step": int(group["step"].min()), "last_step": int(group["step"].max()),
            "steps": int(group["step"].nunique()), "kinds": ", ".join(kinds),
            "most": int(group["count"].max()), "_order": int(group.index.min()),
        })  # fmt: skip
    frame = pd.DataFrame(rows).sort_values(["first_step", "_order"], kind="stable")
    return frame[columns].reset_index(drop=True)


def layout(ctx: AppContext) -> Any:
    runs = runs_with_numerics(ctx)
    stat_options = [{"label": label, "value": key} for key, (label, _) in STATS.items()]
    return html.Div(
        className="ds-page",
        children=[
            html.Div(
                className="ds-page-head",
                children=[html.H1("Numerics"), html.Span(id="numerics-summary", className="ds-muted")],
            ),
            html.Div(
                style=_ROW,
                children=[
                    _labelled(
                        "Run",
                        dcc.Dropdown(
                            id="numerics-run",
                            options=runs,
                            value=_default_run(ctx, runs),
                            clearable=False,
                            style={"width": "280px"},
                        ),
                    ),
                    _labelled(
                        "Statistic",
                        dcc.Dropdown(
                            id="numerics-stat",
                            options=stat_options,
                            value="max_abs",
                            clearable=False,
                            style={"width": "220px"},
                        ),
                    ),
                    dcc.RadioItems(
                        id="numerics-direction",
                        options=["forward"],
                        value="forward",
                        inline=True,
                        labelStyle={"marginRight": "14px"},
                        inputStyle={"marginRight": "4px"},
                    ),
                ],
            ),  # fmt: skip
            html.Div(id="numerics-first"),
            dcc.Graph(id="numerics-heatmap", config={"displaylogo": False, "responsive": True}),
            html.H2("Alerts", style={"fontSize": "16px", "margin": "18px 0 6px"}),
            html.P(
                "Every module whose output held NaN or Inf, in the order it first happened. "
                "Modules after the first offender usually inherit its values.",
                className="ds-muted",
                style={"margin": "0 0 8px"},
            ),
            dash_table.DataTable(
                id="numerics-alerts",
                columns=[
                    {"id": "module", "name": "Module"},
                    {"id": "direction", "name": "Direction"},
                    {"id": "first_step", "name": "First step", "type": "numeric"},
                    {"id": "last_step", "name": "Last step", "type": "numeric"},
                    {"id": "steps", "name": "Steps affected", "type": "numeric"},
                    {"id": "kinds", "name": "Kinds"},
                    {"id": "most", "name": "Most in one step", "type": "numeric"},
                ],
                data=[],
                page_action="native",
                page_size=15,
                sort_action="native",
                cell_selectable=False,
                style_as_list_view=True,
                style_cell={
                    "fontFamily": "var(--ds-font)",
                    "fontSize": "13px",
                    "padding": "6px 8px",
                    "textAlign": "left",
                    "border": "none",
                    "borderBottom": "1px solid #E4E7EB",
                    "backgroundColor": "transparent",
                },
                style_header={
                    "fontWeight": "600",
                    "color": "#3E4C59",
                    "backgroundColor": "transparent",
                    "borderBottom": "1px solid #CBD2D9",
                },
                style_cell_conditional=[
                    {"if": {"column_id": "module"}, "fontFamily": "var(--ds-mono)"},
                    {"if": {"column_type": "numeric"}, "textAlign": "right"},
                ],
                style_data_conditional=[
                    {"if": {"filter_query": "{origin} = 1"}, "backgroundColor": "#FEF3F2", "fontWeight": "600"},
                ],
            ),  # fmt: skip
            html.Div(
                id="numerics-no-alerts", className="ds-muted", hidden=True, children="No module produced NaN or Inf."
            ),
        ],
    )


_ROW = {"display": "flex", "alignItems": "center", "gap": "16px", "flexWrap": "wrap",
        "marginBottom": "12px"}  # fmt: skip


def _labelled(text: str, control: Any) -> Any:
    return html.Label(
        [html.Span(text, className="ds-muted"), control],
        style={"display": "flex", "alignItems": "center", "gap": "8px"},
    )


def _default_run(ctx: AppContext, runs: list[str]) -> str | None:
    """The first run with a non-finite alert, else the newest."""
    if not runs or ctx.logdir is None:
        return None
    frame = ctx.logdir.runs()
    meta = {str(r): m for r, m in zip(frame["run"], frame["meta"], strict=True)}
    for run in runs:
        if isinstance(meta.get(run), Mapping) and meta[run].get(META):
            return run
    return runs[-1]


def register_callbacks(app: Any, ctx: AppContext) -> None:
    @app.callback(
        Output("numerics-heatmap", "figure"),
        Output("numerics-first", "children"),
        Output("numerics-alerts", "data"),
        Output("numerics-no-alerts", "hidden"),
        Output("numerics-direction", "options"),
        Output("numerics-summary", "children"),
        Input("numerics-run", "value"),
        Input("numerics-stat", "value"),
        Input("numerics-direction", "value"),
        Input("app-logdir-version", "data"),
    )
    def update(run: str | None, stat: str, direction: str, _version: Any) -> tuple:
        if run is None or ctx.logdir is None:
            return {}, None, [], True, ["forward"], ""
        stats = ctx.logdir.table(run, TABLE)
        first = _first(ctx.logdir, run)
        directions = [d for d in ("forward", "backward") if d in set(stats["direction"])] or ["forward"]
        direction = direction if direction in directions else directions[0]
        figure = health_heatmap(stats, stat or "max_abs", direction=direction, first=first)
        alerts = nonfinite_alerts(stats)
        records = alerts.assign(module=alerts["module"].map(module_label)).to_dict("records")
        if first:
            for record, module, row_direction in zip(records, alerts["module"], alerts["direction"], strict=True):
                if module == first.get("module") and row_direction == first.get("direction", "forward"):
                    record["origin"] = 1
        modules = stats["module"].nunique()
        steps = stats["step"].nunique()
        summary = f"{modules} modules, {steps} step{'s' if steps != 1 else ''}"
        return figure, first_offender(first, steps), records, bool(records), directions, summary


def _first(logdir: Logdir, run: str) -> Mapping[str, Any] | None:
    runs = logdir.runs()
    for name, meta in zip(runs["run"], runs["meta"], strict=True):
        if str(name) == run and isinstance(meta, Mapping):
            value = meta.get(META)
            return value if isinstance(value, Mapping) else None
    return None


def first_offender(first: Mapping[str, Any] | None, steps: int) -> Any:
    """The callout: the module that first produced NaN/Inf, its step, and its inputs' health."""
    if not first:
        return html.Div(
            className="ds-callout ds-callout-ok",
            style={**_CALLOUT, "borderLeftColor": "#117733", "background": "#F0F9F3"},
            children=[
                html.Strong("All finite. "),
                f"No module produced NaN or Inf in {steps} step{'s' if steps != 1 else ''}.",
            ],
        )
    kind = {"nan": "NaN", "+inf": "+Inf", "-inf": "-Inf"}.get(str(first.get("kind")), str(first.get("kind")))
    where = "gradient" if first.get("direction") == "backward" else "output"
    inputs = first.get("input")
    if inputs is None:
        origin = "It had no floating-point inputs."
    elif first.get("input_finite", True):
        origin = f"Its inputs were finite: {_health(inputs)}. This is where the values broke."
    else:
        origin = (
            f"Its inputs were already non-finite ({_health(inputs)}): the values came in from "
            "outside the model (the data, or a parameter already broken)."
        )
    return html.Div(
        id="numerics-offender",
        style=_CALLOUT,
        role="alert",
        children=[
            html.Div("First non-finite value", className="ds-muted",
                     style={"textTransform": "uppercase", "letterSpacing": "0.04em", "fontSize": "12px"}),
            html.Code(module_label(str(first.get("module", ""))), id="numerics-offender-module",
                      style={"fontSize": "22px", "fontWeight": "700", "display": "block", "margin": "2px 0 4px"}),
            html.Div([f"produced {kind} in its {where} at step ", html.Strong(str(first.get("step"))), "."]),
            html.Div(origin, className="ds-muted", style={"marginTop": "2px"}),
            html.Div(f"Its {where}: {_health(first.get('output'))}.", className="ds-muted"),
        ],
    )  # fmt: skip


_CALLOUT = {
    "borderLeft": "4px solid #B42318", "background": "#FEF3F2", "borderRadius": "6px",
    "padding": "12px 16px", "marginBottom": "12px",
}  # fmt: skip


def _health(health: Any) -> str:
    if not isinstance(health, Mapping):
        return "unknown"
    parts = [f"{health.get('numel', '?')} elements"]
    for key, text in (("min", "min"), ("max", "max"), ("mean", "mean"), ("std", "std")):
        value = health.get(key)
        parts.append(f"{text} {value:.4g}" if isinstance(value, (int, float)) else f"{text} n/a")
    for key, text in (("nan", "NaN"), ("pos_inf", "+Inf"), ("neg_inf", "-Inf"), ("zeros", "zeros")):
        parts.append(f"{health.get(key, 0)} {text}")
    return ", ".join(parts)


def _is_active(ctx: AppContext) -> bool:
    return bool(runs_with_numerics(ctx))


PAGE = Page(
    name="Numerics",
    path="/numerics",
    order=60,
    is_active=_is_active,
    layout=layout,
    register_callbacks=register_callbacks,
)
