"""Histograms: one tag of one run over steps, as offset ridges or as percentile bands.

The two views are TensorBoard's: "Offset" stacks the distribution of each step (the earliest at
the back), "Distribution" draws the min-max, 7-93%, 16-84% and 31-69% bands and the median.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, dcc, html

from deepscope.app.components import field
from deepscope.app.pickers import register_run_tag_pickers
from deepscope.app.plugin import AppContext, Page
from deepscope.app.series import SeriesSource
from deepscope.viz.histograms import histogram_distribution_figure, histogram_offset_figure

OFFSET_STEPS = 40  # ridges drawn at most; more would be a grey wall
DISTRIBUTION_STEPS = 1000
_ROW = {"display": "flex", "flexWrap": "wrap", "gap": "12px 28px", "alignItems": "flex-end"}
_CAPTIONS = {
    "offset": "One ridge per step, the earliest at the top and palest; each ridge is the density "
    "of the values at that step.",
    "distribution": "Bands, from the outside in: min–max, 7–93%, 16–84%, 31–69% of the values "
    "at each step; the line is the median. For a normal distribution the bands "
    "are evenly spaced (0.5, 1, 1.5 standard deviations).",
}


def is_active(ctx: AppContext) -> bool:
    """Whether any run has a histogram; stops at the first run that has one (cached per run)."""
    if ctx.logdir is None:
        return False
    return SeriesSource.shared(ctx.logdir).has_any("histograms")


def layout(ctx: AppContext) -> Any:
    return html.Div(
        className="ds-page",
        children=[
            html.Div(
                className="ds-page-head",
                children=[
                    html.H1("Histograms"),
                    html.Span(id="histograms-summary", className="ds-muted"),
                ],
            ),
            html.Div(
                style=_ROW,
                children=[
                    field("Run", dcc.Dropdown(id="histograms-run", clearable=False, style={"width": "280px"})),
                    field("Tag", dcc.Dropdown(id="histograms-tag", clearable=False, style={"width": "280px"})),
                    field(
                        "View",
                        dcc.RadioItems(
                            id="histograms-view",
                            value="offset",
                            inputStyle={"marginRight": "4px"},
                            options=[
                                {"label": "Offset", "value": "offset"},
                                {"label": "Distribution", "value": "distribution"},
                            ],
                            style={"display": "flex", "gap": "12px", "paddingBottom": "8px"},
                        ),
                    ),
                ],
            ),
            html.Div(id="histograms-note", className="ds-muted", style={"marginTop": "10px"}),
            dcc.Graph(
                id="histograms-figure", config={"displaylogo": False, "responsive": True}, style={"marginTop": "8px"}
            ),
            html.P(id="histograms-caption", className="ds-muted", style={"margin": "4px 0 0"}),
        ],
    )


def register_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    if ctx.logdir is None:
        return
    source = SeriesSource.shared(ctx.logdir)

    register_run_tag_pickers(app, source, "histograms", "histograms")

    @app.callback(
        Output("histograms-figure", "figure"),
        Output("histograms-note", "children"),
        Output("histograms-summary", "children"),
        Output("histograms-caption", "children"),
        Input("histograms-run", "value"),
        Input("histograms-tag", "value"),
        Input("histograms-view", "value"),
        Input("app-logdir-version", "data"),
    )
    def update_figure(run: str | None, tag: str | None, view: str, version: Any) -> tuple:
        if run is None or tag is None:
            return dash.no_update, "", "", ""
        offset = view != "distribution"
        series = source.histograms(
            tag, run, version=source.version(version), max_steps=OFFSET_STEPS if offset else DISTRIBUTION_STEPS
        )
        figure = histogram_offset_figure(series) if offset else histogram_distribution_figure(series)
        shown = len(series.steps)
        summary = f"{series.total_steps} step{'s' if series.total_steps != 1 else ''}"
        notes = []
        if shown < series.total_steps:
            notes.append(f"Showing {shown} of {series.total_steps} steps, evenly spaced.")
        nan, inf = series.total_nan, series.total_inf
        if nan or inf:
            notes.append(f"Not in the buckets: {nan:,} NaN and {inf:,} infinite values.")
        return figure, " ".join(notes), summary, _CAPTIONS["offset" if offset else "distribution"]


PAGE = Page(
    name="Histograms",
    path="/histograms",
    order=20,
    is_active=is_active,
    layout=layout,
    register_callbacks=register_callbacks,
)
