"""The Text page's language-model tabs: Lens, Generate, Factors and Co-clusters.

Each tab draws a result from a source: a live model (computed now, cached) or a result logged in
the logdir. Controls that only apply to live models are disabled for a logged source.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from deepscope.app.components import field, input_field
from deepscope.app.jobs import heavy_callback
from deepscope.app.pages._text import TextTab
from deepscope.app.pages._text import lm_sources as sources
from deepscope.app.plugin import AppContext
from deepscope.datasets import reviews
from deepscope.text.generate import ATTRIBUTION_METHODS
from deepscope.viz.text_lm import (
    cocluster_examples_figure,
    cocluster_figure,
    cocluster_words_figure,
    factors_figure,
    generation_figure,
    lens_grid_figure,
    lens_kl_figure,
    lens_watch_figure,
)

ROW = {
    "display": "flex",
    "flexWrap": "wrap",
    "gap": "12px 28px",
    "alignItems": "flex-end",
    "margin": "12px 0",
}
NOTE = {"color": "#616E7C", "fontSize": "13px", "margin": "2px 0 8px"}
RADIO = {"display": "flex", "gap": "14px"}
GRAPH: dcc.Graph.Config = {"displaylogo": False}
DEFAULT_PROMPT = "the movie was"
DEFAULT_WATCH = "good, bad"
FACTOR_TEXTS = 12
COCLUSTER_TEXTS = 300
DEFAULT_CLUSTERS = 6
METHOD_LABELS = {
    "integrated_gradients": "Integrated gradients",
    "gradient_x_input": "Gradient x input",
    "saliency": "Saliency (gradient norm)",
}


def _default_texts(n: int) -> str:
    return "\n".join(reviews(n, seed=7).texts)


def _texts(value: Any) -> tuple[str, ...]:
    lines = [line.strip() for line in str(value or "").splitlines()]
    return tuple(line for line in lines if line)


def _source_field(tab: TextTab, options: list[dict]) -> Any:
    return field(
        "Source",
        dcc.Dropdown(
            id=tab.id("source"),
            options=options,
            value=options[0]["value"] if options else None,
            clearable=False,
            placeholder="no model or logged result",
            style={"width": "340px"},
        ),
        tab.id("source"),
    )


def _graph(tab: TextTab, name: str, **style: Any) -> Any:
    return dcc.Loading(
        type="dot",
        color="#332288",
        delay_show=300,
        children=dcc.Graph(id=tab.id(name), style=style, config=GRAPH),
    )


def _radio(tab: TextTab, name: str, options: list[dict], value: str) -> Any:
    return dcc.RadioItems(
        id=tab.id(name),
        options=options,
        value=value,
        inline=True,
        inputStyle={"marginRight": "4px"},
        style=RADIO,
    )


def _texts_box(tab: TextTab, n: int, label: str) -> Any:
    return html.Details(
        [
            html.Summary(label, style={"cursor": "pointer", "fontSize": "13px"}),
            dcc.Textarea(
                id=tab.id("texts"),
                value=_default_texts(n),
                style={"width": "100%", "height": "160px", "fontFamily": "monospace"},
            ),
        ],
        style={"margin": "4px 0"},
    )


# -- Lens ---------------------------------------------------------------------------------------


def _lens_active(ctx: AppContext) -> bool:
    return bool(sources.logged(ctx, sources.LENS) or sources.live_models(ctx, "lm"))


def _lens_layout(ctx: AppContext) -> Any:
    tab = LENS_TAB
    return html.Div(
        [
            html.Div(
                style=ROW,
                children=[
                    _source_field(tab, sources.options(ctx, sources.LENS, "lm")),
                    input_field("Text", tab.id("text"), DEFAULT_PROMPT, width="280px"),
                    input_field("Watch tokens (comma-separated)", tab.id("watch"), DEFAULT_WATCH, width="200px"),
                    field(
                        "Lens",
                        _radio(
                            tab,
                            "kind",
                            [
                                {"label": "Logit lens", "value": "logit"},
                                {"label": "Tuned lens", "value": "tuned"},
                            ],
                            "logit",
                        ),
                    ),
                ],
            ),
            html.P(id=tab.id("note"), style=NOTE),
            # ticks while a tuned lens is fitted for a live model, then redraws with it
            dcc.Interval(id=tab.id("poll"), interval=1000, disabled=True),
            _graph(tab, "grid"),
            html.Div(
                style={
                    "display": "grid",
                    "gap": "12px",
                    "gridTemplateColumns": "repeat(auto-fit, minmax(380px, 1fr))",
                },
                children=[_graph(tab, "ranks"), _graph(tab, "kl")],
            ),
        ]
    )


def _logged_lens(ctx: AppContext, run: str, tag: str, kind: str) -> tuple[Any, str]:
    chosen = sources.load(ctx, run, tag)
    if chosen.lens == kind:
        return chosen, f"Logged in run {run} ({tag}): {chosen.text!r}."
    for other_run, other_tag in sources.logged(ctx, sources.LENS):
        if other_run != run:
            continue
        other = sources.load(ctx, other_run, other_tag)
        if other.lens == kind and other.text == chosen.text and other.model_name == chosen.model_name:
            return other, f"Logged in run {run} ({other_tag}): {other.text!r}."
    return (
        chosen,
        f"No {kind} lens of this text is logged in run {run}; showing the {chosen.lens} lens.",
    )


def _lens_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    tab = LENS_TAB

    @heavy_callback(
        app,
        "the lens",
        Output(tab.id("grid"), "figure"),
        Output(tab.id("ranks"), "figure"),
        Output(tab.id("kl"), "figure"),
        Output(tab.id("note"), "children"),
        Output(tab.id("text"), "disabled"),
        Output(tab.id("watch"), "disabled"),
        Output(tab.id("poll"), "disabled"),
        Input(tab.id("source"), "value"),
        Input(tab.id("text"), "value"),
        Input(tab.id("watch"), "value"),
        Input(tab.id("kind"), "value"),
        Input(tab.id("poll"), "n_intervals"),
    )
    def draw(source: str | None, text: str | None, watch: str | None, kind: str, _ticks: Any) -> tuple:
        where, what = sources.parse(source)
        if where == "none":
            raise PreventUpdate
        other = None
        fitting = False
        if where == "logged":
            if dash.ctx.triggered_id == tab.id("poll"):
                raise PreventUpdate
            run, tag = what
            lens, note = _logged_lens(ctx, run, tag, kind)
            disabled = True
        else:
            words = tuple(w.strip() for w in str(watch or "").split(",") if w.strip())
            tuned = None
            note = "Logit lens: each layer read through the final norm and unembedding."
            if kind == "tuned":
                tuned, note, fitting = _live_tuned(ctx, what)
            if fitting and dash.ctx.triggered_id == tab.id("poll"):
                raise PreventUpdate  # still fitting: the logit lens drawn before stays
            prompt = str(text or DEFAULT_PROMPT)
            lens = sources.live_lens(ctx, what, prompt, words, tuned)
            other = sources.live_lens(ctx, what, prompt, words) if tuned is not None else None
            disabled = False
        return (
            lens_grid_figure(lens),
            lens_watch_figure(lens),
            lens_kl_figure(lens, other=other),
            note,
            disabled,
            disabled,
            not fitting,
        )


def _live_tuned(ctx: AppContext, name: str) -> tuple[Any, str, bool]:
    """(tuned lens or None, the note, whether one is being fitted) for a live model: the logged
    tuned lens of a model of this name, else one fitted now in the background."""
    translated = "each layer read through its learned translator."
    logged = sources.tuned_lens_for(ctx, ctx.models[name].name)
    if logged is not None:
        return logged, f"Tuned lens: {translated}", False
    quick, why = sources.quick_tuned_lens(ctx, name)
    size = f"{sources.QUICK_TUNED_STEPS} steps on {sources.QUICK_TUNED_TEXTS} reviews"
    how = "ds.text.fit_tuned_lens(model, texts).save(run) logs a better one for this page"
    if quick is not None:
        return quick, f"Tuned lens fitted now for this model ({size}, a quick fit; {how}): {translated}", False
    if why == "fitting":
        note = (
            f"No tuned lens is logged for this model: fitting one now ({size}); "
            "showing the logit lens until it is ready."
        )
        return None, note, True
    note = f"No tuned lens is logged for this model and fitting one failed ({why}); showing the logit lens. {how}."
    return None, note, False


# -- Generate -----------------------------------------------------------------------------------


def _generate_active(ctx: AppContext) -> bool:
    return bool(sources.logged(ctx, sources.GENERATION) or sources.live_models(ctx, "lm"))


def _generate_layout(ctx: AppContext) -> Any:
    tab = GENERATE_TAB
    return html.Div(
        [
            html.Div(
                style=ROW,
                children=[
                    _source_field(tab, sources.options(ctx, sources.GENERATION, "lm")),
                    input_field("Prompt", tab.id("prompt"), DEFAULT_PROMPT, width="280px"),
                    input_field("New tokens", tab.id("length"), 8, width="80px", type="number", min=1, max=40, step=1),
                    field(
                        "Attribution",
                        _radio(
                            tab,
                            "method",
                            [{"label": METHOD_LABELS[m], "value": m} for m in ATTRIBUTION_METHODS],
                            ATTRIBUTION_METHODS[0],
                        ),
                    ),
                ],
            ),
            html.P(id=tab.id("text"), style={"fontSize": "15px", "margin": "6px 0"}),
            html.P(
                "Point at or click a generated token (underlined), or move the slider: the "
                "earlier tokens are shaded by how much they pushed the model towards it.",
                style=NOTE,
            ),
            html.Div(
                style={"maxWidth": "640px"},
                children=field(
                    "Generated token",
                    dcc.Slider(
                        id=tab.id("step"),
                        min=0,
                        max=0,
                        step=1,
                        value=0,
                        marks={},
                        included=False,
                        allow_direct_input=False,
                    ),
                ),
            ),
            _graph(tab, "graph"),
            html.P(id=tab.id("note"), style=NOTE),
            dcc.Store(id=tab.id("meta")),
        ]
    )


def _generate_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    tab = GENERATE_TAB

    @app.callback(
        Output(tab.id("graph"), "figure"),
        Output(tab.id("text"), "children"),
        Output(tab.id("note"), "children"),
        Output(tab.id("step"), "max"),
        Output(tab.id("step"), "marks"),
        Output(tab.id("meta"), "data"),
        Output(tab.id("prompt"), "disabled"),
        Output(tab.id("length"), "disabled"),
        Output(tab.id("method"), "options"),
        Input(tab.id("source"), "value"),
        Input(tab.id("prompt"), "value"),
        Input(tab.id("length"), "value"),
        Input(tab.id("method"), "value"),
        Input(tab.id("step"), "value"),
    )
    def draw(source: str | None, prompt: str | None, length: Any, method: str, step: Any) -> tuple:
        where, what = sources.parse(source)
        if where == "none":
            raise PreventUpdate
        methods = [{"label": METHOD_LABELS[m], "value": m} for m in ATTRIBUTION_METHODS]
        if where == "logged":
            generation = sources.load(ctx, *what)
            note = f"Logged in run {what[0]} ({what[1]}), attributed with {generation.method}."
            methods = [{**m, "disabled": m["value"] != generation.method} for m in methods]
            live = False
        else:
            n = int(length) if isinstance(length, (int, float)) and 1 <= length <= 40 else 8
            generation = sources.live_generation(ctx, what, str(prompt or DEFAULT_PROMPT), n, method)
            note = ""
            live = True
        steps = generation.n_generated
        step = int(step) if isinstance(step, (int, float)) and 0 <= step < steps else steps - 1
        if generation.method == "integrated_gradients" and steps:
            note += f" Integrated gradients' largest completeness gap: {abs(generation.deltas).max():.2g}."
        marks = {i: {"label": generation.generated_tokens[i][:10]} for i in range(steps)}
        prompt_text = " ".join(generation.tokens[: generation.n_prompt])
        summary = [
            html.Span(prompt_text, className="ds-muted"),
            " ",
            html.Strong(" ".join(generation.generated_tokens)),
        ]
        meta = {"n_prompt": generation.n_prompt, "n_generated": steps}
        return (
            generation_figure(generation, step=max(step, 0)),
            summary,
            note.strip(),
            max(steps - 1, 0),
            marks,
            meta,
            not live,
            not live,
            methods,
        )

    @app.callback(
        Output(tab.id("step"), "value"),
        Input(tab.id("graph"), "clickData"),
        Input(tab.id("graph"), "hoverData"),
        State(tab.id("meta"), "data"),
        State(tab.id("step"), "value"),
        prevent_initial_call=True,
    )
    def pick(click: dict | None, hover: dict | None, meta: dict | None, current: Any) -> int:
        """Hovering or clicking a generated token selects it (Ecco's interactive view)."""
        hovered = any(prop.endswith(".hoverData") for prop in dash.ctx.triggered_prop_ids)
        point = hover if hovered else click
        if not point or not meta:
            raise PreventUpdate
        position = point["points"][0].get("customdata")
        if not isinstance(position, int) or position < meta["n_prompt"]:
            raise PreventUpdate
        if position - meta["n_prompt"] == current:
            raise PreventUpdate
        return position - meta["n_prompt"]


# -- Factors ------------------------------------------------------------------------------------


def _factors_active(ctx: AppContext) -> bool:
    return bool(sources.logged(ctx, sources.FACTORS) or sources.live_models(ctx, "lm"))


def _factors_layout(ctx: AppContext) -> Any:
    tab = FACTORS_TAB
    return html.Div(
        [
            html.Div(
                style=ROW,
                children=[
                    _source_field(tab, sources.options(ctx, sources.FACTORS, "lm")),
                    input_field("Factors", tab.id("components"), 6, width="80px", type="number", min=1, max=32, step=1),
                    field(
                        "Layers",
                        dcc.Dropdown(
                            id=tab.id("layer"),
                            value="all",
                            clearable=False,
                            style={"width": "150px"},
                        ),
                        tab.id("layer"),
                    ),
                    field(
                        "Show",
                        dcc.Dropdown(
                            id=tab.id("factor"),
                            value="all",
                            clearable=False,
                            style={"width": "220px"},
                        ),
                        tab.id("factor"),
                    ),
                ],
            ),
            _texts_box(tab, FACTOR_TEXTS, "Texts (one per line; live models only)"),
            html.P(id=tab.id("note"), style=NOTE),
            _graph(tab, "graph"),
        ]
    )


def _factors_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    tab = FACTORS_TAB

    @app.callback(
        Output(tab.id("graph"), "figure"),
        Output(tab.id("note"), "children"),
        Output(tab.id("factor"), "options"),
        Output(tab.id("layer"), "options"),
        Output(tab.id("components"), "disabled"),
        Output(tab.id("texts"), "disabled"),
        Input(tab.id("source"), "value"),
        Input(tab.id("components"), "value"),
        Input(tab.id("layer"), "value"),
        Input(tab.id("factor"), "value"),
        Input(tab.id("texts"), "value"),
    )
    def draw(source: str | None, components: Any, layer: Any, factor: Any, texts: str | None) -> tuple:
        where, what = sources.parse(source)
        if where == "none":
            raise PreventUpdate
        layers = [{"label": "all blocks", "value": "all"}]
        if where == "logged":
            factors = sources.load(ctx, *what)
            note = f"Logged in run {what[0]} ({what[1]})."
            live = False
        else:
            blocks = sources.block_count(ctx, what)
            layers += [{"label": f"block {i + 1}", "value": i} for i in range(blocks)]
            k = int(components) if isinstance(components, (int, float)) and components >= 1 else 6
            chosen = layer if isinstance(layer, int) and 0 <= layer < blocks else None
            factors = sources.live_factors(ctx, what, _texts(texts) or ("the movie was good .",), k, chosen)
            note = ""
            live = True
        note = (
            f"{factors.n_components} factors of {len(factors.unit_layers)} MLP units over "
            f"{sum(len(t) for t in factors.tokens)} tokens; reconstruction error "
            f"{factors.reconstruction_error:.3g} ({factors.relative_error:.1%} of the "
            f"activations' norm). " + note
        )
        picked = factor if isinstance(factor, int) and 0 <= factor < factors.n_components else None
        options = [{"label": "all: strongest factor", "value": "all"}] + [
            {"label": f"factor {k} alone", "value": k} for k in range(factors.n_components)
        ]
        return (
            factors_figure(factors, factor=picked),
            note.strip(),
            options,
            layers,
            not live,
            not live,
        )


# -- Co-clusters --------------------------------------------------------------------------------


def _cluster_options(n: int) -> list[dict]:
    return [{"label": f"cluster {c}", "value": c} for c in range(n)]


def _cocluster_active(ctx: AppContext) -> bool:
    return bool(sources.logged(ctx, sources.COCLUSTERS) or sources.live_models(ctx, "states"))


def _cocluster_layout(ctx: AppContext) -> Any:
    tab = COCLUSTER_TAB
    return html.Div(
        [
            html.Div(
                style=ROW,
                children=[
                    _source_field(tab, sources.options(ctx, sources.COCLUSTERS, "states")),
                    input_field(
                        "Clusters",
                        tab.id("clusters"),
                        DEFAULT_CLUSTERS,
                        width="80px",
                        type="number",
                        min=2,
                        max=20,
                        step=1,
                    ),
                    field(
                        "Layer",
                        dcc.Dropdown(id=tab.id("layer"), clearable=False, style={"width": "170px"}),
                        tab.id("layer"),
                    ),
                    field(
                        "Cluster",
                        dcc.Dropdown(
                            id=tab.id("cluster"),
                            options=_cluster_options(DEFAULT_CLUSTERS),
                            value=0,
                            clearable=False,
                            style={"width": "140px"},
                        ),
                        tab.id("cluster"),
                    ),
                ],
            ),
            _texts_box(tab, COCLUSTER_TEXTS, "Texts (one per line; live models only)"),
            html.P(id=tab.id("note"), style=NOTE),
            _graph(tab, "matrix"),
            html.Div(
                style={
                    "display": "grid",
                    "gap": "12px",
                    "gridTemplateColumns": "minmax(300px, 1fr) minmax(420px, 2fr)",
                },
                children=[_graph(tab, "words"), _graph(tab, "examples")],
            ),
        ]
    )


def _cocluster_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    tab = COCLUSTER_TAB

    @app.callback(
        Output(tab.id("matrix"), "figure"),
        Output(tab.id("words"), "figure"),
        Output(tab.id("examples"), "figure"),
        Output(tab.id("note"), "children"),
        Output(tab.id("cluster"), "options"),
        Output(tab.id("layer"), "options"),
        Output(tab.id("layer"), "value"),
        Output(tab.id("clusters"), "disabled"),
        Output(tab.id("texts"), "disabled"),
        Input(tab.id("source"), "value"),
        Input(tab.id("clusters"), "value"),
        Input(tab.id("layer"), "value"),
        Input(tab.id("cluster"), "value"),
        Input(tab.id("texts"), "value"),
    )
    def draw(source: str | None, n_clusters: Any, layer: Any, cluster: Any, texts: str | None) -> tuple:
        where, what = sources.parse(source)
        if where == "none":
            raise PreventUpdate
        if where == "logged":
            found = sources.load(ctx, *what)
            layers = [{"label": found.layer, "value": found.layer}]
            layer = found.layer
            note = f"Logged in run {what[0]} ({what[1]})."
            live = False
        else:
            layers = sources.state_layers(ctx, what)
            if layer not in [option["value"] for option in layers]:
                layer = layers[-1]["value"]
            k = int(n_clusters) if isinstance(n_clusters, (int, float)) and n_clusters >= 2 else DEFAULT_CLUSTERS
            found = sources.live_coclusters(ctx, what, _texts(texts), k, layer)
            note = ""
            live = True
        picked = cluster if isinstance(cluster, int) and 0 <= cluster < found.n_clusters else 0
        note = (
            f"{found.responses.shape[0]} units of {found.layer} x {len(found.words)} words; "
            "colour: each unit's mean state at the word. Click a block to pick its cluster. " + note
        )
        options = _cluster_options(found.n_clusters)
        return (
            cocluster_figure(found, cluster=picked),
            cocluster_words_figure(found, picked),
            cocluster_examples_figure(found, picked),
            note.strip(),
            options,
            layers,
            layer,
            not live,
            not live,
        )

    @app.callback(
        Output(tab.id("cluster"), "value"),
        Input(tab.id("matrix"), "clickData"),
        prevent_initial_call=True,
    )
    def pick(click: dict | None) -> int:
        if not click:
            raise PreventUpdate
        cluster = click["points"][0].get("customdata")
        if not isinstance(cluster, int):
            raise PreventUpdate
        return cluster


LENS_TAB = TextTab("lens", "Lens", 20, _lens_active, _lens_layout, _lens_callbacks)
GENERATE_TAB = TextTab("generate", "Generate", 21, _generate_active, _generate_layout, _generate_callbacks)
FACTORS_TAB = TextTab("factors", "Factors", 22, _factors_active, _factors_layout, _factors_callbacks)
COCLUSTER_TAB = TextTab("coclusters", "Co-clusters", 23, _cocluster_active, _cocluster_layout, _cocluster_callbacks)

TABS = [LENS_TAB, GENERATE_TAB, FACTORS_TAB, COCLUSTER_TAB]
