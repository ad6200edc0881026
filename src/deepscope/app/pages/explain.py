"""Explain: why the model decides as it does, and how far to trust each map.

Pick a run (and a live model), pick an example from the gallery (filtered by label, prediction
and correctness), and compare attribution methods side by side, each map with its sanity-check,
faithfulness and localization scores. Maps logged during training by an ``ExplainCallback``
scrub through the training steps; a live model (``ds.serve(..., models=...)``, or the zoo model
``deepscope serve`` registers for a run) computes any method on demand, cached.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import dash
from dash import ALL, MATCH, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from deepscope.app.jobs import heavy_callback
from deepscope.app.pages._explain import data, live
from deepscope.app.pages._explain.panels import (
    NOTE,
    ROW,
    SECTION,
    completeness,
    field,
    gallery_item,
    html_attributes,
    map_panel,
    map_view,
    score_card,
    score_slot,
)
from deepscope.app.plugin import AppContext, Page
from deepscope.explain.layer import layer_map
from deepscope.viz.attribution_map import map_figure, method_label, token_colours

log = logging.getLogger(__name__)

MODES = [("signed", "Signed"), ("positive", "Positive"), ("absolute", "Absolute")]
STYLES = [("blended", "Over the input"), ("heatmap", "Map alone")]
CORRECTNESS = [("all", "All"), ("correct", "Correct"), ("wrong", "Wrong")]
DEFAULT_LIVE = {"image": ["integrated_gradients", "grad_cam"], "text": ["integrated_gradients"]}
MAX_LABELS = 10
_RADIO = {"display": "flex", "gap": "14px"}


def is_active(ctx: AppContext) -> bool:
    """Whether a run logged explanations or a live image or text classifier is registered."""
    if ctx.logdir is not None:
        from deepscope.app.series import SeriesSource
        from deepscope.explain.callback import PROBES_TAG

        source = SeriesSource.shared(ctx.logdir)  # cached tag lists: cheap on every navigation
        if any(PROBES_TAG in tags for tags in source.tags_by_run("results").values()):
            return True
    return bool(data.live_models(ctx))


def layout(ctx: AppContext) -> Any:
    runs = data.explained_runs(ctx)
    models = data.live_models(ctx)
    if not runs and not models:
        return html.Div(
            className="ds-page",
            children=[
                html.Div(className="ds-page-head", children=[html.H1("Explain")]),
                html.Div(className="ds-empty", id="explain-empty", children=_empty_state(ctx)),
            ],
        )
    run = runs[0] if runs else None
    return html.Div(
        className="ds-page",
        children=[
            html.Div(
                className="ds-page-head",
                children=[
                    html.H1("Explain"),
                    html.Span(id="explain-summary", className="ds-muted"),
                ],
            ),
            html.Div(
                style=ROW,
                children=[
                    field(
                        "Run",
                        dcc.Dropdown(
                            id="explain-run",
                            options=runs,
                            value=run,
                            clearable=bool(models),
                            placeholder="no run: live model only",
                            style={"width": "300px"},
                        ),
                        "explain-run",
                    ),
                    field(
                        "Live model",
                        dcc.Dropdown(
                            id="explain-model",
                            options=models,
                            value=_default_model(ctx, run),
                            clearable=True,
                            style={"width": "260px"},
                            placeholder="none registered" if not models else "none: logged maps only",
                        ),
                        "explain-model",
                    ),
                ],
            ),
            html.H2("Examples", style=SECTION),
            html.Div(
                style=ROW,
                children=[
                    field(
                        "Label",
                        dcc.Dropdown(id="explain-filter-label", placeholder="any", style={"width": "170px"}),
                        "explain-filter-label",
                    ),
                    field(
                        "Prediction",
                        dcc.Dropdown(id="explain-filter-prediction", placeholder="any", style={"width": "170px"}),
                        "explain-filter-prediction",
                    ),
                    field(
                        "Show",
                        dcc.RadioItems(
                            id="explain-filter-correct",
                            value="all",
                            inline=True,
                            options=_options(CORRECTNESS),
                            inputStyle={"marginRight": "4px"},
                            style=_RADIO,
                        ),
                    ),
                ],
            ),
            html.P(id="explain-gallery-note", style=NOTE),
            html.Div(
                id="explain-gallery",
                role="group",
                **html_attributes({"aria-label": "examples"}),
                style={
                    "display": "flex",
                    "flexWrap": "wrap",
                    "gap": "6px",
                    "maxHeight": "176px",
                    "overflowY": "auto",
                    "padding": "2px",
                },
            ),
            html.H2("Maps", style=SECTION),
            html.Div(
                style=ROW,
                children=[
                    field(
                        "Methods",
                        dcc.Checklist(
                            id="explain-methods",
                            inline=True,
                            inputStyle={"marginRight": "4px"},
                            style={**_RADIO, "flexWrap": "wrap", "gap": "4px 16px", "maxWidth": "900px"},
                        ),
                    ),
                ],
            ),
            html.Div(
                id="explain-layer-field",
                hidden=True,
                children=html.Div(
                    style=ROW,
                    children=[
                        field(
                            "Layer",
                            dcc.Dropdown(id="explain-layer", clearable=False, style={"width": "300px"}),
                            "explain-layer",
                        ),
                        html.Div(
                            id="explain-neuron-field",
                            children=field(
                                "Neuron: channel, row, column",
                                dcc.Input(
                                    id="explain-neuron",
                                    type="text",
                                    debounce=True,
                                    placeholder="0, 4, 4",
                                    style={"width": "150px"},
                                ),
                                "explain-neuron",
                            ),
                        ),
                        html.Span(id="explain-layer-note", style=NOTE),
                    ],
                ),
            ),
            html.Div(
                style=ROW,
                children=[
                    field(
                        "Values",
                        dcc.RadioItems(
                            id="explain-mode",
                            value="signed",
                            inline=True,
                            options=_options(MODES),
                            inputStyle={"marginRight": "4px"},
                            style=_RADIO,
                        ),
                    ),
                    html.Div(
                        id="explain-style-field",
                        children=field(
                            "Show map",
                            dcc.RadioItems(
                                id="explain-style",
                                value="blended",
                                inline=True,
                                options=_options(STYLES),
                                inputStyle={"marginRight": "4px"},
                                style=_RADIO,
                            ),
                        ),
                    ),
                    html.Div(
                        id="explain-step-field",
                        hidden=True,
                        style={"flex": "1 1 320px", "maxWidth": "560px"},
                        children=field(
                            "Training step",
                            dcc.Slider(
                                id="explain-step",
                                min=0,
                                max=0,
                                step=1,
                                value=0,
                                marks={},
                                included=False,
                                updatemode="mouseup",
                                allow_direct_input=False,
                            ),
                        ),
                    ),
                ],
            ),
            html.P(id="explain-maps-note", style=NOTE),
            dcc.Loading(
                type="dot",
                color="#332288",
                delay_show=300,
                overlay_style={"visibility": "visible", "opacity": 0.55},
                children=html.Div(
                    id="explain-maps",
                    style={
                        "display": "grid",
                        "gap": "12px",
                        "gridTemplateColumns": "repeat(auto-fill, minmax(330px, 1fr))",
                    },
                ),
            ),
            dcc.Store(id="explain-view"),
            dcc.Store(id="explain-example", data=0),
        ],
    )


def register_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("explain-run", "options"),
        Input("app-logdir-version", "data"),
        prevent_initial_call=True,
    )
    def update_runs(version: Any) -> list:
        return data.explained_runs(ctx, version)

    @app.callback(
        Output("explain-model", "value"),
        Output("explain-example", "data"),
        Input("explain-run", "value"),
        prevent_initial_call=True,
    )
    def choose_run(run: str | None) -> tuple:
        return _default_model(ctx, run), 0

    @app.callback(
        Output("explain-view", "data"),
        Output("explain-methods", "options"),
        Output("explain-methods", "value"),
        Output("explain-step", "max"),
        Output("explain-step", "marks"),
        Output("explain-step", "value"),
        Output("explain-step-field", "hidden"),
        Output("explain-filter-label", "options"),
        Output("explain-filter-prediction", "options"),
        Output("explain-summary", "children"),
        Output("explain-style-field", "hidden"),
        Input("explain-run", "value"),
        Input("explain-model", "value"),
        Input("app-logdir-version", "data"),
        State("explain-methods", "value"),
        State("explain-step", "value"),
        State("explain-step", "max"),
        State("explain-view", "data"),
    )
    def describe(
        run: str | None,
        model: str | None,
        version: Any,
        checked: list | None,
        position: Any,
        last: Any,
        shown: dict | None,
    ) -> tuple:
        view = _view(ctx, run, model, version)
        if dash.ctx.triggered_id == "app-logdir-version" and _same(view, shown):
            raise PreventUpdate  # nothing this page shows changed: keep every control as it is
        if view is None:
            return None, [], [], 0, {}, 0, True, [], [], "No examples to explain.", False
        steps = view["steps"]
        # Follow the newest step while the slider sits on the last one (a run still training).
        stays = isinstance(position, int) and 0 <= position < len(steps) and position != last
        position = position if stays else max(len(steps) - 1, 0)
        mixed = bool(view["logged"]) and len(view["methods"]) > len(view["logged"])
        options = [
            {"label": method_label(m) + (" (live)" if mixed and m not in view["logged"] else ""), "value": m}
            for m in view["methods"]
        ]
        kept = [m for m in (checked or []) if m in view["methods"]]
        if not kept or dash.ctx.triggered_id in (None, "explain-run"):
            kept = _default_methods(view)
        classes = [{"label": name, "value": i} for i, name in enumerate(view["class_names"])]
        return (
            view,
            options,
            kept,
            max(len(steps) - 1, 0),
            _marks(steps),
            position,
            len(steps) < 2,
            classes,
            classes,
            _summary(view),
            view["kind"] != "image",
        )

    @app.callback(
        Output("explain-layer", "options"),
        Output("explain-layer", "value"),
        Input("explain-view", "data"),
        State("explain-layer", "value"),
    )
    def list_layers(view: dict | None, chosen: Any) -> tuple:
        found = _layers(ctx, view)
        options = [{"label": f"{name} · {' × '.join(map(str, shape))}", "value": name} for name, shape in found]
        names = [name for name, _ in found]
        spatial = [name for name, shape in found if shape[1] * shape[2] > 1]  # the last map-like layer
        default = (spatial or names or [None])[-1]
        return options, chosen if chosen in names else default

    @app.callback(
        Output("explain-layer-field", "hidden"),
        Output("explain-neuron-field", "hidden"),
        Input("explain-methods", "value"),
    )
    def show_layer_picker(methods: list | None) -> tuple:
        methods = methods or []
        return not any(live.needs_layer(m) for m in methods), not any(m in live.NEURON_METHODS for m in methods)

    @app.callback(
        Output("explain-neuron", "value"),
        Output("explain-layer-note", "children"),
        Input("explain-layer", "value"),
        State("explain-view", "data"),
        State("explain-neuron", "value"),
    )
    def choose_neuron(layer: Any, view: dict | None, typed: Any) -> tuple:
        shape = dict(_layers(ctx, view)).get(layer)
        if shape is None:
            return dash.no_update, ""
        note = f"Layer methods map this layer's output onto the image; neurons index its {len(shape)} dimensions."
        if _neuron(typed, shape) is not None:
            return dash.no_update, note
        return ", ".join(str(size // 2 if i else 0) for i, size in enumerate(shape)), note

    @app.callback(
        Output("explain-gallery", "children"),
        Output("explain-gallery-note", "children"),
        Input("explain-view", "data"),
        Input("explain-filter-label", "value"),
        Input("explain-filter-prediction", "value"),
        Input("explain-filter-correct", "value"),
        Input("explain-step", "value"),
        Input("explain-example", "data"),
    )
    def show_gallery(
        view: dict | None, label: Any, prediction: Any, correctness: str | None, position: Any, selected: Any
    ) -> tuple:
        if not view:
            return [], ""
        examples = _examples(ctx, view)
        predicted = _predictions(ctx, view, examples, _step(view, position))
        rows = _filtered(examples, predicted, label, prediction, correctness or "all")
        items = [
            gallery_item(examples, r, None if predicted is None else int(predicted[r]), r == selected) for r in rows
        ]
        where = _where(view, position, predicted is not None)
        note = f"{len(rows)} of {len(examples)} examples ({examples.origin}){where}. Click one to explain it."
        if not rows:
            note = f"No example matches the filters ({len(examples)} in all)."
        return items, note

    @app.callback(
        Output("explain-example", "data", allow_duplicate=True),
        Input({"type": "explain-thumb", "index": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def pick_example(clicks: list) -> Any:
        triggered = dash.ctx.triggered_id
        if not isinstance(triggered, dict) or not any(clicks or []):
            return dash.no_update
        value = dash.ctx.triggered[0].get("value") if dash.ctx.triggered else None
        return int(triggered["index"]) if value else dash.no_update

    @heavy_callback(
        app,
        "attributions",
        Output("explain-maps", "children"),
        Output("explain-maps-note", "children"),
        Input("explain-view", "data"),
        Input("explain-example", "data"),
        Input("explain-methods", "value"),
        Input("explain-mode", "value"),
        Input("explain-style", "value"),
        Input("explain-step", "value"),
        Input("explain-layer", "value"),
        Input("explain-neuron", "value"),
    )
    def show_maps(
        view: dict | None,
        row: Any,
        methods: list | None,
        mode: str | None,
        style: str | None,
        position: Any,
        layer: Any,
        neuron: Any,
    ) -> tuple:
        if not view or not methods:
            return [], "Tick one or more methods to compare them." if view else ""
        examples = _examples(ctx, view)
        row = int(row) if isinstance(row, int) and 0 <= row < len(examples) else 0
        step = _step(view, position)
        where = {"layer": layer, "neuron": _neuron(neuron, dict(_layers(ctx, view)).get(layer))}
        panels = [
            _panel(ctx, view, examples, row, method, step, mode or "signed", style or "blended", where)
            for method in view["methods"]
            if method in methods
        ]
        return panels, _maps_note(view, examples, row, step)

    @heavy_callback(
        app,
        "attribution scores",
        Output({"type": "explain-scores", "method": MATCH}, "children"),
        Input({"type": "explain-score-request", "method": MATCH}, "data"),
    )
    def fill_scores(request: dict | None) -> Any:
        if not request or not request.get("model") or request["model"] not in ctx.models:
            raise PreventUpdate
        try:
            return _fill_scores(ctx, request)
        except data.MODEL_ERRORS as err:
            log.exception("scoring %s with the live model %r failed", request["method"], request["model"])
            return html.P(f"The scores could not be computed: {err}", style=NOTE)


# -- what the callbacks compute -------------------------------------------------------------------


def _view(ctx: AppContext, run: str | None, model: str | None, version: Any) -> dict | None:
    """What the page shows for this run and model, as JSON for the view store."""
    examples = data.examples(ctx, run, model, version)
    if examples is None or examples.kind not in ("image", "text"):
        return None
    contents = data.contents(ctx, run, version) if run else data.RunContents("", False)
    kind = data.model_kind(ctx, model)
    live_methods = list(live.LIVE_METHODS.get(examples.kind, ())) if kind == examples.kind else []
    logged = data.logged_methods(ctx, run, version) if run else []
    methods = logged + [m for m in live_methods if m not in logged]
    names = examples.class_names or []
    if not names and examples.labels is not None and len(examples.labels):
        names = [str(i) for i in range(int(examples.labels.max()) + 1)]
    return {
        "run": run,
        "model": model if live_methods else None,
        "kind": examples.kind,
        "n": len(examples),
        "steps": contents.steps,
        "logged": logged,
        "methods": methods,
        "class_names": names,
        "origin": examples.origin,
        "version": version,
    }


def _same(view: dict | None, shown: dict | None) -> bool:
    """Whether two views show the same (the logdir's version aside)."""
    if view is None or shown is None:
        return view is shown
    return {**view, "version": None} == {**shown, "version": None}


def _examples(ctx: AppContext, view: dict) -> data.Examples:
    # a view (or a request made from one) exists only where examples were found (see _view)
    return cast(data.Examples, data.examples(ctx, view["run"], view["model"], view["version"]))


def _step(view: dict, position: Any) -> int | None:
    steps = view["steps"]
    if not steps:
        return None
    index = position if isinstance(position, int) and 0 <= position < len(steps) else len(steps) - 1
    return steps[index]


def _live_at(view: dict, step: int | None) -> bool:
    """Whether the live model may stand in for the model at ``step``: it is the trained model, so
    only at the last logged step (or when nothing was logged)."""
    return view["model"] is not None and (step is None or step == view["steps"][-1])


def _predictions(ctx: AppContext, view: dict, examples: data.Examples, step: int | None) -> Any:
    """Predicted classes at ``step`` (logged outputs), else from the live model, else None."""
    if step is not None and view["run"]:
        tag = data.contents(ctx, view["run"], view["version"]).outputs.get(step)
        if tag is not None:
            return data.result(ctx, view["run"], tag, view["version"]).predictions
    if _live_at(view, step):
        try:
            return live.outputs(ctx.models[view["model"]], examples).argmax(axis=1)
        except data.MODEL_ERRORS:
            log.exception("live model %r failed on the examples", view["model"])
    return None


def _filtered(examples: data.Examples, predicted: Any, label: Any, prediction: Any, correctness: str) -> list[int]:
    rows = []
    for r in range(len(examples)):
        truth = int(examples.labels[r]) if examples.labels is not None else None
        guess = int(predicted[r]) if predicted is not None else None
        if label is not None and truth != label:
            continue
        if prediction is not None and guess != prediction:
            continue
        known = truth is not None and guess is not None
        if correctness != "all" and known and (truth == guess) != (correctness == "correct"):
            continue
        rows.append(r)
    return rows


def _layers(ctx: AppContext, view: dict | None) -> list[tuple[str, tuple[int, ...]]]:
    """(name, output shape) of the live model's layers whose outputs are maps (channels, rows,
    columns), the ones layer methods can draw over an image; none without a live image model."""
    if not view or view["model"] is None or view["kind"] != "image":
        return []
    try:
        found = live.layers(ctx.models[view["model"]], _examples(ctx, view))
    except data.MODEL_ERRORS:
        log.exception("listing the layers of the live model %r failed", view["model"])
        return []
    return [(name, shape) for name, shape in found if shape is not None and len(shape) == 3]


def _drawable(maps: Any) -> Any:
    """Maps to draw over the inputs: a logged layer attribution upsampled onto the images."""
    return layer_map(maps) if maps.kind == "array" and maps.inputs is not None and maps.inputs.ndim == 4 else maps


def _neuron(typed: Any, shape: tuple[int, ...] | None) -> tuple[int, ...] | None:
    """The neuron index typed as "channel, row, column", when it lies in a layer of ``shape``."""
    if not isinstance(typed, str) or shape is None:
        return None
    try:
        index = tuple(int(part) for part in typed.replace(";", ",").split(",") if part.strip())
    except ValueError:
        return None
    if len(index) != len(shape) or not all(0 <= i < size for i, size in zip(index, shape, strict=True)):
        return None
    return index


def _panel(
    ctx: AppContext,
    view: dict,
    examples: data.Examples,
    row: int,
    method: str,
    step: int | None,
    mode: str,
    style: str,
    where: dict | None = None,
) -> Any:
    where = where or {}
    contents = data.contents(ctx, view["run"], view["version"]) if view["run"] else None
    tag = contents.maps.get(method, {}).get(step) if contents and step is not None else None
    mask = examples.masks[row] if examples.masks is not None else None
    request = {
        "run": view["run"],
        "model": view["model"],
        "version": view["version"],
        "row": row,
        "method": method,
        "step": step,
        "tag": tag,
    }
    if live.needs_layer(method):
        request.update(layer=where.get("layer"), neuron=where.get("neuron"))
    if tag is not None and contents is not None and step is not None:  # a tag implies both
        maps = _drawable(data.result(ctx, view["run"], tag, view["version"]))
        extra = completeness(maps, row)
        card, source = _logged_scores(ctx, view, contents, method, step, row, extra)
        if card is None and _live_at(view, step):
            card = score_slot(method, {**request, "extra": extra})
            source = " · scores computed now with the live model"
        elif card is None:
            card = score_card({}, extra)
        return map_panel(
            method,
            view=_map_view(method, maps, row, mode, style, mask),
            subtitle=_explains(maps, row),
            source=f"logged at step {step}" + source,
            card=card,
            flat=_flat(maps, row),
        )
    if not _live_at(view, step):
        last = view["steps"][-1] if view["steps"] else None
        hint = (
            f" Move the slider to step {last} to compute it with the live model."
            if view["model"] is not None and last is not None
            else ""
        )
        return map_panel(method, message=f"Not logged at step {step}.{hint}")
    if live.needs_layer(method) and (
        not where.get("layer") or (method in live.NEURON_METHODS and not where.get("neuron"))
    ):
        what = "a layer" if not where.get("layer") else "a neuron index (channel, row, column) inside the layer"
        return map_panel(method, message=f"{method_label(method)} needs {what}: choose it above the maps.")
    try:
        target = _target(ctx, view, examples, row, step)
        maps = live.attribution(
            ctx.models[view["model"]], examples, row, method, target, request.get("layer"), request.get("neuron")
        )
    except data.MODEL_ERRORS as err:
        return map_panel(method, message=f"{method_label(method)} cannot run on this model: {err}")
    card = score_slot(method, {**request, "target": target, "extra": completeness(maps, 0)})
    return map_panel(
        method,
        view=_map_view(method, maps, 0, mode, style, mask),
        subtitle=_explains(maps, 0),
        card=card,
        flat=_flat(maps, 0),
        source=f"computed now with the live model {view['model']!r}",
    )


def _logged_scores(
    ctx: AppContext, view: dict, contents: data.RunContents, method: str, step: int, row: int, extra: list
) -> tuple:
    """The score card of logged scores and what to add to the panel's source line."""
    by_step = contents.scores.get(method, {})
    if step in by_step:
        found = data.result(ctx, view["run"], by_step[step], view["version"])
        threshold = found.sanity.threshold if found.sanity is not None else None
        return score_card(found.example(row), extra, threshold), ""
    if by_step and not _live_at(view, step):
        steps = ", ".join(str(s) for s in sorted(by_step))
        return None, f" · scores logged at step {steps} only"
    return None, ""


def _fill_scores(ctx: AppContext, request: dict) -> Any:
    """The score card of a live panel: its map (logged, or computed, both cached) scored now."""
    examples = _examples(ctx, request)
    model = ctx.models[request["model"]]
    row, method = request["row"], request["method"]
    if request.get("tag"):
        maps = _drawable(data.result(ctx, request["run"], request["tag"], request["version"]).select([row]))
    else:
        maps = live.attribution(
            model, examples, row, method, request["target"], request.get("layer"), request.get("neuron")
        )
    found = live.scores(model, examples, row, method, maps, request.get("layer"), request.get("neuron"))
    threshold = found.sanity.threshold if found.sanity is not None else None
    return score_card(found.example(0), [tuple(e) for e in request.get("extra") or []], threshold)


def _target(ctx: AppContext, view: dict, examples: data.Examples, row: int, step: int | None) -> int:
    """The class a live map explains: the logged maps' at that step, else the label, else the
    prediction."""
    contents = data.contents(ctx, view["run"], view["version"]) if view["run"] else None
    if contents is not None and step is not None:
        for by_step in contents.maps.values():
            if step in by_step:
                return int(data.result(ctx, view["run"], by_step[step], view["version"]).target[row])
    if examples.labels is not None:
        return int(examples.labels[row])
    return int(live.outputs(ctx.models[view["model"]], examples)[row].argmax())


def _map_view(method: str, maps: Any, row: int, mode: str, style: str, mask: Any) -> Any:
    if maps.kind == "text":
        return map_view(method, tokens=token_colours(maps, row, mode=mode))
    return map_view(method, figure=map_figure(maps, row, mode=mode, style=style, mask=mask))


def _flat(maps: Any, row: int) -> str | None:
    """A warning when the map is zero everywhere (its scores then mean little)."""
    if not (maps.values[row] == 0).all():
        return None
    why = (
        " Grad-CAM keeps positive evidence only, and no channel's weighted activation is positive."
        if maps.method.startswith("grad_cam")
        else ""
    )
    return "This map is zero everywhere: the method finds no evidence for this class here." + why


def _explains(maps: Any, row: int) -> str:
    layer, neuron = maps.options.get("layer"), maps.options.get("neuron")
    if neuron is not None:
        return f"explains neuron ({', '.join(map(str, neuron))}) of layer {layer}"
    if maps.method == "layer_activation":
        return f"the output of layer {layer}, summed over its channels"
    name = maps.target_names()[row]
    score = f" (logit {float(maps.score[row]):.3g})" if maps.score is not None else ""
    at = f" at layer {layer}" if layer is not None else ""
    return f"explains “{name}”{score}{at}"


def _maps_note(view: dict, examples: data.Examples, row: int, step: int | None) -> list:
    parts = [f"Example {row}"]
    if examples.labels is not None:
        parts.append(f"label “{examples.class_name(examples.labels[row])}”")
    if step is not None:
        parts.append(f"training step {step}")
    legend = "Scores: ↓ lower is better, ↑ higher is better; hover a name for what it measures."
    if view["kind"] == "image" and examples.masks is not None:
        legend += " Dotted outline: the object's mask; ×: the map's highest pixel."
    return [html.Strong(" · ".join(parts)), html.Br(), legend]


def _where(view: dict, position: Any, known: bool) -> str:
    step = _step(view, position)
    if not known:
        return "; predictions unknown at this step"
    return f"; predictions at step {step}" if step is not None else ""


def _summary(view: dict) -> str:
    parts = [f"{view['n']} examples"]
    if view["logged"]:
        parts.append(f"{len(view['logged'])} methods logged at {len(view['steps'])} steps")
    if view["model"]:
        parts.append(f"live model {view['model']}")
    return " · ".join(parts)


def _default_methods(view: dict) -> list[str]:
    if view["logged"]:
        return list(view["logged"])
    return [m for m in DEFAULT_LIVE.get(view["kind"], []) if m in view["methods"]]


def _default_model(ctx: AppContext, run: str | None) -> str | None:
    """The live model registered under the run's name; without a run, the only live model."""
    models = data.live_models(ctx)
    if run in models:
        return run
    if run is None and len(models) == 1:
        return models[0]
    return None


def _marks(steps: list[int]) -> dict:
    stride = max(1, -(-len(steps) // MAX_LABELS))
    labelled = set(range(0, len(steps), stride)) | {len(steps) - 1}
    return {i: str(step) if i in labelled else "" for i, step in enumerate(steps)}


def _options(pairs: list[tuple[str, str]]) -> list[dict]:
    return [{"label": label, "value": value} for value, label in pairs]


def _empty_state(ctx: AppContext) -> Any:
    where = str(ctx.logdir_path) if ctx.logdir_path is not None else "logs"
    snippet = (
        "import deepscope as ds\n"
        "from deepscope.explain.callback import ExplainCallback\n\n"
        f"with ds.Run({where!r}, name='my-model') as run:\n"
        "    callback = ExplainCallback(run, images[:12], labels=labels[:12])\n"
        "    ds.zoo.train('shapes_cnn', run=run, on_epoch=callback)  # or callback(epoch, model)"
    )
    return [
        html.H2("No explanations yet"),
        html.P("Log attributions of a few probe examples while the model trains:"),
        html.Pre(html.Code(snippet)),
        html.P(["Or register a live image or text classifier: ", html.Code("ds.serve(logdir, models={...})"), "."]),
    ]


PAGE = Page(
    name="Explain",
    path="/explain",
    order=45,
    is_active=is_active,
    layout=layout,
    register_callbacks=register_callbacks,
)
