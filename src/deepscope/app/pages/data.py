"""Data: what the datasets look like, how they drift, where they break their schema, and every
example in them. Facets Overview, TFDV and Facets Dive on one page.

Views: Overview (features with statistics and histograms, datasets overlaid), Drift (metrics,
thresholds and verdicts per feature), Anomalies (schema violations and the schema) and Dive
(every example a point, faceted, coloured, clickable).

The data is what runs logged (``run.log_result("profile/train", ds.data.profile(frame))``, drift
reports, anomalies, schemas; tables for Dive) and datasets registered with
``ds.serve(..., datasets={...})``, profiled on demand. The views' dropdowns of datasets follow
the logdir: what runs log while the page is open appears within one poll of the shell.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from deepscope.app.pages._data import anomalies, dive, drift, overview, sources
from deepscope.app.pickers import register_option_refresh
from deepscope.app.plugin import AppContext, Page

VIEWS = {
    "overview": ("Overview", overview),
    "drift": ("Drift", drift),
    "anomalies": ("Anomalies", anomalies),
    "dive": ("Dive", dive),
}
# Each view's dropdown of datasets, and what it offers (sources' functions of the context).
PICKERS: dict[str, tuple[str, Callable[[AppContext], list[dict[str, str]]]]] = {
    "overview": ("data-overview-datasets", sources.profile_options),
    "drift": ("data-drift-report", sources.drift_options),
    "anomalies": ("data-anomalies-source", sources.anomaly_options),
    "dive": ("data-dive-source", sources.dive_options),
}
TAB = {"padding": "8px 12px", "height": "40px", "boxSizing": "border-box", "color": "#52606D"}
TAB_SELECTED = {**TAB, "color": "#332288", "fontWeight": 600, "borderTop": "2px solid #332288"}


def is_active(ctx: AppContext) -> bool:
    """Whether a dataset is registered or some run logged a profile."""
    return sources.has_data(ctx)


def layout(ctx: AppContext) -> Any:
    return html.Div(
        className="ds-page",
        children=[
            html.Div(
                className="ds-page-head",
                children=[
                    html.H1("Data"),
                    html.Span(_summary(ctx), id="data-summary", className="ds-muted"),
                ],
            ),
            dcc.Tabs(
                id="data-view",
                value="overview",
                children=[
                    dcc.Tab(label=label, value=key, id=f"data-tab-{key}", style=TAB, selected_style=TAB_SELECTED)
                    for key, (label, _) in VIEWS.items()
                ],
                style={"height": "40px"},
            ),
            html.Div(id="data-view-body", style={"minHeight": "200px", "paddingTop": "12px"}),
            dcc.Store(id="data-view-empty", data=False),
        ],
    )


def register_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("data-view-body", "children"),
        Output("data-view-empty", "data"),
        Input("data-view", "value"),
        Input("app-logdir-version", "data"),
        State("data-view-empty", "data"),
    )
    def render_view(view: str | None, _version: Any, empty: bool | None) -> tuple:
        view = view if view in VIEWS else "overview"
        # A view already drawn keeps its state; its dropdown follows the logdir (below). A view
        # that said "nothing logged" is drawn again once something is.
        if dash.ctx.triggered_id == "app-logdir-version" and not (empty and PICKERS[view][1](ctx)):
            return dash.no_update, dash.no_update
        body = VIEWS[view][1].layout(ctx)
        return body, str(getattr(body, "id", "")).endswith("-empty")

    @app.callback(Output("data-summary", "children"), Input("app-logdir-version", "data"), prevent_initial_call=True)
    def update_summary(_version: Any) -> str:
        return _summary(ctx)

    for view, (dropdown, options) in PICKERS.items():
        # Overview's fallback is its first choice: a run's profiles side by side.
        default = partial(sources.default_profiles, ctx) if view == "overview" else None
        register_option_refresh(app, dropdown, partial(options, ctx), default)

    for _, module in VIEWS.values():
        module.register(app, ctx)


def _summary(ctx: AppContext) -> str:
    index = sources.result_index(ctx)
    counts = [
        (int((index["type"] == kind).sum()), word)
        for kind, word in (
            (sources.PROFILE, "profile"),
            (sources.DRIFT, "drift report"),
            (sources.ANOMALIES, "anomaly check"),
        )
    ]
    parts = [f"{n} logged {word}{'s' if n != 1 else ''}" for n, word in counts if n]
    if ctx.datasets:
        parts.append(f"{len(ctx.datasets)} registered dataset{'s' if len(ctx.datasets) != 1 else ''}")
    return " · ".join(parts)


PAGE = Page(
    name="Data",
    path="/data",
    order=55,
    is_active=is_active,
    layout=layout,
    register_callbacks=register_callbacks,
)
