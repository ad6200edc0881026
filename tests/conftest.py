"""Shared fixtures: a headless Chromium page (Playwright on Debian's Chromium) and a live dashboard.

Browser tests are marked ``@pytest.mark.browser``. Without a browser they skip, except under CI
(the ``CI`` environment variable set), where a missing browser fails them.

    @pytest.mark.browser
    def test_page(browser_page, live_server, logdir, plots_drew):
        browser_page.goto(live_server(logdir) + "scalars")
        plots_drew(browser_page, count=1)

Never read a page's state right after an action: Dash renders it later. Wait for it with
``eventually(read, expected)`` (a fixture, also importable from ``tests.conftest``), e.g.
``eventually(lambda: page.locator("#runs-summary").inner_text(), "4 runs")``; to check that
something does not happen, hold the state a while: ``eventually(lambda: dialogs.messages, [], hold=0.5)``.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

# How long browser tests wait for a state by default. Generous: on a loaded machine (the suite's
# runs saw a load of 20 on 2 cores) a first figure took over 15 s; a test that waits longer only
# fails later, it never passes wrongly.
WAIT_S = 40.0

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _no_browser(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests must run under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str | None:
    """The system Chromium (Debian's ``/usr/bin/chromium``), or None when there is none."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def _browser(chromium_path: str | None) -> Iterator[Any]:
    if chromium_path is None:
        _no_browser("no chromium on PATH (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("the playwright package is not installed (pip install playwright)")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
    except Exception as err:  # playwright raises its own Error type for a browser that won't start
        playwright.stop()
        _no_browser(f"chromium at {chromium_path} did not start: {err}")
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def browser_page(_browser: Any) -> Iterator[Any]:
    """A fresh Playwright page (sync API) in its own browser context, 1280x800."""
    context = _browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(WAIT_S * 1000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def live_server() -> Iterator[Callable[..., str]]:
    """Factory ``live_server(logdir, **create_app_kwargs) -> base_url`` (ends with ``/``).

    Serves ``create_app`` with waitress on 127.0.0.1 and a free port in a daemon thread; every
    server is shut down at teardown. Pass ``token=`` to get a protected server (the returned URL
    carries no token).
    """
    from deepscope.app import create_app
    from deepscope.app.server import start_server

    handles = []

    def start(logdir: Any, **kwargs: Any) -> str:
        app = create_app(logdir, **kwargs)
        handle = start_server(app.server, host="127.0.0.1", port=0, threads=4)
        handle.on_stop.append(app.deepscope_jobs.shutdown)
        handles.append(handle)
        return f"http://127.0.0.1:{handle.port}/"

    yield start
    errors = []
    for handle in handles:
        try:
            handle.stop()
        except Exception as err:  # teardown must stop every server even if one fails
            errors.append(err)
    assert not errors, errors


@pytest.fixture
def plots_drew() -> Callable[..., int]:
    """``plots_drew(page, count=1, timeout=WAIT_S * 1000) -> n``: wait until ``count`` plotly figures drew.

    A figure counts when plotly rendered its SVG and holds at least one trace, so an empty or
    failed figure does not pass; a WebGL trace plotly could not draw fails the check, and so does
    a trace of a type the dashboard's partial plotly.js bundle lacks.
    """

    def check(page: Any, count: int = 1, timeout: float = WAIT_S * 1000) -> int:
        page.wait_for_function(
            """(count) => {
                const plots = [...document.querySelectorAll('.js-plotly-plot')];
                const drawn = plots.filter(gd => gd.querySelector('.main-svg')
                    && Array.isArray(gd._fullData) && gd._fullData.length > 0);
                return drawn.length >= count;
            }""",
            arg=count,
            timeout=timeout,
        )
        no_webgl = page.locator(".js-plotly-plot .no-webgl").count()
        assert no_webgl == 0, f"{no_webgl} figure(s) say WebGL is not supported"
        # The dashboard's plotly.js is a partial bundle: plotly turns a trace type it lacks into a
        # hidden scatter (the chart stays blank), so every trace's type must be one it registered.
        unknown = page.evaluate(
            """() => {
                if (!window.Plotly || !window.Plotly.PlotSchema) return [];  // nothing drew yet
                const known = window.__dsTraceTypes = window.__dsTraceTypes
                    || new Set(Object.keys(Plotly.PlotSchema.get().traces));
                const types = [...document.querySelectorAll('.js-plotly-plot')]
                    .flatMap(gd => (gd.data || []).map(trace => trace.type || 'scatter'));
                return [...new Set(types.filter(type => !known.has(type)))];
            }"""
        )
        assert unknown == [], (
            f"trace types {unknown} are not in the dashboard's plotly.js (tools/plotly-bundle/entry.js)"
        )
        return page.evaluate(
            "() => [...document.querySelectorAll('.js-plotly-plot')]"
            ".filter(gd => Array.isArray(gd._fullData) && gd._fullData.length > 0).length"
        )

    return check


_MISSING = object()


def eventually(read: Callable[[], Any], expected: Any = _MISSING, *, timeout: float = WAIT_S, hold: float = 0.0) -> Any:
    """Poll ``read()`` until it returns ``expected`` (or, without ``expected``, something truthy);
    return that value. The one way browser tests wait for state they then check.

    hold: then keep reading for this many seconds and fail if the value changes: for checks that
    something does NOT happen (a dialog, an error banner, a view that must stay pinned), instead
    of sleeping and reading once.

    An exception from ``read`` (the element is not there yet) counts as "not yet". On timeout
    the assertion shows the last value read, or re-raises the last exception.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    error: BaseException | None = None
    while True:
        try:
            last, error = read(), None
            if (last == expected) if expected is not _MISSING else bool(last):
                break
        except Exception as err:  # the page is still rendering: read it again
            error = err
        if time.monotonic() >= deadline:
            if error is not None:
                raise error
            wanted = "something truthy" if expected is _MISSING else repr(expected)
            raise AssertionError(f"after {timeout:g} s still {last!r}, waiting for {wanted}")
        time.sleep(0.05)
    settled = last
    until = time.monotonic() + hold
    while time.monotonic() < until:
        time.sleep(0.05)
        now = read()
        held = (now == expected) if expected is not _MISSING else bool(now)
        if not held:
            raise AssertionError(f"{settled!r} changed to {now!r} within {hold:g} s")
    return settled


def hover_until(page: Any, x: float, y: float, read: Callable[[], Any], *, timeout: float = WAIT_S) -> Any:
    """Move the mouse to (x, y) until ``read()`` is truthy; return its value.

    plotly drops a hover or unhover that arrives while it redraws a figure (a callback's answer
    landing at that moment), and a mouse that does not move sends no second event: each try
    steps one pixel away and back, so plotly sees the pointer arrive again.
    """

    def moved() -> Any:
        page.mouse.move(x + 1, y + 1)
        page.mouse.move(x, y)
        return read()

    return eventually(moved, timeout=timeout)


def click_until(page: Any, x: float, y: float, read: Callable[[], Any], *, tries: int = 3, wait: float = 12.0) -> Any:
    """Click (x, y) until ``read()`` is truthy; return its value. Only for clicks that are
    idempotent (selecting a point, not toggling): a click plotly takes before its handlers are
    wired, or while it redraws, is lost, so after ``wait`` seconds with no effect it clicks again.
    """
    for attempt in range(tries):
        page.mouse.move(x, y)
        page.mouse.click(x, y)
        try:
            return eventually(read, timeout=wait)
        except AssertionError:
            if attempt == tries - 1:
                raise
    return None


@pytest.fixture(name="eventually")
def eventually_fixture() -> Callable[..., Any]:
    """:func:`eventually` as a fixture: ``eventually(read, expected=..., timeout=WAIT_S)``."""
    return eventually


class _Dialogs:
    """Every dialog (alert, confirm, prompt) a page opened; each is dismissed."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, dialog: Any) -> None:
        with self._lock:
            self.messages.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def dialogs(browser_page: Any) -> _Dialogs:
    """Records dialogs ``browser_page`` opens, for XSS checks: assert not dialogs.messages."""
    record = _Dialogs()
    browser_page.on("dialog", record)
    return record


@pytest.fixture
def sample_logdir(tmp_path: Any) -> Any:
    """A logdir with three finished runs: hparams (lr, width) and scalars train/loss, val/accuracy."""
    from deepscope.track import Run

    logdir = tmp_path / "logs"
    for name, lr, width in (("cnn-lr0.01", 0.01, 16), ("cnn-lr0.003", 0.003, 16), ("mlp-lr0.01", 0.01, 64)):
        with Run(logdir, name=name, hparams={"lr": lr, "width": width}) as run:
            for step in range(5):
                run.log({"train/loss": lr * 100 / (step + 1), "val/accuracy": 0.5 + 0.1 * step})
    return logdir
