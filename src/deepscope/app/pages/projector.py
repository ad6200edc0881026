"""Projector: logged embeddings in 2-D or 3-D (PCA at once, t-SNE and UMAP in the background),
coloured by metadata, searched, with a clicked point's nearest neighbours in the original space,
thumbnails drawn in the plot when a zoomed view holds at most 200 points, and saved views
(bookmarks of the controls, the selection and the camera) kept in the run.

Up to 100,000 points are drawn as a WebGL scatter. Beyond that the 2-D view is a density image
rendered on the server for the current zoom, and the points themselves come back once the view
holds fewer than 100,000 of them; the 3-D view draws a random sample of 100,000.
"""

from __future__ import annotations

import html as html_text
from typing import Any

import dash
import numpy as np
from dash import Input, Output, State, dcc, html

from deepscope.app.components import field
from deepscope.app.jobs import heavy_callback
from deepscope.app.pages._projector.store import ProjectorStore
from deepscope.app.pages._projector.views import list_views, save_view
from deepscope.app.pickers import keep_choice, register_run_tag_pickers
from deepscope.app.plugin import AppContext, Page
from deepscope.app.series import SeriesSource
from deepscope.embed import clusters, density_image, in_view, match, neighbors
from deepscope.embed.density import ENGINE
from deepscope.errors import DeepscopeError
from deepscope.viz.embedding import (
    MAX_CATEGORIES,
    clusters_figure,
    density_figure,
    projection_figure,
    thumbnail_images,
)
from deepscope.viz.images import image_src

#: the most points drawn one by one; beyond, a density image (2-D) or a sample (3-D)
INTERACTIVE_LIMIT = 100_000
#: thumbnails are drawn in the plot when a zoomed 2-D view holds at most this many points
THUMBNAIL_LIMIT = 200
NEIGHBOURS = 10
_ROW = {"display": "flex", "flexWrap": "wrap", "gap": "12px 24px", "alignItems": "flex-end"}
_METHODS = [
    {"label": "PCA", "value": "pca"},
    {"label": "t-SNE", "value": "tsne"},
    {"label": "UMAP", "value": "umap"},
]
_STORES: dict[int, ProjectorStore] = {}


def _store(ctx: AppContext) -> ProjectorStore:
    key = id(ctx.logdir)
    if key not in _STORES:
        _STORES[key] = ProjectorStore(ctx.logdir)
    return _STORES[key]


def is_active(ctx: AppContext) -> bool:
    if ctx.logdir is None:
        return False
    return SeriesSource.shared(ctx.logdir).has_any("embeddings")


def layout(ctx: AppContext) -> Any:
    return html.Div(
        className="ds-page",
        children=[
            html.Div(
                className="ds-page-head",
                children=[
                    html.H1("Projector"),
                    html.Span(id="projector-summary", className="ds-muted"),
                ],
            ),
            html.Div(
                style=_ROW,
                children=[
                    field(
                        "Run",
                        dcc.Dropdown(id="projector-run", clearable=False, style={"width": "220px"}),
                    ),
                    field(
                        "Tag",
                        dcc.Dropdown(id="projector-tag", clearable=False, style={"width": "220px"}),
                    ),
                    field(
                        "Step",
                        dcc.Dropdown(id="projector-step", clearable=False, style={"width": "110px"}),
                    ),
                    field(
                        "Projection",
                        dcc.RadioItems(
                            id="projector-method",
                            options=_METHODS,
                            value="pca",
                            inline=True,
                            inputStyle={"marginRight": "4px"},
                            labelStyle={"marginRight": "12px"},
                        ),
                    ),
                    field(
                        "View",
                        dcc.RadioItems(
                            id="projector-dims",
                            options=[{"label": "2-D", "value": 2}, {"label": "3-D", "value": 3}],
                            value=2,
                            inline=True,
                            inputStyle={"marginRight": "4px"},
                            labelStyle={"marginRight": "12px"},
                        ),
                    ),
                ],
            ),
            html.Div(
                style={**_ROW, "marginTop": "12px"},
                children=[
                    field(
                        "Colour by",
                        dcc.Dropdown(id="projector-color", placeholder="(none)", style={"width": "200px"}),
                    ),
                    field(
                        "Search metadata",
                        dcc.Input(
                            id="projector-search",
                            type="text",
                            debounce=True,
                            placeholder="text, regex, or column=value",
                            style={"width": "260px"},
                        ),
                    ),
                    field(
                        "Overlays",
                        dcc.Checklist(
                            id="projector-overlays",
                            options=[
                                {
                                    "label": "cluster labels and density contours",
                                    "value": "clusters",
                                },
                                {"label": "only the search matches", "value": "isolate"},
                            ],
                            value=[],
                            inputStyle={"marginRight": "4px"},
                        ),
                    ),
                    html.Button("Clear selection", id="projector-clear", n_clicks=0, className="ds-button"),
                ],
            ),
            html.Div(
                style={**_ROW, "marginTop": "12px"},
                children=[
                    field(
                        "Saved views",
                        dcc.Dropdown(
                            id="projector-views",
                            placeholder="(none saved in this run)",
                            style={"width": "260px"},
                        ),
                    ),
                    field(
                        "Save this view as",
                        dcc.Input(
                            id="projector-view-name",
                            type="text",
                            placeholder="a name",
                            style={"width": "200px"},
                        ),
                    ),
                    html.Button("Save view", id="projector-save-view", n_clicks=0, className="ds-button"),
                    html.Span(id="projector-view-note", className="ds-muted"),
                ],
            ),
            html.Div(id="projector-status", className="ds-muted", style={"margin": "10px 0 4px"}),
            html.Div(
                style={"display": "flex", "gap": "16px", "alignItems": "flex-start"},
                children=[
                    html.Div(
                        style={"flex": "1 1 auto", "minWidth": 0},
                        children=[
                            dcc.Graph(
                                id="projector-graph",
                                config={"displaylogo": False, "scrollZoom": True},
                                style={"height": "580px"},
                            ),
                        ],
                    ),
                    html.Aside(
                        style={"flex": "0 0 300px"},
                        children=[
                            html.H3("Point", style={"margin": "0 0 6px", "fontSize": "15px"}),
                            html.Div(
                                id="projector-hover",
                                className="ds-muted",
                                children="Hover over a point to see it; click it for its neighbours.",
                            ),
                            html.H3(
                                "Nearest neighbours",
                                style={"margin": "16px 0 6px", "fontSize": "15px"},
                            ),
                            html.Div(
                                id="projector-neighbors",
                                className="ds-muted",
                                children="Click a point to list its nearest neighbours "
                                "(cosine distance in the original space).",
                            ),
                        ],
                    ),
                ],
            ),
            dcc.Store(id="projector-selected"),
            dcc.Store(id="projector-clicked"),
            dcc.Store(id="projector-camera-now"),
            dcc.Store(id="projector-camera"),
            dcc.Store(id="projector-hovered"),
            dcc.Interval(id="projector-poll", interval=700, disabled=True),
        ],
    )


def register_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    if ctx.logdir is None:
        return
    logdir = ctx.logdir
    source = SeriesSource.shared(ctx.logdir)
    store = _store(ctx)
    register_run_tag_pickers(app, source, "projector", "embeddings")

    @app.callback(
        Output("projector-step", "options"),
        Output("projector-step", "value"),
        Input("projector-run", "value"),
        Input("projector-tag", "value"),
        Input("app-logdir-version", "data"),
        State("projector-step", "value"),
    )
    def update_steps(run: str | None, tag: str | None, version: Any, current: Any) -> tuple:
        if run is None or tag is None:
            return [], None
        steps = logdir.embedding_steps(run, tag)
        chosen = current if current in steps else (steps[-1] if steps else None)
        if chosen is not None:
            store.prefetch(run, tag, chosen)
        return [{"label": str(s), "value": s} for s in steps], chosen

    @app.callback(
        Output("projector-color", "options"),
        Output("projector-color", "value"),
        Input("projector-run", "value"),
        Input("projector-tag", "value"),
        Input("projector-step", "value"),
        State("projector-color", "value"),
    )
    def update_colors(run: str | None, tag: str | None, step: Any, current: Any) -> tuple:
        if run is None or tag is None or step is None:
            return [], None
        metadata = store.record(run, tag, step).metadata
        columns = [] if metadata is None else [str(c) for c in metadata.columns]
        chosen = keep_choice(current, columns)
        if chosen is None and metadata is not None and columns:
            # a column of few values (a label) colours best; free text would be one colour a point
            few = [c for c, n in zip(columns, metadata.nunique(), strict=True) if n <= MAX_CATEGORIES]
            chosen = few[0] if few else columns[0]
        return columns, chosen

    # The index of a clicked or hovered point is its customdata, sent binary-encoded; Dash's event
    # data reads customdata from the undecoded figure, so the browser looks it up in plotly's own.
    for event, target in (("clickData", "projector-clicked"), ("hoverData", "projector-hovered")):
        app.clientside_callback(
            _POINT_INDEX_JS,
            Output(target, "data"),
            Input("projector-graph", event),
            prevent_initial_call=True,
        )

    @app.callback(
        Output("projector-selected", "data"),
        Output("projector-search", "value"),
        Input("projector-clicked", "data"),
        Input("projector-clear", "n_clicks"),
        Input("projector-run", "value"),
        Input("projector-tag", "value"),
        State("projector-search", "value"),
        prevent_initial_call=True,
    )
    def select(click: Any, _clear: Any, _run: Any, _tag: Any, search: Any) -> tuple:
        trigger = dash.ctx.triggered_id
        if trigger == "projector-clicked":
            index = _clicked(click)
            return (index, dash.no_update) if index is not None else (dash.no_update, dash.no_update)
        return None, "" if trigger == "projector-clear" else search

    view_inputs = [
        State("projector-run", "value"),
        State("projector-tag", "value"),
        State("projector-step", "value"),
        State("projector-method", "value"),
        State("projector-dims", "value"),
        State("projector-color", "value"),
        State("projector-search", "value"),
        State("projector-overlays", "value"),
        State("projector-selected", "data"),
    ]

    @heavy_callback(
        app,
        "the projection",
        Output("projector-graph", "figure"),
        Output("projector-status", "children"),
        Output("projector-summary", "children"),
        Output("projector-poll", "disabled"),
        *[Input(state.component_id, state.component_property) for state in view_inputs],
        Input("projector-camera", "data"),
        Input("projector-poll", "n_intervals"),
    )
    def draw(*values: Any) -> tuple:
        if dash.ctx.triggered_id == "projector-poll" and values[3] not in ("tsne", "umap"):
            return dash.no_update, dash.no_update, dash.no_update, True
        return _render(store, *values[:-2], view=None, camera=values[-2])

    # Saved views: the browser reads the camera (plotly's own layout), the server writes the view
    # into the run's folder; choosing a saved view sets the controls and the camera back.
    app.clientside_callback(
        _CAMERA_JS,
        Output("projector-camera-now", "data"),
        Input("projector-save-view", "n_clicks"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("projector-views", "options"),
        Output("projector-view-note", "children"),
        Input("projector-run", "value"),
        Input("projector-camera-now", "data"),
        State("projector-view-name", "value"),
        *view_inputs[1:],
    )
    def update_views(run: Any, camera: Any, name: Any, *values: Any) -> tuple:
        if run is None:
            return [], ""
        note = ""
        if dash.ctx.triggered_id == "projector-camera-now":
            keys = ("tag", "step", "method", "dims", "color", "search", "overlays", "selected")
            state: dict[str, Any] = dict(zip(keys, values, strict=True))
            state["camera"] = camera.get("camera") if isinstance(camera, dict) else None
            try:
                save_view(logdir.path, run, name or "", state)
                note = f"Saved “{' '.join(str(name).split())}” in run {run}."
            except DeepscopeError as err:
                note = f"Not saved: {err}"
        views = list_views(logdir.path, run)
        return [{"label": v["name"], "value": v["name"]} for v in views], note

    @app.callback(
        Output("projector-tag", "value", allow_duplicate=True),
        Output("projector-step", "value", allow_duplicate=True),
        Output("projector-method", "value"),
        Output("projector-dims", "value"),
        Output("projector-color", "value", allow_duplicate=True),
        Output("projector-search", "value", allow_duplicate=True),
        Output("projector-overlays", "value"),
        Output("projector-selected", "data", allow_duplicate=True),
        Output("projector-camera", "data"),
        Input("projector-views", "value"),
        State("projector-run", "value"),
        State("projector-tag", "value"),
        State("projector-step", "value"),
        prevent_initial_call=True,
    )
    def restore_view(name: Any, run: Any, tag: Any, step: Any) -> tuple:
        view = next((v for v in list_views(logdir.path, run) if v["name"] == name), None) if run else None
        if view is None:
            raise dash.exceptions.PreventUpdate
        method = view.get("method") if view.get("method") in ("pca", "tsne", "umap") else "pca"
        dims = 3 if view.get("dims") == 3 else 2
        camera = {"camera": view.get("camera"), "for": f"{method}-{dims}", "name": name}
        # an unchanged tag or step is not sent again: that would start the callbacks that clear the
        # selection and recolour
        return (
            view["tag"] if view.get("tag") and view.get("tag") != tag else dash.no_update,
            view["step"] if view.get("step") is not None and view.get("step") != step else dash.no_update,
            method,
            dims,
            view.get("color"),
            view.get("search") or "",
            [o for o in view.get("overlays") or [] if o in ("clusters", "isolate")],
            view.get("selected") if isinstance(view.get("selected"), int) else None,
            camera,
        )

    # Zoom and pan re-render the density view only; a callback of its own, so that the
    # relayout events of every redraw never make Dash drop a pending redraw as stale.
    @app.callback(
        Output("projector-graph", "figure", allow_duplicate=True),
        Output("projector-status", "children", allow_duplicate=True),
        Input("projector-graph", "relayoutData"),
        *view_inputs,
        prevent_initial_call=True,
    )
    def zoom(relayout: Any, *values: Any) -> tuple:
        run, tag, step, method, dims = values[:5]
        if run is None or tag is None or step is None or dims == 3 or not _is_view_change(relayout):
            raise dash.exceptions.PreventUpdate
        record = store.record(run, tag, step)
        if len(record.vectors) <= INTERACTIVE_LIMIT:
            return _thumbnails(store, record, run, tag, step, method, _view(relayout))
        figure, status, _summary, _poll = _render(store, *values, view=_view(relayout))
        return figure, status

    @app.callback(
        Output("projector-neighbors", "children"),
        Input("projector-selected", "data"),
        State("projector-run", "value"),
        State("projector-tag", "value"),
        State("projector-step", "value"),
    )
    def list_neighbours(selected: Any, run: Any, tag: Any, step: Any) -> Any:
        if not isinstance(selected, int) or run is None or tag is None or step is None:
            return "Click a point to list its nearest neighbours (cosine distance in the original space)."
        record = store.record(run, tag, step)
        count = len(record.vectors)
        if not 0 <= selected < count:
            return "That point is not in this embedding."
        found = neighbors(record.vectors, selected, k=min(NEIGHBOURS, count - 1), exact=True)
        items = [
            html.Li(
                className="projector-neighbor",
                children=[
                    html.Span(f"#{index} ", style={"fontWeight": 600}),
                    html.Span(_describe_point(record, int(index))),
                    html.Span(f"  distance {distance:.4f}", className="ds-muted"),
                ],
            )
            for index, distance in zip(found.indices[0], found.distances[0], strict=True)
        ]
        return [
            html.Div(f"of #{selected} {_describe_point(record, selected)}", style={"marginBottom": "6px"}),
            _thumbnail(record, selected),
            html.Ol(items, id="projector-neighbor-list", style={"paddingLeft": "20px", "margin": 0}),
        ]

    @app.callback(
        Output("projector-hover", "children"),
        Input("projector-hovered", "data"),
        State("projector-run", "value"),
        State("projector-tag", "value"),
        State("projector-step", "value"),
    )
    def show_hovered(hover: Any, run: Any, tag: Any, step: Any) -> Any:
        index = _clicked(hover)
        if index is None or run is None or tag is None or step is None:
            return dash.no_update
        record = store.record(run, tag, step)
        if not 0 <= index < len(record.vectors):
            return dash.no_update
        return [html.Div(f"#{index} {_describe_point(record, index)}"), _thumbnail(record, index)]


def _render(
    store: ProjectorStore,
    run: Any,
    tag: Any,
    step: Any,
    method: Any,
    dims: Any,
    color: Any,
    search: Any,
    overlays: Any,
    selected: Any,
    *,
    view: Any,
    camera: Any = None,
) -> tuple:
    """(figure, status, summary, polling disabled) of the chosen view; ``camera`` a saved view's
    camera, applied while the projection shown is the one it was saved with."""
    if run is None or tag is None or step is None:
        return _empty("No embedding chosen."), "", "", True
    record = store.record(run, tag, step)
    count, width = record.vectors.shape
    summary = f"{count:,} points × {width} dimensions"
    dims = 3 if dims == 3 else 2
    projection = store.pca(run, tag, step, dims)
    notes, polling = [], False
    if method in ("tsne", "umap"):
        job = store.job(run, tag, step, method, dims)
        name = "t-SNE" if method == "tsne" else "UMAP"
        if job.done and job.future is not None:
            try:
                projection = job.future.result()
                notes.append(f"{name} ({_describe(projection)}).")
            except DeepscopeError as err:
                notes.append(f"{name} failed: {err}. Showing PCA.")
        else:
            polling = True
            notes.append(
                f"{name} running in the background: {100 * job.progress:.0f}% done. Showing PCA until it is ready."
            )
    if not notes:
        notes.append(f"PCA: {', '.join(projection.axis_labels)} of the variance.")
    metadata = record.metadata
    matches = None
    if search and metadata is not None:
        try:
            matches = np.flatnonzero(match(metadata, search))
            notes.append(f"{len(matches):,} points match “{search}”.")
        except DeepscopeError as err:
            notes.append(f"Search: {err}")
    elif search:
        notes.append("This embedding has no metadata to search.")
    values = None
    if color and metadata is not None and color in metadata.columns.astype(str):
        values = metadata[[c for c in metadata.columns if str(c) == color][0]].to_numpy()
    near = None
    if isinstance(selected, int) and 0 <= selected < count:
        near = neighbors(record.vectors, selected, k=min(NEIGHBOURS, count - 1), exact=True).indices[0]
    saved = _saved_camera(camera, f"{projection.method}-{dims}")
    if dims == 2 and count > INTERACTIVE_LIMIT:
        if view is None and saved is not None:
            view = _view({"xaxis.range[0]": saved["x"][0], "xaxis.range[1]": saved["x"][1],
                          "yaxis.range[0]": saved["y"][0], "yaxis.range[1]": saved["y"][1]})  # fmt: skip
        figure, note = _density_or_points(projection, view, values, color, matches, selected, near)
        notes.append(note)
    else:
        visible = None
        if "isolate" in (overlays or []) and matches is not None and len(matches):
            visible = np.zeros(count, dtype=bool)
            visible[matches] = True
            matches = None  # isolated: drawn in their own colours, nothing to dim
            notes.append("Showing only the matches.")
        elif count > INTERACTIVE_LIMIT:
            sample = store.sample(count, INTERACTIVE_LIMIT)
            visible = np.zeros(count, dtype=bool)
            visible[sample] = True
            notes.append(f"3-D shows a random sample of {INTERACTIVE_LIMIT:,} points.")
        figure = projection_figure(
            projection,
            color=values,
            color_name=color or "",
            highlight=matches,
            selected=selected if near is not None else None,
            neighbors=near,
            visible=visible,
        )
        if "clusters" in (overlays or []) and dims == 2:
            found = clusters(projection.coords, metadata=metadata)
            figure = clusters_figure(found, figure=figure)
            notes.append(f"{len(found.names)} clusters (HDBSCAN).")
        if saved is not None:
            # a new uirevision: plotly takes these ranges over the user's last zoom, then keeps
            # the user's zoom again across the redraws of this view
            revision = f"{projection.method}-{dims}-view-{camera.get('name')}"
            if dims == 3 and isinstance(saved.get("scene"), dict):
                figure.update_layout(scene_camera=saved["scene"], uirevision=revision)
            elif dims == 2 and "x" in saved:
                figure.update_layout(xaxis_range=saved["x"], yaxis_range=saved["y"], uirevision=revision)
    return figure, " ".join(notes), summary, not polling


def _thumbnails(store: ProjectorStore, record: Any, run: Any, tag: Any, step: Any, method: Any, view: Any) -> tuple:
    """A patch of the figure's layout images: the thumbnails of the points in a view holding at
    most ``THUMBNAIL_LIMIT`` of them, none otherwise (and nothing to do without thumbnails)."""
    if record.images is None:
        raise dash.exceptions.PreventUpdate
    projection = store.pca(run, tag, step, 2)
    if method in ("tsne", "umap"):
        job = store.job(run, tag, step, method, 2)
        if job.done and job.future is not None and job.future.exception() is None:
            projection = job.future.result()
    patch = dash.Patch()
    inside = np.flatnonzero(in_view(projection.coords, *view)) if view is not None else None
    if view is None or inside is None or len(inside) > THUMBNAIL_LIMIT:
        patch["layout"]["images"] = []
        return patch, dash.no_update
    patch["layout"]["images"] = thumbnail_images(projection.coords, inside, record.images, *view)
    return patch, f"{len(inside)} points in view, shown with their thumbnails; zoom out to hide them."


def _saved_camera(camera: Any, shown: str) -> dict[str, Any] | None:
    """The camera of a restored view (``{"x": [a, b], "y": [c, d]}`` or ``{"scene": {...}}``) when
    it was saved with the projection now shown."""
    if not isinstance(camera, dict) or camera.get("for") != shown or not isinstance(camera.get("camera"), dict):
        return None
    saved = camera["camera"]
    try:
        if "x" in saved:
            return {"x": [float(v) for v in saved["x"][:2]], "y": [float(v) for v in saved["y"][:2]]}
    except (KeyError, TypeError, ValueError):
        return None
    return {"scene": saved["scene"]} if isinstance(saved.get("scene"), dict) else None


_CAMERA_JS = """
function (clicks) {
    const gd = document.querySelector("#projector-graph .js-plotly-plot");
    const layout = gd && gd._fullLayout;
    let camera = null;
    if (layout && layout.scene && layout.scene.camera && gd._fullData.some(t => t.type === "scatter3d")) {
        camera = {scene: JSON.parse(JSON.stringify(layout.scene.camera))};
    } else if (layout && layout.xaxis && layout.yaxis) {
        camera = {x: layout.xaxis.range.slice(), y: layout.yaxis.range.slice()};
    }
    return {camera: camera, at: Date.now()};
}
"""


def _empty(message: str) -> dict:
    return {
        "data": [],
        "layout": {
            "annotations": [{"text": message, "showarrow": False}],
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
        },
    }


def _describe(projection: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in projection.options.items()) or projection.method


_POINT_INDEX_JS = """
function (event) {
    const point = event && event.points && event.points[0];
    if (!point) { return window.dash_clientside.no_update; }
    let value = point.customdata;
    if (typeof value !== "number") {
        const gd = document.querySelector("#projector-graph .js-plotly-plot");
        const trace = gd && gd._fullData && gd._fullData[point.curveNumber];
        value = trace && trace.customdata ? trace.customdata[point.pointNumber] : undefined;
    }
    if (value === undefined || value === null) { return window.dash_clientside.no_update; }
    return {index: Number(value), at: Date.now()};
}
"""


def _clicked(event: Any) -> int | None:
    """The point index of a ``{"index": i, "at": time}`` event from the browser."""
    value = event.get("index") if isinstance(event, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _describe_point(record: Any, index: int) -> str:
    """The point's metadata as short text (Dash escapes it when shown)."""
    if record.metadata is None:
        return ""
    row = record.metadata.iloc[index]
    return " · ".join(f"{key}: {str(value)[:60]}" for key, value in list(row.items())[:3])


def _thumbnail(record: Any, index: int) -> Any:
    if record.images is None:
        return html.Span()
    image = record.images[index]
    return html.Img(
        src=image_src(image),
        alt=html_text.escape(f"thumbnail of point {index}"),
        style={
            "width": "96px",
            "imageRendering": "pixelated",
            "margin": "6px 0",
            "border": "1px solid #E4E7EB",
        },
    )


def _is_view_change(relayout: Any) -> bool:
    return isinstance(relayout, dict) and any(
        key.startswith(("xaxis.range", "yaxis.range", "xaxis.autorange")) for key in relayout
    )


def _view(relayout: Any) -> tuple[tuple[float, float], tuple[float, float]] | None:
    if not isinstance(relayout, dict):
        return None
    try:  # a drag or scroll sends each end ("xaxis.range[0]"), a relayout call may send the pair
        pairs = [
            relayout.get(f"{axis}.range") or (relayout[f"{axis}.range[0]"], relayout[f"{axis}.range[1]"])
            for axis in ("xaxis", "yaxis")
        ]
        x = (float(pairs[0][0]), float(pairs[0][1]))
        y = (float(pairs[1][0]), float(pairs[1][1]))
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return (min(x), max(x)), (min(y), max(y))


def _density_or_points(
    projection: Any, view: Any, values: Any, color: Any, matches: Any, selected: Any, near: Any
) -> tuple[Any, str]:
    coords = projection.coords
    if view is None:
        image = density_image(coords, width=720, height=540)
    else:
        inside = in_view(coords, *view)
        if inside.sum() <= INTERACTIVE_LIMIT:
            figure = projection_figure(
                projection,
                color=values,
                color_name=color or "",
                highlight=matches,
                selected=selected,
                neighbors=near,
                visible=inside,
            )
            figure.update_layout(xaxis={"range": list(view[0])}, yaxis={"range": list(view[1])}, uirevision=None)
            return figure, (f"{int(inside.sum()):,} points in view, drawn one by one; zoom out for the density view.")
        image = density_image(coords, x_range=view[0], y_range=view[1], width=720, height=540)
    figure = density_figure(image, x_title=projection.axis_labels[0], y_title=projection.axis_labels[1])
    return figure, (
        f"Density view rendered on the server by {ENGINE} ({image.count:,} points in view); "
        f"zoom in until fewer than {INTERACTIVE_LIMIT:,} remain to see single points."
    )


PAGE = Page(
    name="Projector",
    path="/projector",
    order=35,
    is_active=is_active,
    layout=layout,
    register_callbacks=register_callbacks,
)
