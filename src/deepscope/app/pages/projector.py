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
from deepscope.app.pages._evaluate.data import table_key
from deepscope.app.pages._evaluate.linked import MAX_IDS, href
from deepscope.app.pages._projector.store import ProjectorStore
from deepscope.app.pages._projector.views import list_views, save_view
from deepscope.app.pickers import keep_choice
from deepscope.app.plugin import AppContext, Page
from deepscope.app.series import SeriesSource
from deepscope.app.updates import unless_shown
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
#: how long the layout waits for the embedding to choose the colour column itself (seconds)
LAYOUT_WAIT_S = 1.0
#: how often the browser asks whether the figure's job finished (milliseconds)
DRAW_POLL_MS = 100
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


def _choices(ctx: AppContext, logdir: Any) -> dict[str, Any]:
    """The pickers' first options and values (run, tag, step, colour), chosen as their callbacks
    would choose them, so the page's first request is the figure itself rather than the end of a
    chain of five round trips; the embedding and its PCA start loading in the background."""
    source = SeriesSource.shared(logdir)
    store = _store(ctx)
    runs = source.runs_with("embeddings")
    run = keep_choice(None, runs)
    tags = source.run_tags(run, "embeddings") if run is not None else []
    tag = keep_choice(None, tags)
    steps = logdir.embedding_steps(run, tag) if run is not None and tag is not None else []
    step = steps[-1] if steps else None
    columns, color = [], None
    if run is not None and tag is not None and step is not None:
        # a huge embedding is not waited for: the page shows, and the colour callback picks
        record = store.record_within(run, tag, step, LAYOUT_WAIT_S)
        store.prefetch(run, tag, step, density_above=INTERACTIVE_LIMIT)
        if record is not None:
            columns, color = _colour_choices(record.metadata, None)
    return {
        "runs": runs,
        "run": run,
        "tags": tags,
        "tag": tag,
        "steps": [{"label": str(s), "value": s} for s in steps],
        "step": step,
        "columns": columns,
        "color": color,
    }


def _colour_choices(metadata: Any, current: Any) -> tuple[list[str], str | None]:
    """The metadata columns to colour by and the one chosen: ``current`` while offered, else a
    column of few values (a label colours best; free text would be one colour a point)."""
    columns = [] if metadata is None else [str(c) for c in metadata.columns]
    chosen = keep_choice(current, columns)
    if current not in columns and metadata is not None and columns:
        few = [c for c, n in zip(columns, metadata.nunique(), strict=True) if n <= MAX_CATEGORIES]
        chosen = few[0] if few else columns[0]
    return columns, chosen


def layout(ctx: AppContext) -> Any:
    first = _choices(ctx, ctx.logdir) if ctx.logdir is not None else {}
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
                        dcc.Dropdown(
                            id="projector-run",
                            options=first.get("runs", []),
                            value=first.get("run"),
                            clearable=False,
                            style={"width": "220px"},
                        ),
                    ),
                    field(
                        "Tag",
                        dcc.Dropdown(
                            id="projector-tag",
                            options=first.get("tags", []),
                            value=first.get("tag"),
                            clearable=False,
                            style={"width": "220px"},
                        ),
                    ),
                    field(
                        "Step",
                        dcc.Dropdown(
                            id="projector-step",
                            options=first.get("steps", []),
                            value=first.get("step"),
                            clearable=False,
                            style={"width": "110px"},
                        ),
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
                        dcc.Dropdown(
                            id="projector-color",
                            options=first.get("columns", []),
                            value=first.get("color"),
                            placeholder="(none)",
                            style={"width": "200px"},
                        ),
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
                            html.Div(id="projector-linked", style={"marginTop": "16px"}),
                        ],
                    ),
                ],
            ),
            dcc.Store(id="projector-selected"),
            dcc.Store(id="projector-clicked"),
            dcc.Store(id="projector-camera-now"),
            dcc.Store(id="projector-camera"),
            dcc.Store(id="projector-hovered"),
            dcc.Store(id="projector-range"),
            dcc.Interval(id="projector-poll", interval=700, disabled=True),
        ],
    )


def register_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    if ctx.logdir is None:
        return
    logdir = ctx.logdir
    source = SeriesSource.shared(ctx.logdir)
    store = _store(ctx)

    # The layout gives the pickers their first options and values (see _choices); these follow
    # the user's choices and the logdir from there, sending only what changed. The colour's runs
    # at once too, for the embedding the layout did not wait for (it sends nothing otherwise).
    @app.callback(
        Output("projector-run", "options"),
        Output("projector-run", "value"),
        Input("app-logdir-version", "data"),
        State("projector-run", "options"),
        State("projector-run", "value"),
        prevent_initial_call=True,
    )
    def update_runs(version: Any, shown: Any, current: Any) -> tuple:
        runs = source.runs_with("embeddings", source.version(version))
        return unless_shown(runs, shown), unless_shown(keep_choice(current, runs), current)

    @app.callback(
        Output("projector-tag", "options"),
        Output("projector-tag", "value"),
        Input("projector-run", "value"),
        Input("app-logdir-version", "data"),
        State("projector-tag", "options"),
        State("projector-tag", "value"),
        prevent_initial_call=True,
    )
    def update_tags(run: Any, version: Any, shown: Any, current: Any) -> tuple:
        tags = source.run_tags(run, "embeddings", source.version(version)) if run is not None else []
        return unless_shown(tags, shown), unless_shown(keep_choice(current, tags), current)

    @app.callback(
        Output("projector-step", "options"),
        Output("projector-step", "value"),
        Input("projector-run", "value"),
        Input("projector-tag", "value"),
        Input("app-logdir-version", "data"),
        State("projector-step", "options"),
        State("projector-step", "value"),
        prevent_initial_call=True,
    )
    def update_steps(run: str | None, tag: str | None, version: Any, shown: Any, current: Any) -> tuple:
        if run is None or tag is None:
            return unless_shown([], shown), unless_shown(None, current)
        steps = logdir.embedding_steps(run, tag)
        chosen = current if current in steps else (steps[-1] if steps else None)
        if chosen is not None:
            store.prefetch(run, tag, chosen, density_above=INTERACTIVE_LIMIT)
        options = [{"label": str(s), "value": s} for s in steps]
        return unless_shown(options, shown), unless_shown(chosen, current)

    @app.callback(
        Output("projector-color", "options"),
        Output("projector-color", "value"),
        Input("projector-run", "value"),
        Input("projector-tag", "value"),
        Input("projector-step", "value"),
        State("projector-color", "options"),
        State("projector-color", "value"),
    )
    def update_colors(run: str | None, tag: str | None, step: Any, shown: Any, current: Any) -> tuple:
        if run is None or tag is None or step is None:
            return unless_shown([], shown), unless_shown(None, current)
        columns, chosen = _colour_choices(store.record(run, tag, step).metadata, current)
        return unless_shown(columns, shown), unless_shown(chosen, current)

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
        State("projector-range", "data"),
        # the figure of a cached PCA is ready in a few tens of milliseconds: ask again soon
        interval=DRAW_POLL_MS,
    )
    def draw(*values: Any) -> tuple:
        if dash.ctx.triggered_id == "projector-poll" and values[3] not in ("tsne", "umap"):
            return dash.no_update, dash.no_update, dash.no_update, True
        return _render(store, *values[:-3], view=None, camera=values[-3], kept=values[-1])

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

    # Zoom and pan: the browser turns each relayout event that moved the axes into the axes' ranges
    # now (a store); every other relayout (the autosize a redraw or resize sends) leaves it alone.
    # The server then draws the thumbnails of a view of a few points, or re-renders the density
    # view. Listening to relayoutData itself lost the thumbnails: the autosize event following a
    # zoom re-ran the callback, and Dash dropped the zoom's pending answer as stale.
    app.clientside_callback(
        _RANGE_JS,
        Output("projector-range", "data"),
        Input("projector-graph", "relayoutData"),
        State("projector-range", "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("projector-graph", "figure", allow_duplicate=True),
        Output("projector-status", "children", allow_duplicate=True),
        Input("projector-range", "data"),
        *view_inputs,
        prevent_initial_call=True,
    )
    def zoom(ranges: Any, *values: Any) -> tuple:
        run, tag, step, method, dims = values[:5]
        view = _range_view(ranges)
        if run is None or tag is None or step is None or dims == 3 or view is None:
            raise dash.exceptions.PreventUpdate
        record = store.record(run, tag, step)
        if len(record.vectors) <= INTERACTIVE_LIMIT:
            return _thumbnails(store, record, run, tag, step, method, view)
        figure, status, _summary, _poll = _render(store, *values, view=view)
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
        Output("projector-linked", "children"),
        Input("projector-selected", "data"),
        Input("projector-search", "value"),
        Input("projector-run", "value"),
        Input("projector-tag", "value"),
        Input("projector-step", "value"),
    )
    def link_to_evaluate(selected: Any, search: Any, run: Any, tag: Any, step: Any) -> Any:
        if run is None or tag is None or step is None:
            return None
        found = store.linked_table(run, tag, step)
        if found is None:
            return None
        column, table_run, table_tag = found
        record = store.record(run, tag, step)
        chosen, what = _selection(record, selected, search)
        heading = html.H3("Evaluate", style={"margin": "0 0 6px", "fontSize": "15px"})
        if chosen is None or not len(chosen):
            return [
                heading,
                html.Div(
                    f"These points are the examples of {table_run} · {table_tag}. Search or click a point "
                    "to open the selected examples on the Evaluate page.",
                    className="ds-muted",
                ),
            ]
        metadata = record.metadata
        if metadata is None:  # a table was linked through the metadata: never the case
            return None
        ids = metadata[[c for c in metadata.columns if str(c) == column][0]].to_numpy()[chosen]
        first = "" if len(ids) <= MAX_IDS else f" (the first {MAX_IDS:,})"
        return [
            heading,
            dcc.Link(
                f"Show these {len(ids):,} examples{first} in Evaluate",
                id="projector-evaluate-link",
                href=href(table_key(table_run, table_tag), ids[:MAX_IDS]),
            ),
            html.Div(f"the {what}, from {table_run} · {table_tag}", className="ds-muted"),
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


def _selection(record: Any, selected: Any, search: Any) -> tuple[np.ndarray | None, str]:
    """The selected points and what they are: the search's matches while there is a search, else
    the clicked point with its nearest neighbours."""
    count = len(record.vectors)
    if search and record.metadata is not None:
        try:
            return np.flatnonzero(match(record.metadata, search)), "search matches"
        except DeepscopeError:
            return None, ""
    if isinstance(selected, int) and 0 <= selected < count:
        near = neighbors(record.vectors, selected, k=min(NEIGHBOURS, count - 1), exact=True).indices[0]
        return np.concatenate([[selected], near]).astype(
            int
        ), f"clicked point #{selected} and its {len(near)} neighbours"
    return None, ""


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
    kept: Any = None,
) -> tuple:
    """(figure, status, summary, polling disabled) of the chosen view; ``camera`` a saved view's
    camera, applied while the projection shown is the one it was saved with; ``kept`` the axis
    ranges the browser shows now (``{"x", "y", "revision"}``), which plotly keeps across a redraw of
    the same projection, so a zoomed view of a few points keeps its thumbnails."""
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
            view = _range_view(saved)
        elif view is None and isinstance(kept, dict) and kept.get("revision") == _density_revision(projection):
            view = _range_view(kept)  # a redraw (search, colour) keeps the zoomed view
        figure, note = _density_or_points(projection, view, values, color, matches, selected, near)
        figure.update_layout(meta={"projection": _density_revision(projection)})
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
        elif dims == 2 and record.images is not None and isinstance(kept, dict):
            shown = _range_view(kept)
            if shown is not None and kept.get("revision") == str(figure.layout["uirevision"]):
                inside = np.flatnonzero(in_view(projection.coords, *shown))
                if visible is not None:
                    inside = inside[visible[inside]]
                if len(inside) <= THUMBNAIL_LIMIT:
                    figure.update_layout(images=thumbnail_images(projection.coords, inside, record.images, *shown))
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


_RANGE_JS = """
function (relayout, last) {
    const moved = relayout && Object.keys(relayout).some(
        k => k.startsWith("xaxis.range") || k.startsWith("yaxis.range") || k.endsWith("axis.autorange"));
    const gd = document.querySelector("#projector-graph .js-plotly-plot");
    const layout = gd && gd._fullLayout;
    if (!moved || !layout || !layout.xaxis || !layout.yaxis || (gd._fullData || []).some(t => t.type === "scatter3d")) {
        return window.dash_clientside.no_update;
    }
    const ranges = {x: layout.xaxis.range.map(Number), y: layout.yaxis.range.map(Number),
                    revision: String(gd.layout.uirevision ?? (gd.layout.meta || {}).projection)};
    if (last && JSON.stringify(last) === JSON.stringify(ranges)) {
        return window.dash_clientside.no_update;
    }
    return ranges;
}
"""


def _range_view(ranges: Any) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The view ``((x0, x1), (y0, y1))`` of the browser's ``{"x": [a, b], "y": [c, d]}``."""
    if not isinstance(ranges, dict):
        return None
    try:
        x = (float(ranges["x"][0]), float(ranges["x"][1]))
        y = (float(ranges["y"][0]), float(ranges["y"][1]))
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    if not all(np.isfinite(v) for v in (*x, *y)):
        return None
    return (min(x), max(x)), (min(y), max(y))


def _density_revision(projection: Any) -> str:
    """What names the projection of a density view (or its zoomed points), whose figures keep no
    ``uirevision``: a redraw keeps the browser's view only while the projection is the same."""
    return f"{projection.method}-2-density"


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
