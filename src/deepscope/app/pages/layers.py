"""Layers: how a CNN turns an image into a prediction (CNN Explainer, for any CNN), and the
feature visualizations and activation atlases runs logged.

Pick a live image model and an example (or upload an image): each layer's feature maps stand in
a column; click a unit to see its receptive field on the image and on the previous layer, its
kernel, and the arithmetic that gives its value; the softmax closes the row. Below, the feature
visualizations and atlases saved with ``result.save(run)`` (an atlas filters by class).
"""

from __future__ import annotations

import logging
from typing import Any

import dash
from dash import ALL, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from deepscope.app.components import field
from deepscope.app.jobs import heavy_callback
from deepscope.app.pages._layers import data
from deepscope.app.plugin import AppContext, Page
from deepscope.viz.features import picture
from deepscope.viz.images import image_src
from deepscope.viz.layers import column_figure, receptive_field_figure, unit_arithmetic_figure

log = logging.getLogger(__name__)

ROW = {"display": "flex", "gap": "16px", "flexWrap": "wrap", "alignItems": "flex-end"}
SECTION = {"marginTop": "22px"}
NOTE = {"color": "#52606D", "fontSize": "13px", "margin": "6px 0"}
SKIPPED = ("Flatten", "Dropout", "Identity")  # layers that change no value a user would look at
_GRAPH: dcc.Graph.Config = {"displaylogo": False, "displayModeBar": False}


def is_active(ctx: AppContext) -> bool:
    """Whether a live image model is registered or a run logged feature results."""
    return bool(data.live_models(ctx)) or data.has_logged(ctx)


def layout(ctx: AppContext) -> Any:
    models = data.live_models(ctx)
    logged = data.logged(ctx)
    children: list[Any] = [
        html.Div(
            className="ds-page-head",
            children=[
                html.H1("Layers"),
                html.Span(id="layers-summary", className="ds-muted"),
            ],
        )
    ]
    if models:
        children += [
            html.Div(
                style=ROW,
                children=[
                    field(
                        "Model",
                        dcc.Dropdown(
                            id="layers-model",
                            options=models,
                            value=models[0],
                            clearable=False,
                            style={"width": "260px"},
                        ),
                        "layers-model",
                    ),
                    field(
                        "Example",
                        dcc.Dropdown(id="layers-example", clearable=False, style={"width": "260px"}),
                        "layers-example",
                    ),
                    field(
                        "Or your own image",
                        dcc.Upload(
                            id="layers-upload",
                            accept="image/*",
                            multiple=False,
                            children=html.Button("Upload an image…", className="ds-button"),
                        ),
                    ),
                ],
            ),
            html.P(id="layers-note", style=NOTE),
            dcc.Loading(
                type="dot",
                color="#332288",
                delay_show=300,
                children=html.Div(
                    id="layers-columns",
                    style={
                        "display": "flex",
                        "gap": "10px",
                        "overflow": "auto",
                        "maxHeight": "640px",
                        "alignItems": "flex-start",
                        "padding": "4px",
                        "border": "1px solid #E4E7EB",
                        "borderRadius": "6px",
                    },
                ),
            ),
            html.H2("Unit", style=SECTION),
            html.P(
                id="layers-unit-note",
                style=NOTE,
                children="Click a unit in any feature map above to see how it is computed.",
            ),
            html.Div(
                style={
                    "display": "grid",
                    "gap": "12px",
                    "gridTemplateColumns": "repeat(auto-fit, minmax(380px, 1fr))",
                },
                children=[
                    dcc.Graph(id="layers-field", config=_GRAPH, style={"display": "none"}),
                    dcc.Graph(id="layers-arithmetic", config=_GRAPH, style={"display": "none"}),
                ],
            ),
            html.H2("Softmax", style=SECTION),
            dcc.Graph(id="layers-softmax", config=_GRAPH),
            dcc.Store(id="layers-unit"),
            dcc.Store(id="layers-image-key"),
            dcc.Store(id="layers-outlined"),
        ]
    else:
        children.append(
            html.P(
                "No live image model is registered: start the dashboard with "
                "ds.serve(logdir, models={...}) to explore a CNN's layers.",
                style=NOTE,
            )
        )
    if logged:
        options = [
            {"label": f"{r['run']} · {r['tag']} ({r['kind']})", "value": f"{r['run']}\n{r['tag']}"} for r in logged
        ]
        children += [
            html.H2("Logged feature visualizations and atlases", style=SECTION),
            html.Div(
                style=ROW,
                children=[
                    field(
                        "Result",
                        dcc.Dropdown(
                            id="layers-result",
                            options=options,
                            value=options[0]["value"],
                            clearable=False,
                            style={"width": "460px"},
                        ),
                        "layers-result",
                    ),
                    html.Div(
                        id="layers-class-field",
                        hidden=True,
                        children=field(
                            "Class",
                            dcc.Dropdown(
                                id="layers-class",
                                placeholder="all classes",
                                style={"width": "200px"},
                            ),
                            "layers-class",
                        ),
                    ),
                ],
            ),
            dcc.Graph(id="layers-logged", config={"displaylogo": False}),
        ]
    return html.Div(className="ds-page", children=children)


def register_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("layers-example", "options"),
        Output("layers-example", "value"),
        Input("layers-model", "value"),
    )
    def list_examples(model: str | None) -> tuple:
        found = data.examples(ctx, model)
        if found is None:
            return [], None
        options = [
            {
                "label": f"#{i} {found.class_name(found.labels[i]) if found.labels is not None else ''}",
                "value": i,
            }
            for i in range(len(found))
        ]
        return options, 0

    @heavy_callback(
        app,
        "the feature maps",
        Output("layers-columns", "children"),
        Output("layers-softmax", "figure"),
        Output("layers-note", "children"),
        Output("layers-image-key", "data"),
        Output("layers-unit", "data"),
        Input("layers-model", "value"),
        Input("layers-example", "value"),
        Input("layers-upload", "contents"),
    )
    def show_layers(model: str | None, example: Any, upload: str | None) -> tuple:
        if not model or example is None and not upload:
            raise PreventUpdate
        if dash.ctx.triggered_id != "layers-upload":
            upload = None
        try:
            key, image = data.image_for(ctx, model, example, upload)
            maps = data.layer_maps(ctx, model, key, image)
            softmax = data.unit(ctx, model, key, image, "softmax", maps.prediction, 0, 0)
        except data.MODEL_ERRORS as err:
            log.exception("layer maps of %r failed", model)
            return (
                [html.P(f"The layers could not be computed: {err}", style=NOTE)],
                {},
                "",
                None,
                None,
            )
        columns = [_input_column(maps.image)]
        for i, name in enumerate(maps.names[:-1]):
            if maps.types[i] in SKIPPED:
                continue
            columns.append(_column(name, maps.types[i], maps.maps[i]))
        names = maps.class_names
        label = names[maps.prediction] if names else str(maps.prediction)
        note = (
            f"Predicted “{label}” with probability {maps.probabilities.max():.3f}"
            f"{' (your image)' if upload else ''}. Colours: blue negative, white zero, red positive "
            "(one range per layer)."
        )
        store = {"model": model, "key": key, "upload": upload, "example": example}
        return columns, unit_arithmetic_figure(softmax), note, store, None

    @app.callback(
        Output("layers-unit", "data", allow_duplicate=True),
        Input({"type": "layers-map", "layer": ALL}, "clickData"),
        prevent_initial_call=True,
    )
    def pick_unit(clicks: list) -> Any:
        triggered = dash.ctx.triggered_id
        if not isinstance(triggered, dict) or not dash.ctx.triggered or not dash.ctx.triggered[0].get("value"):
            raise PreventUpdate
        point = dash.ctx.triggered[0]["value"]["points"][0]
        row = int(point.get("y", 0)) if isinstance(point.get("y"), (int, float)) else 0
        col = int(point.get("x", 0)) if isinstance(point.get("x"), (int, float)) else 0
        return {
            "layer": triggered["layer"],
            "channel": int(point.get("curveNumber", 0)),
            "row": row,
            "col": col,
        }

    @app.callback(
        Output({"type": "layers-map", "layer": ALL}, "figure"),
        Output("layers-outlined", "data"),
        Input("layers-unit", "data"),
        State("layers-image-key", "data"),
        State({"type": "layers-map", "layer": ALL}, "id"),
        State("layers-outlined", "data"),
        prevent_initial_call=True,
    )
    def outline_unit(chosen: dict | None, shown: dict | None, ids: list, before: Any) -> tuple:
        """Outline the clicked unit in its column (and clear the previous outline)."""
        if not chosen or not shown or not ids:
            raise PreventUpdate
        try:
            key, image = data.image_for(ctx, shown["model"], shown["example"], shown["upload"])
            maps = data.layer_maps(ctx, shown["model"], key, image)
        except data.MODEL_ERRORS:
            raise PreventUpdate from None
        figures = []
        for item in ids:
            layer = item["layer"]
            if layer not in (chosen["layer"], before) or layer not in maps.names:
                figures.append(dash.no_update)
                continue
            values = maps.map(layer)
            values = values if values.ndim == 3 else values.reshape(-1, 1, 1)
            selected = (chosen["channel"], chosen["row"], chosen["col"])
            figures.append(column_figure(values, layer, selected=selected if layer == chosen["layer"] else None))
        return figures, chosen["layer"]

    @app.callback(
        Output("layers-field", "figure"),
        Output("layers-field", "style"),
        Output("layers-arithmetic", "figure"),
        Output("layers-arithmetic", "style"),
        Output("layers-unit-note", "children"),
        Input("layers-unit", "data"),
        State("layers-image-key", "data"),
    )
    def show_unit(chosen: dict | None, shown: dict | None) -> tuple:
        hidden = {"display": "none"}
        if not chosen or not shown:
            return (
                {},
                hidden,
                {},
                hidden,
                "Click a unit in any feature map above to see how it is computed.",
            )
        try:
            key, image = data.image_for(ctx, shown["model"], shown["example"], shown["upload"])
            maps = data.layer_maps(ctx, shown["model"], key, image)
            unit = data.unit(
                ctx,
                shown["model"],
                key,
                image,
                chosen["layer"],
                chosen["channel"],
                chosen["row"],
                chosen["col"],
            )
        except data.MODEL_ERRORS as err:
            return {}, hidden, {}, hidden, f"This unit's arithmetic could not be computed: {err}"
        note = (
            f"{unit.layer} ({unit.type}), channel {unit.channel}, row {unit.row}, column "
            f"{unit.col}: value {unit.value:.4g}; the arithmetic gives {unit.total:.4g}. "
            "Red outlines: what the unit sees of the image and of the previous layer."
        )
        return (receptive_field_figure(maps, unit), {}, unit_arithmetic_figure(unit), {}, note)

    @app.callback(
        Output("layers-logged", "figure"),
        Output("layers-class", "options"),
        Output("layers-class-field", "hidden"),
        Input("layers-result", "value"),
        Input("layers-class", "value"),
    )
    def show_logged(choice: str | None, label: Any) -> tuple:
        if not choice:
            raise PreventUpdate
        run, _, tag = choice.partition("\n")
        found = data.result(ctx, run, tag)
        if hasattr(found, "class_names") and hasattr(found, "filter"):
            present = sorted({int(v) for v in found.labels})
            options = [
                {
                    "label": found.class_names[i] if i < len(found.class_names) else str(i),
                    "value": i,
                }
                for i in present
            ]
            if dash.ctx.triggered_id == "layers-result":
                label = None
            return found.figure(label=label), options, False
        return found.figure(), [], True


def _input_column(image: Any) -> Any:
    return html.Div(
        style={"display": "flex", "flexDirection": "column", "alignItems": "center"},
        children=[
            html.Strong("input", style={"fontSize": "12px"}),
            html.Img(
                src=image_src(picture(_unit_range(image))),
                alt="the input image",
                style={
                    "width": "84px",
                    "imageRendering": "pixelated",
                    "border": "1px solid #9AA5B1",
                },
            ),
        ],
    )


def _column(name: str, kind: str, maps: Any) -> Any:
    title = html.Div(
        style={
            "textAlign": "center",
            "fontSize": "12px",
            "maxWidth": "104px",
            "overflowWrap": "anywhere",
            "minHeight": "44px",
        },
        children=[
            html.Strong(name),
            html.Br(),
            html.Span(kind, className="ds-muted"),
            html.Br(),
            html.Span("×".join(str(v) for v in maps.shape), className="ds-muted"),
        ],
    )
    if maps.ndim != 3:
        maps = maps.reshape(-1, 1, 1)
    return html.Div(
        style={"display": "flex", "flexDirection": "column", "alignItems": "center"},
        children=[
            title,
            dcc.Graph(
                id={"type": "layers-map", "layer": name},
                figure=column_figure(maps, name),
                config=_GRAPH,
                className="layers-map",
            ),
        ],
    )


def _unit_range(image: Any) -> Any:
    low, high = float(image.min()), float(image.max())
    return (image - low) / (high - low) if high > low else image * 0


PAGE = Page(
    name="Layers",
    path="/layers",
    order=48,
    is_active=is_active,
    layout=layout,
    register_callbacks=register_callbacks,
)
