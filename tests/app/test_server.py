"""Serving: token checks, the logdir file route, security headers, offline assets, the handle."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from http.cookiejar import CookieJar

import numpy as np
import pytest

import deepscope as ds
from deepscope.app.server import is_loopback
from deepscope.errors import InvalidArgumentError, LogdirError


def fetch(url: str, headers: dict | None = None, opener=None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


@pytest.fixture
def logdir_with_file(sample_logdir):
    (sample_logdir / "notes.txt").write_text("hello from the logdir")
    secret = sample_logdir.parent / "secret.txt"
    secret.write_text("outside the logdir")
    (sample_logdir / "escape").symlink_to(secret)
    return sample_logdir


def test_logdir_file_served_from_inside(live_server, logdir_with_file):
    with ds.Run(logdir_with_file, name="pics") as run:
        run.log_image("sample", np.zeros((4, 4)))
    [image] = [p for p in (logdir_with_file / "pics" / "images").iterdir()]
    base = live_server(logdir_with_file)
    status, headers, body = fetch(base + f"logdir-file/pics/images/{image.name}")
    assert status == 200
    assert body == image.read_bytes()
    # only files a run references: not the logdir's other files, nor a run's index
    assert fetch(base + "logdir-file/notes.txt")[0] == 404
    assert fetch(base + "logdir-file/pics/run.sqlite")[0] == 404
    assert headers["X-Content-Type-Options"] == "nosniff"
    # Logdir files are data: sandboxed, so an HTML file in a logdir cannot run script.
    assert "sandbox" in headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "path",
    [
        "../secret.txt",
        "../../etc/passwd",
        "..%2fsecret.txt",
        "%2e%2e/secret.txt",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/etc/passwd",
        "%2fetc%2fpasswd",
        "escape",  # a symlink that points outside
        "cnn-lr0.01/../../secret.txt",
        "does-not-exist.txt",
        "cnn-lr0.01",  # a folder, not a file
        "notes.txt%00.png",
    ],
)
def test_logdir_file_traversal_is_404(live_server, logdir_with_file, path):
    base = live_server(logdir_with_file)
    status, _, body = fetch(base + "logdir-file/" + path)
    assert status == 404
    assert b"outside the logdir" not in body
    assert b"root:" not in body


def test_token_required_on_every_request(live_server, sample_logdir):
    base = live_server(sample_logdir, token="s3cret-token")
    for path in (
        "",
        "_dash-layout",
        "_dash-dependencies",
        "assets/deepscope.css",
        "logdir-file/cnn-lr0.01",
        "no-such-page",
    ):
        status, headers, body = fetch(base + path)
        assert status == 401, path
        assert b"token" in body
        assert headers["X-Content-Type-Options"] == "nosniff"
    assert fetch(base + "?token=wrong")[0] == 401
    assert fetch(base, headers={"Authorization": "Bearer wrong"})[0] == 401


def test_token_in_query_header_or_cookie_lets_in(live_server, sample_logdir):
    base = live_server(sample_logdir, token="s3cret-token")
    assert fetch(base, headers={"Authorization": "Bearer s3cret-token"})[0] == 200

    jar = CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    status, headers, _ = fetch(base + "?token=s3cret-token", opener=browser)
    assert status == 200
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
    # What the page loads next carries only the cookie.
    assert fetch(base + "_dash-layout", opener=browser)[0] == 200
    assert fetch(base + "_dash-layout")[0] == 401


def test_security_headers_and_csp_allow_only_this_origin(live_server, sample_logdir):
    status, headers, _ = fetch(live_server(sample_logdir))
    assert status == 200
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"  # no address leaves for another site
    csp = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    script_src = csp["script-src"].split()
    assert script_src[:2] == ["'self'", "'unsafe-eval'"]  # eval: plotly's WebGL traces
    assert all(s.startswith("'sha256-") for s in script_src[2:])  # inline scripts by hash only
    assert "'unsafe-inline'" not in script_src
    assert csp["object-src"] == "'none'"


def test_no_external_urls_in_served_index(live_server, sample_logdir):
    base = live_server(sample_logdir)
    for path in ("", "_dash-layout", "_dash-dependencies", "scalars"):
        status, _, body = fetch(base + path)
        assert status == 200, path
        text = body.decode()
        external = [
            url
            for url in re.findall(r"https?:(?://|\\u002f\\u002f)[^\s\"'<>)]+", text)
            if not re.match(r"https?:(//|\\u002f\\u002f)(127\.0\.0\.1|localhost)[:/*]", url)
        ]
        assert external == [], (path, external)
        assert "cdn." not in text and "unpkg" not in text


def test_serve_in_background_and_stop(sample_logdir):
    handle = ds.serve(sample_logdir, port=0, block=False)
    try:
        assert handle.url.startswith("http://127.0.0.1:")
        assert fetch(handle.url)[0] == 200
        # Without a token a loopback server answers only requests that name this machine.
        assert fetch(handle.url, headers={"Host": "attacker.example"})[0] == 403
        assert fetch(handle.url, headers={"Host": f"localhost:{handle.port}"})[0] == 200
    finally:
        handle.stop()
    assert not handle.running
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(handle.url, timeout=5)


def test_stop_survives_a_trigger_that_is_already_closed(sample_logdir, monkeypatch):
    # The race seen in CI: stop() pulls the serving loop's trigger just as its pipe closes.
    from waitress.server import BaseWSGIServer

    handle = ds.serve(sample_logdir, port=0, block=False)
    trigger = next(d.trigger for d in handle._socket_map.values() if isinstance(d, BaseWSGIServer))

    def closed_pipe(*args, **kwargs):
        raise OSError(9, "Bad file descriptor")

    monkeypatch.setattr(trigger, "pull_trigger", closed_pipe)
    handle.stop()
    handle.stop()  # a second stop is harmless
    assert not handle.running


def test_serve_with_token_puts_it_in_the_url(sample_logdir, monkeypatch):
    monkeypatch.setenv("DEEPSCOPE_TOKEN", "from-env")
    with ds.serve(sample_logdir, port=0, block=False) as handle:
        assert handle.url.endswith("?token=from-env")
        assert fetch(handle.url)[0] == 200
        assert fetch(handle.url.split("?")[0])[0] == 401


def test_non_loopback_host_needs_a_token(sample_logdir, monkeypatch):
    monkeypatch.delenv("DEEPSCOPE_TOKEN", raising=False)
    with pytest.raises(InvalidArgumentError, match="token"):
        ds.serve(sample_logdir, host="0.0.0.0", port=0, block=False)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("127.0.0.2", True),
        ("0.0.0.0", False),
        ("", False),
        ("::", False),
        ("192.168.1.4", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_missing_logdir_is_a_clear_error(tmp_path):
    with pytest.raises(LogdirError, match="no logdir at .*deepscope demo"):
        ds.create_app(tmp_path / "nope")
