"""Heavy callbacks run as jobs off the request threads (issue 16): the server keeps serving page
loads while they compute, the page shows their progress, and a failing job's typed error."""

from __future__ import annotations

import http.client
import json
import threading
import time
from typing import Any
from urllib.parse import quote

import dash
import pytest
from dash import Input, Output, dcc, html

from deepscope.app import create_app
from deepscope.app.jobs import JOBS_STATUS, JobManager, JobsBusyError, heavy_callback
from deepscope.app.plugin import Page, always_active
from deepscope.app.server import start_server
from deepscope.errors import InvalidArgumentError
from tests.conftest import eventually

# -- the manager on its own -------------------------------------------------------------------


def _job(manager: JobManager, fn: Any, *args: Any) -> tuple[str, str]:
    key = manager.new_key()
    return key, manager.call_job_fn(key, manager.make_job_fn(fn, False, "k"), list(args), {})


def test_a_job_runs_off_the_calling_thread_and_hands_back_its_value():
    manager = JobManager(max_workers=1)
    key, job = _job(manager, lambda x: (x * 2, threading.current_thread().name), 21)
    assert manager.wait(job, timeout=10)
    value, thread = manager.get_result(key, job)
    assert value == 42
    assert thread.startswith("deepscope-job") and thread != threading.current_thread().name
    assert manager.get_result(key, job) is manager.UNDEFINED  # collected once
    manager.shutdown()


def test_the_pool_is_bounded_and_waiting_jobs_say_how_many_are_ahead():
    manager = JobManager(max_workers=2, max_pending=3)
    release = threading.Event()
    running = threading.Semaphore(0)
    peak = [0, 0]
    lock = threading.Lock()

    def slow(_: Any) -> None:
        with lock:
            peak[0] += 1
            peak[1] = max(peak)
        running.release()
        release.wait(10)
        with lock:
            peak[0] -= 1

    jobs = [_job(manager, slow, i) for i in range(2)]
    assert running.acquire(timeout=10) and running.acquire(timeout=10)
    jobs += [_job(manager, slow, i) for i in range(2, 5)]
    assert manager.counts() == {"waiting": 3, "running": 2, "done": 0}
    last_key = jobs[-1][0]
    line = manager.get_updated_props(last_key)[JOBS_STATUS]
    assert line["hidden"] is False and "4 jobs ahead" in line["children"]
    with pytest.raises(JobsBusyError, match="3 heavy jobs waiting"):
        _job(manager, slow, 9)
    # a replaced job that has not started never runs
    manager.terminate_job(jobs[-1][1])
    release.set()
    for _key, job in jobs[:-1]:
        assert manager.wait(job, timeout=10)
    assert peak[1] == 2
    assert manager.counts() == {"waiting": 0, "running": 0, "done": 4}
    assert not manager.job_running(jobs[-1][1]) and manager.get_result(*jobs[-1]) is manager.UNDEFINED
    manager.shutdown()


def test_a_failing_job_keeps_its_typed_error_for_the_page():
    from deepscope.app.jobs import original_error

    manager = JobManager(max_workers=1)

    def fails(_: Any) -> None:
        raise InvalidArgumentError("target", "a class index below 10", 12)

    key, job = _job(manager, fails, 0)
    assert manager.wait(job, timeout=10)
    collected = manager.get_result(key, job)
    assert "InvalidArgumentError" in collected["background_callback_error"]["msg"]
    from dash.exceptions import BackgroundCallbackError

    err = original_error(BackgroundCallbackError("wrapped"))
    assert isinstance(err, InvalidArgumentError) and "target" in str(err)
    assert manager.get_updated_props(key) == {}  # nothing overwrites the error banner
    manager.shutdown()


def test_apps_keep_their_own_callbacks():
    """Dash tells every manager alive about every background callback; two apps made from the same
    page code must each run their own (their own logdir, their own models)."""
    answers = []
    for name in ("first", "second"):
        app = create_app(None, pages=[_slow_page(name)])
        answers.append(app)
    for expected, app in zip(("first", "second"), answers, strict=True):
        manager = app.deepscope_jobs
        (job_fn,) = manager.func_registry.values()
        key = manager.new_key()
        job = manager.call_job_fn(key, job_fn, ["x"], {})
        assert manager.wait(job, timeout=10)
        assert manager.get_result(key, job) == f"{expected}: x"
        manager.shutdown()


# -- through the server ---------------------------------------------------------------------------

GATE: dict[str, threading.Event] = {}


def _slow_page(name: str = "jobs") -> Page:
    """A page with a heavy callback that echoes its input; ``GATE[name]`` holds it until set, and
    the input "fail" makes it raise a typed error."""

    def layout(_ctx: Any) -> Any:
        return html.Div([dcc.Input(id="jobs-text", value="hello"), html.Div(id="jobs-out")])

    def register(app: dash.Dash, _ctx: Any) -> None:
        @heavy_callback(app, "the echo", Output("jobs-out", "children"), Input("jobs-text", "value"))
        def echo(text: str) -> str:
            gate = GATE.get(name)
            if gate is not None:
                gate.wait(30)
            if text == "fail":
                raise InvalidArgumentError("text", "anything but 'fail'", text)
            return f"{name}: {text}"

    return Page(name="Jobs", path="/", order=0, is_active=always_active, layout=layout, register_callbacks=register)


def _callback_body(text: str) -> bytes:
    return json.dumps(
        {
            "output": "jobs-out.children",
            "outputs": {"id": "jobs-out", "property": "children"},
            "inputs": [{"id": "jobs-text", "property": "value", "value": text}],
            "state": [],
            "changedPropIds": ["jobs-text.value"],
        }
    ).encode()


def _request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    start = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
        response = conn.getresponse()
        return response.status, response.read(), time.perf_counter() - start
    finally:
        conn.close()


def test_a_running_job_holds_no_request_thread():
    """With ONE request thread, a heavy callback that has not finished does not stop the page from
    loading: the thread hands the job to the pool and is free again."""
    GATE["jobs"] = threading.Event()
    app = create_app(None, pages=[_slow_page()])
    handle = start_server(app.server, host="127.0.0.1", port=0, threads=1)
    try:
        status, body, _ = _request(handle.port, "POST", "/_dash-update-component", _callback_body("hi"))
        assert status == 200
        handles = json.loads(body)
        assert set(handles) >= {"cacheKey", "job"}
        poll = f"/_dash-update-component?cacheKey={quote(handles['cacheKey'])}&job={quote(handles['job'])}"
        # the job is blocked; the only request thread still serves the page and the polls
        for path in ("/", "/_dash-layout"):
            status, _, _ = _request(handle.port, "GET", path)
            assert status == 200
        status, body, _ = _request(handle.port, "POST", poll, _callback_body("hi"))
        progress = json.loads(body)
        assert "response" not in progress
        assert "Computing the echo" in progress["sideUpdate"][JOBS_STATUS]["children"]
        GATE["jobs"].set()
        body = eventually(lambda: _poll_done(handle.port, poll), timeout=20)
        answer = json.loads(body)
        assert answer["response"]["jobs-out"]["children"] == "jobs: hi"
        assert answer["sideUpdate"][JOBS_STATUS]["hidden"] is True
    finally:
        GATE.pop("jobs", None)
        handle.stop()
        app.deepscope_jobs.shutdown()


def _poll_done(port: int, poll: str) -> bytes | None:
    status, body, _ = _request(port, "POST", poll, _callback_body("hi"))
    return body if status == 200 and b'"response"' in body else None


@pytest.mark.browser
def test_the_page_shows_progress_then_the_answer_or_the_typed_error(browser_page, live_server):
    GATE["jobs"] = threading.Event()
    try:
        page = browser_page
        page.goto(live_server(None, pages=[_slow_page()]))
        status = page.locator(f"#{JOBS_STATUS}")
        eventually(lambda: status.is_visible() and status.inner_text().startswith("Computing the echo"))
        GATE["jobs"].set()
        eventually(lambda: page.locator("#jobs-out").inner_text(), "jobs: hello")
        eventually(lambda: status.is_hidden())
        page.locator("#jobs-text").fill("fail")
        banner = page.locator("#app-error")
        eventually(lambda: banner.is_visible() and "InvalidArgumentError" in banner.inner_text())
        assert "anything but 'fail'" in banner.inner_text() and "Traceback" not in banner.inner_text()
        assert page.locator("#jobs-out").inner_text() == "jobs: hello"  # the old answer stays
        page.locator("#jobs-text").fill("again")
        eventually(lambda: page.locator("#jobs-out").inner_text(), "jobs: again")  # still serving
    finally:
        GATE.pop("jobs", None)
