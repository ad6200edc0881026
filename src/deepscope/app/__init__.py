"""The dashboard: a shell (navigation, error banner, live refresh) around page plugins.

>>> import deepscope as ds
>>> app = ds.create_app("demo-logdir")  # doctest: +SKIP
>>> handle = ds.serve("demo-logdir", models={"cnn": my_model}, block=False)  # doctest: +SKIP
>>> handle.url, handle.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import dash
import flask
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from deepscope.app.jobs import JOBS_STATUS, JobManager, original_error
from deepscope.app.plugin import (
    AppContext,
    LazyModels,
    Page,
    always_active,
    discover_pages,
    is_page_active,
    no_callbacks,
    sort_pages,
)
from deepscope.app.server import (
    TOKEN_ENV,
    LogdirFiles,
    LoopbackHostGuard,
    SecurityMiddleware,
    ServerHandle,
    check_host_and_token,
    content_security_policy,
    is_loopback,
    logdir_file_url,
    start_server,
)
from deepscope.errors import ArgumentTypeError, LogdirError

__all__ = [
    "create_app",
    "serve",
    "Page",
    "AppContext",
    "ServerHandle",
    "discover_pages",
    "always_active",
    "no_callbacks",
    "logdir_file_url",
]

log = logging.getLogger(__name__)

ASSETS = Path(__file__).parent / "assets"
# The plotly.js the pages load (see assets/plotly_early.js): a partial bundle of the trace types
# the pages draw, built by tools/build_plotly_bundle.sh. Dash would add every script under
# assets/ to every page, so its folder is left out of that and the file is loaded on demand.
PLOTLY_BUNDLE = "vendor/plotly-deepscope.min.js"
# Ids of the shell's own elements; pages may listen to VERSION_STORE to refresh live.
URL = "app-url"
NAV = "app-nav"
CONTENT = "app-content"
ERROR = "app-error"
RENDERED = "app-rendered"  # the path of the page the shell came with (None: the router renders it)
VERSION_STORE = "app-logdir-version"
VERSION_POLL = "app-version-poll"
POLL_MS = 5000


def _open_logdir(logdir: str | os.PathLike | None) -> tuple[Path | None, Any]:
    if logdir is None:
        return None, None
    if not isinstance(logdir, (str, os.PathLike)):
        raise ArgumentTypeError("logdir", "a path to a log directory", logdir)
    path = Path(logdir).expanduser()
    if not path.exists():
        raise LogdirError(
            f"no logdir at {path}: create one by logging a run "
            f"(ds.Run({str(path)!r}) in Python) or with `deepscope demo --logdir {path}`"
        )
    if not path.is_dir():
        raise LogdirError(f"{path} is a file; a logdir is a directory of runs")
    from deepscope.track import open_logdir

    return path, open_logdir(path)


def create_app(
    logdir: str | os.PathLike | None,
    *,
    models: Mapping[str, Any] | None = None,
    datasets: Mapping[str, Any] | None = None,
    token: str | None = None,
    pages: Iterable[Page] | None = None,
    table: str | os.PathLike | None = None,
) -> dash.Dash:
    """Build the dashboard for ``logdir`` as a Dash app (serve ``app.server`` with any WSGI server).

    models: live models by name (anything ``deepscope.Model`` accepts), wrapped on first use.
    datasets: datasets by name, for pages that compute on demand.
    token: when set, every request must carry it (``?token=``, a cookie, or a Bearer header).
    pages: the pages to show; by default every plugin in ``deepscope/app/pages/``.
    table: a results file (CSV, TSV or Parquet) for the hyper-parameter explorer; without a
        logdir the explorer is the whole app, at ``/``.

    >>> app = create_app("demo-logdir")  # doctest: +SKIP
    >>> app.server  # a Flask WSGI app  # doctest: +SKIP
    """
    logdir_path, reader = _open_logdir(logdir)
    if datasets is not None and not isinstance(datasets, Mapping):
        raise ArgumentTypeError("datasets", "a dict of name -> dataset", datasets)
    ctx = AppContext(
        logdir_path=logdir_path,
        logdir=reader,
        models=LazyModels(models),
        datasets=dict(datasets or {}),
    )
    page_list = discover_pages() if pages is None else sort_pages(pages)
    if table is not None:
        from deepscope.app.pages.hparams import file_page

        explorer = file_page(table, home=reader is None)
        others = [p for p in page_list if p.path != explorer.path] if reader is not None else []
        page_list = sort_pages([*others, explorer])
    label = str(Path(table).expanduser()) if table is not None and reader is None else None
    by_path = {page.path: page for page in page_list}

    server = flask.Flask("deepscope.app", static_folder=None)
    # Heavy callbacks (attributions, projections) run as jobs on this bounded pool, so the
    # request threads stay free for page loads (see deepscope.app.jobs).
    jobs = JobManager()
    app = OfflineDash(
        "deepscope.app",
        server=server,  # pyright: ignore[reportArgumentType]  # dash's hint omits Flask, which it takes
        title="deepscope",
        update_title=None,  # pyright: ignore[reportArgumentType]  # hint says str; dash documents None
        assets_folder=str(ASSETS),
        assets_path_ignore=[r"^vendor$"],
        use_pages=False,  # our routing; Dash would otherwise import app/pages/ as its own pages
        serve_locally=True,
        suppress_callback_exceptions=True,
        on_error=_show_error,
        background_callback_manager=jobs,
    )

    def first_page() -> tuple[str, Any] | None:
        """The page the browser is loading and its content, so the shell comes with it: the
        router's callback would otherwise cost a round trip after the shell, and a render of an
        empty page, before the page's own callbacks could start. The page's address is the
        ``_dash-layout`` request's Referer (sent to this server alone: same-origin policy)."""
        if not flask.has_request_context() or not flask.request.referrer:
            return None
        path = _normal_path(urllib.parse.urlsplit(flask.request.referrer).path)
        return path, _render(by_path.get(path), path, ctx)

    # A function: each load starts from the current version.
    app.layout = lambda: _shell(ctx, label, first_page())

    @app.callback(
        Output(VERSION_STORE, "data"),
        Input(VERSION_POLL, "n_intervals"),
        State(VERSION_STORE, "data"),
        prevent_initial_call=True,
    )
    def poll_version(_n: int | None, known: Any) -> Any:
        current = _version(ctx)
        return dash.no_update if current == known else current

    active = _ActivePages(page_list, ctx)
    # Work the answer out before the first browser asks: on a large logdir that takes seconds.
    threading.Thread(target=active.pages, name="deepscope-active-pages", daemon=True).start()

    @app.callback(
        Output(NAV, "children"),
        Input(URL, "pathname"),
        Input(VERSION_STORE, "data"),
    )
    def render_nav(pathname: str | None, _version_: Any) -> list:
        current = _normal_path(pathname)
        return [
            dcc.Link(
                page.name,
                href=page.path,
                className="ds-nav-link active" if page.path == current else "ds-nav-link",
            )
            for page in active.pages()
        ]

    @app.callback(
        Output(CONTENT, "children"),
        Output(ERROR, "children"),
        Output(ERROR, "hidden"),
        Output(RENDERED, "data"),
        Input(URL, "pathname"),
        State(RENDERED, "data"),
    )
    def render_page(pathname: str | None, rendered: str | None) -> tuple:
        path = _normal_path(pathname)
        if rendered == path:
            raise PreventUpdate  # the first load: the shell came with this page
        return _render(by_path.get(path), pathname, ctx), None, True, None

    @app.callback(
        Output(ERROR, "children", allow_duplicate=True),
        Output(ERROR, "hidden", allow_duplicate=True),
        Input("app-error-close", "n_clicks"),
        prevent_initial_call=True,
    )
    def close_error(_n: int | None) -> tuple:
        return None, True

    for page in page_list:
        page.register_callbacks(app, ctx)
    jobs.seal()

    server.wsgi_app = SecurityMiddleware(
        LogdirFiles(server.wsgi_app, logdir_path),
        token=token,
        csp=lambda: content_security_policy(app.csp_hashes()),
    )
    app.deepscope_context = ctx
    app.deepscope_pages = page_list
    app.deepscope_jobs = jobs
    return app


class OfflineDash(dash.Dash):
    """Dash that never points the browser at plotly.com (its update-check URL) and serves the
    partial plotly.js bundle (its URL is in the page's config for ``assets/plotly_early.js``)."""

    # Set by ``create_app``: what the app serves, for tests and embedding code.
    deepscope_context: AppContext
    deepscope_pages: list[Page]
    deepscope_jobs: JobManager

    def _config(self) -> dict:
        config = super()._config()
        config["dash_version_url"] = None
        config["disable_version_check"] = True
        config["deepscope_plotlyjs_url"] = _plotly_bundle_url(self)
        return config


def _plotly_bundle_url(app: dash.Dash) -> str | None:
    """The partial plotly.js bundle's URL, with its modification time as Dash marks its assets, so
    a browser never runs a stale copy after an upgrade; None without the file (an install that
    lacks it), and the pages then load dash's full plotly.js."""
    try:
        stamp = int((ASSETS / PLOTLY_BUNDLE).stat().st_mtime)
    except OSError:
        return None
    return f"{app.get_asset_url(PLOTLY_BUNDLE)}?m={stamp}"


def _shell(ctx: AppContext, label: str | None = None, page: tuple[str, Any] | None = None) -> Any:
    """The frame around every page: header and navigation, error banner, live-refresh timer.

    label: what the header says is being shown (default: the logdir).
    page: (path, content) of the page being loaded, when known: the shell comes with it.
    """
    label = label or (str(ctx.logdir_path) if ctx.logdir_path else "no logdir")
    return html.Div(
        className="ds-shell",
        children=[
            dcc.Location(id=URL, refresh=False),
            dcc.Store(id=VERSION_STORE, data=_version(ctx)),
            dcc.Interval(id=VERSION_POLL, interval=POLL_MS),
            html.Header(
                className="ds-header",
                children=[
                    dcc.Link("deepscope", href="/", className="ds-brand"),
                    html.Nav(id=NAV, className="ds-nav"),
                    html.Span(label, className="ds-logdir", title=label),
                ],
            ),
            html.Div(id=ERROR, className="ds-error", hidden=True),
            html.Div(id=JOBS_STATUS, className="ds-jobs", hidden=True, role="status", style=_JOBS_STYLE),
            dcc.Store(id=RENDERED, data=page[0] if page is not None else None),
            html.Main(id=CONTENT, className="ds-content", children=page[1] if page is not None else None),
        ],
    )


# The status line of heavy jobs: quiet, one line, under the header.
_JOBS_STYLE = {"padding": "4px 16px", "fontSize": "0.85em", "color": "#555", "fontStyle": "italic"}


def _normal_path(pathname: str | None) -> str:
    return (pathname or "/").rstrip("/") or "/"


class _ActivePages:
    """The pages with something to show, worked out once per logdir version.

    Every navigation asks for them; with a thousand runs asking each page costs seconds, and many
    browsers navigating at once would each pay it. One thread computes per version, the others
    wait for it and share the answer.
    """

    def __init__(self, pages: list[Page], ctx: AppContext):
        self._pages = pages
        self._ctx = ctx
        self._lock = threading.Lock()
        self._known: tuple[Any, list[Page]] | None = None

    def pages(self) -> list[Page]:
        version = _version(self._ctx)
        known = self._known
        if known is not None and known[0] == version and version is not None:
            return known[1]
        with self._lock:
            known = self._known
            if known is not None and known[0] == version and version is not None:
                return known[1]
            pages = [page for page in self._pages if is_page_active(page, self._ctx)]
            self._known = (version, pages)
            return pages


def _version(ctx: AppContext) -> Any:
    if ctx.logdir is None:
        return None
    try:
        return ctx.logdir.version()
    except Exception:
        log.exception("reading the logdir's version failed")
        return None


def _render(page: Page | None, pathname: str | None, ctx: AppContext) -> Any:
    if page is None:
        return html.Div(
            className="ds-empty",
            children=[
                html.H2("Page not found"),
                html.P(["There is no page at ", html.Code(pathname or ""), "."]),
                dcc.Link("Back to the runs", href="/"),
            ],
        )
    if not is_page_active(page, ctx):
        return html.Div(
            className="ds-empty",
            children=[
                html.H2(page.name),
                html.P(f"The logdir has nothing for {page.name} yet."),
                dcc.Link("Back to the runs", href="/"),
            ],
        )
    try:
        return page.layout(ctx)
    except Exception as err:
        log.exception("layout of page %r failed", page.name)
        return _error_alert(f"The {page.name} page could not be built", err)


def _error_alert(title: str, err: BaseException) -> Any:
    return html.Div(
        className="ds-alert",
        role="alert",
        children=[
            html.Strong(title + ": "),
            html.Span(f"{type(err).__name__}: {err}", className="ds-alert-message"),
            html.Span(" Details are in the server log.", className="ds-alert-hint"),
        ],
    )


# Dash takes dashed HTML attributes (aria-*, data-*) only through ``**kwargs``.
_DISMISS_LABEL: dict[str, Any] = {"aria-label": "Dismiss"}


def _show_error(err: Exception) -> None:
    """Dash's on_error hook: any callback that raises puts its error in the banner.

    The callback's own outputs are left as they were, and the server goes on serving.
    """
    from dash import ctx as callback_ctx
    from dash import set_props

    err = original_error(err)  # a heavy job's own error, not Dash's wrapper of its message
    log.error("a dashboard callback failed", exc_info=err)
    outputs = callback_ctx.outputs_list if callback_ctx else None
    first = outputs[0] if isinstance(outputs, list) and outputs else outputs
    where = first.get("id") if isinstance(first, dict) else None
    title = f"Updating {where} failed" if isinstance(where, str) else "An update failed"
    set_props(
        ERROR,
        {
            "children": [
                _error_alert(title, err),
                html.Button("×", id="app-error-close", className="ds-error-close", title="Dismiss", **_DISMISS_LABEL),
            ],
            "hidden": False,
        },
    )
    set_props(JOBS_STATUS, {"children": "", "hidden": True})


def serve(
    logdir: str | os.PathLike | None,
    *,
    models: Mapping[str, Any] | None = None,
    datasets: Mapping[str, Any] | None = None,
    host: str = "127.0.0.1",
    port: int = 6060,
    token: str | None = None,
    block: bool = True,
    threads: int = 8,
    table: str | os.PathLike | None = None,
) -> ServerHandle | None:
    """Serve the dashboard with waitress; with live ``models`` and ``datasets`` pages compute on demand.

    ``block=True`` serves until interrupted (Ctrl-C). ``block=False`` returns a ``ServerHandle``
    right away, with ``.url`` and ``.stop()``. ``port=0`` picks a free port. A host other than
    loopback needs a ``token`` (or the ``DEEPSCOPE_TOKEN`` environment variable). ``table``: a
    CSV/TSV/Parquet results file to open the hyper-parameter explorer on (see ``create_app``).

    >>> handle = serve("demo-logdir", models={"cnn": model}, block=False)  # doctest: +SKIP
    >>> handle.url  # doctest: +SKIP
    'http://127.0.0.1:6060/'
    >>> handle.stop()  # doctest: +SKIP
    """
    token = token or os.environ.get(TOKEN_ENV) or None
    check_host_and_token(host, token)
    app = create_app(logdir, models=models, datasets=datasets, token=token, table=table)
    wsgi_app = app.server
    if is_loopback(host) and not token:
        wsgi_app = LoopbackHostGuard(wsgi_app)
    handle = start_server(wsgi_app, host=host, port=port, token=token, threads=threads)
    handle.on_stop.append(app.deepscope_jobs.shutdown)
    if not block:
        return handle
    try:
        handle.wait()
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()
    return None
