"""Scalars: one chart per tag, every shown run overlaid in its own colour, updated live.

Controls: regex filters for runs and tags, TensorBoard's smoothing (raw series faded behind),
x axis by step, relative or wall time, linear or log y, and "ignore outliers" for the y range.
A chart is asked for only while its card is in the window (an IntersectionObserver and one
clientside callback for every card in the browser), so the first paint and every control change
cost the charts on screen, not every tag; a chart out of view catches up when it scrolls back in.
A card's graph is created with its first figure by a server callback (an empty graph would cost a
draw); after that, a control change redraws the charts in view from the page's script
(``assets/scalars_redraw.js``): one request to the figures route for all of them, answered from
the same code, and drawn together, without a Dash callback or store update per chart (whose
dispatch cost more than the figures). The charts' request goes with the run filter itself, so it
does not wait for the grid's callback to find the runs. The grid of the first load comes with the
page, with a server-drawn preview of the charts in the window, and plotly.js runs once that has
drawn. The server smooths every point and sends about a point per pixel per raw line (each
two-pixel column's min and max) and half that per smoothed line, extremes kept (see
``deepscope.app.series``); the grey layer of a crowded chart keeps half that again. Only runs
that logged a scalar count; with many runs the newest ``MAX_RUNS`` matching the filter are drawn,
and the page says so. Each run's colour comes from its position among the logdir's runs
(``deepscope.viz.scalars.run_colors``), so twenty runs in a row never share one. Charts follow
the shell's logdir version, so they update while a run writes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dash
import flask
import numpy as np
from dash import ALL, MATCH, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate
from plotly.io.json import to_json_plotly

from deepscope.app.components import field
from deepscope.app.plugin import AppContext, Page
from deepscope.app.series import XAXES, SeriesSource
from deepscope.app.updates import apply_on_enter, fit_box, graph_box, unless_shown
from deepscope.errors import LogdirError
from deepscope.patterns import NameMatch, match_names
from deepscope.viz.scalars import (
    CHART_HEIGHT,
    ScalarsPreview,
    chart_height,
    run_colors,
    scalars_figure_json,
    scalars_preview,
)

logger = logging.getLogger(__name__)

MAX_RUNS = 20  # lines per chart: beyond this a chart is unreadable and slow to send
MAX_CHARTS = 24
CHART_WIDTH = 520  # pixels of a chart's plot area in the two-column grid of a 1280-1440 px window
# A pixel's worth of points per raw line (the min and max of each two-pixel column), half that per
# smoothed line (a smooth curve): 20 runs of 10,000 steps send about 16,000 points per chart.
POINTS_PER_PIXEL = 1
DEFAULT_SMOOTHING = 0.6
CHART = "scalars-chart"
CSV = "scalars-csv"
JSON = "scalars-json"
DOWNLOAD = "scalars-download"
BOX = "scalars-box"  # a chart's box: sized before the graph's code loads, so cards have their height
DRAWN = "scalars-drawn"  # a card's store: what its server callbacks drew (the page's script keeps its own)
SEEN = "scalars-seen"  # a card's store: True while the card is in the window
FIRST = "scalars-first"  # a card's store: the controls its first figure is drawn with (set in view)
FALLBACK = "scalars-fallback"  # a card's store: the controls to redraw its chart with in a server callback
FIGURES_ROUTE = "_deepscope/scalars-figures"  # the page's script asks here for the figures of a change
SLOT = "scalars-slot"  # where a card's graph goes, over its preview
PREVIEW = "scalars-preview"  # a card's preview (emptied once its graph has drawn)
# Charts that come with the page as a preview (an SVG of the same points, drawn at once; the
# interactive chart covers it once plotly.js has loaded): the first two rows of the grid, the
# ones in the window when the page opens.
PREVIEW_CHARTS = 4
GRAPH_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}

# Watches the cards of the grid: a card's SEEN store is true while the card is in the window and
# false once it leaves. A card counts as in view only if it still is a moment after the observer
# said so (while the grid lays itself out, every card is briefly at the top). Each new grid is
# watched afresh (React may reuse a card's element for another tag, or for a new store). A card
# a new grid removed is let go: its stores left Dash's layout, and Dash's set_props throws for an
# id it does not know, which would stop the observer's loop before the entering cards of the same
# batch of entries (their charts would then never be asked for).
_WATCH_JS = """
function(children) {
    const ds = window.dash_clientside;
    const show = (card, shown) => {
        if (!card.isConnected) { window._dsScalarsObserver.unobserve(card); return; }
        if (card._dsShown === shown) return;
        card._dsShown = shown;
        try {
            ds.set_props({type: 'scalars-seen', tag: card.dataset.scalarsTag}, {data: shown});
        } catch (error) {
            // Not in Dash's layout yet: try again in a moment, while the card is still so.
            card._dsShown = undefined;
            card._dsTries = (card._dsTries || 0) + 1;
            if (card._dsTries < 40) setTimeout(() => { if (inView(card) === shown) show(card, shown); }, 50);
        }
    };
    const inView = (card) => {
        const r = card.getBoundingClientRect();
        return r.height > 0 && r.bottom > 0 && r.top < window.innerHeight;
    };
    if (!window._dsScalarsObserver) {
        window._dsScalarsObserver = new IntersectionObserver((entries) => {
            for (const entry of entries) {
                const card = entry.target;
                if (!entry.isIntersecting) { show(card, false); continue; }
                setTimeout(() => { if (inView(card)) show(card, true); }, 50);
            }
        });
    }
    const watch = () => {
        // Every card again: a new grid may have new stores (starting false) behind old elements.
        const cards = [...document.querySelectorAll('#scalars-grid [data-scalars-tag]')];
        for (const card of cards) {
            card._dsShown = false;
            window._dsScalarsObserver.unobserve(card);
            window._dsScalarsObserver.observe(card);
        }
        return cards.length;
    };
    // React may commit a new grid after this runs: watch it again whenever its cards change.
    const grid = document.getElementById('scalars-grid');
    if (grid && !grid._dsWatching) {
        grid._dsWatching = true;
        new MutationObserver(watch).observe(grid, {childList: true});  // not the graphs' own nodes
        new MutationObserver(watch).observe(grid, {subtree: true, attributeFilter: ['data-scalars-tag']});
    }
    let tries = 0;
    const again = () => { if (watch() === 0 && tries++ < 40) setTimeout(again, 50); };
    setTimeout(again, 0);
    return (children || []).length;
}
"""

# A chart asks for a figure only while it is in view, and only when what it shows changed:
# controls changed while it is out of view apply when it comes back. This runs in the browser, so a
# control change costs the charts in view, not every chart on the page. One callback serves every
# card (Dash's bookkeeping of a callback per card, and a store update per chart, cost as much as
# drawing the charts). A chart not drawn yet asks for its graph through a server callback (FIRST);
# a drawn one is handed to the page's script (assets/scalars_redraw.js: one request for every
# chart of a change, drawn in one go, what each chart was asked for kept on its graph), which
# redraws through a server callback (FALLBACK) only when that fails, which then reports what went
# wrong.
_WANT_JS = """
function(shown, filter, smoothing, xaxis, yscale, outliers, version, firsts, drawns, boxes, grid) {
    const ds = window.dash_clientside;
    if (grid === null || grid === undefined || !Array.isArray(shown)) return ds.no_update;  // no grid yet
    const want = {run_filter: filter || '', smoothing, xaxis, yscale, outliers, version};
    want.text = JSON.stringify(want);
    const script = window.deepscopeScalars;
    let asked = false;
    const first = shown.map((seen, i) => {
        if (!seen) return ds.no_update;
        const tag = boxes[i].tag;
        if (drawns[i]) {
            if (script) script.show(tag, want, firsts[i], drawns[i]);
            else ds.set_props({type: 'scalars-fallback', tag}, {data: Object.assign({drawn: drawns[i]}, want)});
            return ds.no_update;
        }
        if (firsts[i] && firsts[i].text === want.text) return ds.no_update;  // on its way
        asked = true;
        return Object.assign({n: firsts[i] ? firsts[i].n + 1 : 1}, want);
    });
    return asked ? first : ds.no_update;
}
"""

# Once a card's interactive chart has drawn (its white paper over the preview), the preview goes:
# the browser no longer paints it under the chart, nor Dash holds its image in the page's layout.
_HIDE_PREVIEW_JS = """
function(graph, box) {
    const skip = window.dash_clientside.no_update;
    const card = [...document.querySelectorAll('#scalars-grid [data-scalars-tag]')]
        .find(card => card.dataset.scalarsTag === box.tag);
    const preview = card && card.querySelector('.ds-scalars-preview');
    if (!graph || !preview || preview.style.display === 'none') return skip;
    let tries = 0;
    const check = () => {
        const gd = card.querySelector('.js-plotly-plot');
        if (!card.isConnected) return;  // a new grid replaced the card: its stores are gone
        if (gd && gd._fullLayout && gd.querySelector('.main-svg')) {
            preview.style.display = 'none';
            window.dash_clientside.set_props({type: 'scalars-preview', tag: box.tag}, {children: []});
        } else if (tries++ < 600) setTimeout(check, 50);
    };
    check();
    return skip;
}
"""

_ROW = {"display": "flex", "flexWrap": "wrap", "gap": "12px 28px", "alignItems": "flex-end"}
_GRID = {
    "display": "grid",
    "gridTemplateColumns": "repeat(auto-fill, minmax(480px, 1fr))",
    "gap": "16px",
    "marginTop": "8px",
}
_CARD = {"border": "1px solid #E4E7EB", "borderRadius": "8px", "padding": "8px 8px 0", "minWidth": 0}
_BUTTON = {
    "font": "inherit",
    "fontSize": "12px",
    "padding": "2px 8px",
    "border": "1px solid #CBD2D9",
    "borderRadius": "4px",
    "background": "white",
    "color": "#3E4C59",
    "cursor": "pointer",
}


def is_active(ctx: AppContext) -> bool:
    """Whether any run has a scalar; stops at the first run that has one (cached per run)."""
    if ctx.logdir is None:
        return False
    return SeriesSource.shared(ctx.logdir).has_any("scalars")


def layout(ctx: AppContext) -> Any:
    radio = {"display": "flex", "gap": "12px"}
    # The grid comes with the page (no round trip before the first charts are asked for); the
    # filters' callback then only changes it when a filter does.
    view = _GridView([], [], CHART_HEIGHT, [], "", "")
    previews: dict[str, ScalarsPreview] = {}
    failed = False
    if ctx.logdir is not None:
        try:
            source = SeriesSource.shared(ctx.logdir)
            version = ctx.logdir.version()
            view = _grid_view(source, None, None, version)
            previews = _previews(source, view, version)
        except LogdirError:
            failed = True
            logger.warning("the Scalars grid is left to its callback", exc_info=True)
    return html.Div(
        className="ds-page",
        children=[
            html.Div(
                className="ds-page-head",
                children=[
                    html.H1("Scalars"),
                    html.Span(view.summary, id="scalars-summary", className="ds-muted"),
                ],
            ),
            html.Div(
                style=_ROW,
                children=[
                    field(
                        "Runs",
                        dcc.Input(
                            id="scalars-run-filter",
                            type="search",
                            debounce=0.3,
                            className="ds-input",
                            placeholder="regex, e.g. ^cnn|lr0\\.01",
                            style={"width": "240px"},
                        ),
                        "scalars-run-filter",
                    ),
                    field(
                        "Tags",
                        dcc.Input(
                            id="scalars-tag-filter",
                            type="search",
                            debounce=0.3,
                            className="ds-input",
                            placeholder="regex, e.g. loss$",
                            style={"width": "200px"},
                        ),
                        "scalars-tag-filter",
                    ),
                    field(
                        "Smoothing",
                        dcc.Slider(
                            id="scalars-smoothing",
                            min=0,
                            max=0.99,
                            step=0.01,
                            value=DEFAULT_SMOOTHING,
                            marks={0: "0", 0.5: "0.5", 0.99: "0.99"},
                            updatemode="mouseup",
                        ),
                        width="280px",
                    ),
                    field(
                        "X axis",
                        dcc.RadioItems(
                            id="scalars-xaxis",
                            value="step",
                            inputStyle={"marginRight": "4px"},
                            options=[
                                {"label": "Step", "value": "step"},
                                {"label": "Relative", "value": "relative"},
                                {"label": "Wall", "value": "wall"},
                            ],
                            style=radio,
                        ),
                    ),
                    field(
                        "Y axis",
                        dcc.RadioItems(
                            id="scalars-yscale",
                            value="linear",
                            inputStyle={"marginRight": "4px"},
                            options=[{"label": "Linear", "value": "linear"}, {"label": "Log", "value": "log"}],
                            style=radio,
                        ),
                    ),
                    dcc.Checklist(
                        id="scalars-outliers",
                        value=[],
                        inputStyle={"marginRight": "4px"},
                        options=[{"label": "Ignore outliers in the y range", "value": "ignore"}],
                        style={"paddingBottom": "2px"},
                    ),
                ],
            ),
            html.Div(view.message, id="scalars-message", className="ds-muted", style={"marginTop": "10px"}),
            html.Div(
                view.legend,
                id="scalars-legend",
                style={"display": "flex", "flexWrap": "wrap", "gap": "4px 14px", "margin": "8px 0 4px"},
            ),
            html.Div(_grid(view.tags, view.height, previews), id="scalars-grid", style=_GRID),
            dcc.Store(id="scalars-runs", data=view.runs if ctx.logdir is not None else None),
            dcc.Store(id="scalars-tags", data=view.tags if ctx.logdir is not None else None),
            dcc.Store(id="scalars-watched"),
            dcc.Store(id="scalars-watch-start", data=True),
            # Only when the grid could not be read with the page: its callback then runs at once.
            *([dcc.Store(id="scalars-retry", data=True)] if failed else []),
        ],
    )


def register_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    if ctx.logdir is None:
        return
    source = SeriesSource.shared(ctx.logdir)
    # Read every run's tags now, in the background, so the page's first visit finds them cached
    # (with 1,000 runs, a thousand small reads: seconds that would otherwise delay the first paint).
    threading.Thread(target=_warm_up, args=(source,), name="scalars-warm-up", daemon=True).start()

    grid_outputs = [
        Output("scalars-grid", "children"),
        Output("scalars-tags", "data"),
        Output("scalars-runs", "data"),
        Output("scalars-legend", "children"),
        Output("scalars-message", "children"),
        Output("scalars-summary", "children"),
    ]
    grid_states = [State("scalars-run-filter", "value"), State("scalars-tag-filter", "value")]

    def grid_update(
        run_pattern: str | None, tag_pattern: str | None, version: Any, shown_tags: list | None, shown_runs: list | None
    ) -> tuple:
        view = _grid_view(source, run_pattern, tag_pattern, source.version(version))
        grid = dash.no_update if view.tags == shown_tags else _grid(view.tags, view.height)
        return grid, view.tags, unless_shown(view.runs, shown_runs), view.legend, view.message, view.summary

    # Not on the page's load: the page comes with its grid, and the charts' callbacks would wait
    # for this one (its runs are their input), a round trip before the first chart is asked for.
    @app.callback(
        *grid_outputs,
        Input("scalars-run-filter", "value"),
        Input("scalars-tag-filter", "value"),
        Input("app-logdir-version", "data"),
        State("scalars-tags", "data"),
        State("scalars-runs", "data"),
        prevent_initial_call=True,
    )
    def update_grid(
        run_pattern: str | None, tag_pattern: str | None, version: Any, shown_tags: list | None, shown_runs: list | None
    ) -> tuple:
        return grid_update(run_pattern, tag_pattern, version, shown_tags, shown_runs)

    # The page's grid could not be read with it (see layout): read it now.
    @app.callback(
        *[Output(o.component_id, o.component_property, allow_duplicate=True) for o in grid_outputs],
        Input("scalars-retry", "data"),
        *grid_states,
        State("app-logdir-version", "data"),
        State("scalars-tags", "data"),
        State("scalars-runs", "data"),
        prevent_initial_call="initial_duplicate",
    )
    def retry_grid(
        _retry: Any,
        run_pattern: str | None,
        tag_pattern: str | None,
        version: Any,
        shown_tags: list | None,
        shown_runs: list | None,
    ) -> tuple:
        return grid_update(run_pattern, tag_pattern, version, shown_tags, shown_runs)

    apply_on_enter(app, "scalars-run-filter")
    apply_on_enter(app, "scalars-tag-filter")
    app.clientside_callback(_WATCH_JS, Output("scalars-watched", "data"), Input("scalars-grid", "children"))
    # The grid of the first load comes with the page, and Dash skips a callback on a property that
    # another callback of the load may set (the grid's, which leaves it as it is): start from here.
    app.clientside_callback(
        _WATCH_JS,
        Output("scalars-watched", "data", allow_duplicate=True),
        Input("scalars-watch-start", "data"),
        prevent_initial_call="initial_duplicate",
    )

    app.clientside_callback(
        _WANT_JS,
        Output({"type": FIRST, "tag": ALL}, "data"),
        Input({"type": SEEN, "tag": ALL}, "data"),
        # The run filter, not the runs the grid's callback finds for it: the charts' request then
        # does not wait for that callback's answer (the server finds the same runs for them).
        Input("scalars-run-filter", "value"),
        Input("scalars-smoothing", "value"),
        Input("scalars-xaxis", "value"),
        Input("scalars-yscale", "value"),
        Input("scalars-outliers", "value"),
        Input("app-logdir-version", "data"),
        State({"type": FIRST, "tag": ALL}, "data"),
        State({"type": DRAWN, "tag": ALL}, "data"),
        State({"type": BOX, "tag": ALL}, "id"),
        State("scalars-runs", "data"),
    )

    def figure_for(tag: str, want: Any, drawn: str | None) -> tuple[dict, str]:
        """The figure ``want`` asks for and its stamp; no update when ``drawn`` has that stamp."""
        if not isinstance(want, dict) or not isinstance(want.get("run_filter"), str):
            raise PreventUpdate
        smoothing, outliers = _smoothing(want.get("smoothing")), want.get("outliers")
        xaxis = str(want["xaxis"]) if want.get("xaxis") in XAXES else "step"
        yscale = "log" if want.get("yscale") == "log" else "linear"
        ignore_outliers = isinstance(outliers, list) and "ignore" in outliers
        version = source.version(want["version"] if isinstance(want.get("version"), int) else None)
        runs = _drawn_runs(_run_match(source, want["run_filter"], version)[1])
        # A new logdir version in which none of the shown runs wrote draws the same chart again:
        # skip it (each redraw of a crowded chart costs the browser a tenth of a second or more).
        stamp = hashlib.blake2b(
            repr((runs, smoothing, xaxis, yscale, ignore_outliers, source.run_signatures(runs, version))).encode(),
            digest_size=12,
        ).hexdigest()
        if stamp == drawn:
            raise PreventUpdate
        return _figure(source, tag, runs, version, smoothing, xaxis, yscale, ignore_outliers), stamp

    @app.callback(
        Output({"type": SLOT, "tag": MATCH}, "children"),
        Output({"type": BOX, "tag": MATCH}, "style"),
        Output({"type": DRAWN, "tag": MATCH}, "data"),
        Input({"type": FIRST, "tag": MATCH}, "data"),
        State({"type": BOX, "tag": MATCH}, "id"),
        State({"type": BOX, "tag": MATCH}, "style"),
        prevent_initial_call=True,
    )
    def first_chart(want: Any, box: dict, style: dict | None) -> tuple:
        figure, stamp = figure_for(box["tag"], want, None)
        # The graph fills its box: give the box the figure's height.
        return _graph(box["tag"], figure), fit_box(figure["layout"]["height"], style), stamp

    @app.callback(
        Output({"type": CHART, "tag": MATCH}, "figure"),
        Output({"type": BOX, "tag": MATCH}, "style", allow_duplicate=True),
        Output({"type": DRAWN, "tag": MATCH}, "data", allow_duplicate=True),
        Input({"type": FALLBACK, "tag": MATCH}, "data"),
        State({"type": BOX, "tag": MATCH}, "id"),
        State({"type": BOX, "tag": MATCH}, "style"),
        State({"type": DRAWN, "tag": MATCH}, "data"),
        prevent_initial_call=True,
    )
    def redraw_chart(want: Any, box: dict, style: dict | None, drawn: str | None) -> tuple:
        # The page's script redraws a chart without this store: its request says what it drew.
        if isinstance(want, dict) and "drawn" in want:
            drawn = want["drawn"] if isinstance(want["drawn"], str) else None
        figure, stamp = figure_for(box["tag"], want, drawn)
        return figure, fit_box(figure["layout"]["height"], style), stamp

    @app.server.route("/" + FIGURES_ROUTE, methods=["POST"])
    def figures() -> flask.Response:
        """The figures of the charts a control change redraws (assets/scalars_redraw.js)."""
        body = flask.request.get_json(silent=True)
        charts = body.get("charts") if isinstance(body, dict) else None
        if not isinstance(charts, list) or not 0 < len(charts) <= MAX_CHARTS:
            return flask.Response("deepscope: expected {'charts': [...]}\n", status=400, mimetype="text/plain")
        answers = [_figure_answer(chart, figure_for) for chart in charts]
        return flask.Response(to_json_plotly({"charts": answers}), mimetype="application/json")

    app.clientside_callback(
        _HIDE_PREVIEW_JS,
        Output({"type": SLOT, "tag": MATCH}, "title"),  # never set: the preview is hidden in place
        Input({"type": SLOT, "tag": MATCH}, "children"),  # once: when the card's graph is made
        State({"type": BOX, "tag": MATCH}, "id"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output({"type": DOWNLOAD, "tag": MATCH}, "data"),
        Input({"type": CSV, "tag": MATCH}, "n_clicks"),
        Input({"type": JSON, "tag": MATCH}, "n_clicks"),
        State("scalars-runs", "data"),
        State("scalars-smoothing", "value"),
        State("app-logdir-version", "data"),
        prevent_initial_call=True,
    )
    def download(_csv: int | None, _json: int | None, runs: list | None, smoothing: float | None, version: Any) -> Any:
        trigger = dash.ctx.triggered_id
        clicked = dash.ctx.triggered[0]["value"] if dash.ctx.triggered else None
        if not isinstance(trigger, dict) or not clicked or runs is None:
            return dash.no_update
        tag = trigger["tag"]
        frame = source.frame(tag, runs, version=source.version(version), smoothing=_smoothing(smoothing))
        name = re.sub(r"[^\w.-]+", "_", tag).strip("_") or "scalars"
        if trigger["type"] == CSV:
            return dcc.send_data_frame(frame.to_csv, f"{name}.csv", index=False, na_rep="NaN")
        return {
            "content": _json_document(tag, _smoothing(smoothing), frame),
            "filename": f"{name}.json",
            "type": "application/json",
            "base64": False,
        }


def _figure_answer(chart: Any, figure_for: Callable[[str, Any, str | None], tuple[dict, str]]) -> dict:
    """One chart's answer for the page's script: its figure, or why there is none. A failure is
    logged and left to the chart's server callback, which shows the error on the page."""
    if not isinstance(chart, dict) or not isinstance(chart.get("tag"), str):
        return {"error": "expected {'tag': ..., 'want': ..., 'drawn': ...}"}
    drawn = chart.get("drawn")
    try:
        figure, stamp = figure_for(chart["tag"], chart.get("want"), drawn if isinstance(drawn, str) else None)
    except PreventUpdate:
        return {"same": True}
    except Exception as err:  # reported by the chart's server callback, which raises it again
        logger.info("the Scalars figure of %r failed: %s", chart["tag"], err)
        return {"error": type(err).__name__}
    return {"figure": figure, "stamp": stamp, "box": graph_box(figure["layout"]["height"]), "config": GRAPH_CONFIG}


@dataclass(frozen=True)
class _GridView:
    """What the grid shows for a run and a tag filter: tags, runs, legend, notes, summary."""

    tags: list[str]
    runs: list[str]
    height: int
    legend: list
    message: str
    summary: str


def _run_match(source: SeriesSource, run_pattern: str | None, version: int) -> tuple[list[str], NameMatch]:
    """The runs that logged a scalar (others are left out), and those ``run_pattern`` finds."""
    with_scalars = source.runs_with("scalars", version)
    # Asked again for each chart of a change (and by the grid's callback): matched once per version.
    match = source.memo(
        ("scalars-run-match", version, run_pattern or ""),
        lambda: match_names(with_scalars, run_pattern),
        lambda match: 64 * len(match.names) + 256,
    )
    return with_scalars, match


def _drawn_runs(match: NameMatch) -> list[str]:
    """The runs the charts draw: the ``MAX_RUNS`` newest that match, listed by name."""
    return sorted(match.names[-MAX_RUNS:])


def _grid_view(source: SeriesSource, run_pattern: str | None, tag_pattern: str | None, version: int) -> _GridView:
    with_scalars, runs = _run_match(source, run_pattern, version)
    all_tags = source.tags(version)
    tags = match_names(all_tags, tag_pattern)
    drawn_runs = _drawn_runs(runs)
    drawn_tags = tags.names[:MAX_CHARTS]
    notes = [note for note in (runs.message, tags.message) if note]
    if not runs.names:
        notes.append("No run matches the run filter.")
    elif len(runs.names) > MAX_RUNS:
        notes.append(
            f"Showing the {MAX_RUNS} newest of {len(runs.names):,} matching runs; refine the run filter to see others."
        )
    if not tags.names:
        notes.append("No tag matches the tag filter.")
    elif len(tags.names) > MAX_CHARTS:
        notes.append(
            f"Showing the first {MAX_CHARTS} of {len(tags.names):,} matching tags; refine the tag filter to see others."
        )
    summary = f"{len(drawn_tags)} of {len(all_tags)} tags · {len(drawn_runs)} of {len(with_scalars):,} runs"
    return _GridView(
        tags=drawn_tags,
        runs=drawn_runs,
        # Cards start at the height their charts will take, so drawing a chart does not also
        # resize its box (a second full redraw of every chart).
        height=chart_height(len(drawn_runs)),
        legend=_legend(drawn_runs, run_colors(source.run_names(version))),
        message=" ".join(notes),
        summary=summary,
    )


def _warm_up(source: SeriesSource) -> None:
    try:
        version = source.version()
        source.runs_with("scalars", version)
        source.tags(version)
        _previews(source, _grid_view(source, None, None, version), version)  # the first charts too
    except Exception:  # a head start only: the page reads (and reports) again itself
        logger.debug("scalars warm-up failed", exc_info=True)


def _smoothing(value: Any) -> float:
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return DEFAULT_SMOOTHING
    return min(max(float(value), 0.0), 0.99)


def _figure(
    source: SeriesSource,
    tag: str,
    runs: list[str],
    version: int,
    smoothing: float = DEFAULT_SMOOTHING,
    xaxis: str = "step",
    yscale: str = "linear",
    ignore_outliers: bool = False,
) -> dict:
    """The figure of ``tag`` for ``runs`` as the page draws it (plotly JSON)."""
    data = source.chart(
        tag,
        runs,
        version=version,
        smoothing=smoothing,
        xaxis=xaxis,
        width=CHART_WIDTH,
        points_per_pixel=POINTS_PER_PIXEL,
    )
    colors = run_colors(source.run_names(version))
    return scalars_figure_json(data, yscale=yscale, ignore_outliers=ignore_outliers, colors=colors)


def _previews(source: SeriesSource, view: _GridView, version: int) -> dict[str, ScalarsPreview]:
    """The previews of the grid's first charts, drawn with the page's first controls."""
    tags = view.tags[:PREVIEW_CHARTS]
    if not tags or not view.runs:
        return {}
    source.series(tags, view.runs, version)  # one read for every previewed chart
    previews = {}
    for tag in tags:
        preview = source.memo(
            ("scalars-preview", tag, tuple(view.runs), version),
            lambda tag=tag: scalars_preview(_figure(source, tag, view.runs, version), width=CHART_WIDTH),
            lambda preview: 2 * len(preview.svg) + 1024 if preview is not None else 64,
        )
        if preview is not None:
            previews[tag] = preview
    return previews


def _grid(tags: list[str], height: int = CHART_HEIGHT, previews: dict[str, ScalarsPreview] | None = None) -> list:
    """A card per tag, with a heading per tag group ("train/...", "val/...") when there are several."""
    groups: dict[str, list[str]] = {}
    for tag in tags:
        groups.setdefault(tag.split("/", 1)[0] if "/" in tag else "", []).append(tag)
    children: list = []
    for group, members in groups.items():
        if len(groups) > 1:
            children.append(
                html.H2(
                    group or "(no group)",
                    style={
                        "gridColumn": "1 / -1",
                        "fontSize": "15px",
                        "margin": "8px 0 0",
                        "color": "#3E4C59",
                    },
                )
            )
        children.extend(_card(tag, height, (previews or {}).get(tag)) for tag in members)
    return children


def _card(tag: str, height: int = CHART_HEIGHT, preview: ScalarsPreview | None = None) -> Any:
    return html.Div(
        style=_CARD,
        **_data(scalars_tag=tag),
        children=[
            dcc.Store(id={"type": SEEN, "tag": tag}, data=False),
            dcc.Store(id={"type": FIRST, "tag": tag}),
            dcc.Store(id={"type": FALLBACK, "tag": tag}),
            dcc.Store(id={"type": DRAWN, "tag": tag}),
            html.Div(
                style={"display": "flex", "alignItems": "center", "gap": "6px"},
                children=[
                    html.H3(
                        tag,
                        title=tag,
                        style={
                            "fontSize": "14px",
                            "margin": "0 auto 0 4px",
                            "fontWeight": 600,
                            "overflow": "hidden",
                            "textOverflow": "ellipsis",
                            "whiteSpace": "nowrap",
                        },
                    ),
                    html.Button(
                        "CSV", id={"type": CSV, "tag": tag}, style=_BUTTON, title=f"Download the data of {tag} as CSV"
                    ),
                    html.Button(
                        "JSON",
                        id={"type": JSON, "tag": tag},
                        style=_BUTTON,
                        title=f"Download the data of {tag} as JSON",
                    ),
                ],
            ),
            dcc.Download(id={"type": DOWNLOAD, "tag": tag}),
            # The graph is made with its first figure: an empty graph would cost a full plotly
            # draw of its own for every card on the page, in view or not. Until it has drawn, the
            # card shows its preview, if it has one (the graph's white paper then covers it).
            html.Div(
                id={"type": BOX, "tag": tag},
                style=graph_box(height),
                children=html.Div(
                    style={"position": "relative", "height": "100%"},
                    children=[
                        *([_preview(tag, preview)] if preview is not None else []),
                        html.Div(id={"type": SLOT, "tag": tag}, style={"position": "relative", "height": "100%"}),
                    ],
                ),
            ),
        ],
    )


_TICK = {"position": "absolute", "fontSize": "13px", "color": "#1F2933", "whiteSpace": "nowrap", "lineHeight": 1}


def _preview(tag: str, preview: ScalarsPreview) -> Any:
    """A chart's preview: its lines (an SVG image stretched over the plot area) and tick labels,
    placed where plotly puts them for any width of the card."""
    left, right, top, bottom = (preview.margin[k] for k in ("l", "r", "t", "b"))
    width, height = f"(100% - {left + right}px)", f"(100% - {top + bottom}px)"
    src = "data:image/svg+xml," + urllib.parse.quote(preview.svg, safe=" ,.-=:/'()")
    children: list = [
        html.Img(
            src=src,
            alt="",
            style={
                "position": "absolute",
                "left": f"{left}px",
                "top": f"{top}px",
                "width": f"calc{width}",
                "height": f"calc{height}",
                "borderBottom": "1px solid #9AA5B1",
            },
        )
    ]
    for at, label in preview.x_ticks:
        children.append(
            html.Span(
                label,
                **_data(axis="x"),
                style={
                    **_TICK,
                    "left": f"calc({left}px + {width} * {at:.4f})",
                    "top": f"calc(100% - {bottom}px + 10.5px)",
                    "transform": "translateX(-50%)",
                },
            )
        )
    for at, label in preview.y_ticks:
        children.append(
            html.Span(
                label,
                **_data(axis="y"),
                style={
                    **_TICK,
                    "right": f"calc(100% - {left}px + 7px)",
                    "top": f"calc({top}px + {height} * {1 - at:.4f})",
                    "transform": "translateY(-50%)",
                },
            )
        )
    if preview.x_title:
        children.append(
            html.Span(
                preview.x_title,
                style={
                    **_TICK,
                    "left": f"calc({left}px + {width} / 2)",
                    "bottom": "4px",
                    "transform": "translateX(-50%)",
                },
            )
        )
    return html.Div(
        id={"type": PREVIEW, "tag": tag},
        className="ds-scalars-preview",
        style={"position": "absolute", "inset": 0, "pointerEvents": "none"},
        children=children,
    )


def _graph(tag: str, figure: dict) -> Any:
    return dcc.Graph(
        id={"type": CHART, "tag": tag},
        figure=figure,
        style={"height": "100%"},
        config=dcc.Graph.Config(**GRAPH_CONFIG),
    )


def _data(**attributes: str) -> dict[str, Any]:
    """``data-*`` attributes of an html component (``scalars_tag`` becomes ``data-scalars-tag``)."""
    return {"data-" + name.replace("_", "-"): value for name, value in attributes.items()}


def _legend(runs: list[str], colors: dict[str, str]) -> list:
    """A swatch per drawn run, by name (the charts' hover names them too)."""
    return [
        html.Span(
            style={"display": "inline-flex", "alignItems": "center", "gap": "6px", "fontSize": "13px"},
            title=run,
            children=[
                html.Span(
                    style={
                        "width": "14px",
                        "height": "3px",
                        "borderRadius": "2px",
                        "background": colors.get(run, "#7B8794"),
                        "display": "inline-block",
                    }
                ),
                run,
            ],
        )
        for run in sorted(runs)
    ]


def _json_value(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _json_document(tag: str, smoothing: float, frame: Any) -> str:
    """Per run, columns of steps, times and values; NaN/Inf as "NaN"/"Infinity" (JSON has none)."""
    runs = {}
    for run, part in frame.groupby("run", sort=False):
        runs[str(run)] = {
            "step": part["step"].astype(np.int64).tolist(),
            "wall_time": part["wall_time"].tolist(),
            "value": [_json_value(v) for v in part["value"].tolist()],
            "smoothed": [_json_value(v) for v in part["smoothed"].tolist()],
        }
    return json.dumps({"tag": tag, "smoothing": smoothing, "runs": runs}, allow_nan=False)


PAGE = Page(
    name="Scalars",
    path="/scalars",
    order=10,
    is_active=is_active,
    layout=layout,
    register_callbacks=register_callbacks,
)
