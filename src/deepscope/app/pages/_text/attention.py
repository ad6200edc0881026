"""The Text page's attention tabs: head and model views (linked), neuron view, head summary, and
attention rollout beside integrated gradients.

Each tab picks its own source (a live text transformer and a text, or a logged attention);
results are cached, so switching tabs on the same text computes nothing twice.
"""

from __future__ import annotations

from typing import Any

import dash
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html, no_update

from deepscope.app.components import field, input_field
from deepscope.app.pages._text import TextTab
from deepscope.app.pages._text import attention_data as data
from deepscope.app.pickers import keep_choice
from deepscope.app.plugin import AppContext
from deepscope.errors import DeepscopeError
from deepscope.escape import escape
from deepscope.viz.text_attention import (
    head_summary_figure,
    head_view_figure,
    model_view_figure,
    neuron_view_figure,
    rollout_comparison_figure,
    thumbnail_size,
    tile_at,
)

ROW = {"display": "flex", "gap": "16px", "flexWrap": "wrap", "alignItems": "flex-end"}
TOP_K = [("auto", "auto"), ("1", 1), ("2", 2), ("4", 4), ("8", 8), ("16", 16), ("all", 0)]
_FAILURES = (DeepscopeError, KeyError, RuntimeError, ValueError, TypeError, OSError)


def _empty(message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=escape(message), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=160, template="deepscope")
    return fig


def _token_counts(found: Any) -> str:
    if found.decoder_tokens is not None:
        return f"{len(found.tokens)} source x {len(found.decoder_tokens)} target tokens"
    return f"{len(found.tokens)} tokens"


def _note(messages: list[str]) -> Any:
    return [html.Div(m) for m in messages]


def _source_row(
    tab: TextTab,
    ctx: AppContext,
    *,
    live_only: bool = False,
    classifiers: bool = False,
    second: bool = True,
) -> Any:
    options = data.source_options(ctx, live_only=live_only, classifiers=classifiers)
    value = options[0]["value"] if options else None
    controls = [
        field(
            "Model or logged attention",
            dcc.Dropdown(
                id=tab.id("source"),
                options=options,
                value=value,
                clearable=False,
                style={"minWidth": "320px"},
            ),
            tab.id("source"),
        ),
        input_field("Text", tab.id("text"), data.DEFAULT_TEXT, width="420px"),
    ]
    if second:
        controls.append(
            input_field(
                "Text B (or target, for encoder-decoders)", tab.id("text-b"), "", width="260px", placeholder="optional"
            )
        )
    return html.Div(style=ROW, children=controls)


def _inputs(tab: TextTab, *, second: bool = True) -> list[Input]:
    names = ["source", "text", "text-b"] if second else ["source", "text"]
    return [Input(tab.id(name), "value") for name in names]


# -- Attention: head view + model view ------------------------------------------------------------


def _attention_active(ctx: AppContext) -> bool:
    return bool(data.live_models(ctx) or data.logged(ctx))


def _attention_layout(ctx: AppContext) -> Any:
    tab = ATTENTION
    return html.Div(
        className="ds-section",
        style={"display": "flex", "flexDirection": "column", "gap": "12px", "paddingTop": "12px"},
        children=[
            _source_row(tab, ctx),
            html.Div(
                style=ROW,
                children=[
                    field(
                        "Map",
                        dcc.RadioItems(
                            id=tab.id("map"),
                            options=[{"label": "self", "value": "self"}],
                            value="self",
                            inline=True,
                        ),
                        tab.id("map"),
                    ),
                    field(
                        "Layer",
                        dcc.Dropdown(id=tab.id("layer"), clearable=False, style={"width": "110px"}),
                        tab.id("layer"),
                    ),
                    field(
                        "Heads",
                        dcc.Dropdown(
                            id=tab.id("heads"),
                            multi=True,
                            placeholder="all heads",
                            style={"minWidth": "200px"},
                        ),
                        tab.id("heads"),
                    ),
                    field(
                        "Keys per query",
                        dcc.Dropdown(
                            id=tab.id("top-k"),
                            options=[{"label": a, "value": b} for a, b in TOP_K],
                            value="auto",
                            clearable=False,
                            style={"width": "90px"},
                        ),
                        tab.id("top-k"),
                    ),
                    field(
                        "Queries",
                        dcc.RadioItems(
                            id=tab.id("queries"),
                            options=["all", "A", "B"],
                            value="all",
                            inline=True,
                        ),
                        tab.id("queries"),
                    ),
                    field(
                        "Keys",
                        dcc.RadioItems(id=tab.id("keys"), options=["all", "A", "B"], value="all", inline=True),
                        tab.id("keys"),
                    ),
                    field(
                        "Layout",
                        dcc.RadioItems(
                            id=tab.id("orientation"),
                            options=["auto", "vertical", "horizontal"],
                            value="auto",
                            inline=True,
                        ),
                        tab.id("orientation"),
                    ),
                ],
            ),
            html.Div(id=tab.id("status"), className="ds-muted"),
            html.Div(
                "Hover over a query token to isolate its links, click it to keep them isolated (click "
                "it again to show all); click a thumbnail of the model view to open that layer and head.",
                className="ds-muted",
            ),
            dcc.Store(id=tab.id("focus")),
            dcc.Store(id=tab.id("hover")),
            html.Div(
                style={
                    "display": "flex",
                    "gap": "16px",
                    "flexWrap": "wrap",
                    "alignItems": "flex-start",
                },
                children=[
                    html.Div(
                        dcc.Graph(id=tab.id("head"), config={"displaylogo": False}, clear_on_unhover=True),
                        style={"flex": "1 1 520px", "minWidth": "420px"},
                    ),
                    html.Div(
                        dcc.Graph(id=tab.id("model"), config={"displaylogo": False}),
                        style={"flex": "1 1 480px", "minWidth": "380px"},
                    ),
                ],
            ),
        ],
    )


def _attention_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    tab = ATTENTION

    @app.callback(
        Output(tab.id("map"), "options"),
        Output(tab.id("map"), "value"),
        *_inputs(tab),
        State(tab.id("map"), "value"),
    )
    def maps(source: str | None, text: str | None, text_b: str | None, current: str | None) -> tuple:
        only_self = [{"label": "self", "value": "self"}], "self"
        if not source:
            return only_self
        try:
            found, _ = data.get_attention(ctx, source, text, text_b)
        except _FAILURES:
            return only_self
        views = found.views
        return [{"label": v, "value": v} for v in views], keep_choice(current, views)

    @app.callback(
        Output(tab.id("layer"), "options"),
        Output(tab.id("layer"), "value"),
        Output(tab.id("heads"), "options"),
        Output(tab.id("heads"), "value"),
        *_inputs(tab),
        Input(tab.id("map"), "value"),
        Input(tab.id("model"), "clickData"),
        State(tab.id("layer"), "value"),
        State(tab.id("heads"), "value"),
    )
    def layers(source, text, text_b, which, click, layer, heads) -> tuple:
        try:
            found, _ = data.get_attention(ctx, source, text, text_b)
            numbers = found.numbers(which or "self")
        except _FAILURES:
            return [], None, [], []
        layer_numbers, head_numbers = numbers
        if dash.ctx.triggered_id == tab.id("model") and click:
            weights = found.view(which or "self")[0]
            size = thumbnail_size(max(weights.shape[2:]), weights.shape[0] * weights.shape[1])
            point = click["points"][0]
            hit = tile_at(point["x"], point["y"], size, layer_numbers, head_numbers)
            if hit is not None:
                layer, heads = hit[0], [hit[1]]
        layer = layer if layer in layer_numbers else layer_numbers[-1]
        heads = [h for h in (heads or []) if h in head_numbers]
        return (
            [{"label": f"layer {n}", "value": n} for n in layer_numbers],
            layer,
            [{"label": f"head {n}", "value": n} for n in head_numbers],
            heads,
        )

    @app.callback(
        Output(tab.id("focus"), "data"),
        Input(tab.id("head"), "clickData"),
        *_inputs(tab),
        State(tab.id("focus"), "data"),
    )
    def focus(click, source, text, text_b, current) -> Any:
        if dash.ctx.triggered_id != tab.id("head") or not click:
            return None
        marker = click["points"][0].get("customdata")
        if not (isinstance(marker, list) and len(marker) == 2 and marker[0] == "query"):
            return no_update
        chosen = int(marker[1])
        return None if current == chosen else chosen

    @app.callback(
        Output(tab.id("hover"), "data"),
        Input(tab.id("head"), "hoverData"),
        State(tab.id("hover"), "data"),
    )
    def hover(point, current) -> Any:
        """The query token under the mouse (None once it leaves the tokens)."""
        marker = point["points"][0].get("customdata") if point else None
        chosen = int(marker[1]) if isinstance(marker, list) and len(marker) == 2 and marker[0] == "query" else None
        return no_update if chosen == current else chosen

    @app.callback(
        Output(tab.id("head"), "figure"),
        Output(tab.id("model"), "figure"),
        Output(tab.id("status"), "children"),
        *_inputs(tab),
        Input(tab.id("map"), "value"),
        Input(tab.id("layer"), "value"),
        Input(tab.id("heads"), "value"),
        Input(tab.id("top-k"), "value"),
        Input(tab.id("queries"), "value"),
        Input(tab.id("keys"), "value"),
        Input(tab.id("orientation"), "value"),
        Input(tab.id("focus"), "data"),
        Input(tab.id("hover"), "data"),
    )
    def draw(source, text, text_b, which, layer, heads, top_k, queries, keys, orientation, focus, hovered) -> tuple:
        if not source:
            message = "No text transformer is registered and no attention was logged."
            return _empty(message), _empty(message), message
        try:
            found, notes = data.get_attention(ctx, source, text, text_b)
            which = which if which in found.views else found.views[0]
            numbers = found.numbers(which)
            layer = layer if layer in numbers[0] else numbers[0][-1]
            n_queries = len(found.view(which)[1])
            # a clicked (pinned) token wins over the one under the mouse
            pinned = isinstance(focus, int) and focus < n_queries
            focus = focus if isinstance(focus, int) else hovered
            focus = focus if isinstance(focus, int) and focus < n_queries else None
            head = head_view_figure(
                found,
                layer=layer,
                which=which,
                heads=heads or None,
                top_k=top_k or None,
                query=focus,
                queries=queries or "all",
                keys=keys or "all",
                orientation=orientation or "auto",
            )
            selected = (layer, heads[0]) if heads and len(heads) == 1 else None
            model = model_view_figure(found, which=which, selected=selected)
        except _FAILURES as error:
            message = f"Could not show the attention: {error}"
            return _empty(message), _empty(message), message
        origin = "logged" if source.startswith("logged:") else "computed now"
        # the pin shares the first line, so pinning does not push the figures down under the mouse
        pin = f"; query {focus} pinned, click it again to release it" if pinned else ""
        status = [
            f"{found.model_name}: {found.kind}, {_token_counts(found)} ({origin}){pin}",
            *notes,
        ]
        return head, model, _note(status)


ATTENTION = TextTab(
    value="attention",
    label="Attention",
    order=10,
    is_active=_attention_active,
    layout=_attention_layout,
    register_callbacks=_attention_callbacks,
)


# -- Neuron view -----------------------------------------------------------------------------------


def _neuron_layout(ctx: AppContext) -> Any:
    tab = NEURON
    return html.Div(
        style={"display": "flex", "flexDirection": "column", "gap": "12px", "paddingTop": "12px"},
        children=[
            _source_row(tab, ctx, live_only=True, second=False),
            html.Div(
                style=ROW,
                children=[
                    field(
                        "Layer",
                        dcc.Dropdown(id=tab.id("layer"), clearable=False, style={"width": "110px"}),
                        tab.id("layer"),
                    ),
                    field(
                        "Head",
                        dcc.Dropdown(id=tab.id("head"), clearable=False, style={"width": "110px"}),
                        tab.id("head"),
                    ),
                    field(
                        "Query token",
                        dcc.Dropdown(id=tab.id("query"), clearable=False, style={"width": "220px"}),
                        tab.id("query"),
                    ),
                ],
            ),
            html.Div(id=tab.id("status"), className="ds-muted"),
            html.Div("Click a key's row to make it the query.", className="ds-muted"),
            dcc.Graph(id=tab.id("figure"), config={"displaylogo": False}),
        ],
    )


def _neuron_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    tab = NEURON

    @app.callback(
        Output(tab.id("layer"), "options"),
        Output(tab.id("layer"), "value"),
        Output(tab.id("head"), "options"),
        Output(tab.id("head"), "value"),
        Output(tab.id("query"), "options"),
        Output(tab.id("query"), "value"),
        *_inputs(tab, second=False),
        Input(tab.id("figure"), "clickData"),
        State(tab.id("layer"), "value"),
        State(tab.id("head"), "value"),
        State(tab.id("query"), "value"),
    )
    def choices(source, text, click, layer, head, query) -> tuple:
        try:
            found, _ = data.get_attention(ctx, source, text, None)
        except _FAILURES:
            return [], None, [], None, [], None
        layers, heads = found.numbers("self")
        tokens = found.tokens
        if dash.ctx.triggered_id == tab.id("figure") and click:
            label = str(click["points"][0].get("y", ""))
            position = label.split(":", 1)[0]
            if position.isdigit():
                query = int(position)
        if not isinstance(query, int) or query >= len(tokens):
            plain = [i for i, special in enumerate(found.special) if not special]
            query = plain[0] if plain else 0
        return (
            [{"label": f"layer {n}", "value": n} for n in layers],
            layer if layer in layers else layers[0],
            [{"label": f"head {n}", "value": n} for n in heads],
            head if head in heads else heads[0],
            [{"label": f"{i}: {t}", "value": i} for i, t in enumerate(tokens)],
            query,
        )

    @app.callback(
        Output(tab.id("figure"), "figure"),
        Output(tab.id("status"), "children"),
        *_inputs(tab, second=False),
        Input(tab.id("layer"), "value"),
        Input(tab.id("head"), "value"),
        Input(tab.id("query"), "value"),
    )
    def draw(source, text, layer, head, query) -> tuple:
        if not source or layer is None or head is None:
            return _empty("Pick a live text transformer."), ""
        try:
            view, notes = data.get_neuron_view(ctx, source.partition(":")[2], text or "", layer, head)
            if isinstance(query, int) and query != view.query:
                view = view.for_query(query)
            figure = neuron_view_figure(view)
        except _FAILURES as error:
            message = f"Could not show the neuron view: {error}"
            return _empty(message), message
        return figure, _note([f"head size {view.queries.shape[1]}, scale 1/sqrt(d) = {view.scale:.4g}", *notes])


NEURON = TextTab(
    value="neuron",
    label="Neuron view",
    order=11,
    is_active=lambda ctx: bool(data.live_models(ctx)),
    layout=_neuron_layout,
    register_callbacks=_neuron_callbacks,
)


# -- Head summary ----------------------------------------------------------------------------------


def _summary_layout(ctx: AppContext) -> Any:
    tab = SUMMARY
    return html.Div(
        style={"display": "flex", "flexDirection": "column", "gap": "12px", "paddingTop": "12px"},
        children=[
            _source_row(tab, ctx),
            field(
                "Map",
                dcc.RadioItems(id=tab.id("map"), options=["self"], value="self", inline=True),
                tab.id("map"),
            ),
            html.Div(id=tab.id("status"), className="ds-muted"),
            dcc.Graph(id=tab.id("figure"), config={"displaylogo": False}),
        ],
    )


def _summary_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    tab = SUMMARY

    @app.callback(
        Output(tab.id("figure"), "figure"),
        Output(tab.id("map"), "options"),
        Output(tab.id("status"), "children"),
        *_inputs(tab),
        Input(tab.id("map"), "value"),
    )
    def draw(source, text, text_b, which) -> tuple:
        if not source:
            return _empty("No attention to summarise."), no_update, ""
        try:
            found, notes = data.get_attention(ctx, source, text, text_b)
            which = which if which in found.views else found.views[0]
            figure = head_summary_figure(data.get_head_summary(found, which))
        except _FAILURES as error:
            message = f"Could not summarise the heads: {error}"
            return _empty(message), no_update, message
        explain = (
            "Clark et al. 2019: entropy (low = focused), mean distance attended, and the share of "
            "attention on special tokens, punctuation, the previous, next and same token."
        )
        return figure, found.views, _note([explain, *notes])


SUMMARY = TextTab(
    value="summary",
    label="Head summary",
    order=12,
    is_active=_attention_active,
    layout=_summary_layout,
    register_callbacks=_summary_callbacks,
)


# -- Rollout vs integrated gradients ------------------------------------------------------------


def _rollout_layout(ctx: AppContext) -> Any:
    tab = ROLLOUT
    return html.Div(
        style={"display": "flex", "flexDirection": "column", "gap": "12px", "paddingTop": "12px"},
        children=[
            _source_row(tab, ctx, live_only=True, classifiers=True, second=False),
            html.Div(
                "Attention rollout (Abnar and Zuidema 2020) is attention-based: it follows attention "
                "weights through the layers and ignores values, MLPs and the class, so it is not a "
                "gradient attribution. Integrated gradients is. Both are scored by deleting and "
                "inserting tokens in their order.",
                className="ds-muted",
            ),
            html.Div(id=tab.id("status"), className="ds-muted"),
            dcc.Graph(id=tab.id("figure"), config={"displaylogo": False}),
        ],
    )


def _rollout_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    tab = ROLLOUT

    @app.callback(
        Output(tab.id("figure"), "figure"),
        Output(tab.id("status"), "children"),
        *_inputs(tab, second=False),
    )
    def draw(source, text) -> tuple:
        if not source:
            return _empty("Register a live text classifier to compare rollout with gradients."), ""
        name = source.partition(":")[2]
        try:
            maps, scores, notes = data.get_rollout_and_ig(ctx, name, text or "")
            labels = [
                "attention rollout (attention-based)",
                f"integrated gradients ({data.IG_STEPS} steps, gradient)",
            ]
            figure = rollout_comparison_figure(maps, labels, scores)
        except _FAILURES as error:
            message = f"Could not compare: {error}"
            return _empty(message), message
        target = maps[0].target_names()[0]
        return figure, _note([f"{name}: explained class {target}", *notes])


ROLLOUT = TextTab(
    value="rollout",
    label="Rollout vs IG",
    order=13,
    is_active=lambda ctx: bool(data.live_models(ctx, classifiers=True)),
    layout=_rollout_layout,
    register_callbacks=_rollout_callbacks,
)

TABS = [ATTENTION, NEURON, SUMMARY, ROLLOUT]
