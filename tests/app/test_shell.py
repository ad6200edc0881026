"""The dashboard shell: page plugins, navigation, routing and errors shown on the page."""

from __future__ import annotations

import pytest
from dash import Input, Output, html

from deepscope.app import create_app
from deepscope.app.plugin import (
    AppContext,
    LazyModels,
    Page,
    always_active,
    discover_pages,
    is_page_active,
)
from deepscope.errors import InvalidArgumentError, NotFoundError
from tests.conftest import eventually


def _hello(ctx: AppContext):
    return html.Div(
        [
            html.Button("ok", id="hello-ok"),
            html.Button("fail", id="hello-fail"),
            html.Span(id="hello-out"),
            html.Span(id="hello-fail-out"),
        ]
    )


def _hello_callbacks(app, ctx):
    @app.callback(Output("hello-out", "children"), Input("hello-ok", "n_clicks"), prevent_initial_call=True)
    def ok(n):
        return f"clicked {n}"

    @app.callback(Output("hello-fail-out", "children"), Input("hello-fail", "n_clicks"), prevent_initial_call=True)
    def fail(n):
        raise ValueError("planted failure <b>not bold</b>")


HELLO = Page("Hello", "/hello", 50, always_active, _hello, _hello_callbacks)
HIDDEN = Page("Secret", "/secret", 60, lambda ctx: False, lambda ctx: html.P("secret page"))


def _broken_layout(ctx):
    raise RuntimeError("layout exploded")


BROKEN = Page("Broken", "/broken", 70, always_active, _broken_layout)


def _raising_is_active(ctx):
    raise OSError("disk gone")


FLAKY = Page("Flaky", "/flaky", 80, _raising_is_active, lambda ctx: html.P("flaky"))


def test_discover_finds_the_runs_page():
    pages = discover_pages()
    assert pages[0].path == "/" and pages[0].name == "Runs"
    assert [p.order for p in pages] == sorted(p.order for p in pages)


def test_page_checks_its_fields():
    with pytest.raises(InvalidArgumentError, match="path"):
        Page("X", "x", 1, always_active, lambda ctx: None)
    with pytest.raises(InvalidArgumentError, match="path"):
        Page("X", "/a/b", 1, always_active, lambda ctx: None)
    with pytest.raises(TypeError, match="layout"):
        Page("X", "/x", 1, always_active, "not a function")
    assert HELLO.id("plot") == "hello-plot"
    assert discover_pages()[0].id("filter") == "runs-filter"


def test_two_pages_on_one_path_are_refused(sample_logdir):
    twin = Page("Twin", "/hello", 1, always_active, lambda ctx: None)
    with pytest.raises(InvalidArgumentError, match="one page per path"):
        create_app(sample_logdir, pages=[HELLO, twin])


def test_models_are_wrapped_lazily():
    calls = []

    def load():
        calls.append(1)
        raise RuntimeError("weights are missing")

    models = LazyModels({"cnn": LazyModels.loader(load)})
    assert list(models) == ["cnn"] and len(models) == 1
    assert list(LazyModels(models)) == ["cnn"]  # copying keeps it lazy
    assert calls == []  # nothing loads until a page asks
    with pytest.raises(RuntimeError, match="weights are missing"):
        models["cnn"]
    assert calls == [1]
    with pytest.raises(NotFoundError, match="no model named 'gru'; available: 'cnn'"):
        models["gru"]


def test_a_page_whose_is_active_raises_is_hidden(sample_logdir):
    app = create_app(sample_logdir, pages=[*discover_pages(), HELLO, HIDDEN, FLAKY])
    ctx = app.deepscope_context
    shown = [p.name for p in app.deepscope_pages if is_page_active(p, ctx)]
    assert "Runs" in shown and "Hello" in shown
    assert "Secret" not in shown and "Flaky" not in shown


def test_which_pages_show_reads_the_logdirs_version_a_few_times_not_once_per_run(tmp_path, monkeypatch):
    """Deciding which pages have something to show asks each run's tags from one cached listing:
    a call per run read the logdir's version (a stat of every run) for each run, so a thousand
    runs cost a million stats and held every request for seconds."""
    from deepscope.track import Logdir, Run

    for i in range(30):
        with Run(tmp_path, name=f"r{i:02d}") as run:
            run.log({"loss": 1.0})
    app = create_app(tmp_path)
    ctx = app.deepscope_context
    calls = []
    version = Logdir.version
    monkeypatch.setattr(Logdir, "version", lambda self: calls.append(1) or version(self))
    shown = [p.name for p in app.deepscope_pages if is_page_active(p, ctx)]
    assert "Scalars" in shown and "Explain" not in shown
    assert len(calls) < 2 * len(app.deepscope_pages)  # was more than one per run and page


def test_the_shell_comes_with_the_page_the_browser_loads(sample_logdir):
    """The layout request names the page being loaded (its Referer): the shell then holds that
    page's content, so it draws without waiting for the router's callback; without a Referer
    the router renders the page."""
    import json

    app = create_app(sample_logdir)
    client = app.server.test_client()
    with_page = client.get("/_dash-layout", headers={"Referer": "http://127.0.0.1:1/scalars?x=1"}).get_json()
    text = json.dumps(with_page)
    assert '"app-rendered"' in text and '"/scalars"' in text and "scalars-grid" in text
    bare = json.dumps(client.get("/_dash-layout").get_json())
    assert "scalars-grid" not in bare and "runs-table" not in bare
    unknown = json.dumps(client.get("/_dash-layout", headers={"Referer": "http://127.0.0.1:1/nope"}).get_json())
    assert "Page not found" in unknown


@pytest.mark.browser
def test_nav_shows_only_active_pages(browser_page, live_server, sample_logdir):
    base = live_server(sample_logdir, pages=[*discover_pages(), HELLO, HIDDEN, FLAKY])
    browser_page.goto(base)
    nav = browser_page.locator("#app-nav")
    nav.get_by_text("Hello").wait_for()
    eventually(lambda: nav.locator("a").all_inner_texts()[:1], ["Runs"])
    links = eventually(lambda: nav.locator("a").all_inner_texts())
    assert "Hello" in links
    assert "Secret" not in links and "Flaky" not in links
    # Going to a hidden page directly says there is nothing to show, instead of breaking.
    browser_page.goto(base + "secret")
    browser_page.get_by_text("The logdir has nothing for Secret yet.").wait_for()
    assert "secret page" not in browser_page.content()


@pytest.mark.browser
def test_failing_callback_shows_error_and_server_keeps_serving(browser_page, live_server, sample_logdir):
    base = live_server(sample_logdir, pages=[*discover_pages(), HELLO])
    browser_page.goto(base + "hello")
    banner = browser_page.locator("#app-error")
    browser_page.click("#hello-fail")
    banner.get_by_text("planted failure").wait_for()
    text = eventually(lambda: banner.inner_text())
    assert "ValueError: planted failure <b>not bold</b>" in text  # as text, not markup
    assert "hello-fail-out" in text  # says which update failed
    # The next request still works.
    browser_page.click("#hello-ok")
    browser_page.locator("#hello-out").get_by_text("clicked 1").wait_for()
    # The banner can be dismissed, and navigating clears it.
    browser_page.click("#app-error-close")
    banner.wait_for(state="hidden")
    browser_page.click("#hello-fail")
    banner.get_by_text("planted failure").wait_for()
    browser_page.locator("#app-nav").get_by_text("Runs").click()
    banner.wait_for(state="hidden")
    browser_page.locator("#runs-table").get_by_text("cnn-lr0.01").wait_for()


@pytest.mark.browser
def test_failing_layout_and_unknown_path_show_messages(browser_page, live_server, sample_logdir):
    base = live_server(sample_logdir, pages=[*discover_pages(), BROKEN])
    browser_page.goto(base + "broken")
    alert = browser_page.locator("#app-content .ds-alert")
    alert.wait_for()
    eventually(lambda: "RuntimeError: layout exploded" in alert.inner_text())
    browser_page.goto(base + "no-such-page")
    browser_page.get_by_text("Page not found").wait_for()
    browser_page.get_by_text("Back to the runs").click()
    browser_page.locator("#runs-table").get_by_text("cnn-lr0.01").wait_for()


def _plots(ctx: AppContext):
    import numpy as np
    import plotly.graph_objects as go
    from dash import dcc

    from deepscope.viz import TEMPLATE_NAME

    rng = np.random.default_rng(0)
    line = go.Figure(go.Scatter(y=[1, 3, 2]), layout={"template": TEMPLATE_NAME})
    # WebGL, as a projector page would use for many points: needs plotly's eval under our CSP.
    cloud = go.Figure(
        go.Scattergl(x=rng.normal(size=500), y=rng.normal(size=500), mode="markers"), layout={"template": TEMPLATE_NAME}
    )
    empty = go.Figure(layout={"template": TEMPLATE_NAME})
    return html.Div(
        [
            dcc.Graph(id="plots-line", figure=line),
            dcc.Graph(id="plots-cloud", figure=cloud),
            dcc.Graph(id="plots-empty", figure=empty),
        ]
    )


PLOTS = Page("Plots", "/plots", 55, always_active, _plots)


@pytest.mark.browser
def test_plots_drew_counts_figures_with_traces(browser_page, live_server, sample_logdir, plots_drew):
    errors = []
    browser_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    browser_page.goto(live_server(sample_logdir, pages=[*discover_pages(), PLOTS]) + "plots")
    assert plots_drew(browser_page, count=2) == 2  # the empty figure does not count
    eventually(lambda: browser_page.locator("#plots-cloud .no-webgl").count(), 0)
    assert errors == []


def test_live_models_are_wrapped_with_deepscope_model_on_first_use():
    import torch

    from deepscope.model import Model

    linear = torch.nn.Linear(3, 2)
    ready = Model(torch.nn.Linear(3, 2), name="ready")
    models = LazyModels({"lin": linear, "ready": ready})
    wrapped = models["lin"]
    assert isinstance(wrapped, Model) and wrapped.module is linear and wrapped.name == "lin"
    assert models["lin"] is wrapped  # wrapped once
    assert models["ready"] is ready
