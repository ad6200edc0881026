"""Server hardening (issue 16): body and connection limits, framing, the cookie, the token in the
address bar, malformed callbacks, listening addresses, models a logdir may register."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import time
import urllib.request

import numpy as np

import deepscope as ds
from deepscope import cli
from deepscope.app.server import CHANNEL_TIMEOUT_S, MAX_BODY_BYTES, browser_addresses
from tests.app.test_server import fetch
from tests.conftest import eventually


def _post(port: int, path: str, body: bytes, headers: dict | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _port(base: str) -> int:
    return int(base.rstrip("/").rsplit(":", 1)[1])


def test_large_body_is_refused_before_it_is_read(live_server, sample_logdir):
    port = _port(live_server(sample_logdir, token="t0ken"))
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        # announce 50 MB, send none of it: the answer must come from the headers alone
        sock.sendall(
            b"POST /_dash-update-component HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 52428800\r\n\r\n"
        )
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:80]
    assert MAX_BODY_BYTES < 50 << 20


def test_malformed_callbacks_get_400_and_one_line(live_server, sample_logdir, caplog):
    port = _port(live_server(sample_logdir))
    with caplog.at_level(logging.WARNING):
        for body in (b"{not json", b"[1, 2]", b'{"output": 3}', json.dumps({"output": "x.y", "inputs": [1]}).encode()):
            status, text = _post(port, "/_dash-update-component", body)
            assert status == 400, (body, status)
            assert b"Traceback" not in text and text.count(b"\n") == 1
    assert not any(record.exc_info for record in caplog.records)
    # a well-formed callback still works
    status, _ = _post(
        port,
        "/_dash-update-component",
        json.dumps(
            {
                "output": "runs-table.data",
                "outputs": {"id": "runs-table", "property": "data"},
                "inputs": [{"id": "runs-filter", "property": "value", "value": ""}],
                "changedPropIds": [],
            }
        ).encode(),
    )
    assert status != 400


def test_pages_cannot_be_framed_by_other_local_pages(live_server, sample_logdir):
    _, headers, _ = fetch(live_server(sample_logdir))
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self';" in headers["Content-Security-Policy"] + ";"
    assert "localhost:*" not in headers["Content-Security-Policy"]


def test_token_leaves_the_address_bar_and_cookie_is_per_server(live_server, sample_logdir):
    first = live_server(sample_logdir, token="same-token")
    second = live_server(sample_logdir, token="same-token")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect())
    status, headers, _ = fetch(first + "scalars?token=same-token&x=1", headers={"Accept": "text/html"}, opener=opener)
    assert status == 303 and headers["Location"] == "/scalars?x=1"
    cookie = headers["Set-Cookie"].split(";")[0]
    assert "same-token" not in cookie
    assert fetch(first + "scalars", headers={"Cookie": cookie})[0] == 200
    # the cookie of one dashboard does not open another one with the same token
    assert fetch(second + "scalars", headers={"Cookie": cookie})[0] == 401


def test_token_from_a_file(tmp_path, monkeypatch, sample_logdir):
    token_file = tmp_path / "token"
    token_file.write_text("from-a-file\n")
    seen = {}

    def fake_serve(logdir, **kwargs):
        seen.update(kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr("deepscope.app.serve", fake_serve)
    monkeypatch.delenv("DEEPSCOPE_TOKEN", raising=False)
    cli.main(["serve", str(sample_logdir), "--token-file", str(token_file)])
    assert seen["token"] == "from-a-file"
    assert cli.main(["serve", str(sample_logdir), "--token-file", str(tmp_path / "missing")]) == 2


def test_listening_everywhere_prints_openable_addresses():
    addresses = browser_addresses("0.0.0.0", 6060)
    assert addresses[0] == "http://127.0.0.1:6060/"
    assert not any("0.0.0.0" in address for address in addresses)
    assert browser_addresses("127.0.0.1", 80) == ["http://127.0.0.1:80/"]
    assert browser_addresses("::1", 80) == ["http://[::1]:80/"]


def test_logdir_file_route_serves_only_referenced_files(live_server, sample_logdir):
    with ds.Run(sample_logdir, name="pics") as run:
        run.log_image("sample", np.zeros((4, 4)))
    (sample_logdir / "pics" / ".secret").write_text("dotfile")
    (sample_logdir / "pics" / "images" / "unreferenced.npy").write_bytes(b"x")
    [image] = [p for p in (sample_logdir / "pics" / "images").iterdir() if p.name != "unreferenced.npy"]
    base = live_server(sample_logdir)
    assert fetch(base + f"logdir-file/pics/images/{image.name}")[0] == 200
    for path in (
        "pics/.secret",
        "pics/images/unreferenced.npy",
        "pics/run.sqlite",
        "pics/.writer.lock",
        "pics/images/../run.sqlite",
    ):
        assert fetch(base + "logdir-file/" + path)[0] == 404, path


def test_models_register_only_from_the_logdir_or_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    logs = tmp_path / "logs"
    outside = tmp_path / "elsewhere.safetensors"
    outside.write_bytes(b"w")
    logs.mkdir()
    inside = logs / "model.safetensors"
    inside.write_bytes(b"w")
    for name, weights, hparams in (
        ("outside", str(outside), {}),
        ("inside", str(inside), {}),
        ("relative", "model.safetensors", {}),
        ("huge", str(inside), {"width": 10**9}),
        ("system", "/etc/passwd", {}),
    ):
        with ds.Run(logs, name=name) as run:
            run.set_meta("zoo_model", {"name": "digits_cnn", "weights": weights, "hparams": hparams})
    assert sorted(cli.models_from_logdir(logs)) == ["inside", "relative"]


def test_idle_connections_are_closed_and_others_keep_being_served(live_server, sample_logdir):
    base = live_server(sample_logdir)
    port = _port(base)
    idle = []
    for _ in range(120):  # more than waitress's default limit of 100 connections
        sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # half-sent: never finished
        idle.append(sock)
    try:
        assert fetch(base + "_dash-layout")[0] == 200
        deadline = time.monotonic() + CHANNEL_TIMEOUT_S + 30
        sock = idle[0]
        sock.settimeout(CHANNEL_TIMEOUT_S + 30)
        closed = False
        while time.monotonic() < deadline and not closed:
            try:
                closed = sock.recv(1) == b""
            except TimeoutError:
                break
        assert closed, "an idle half-sent connection was never closed"
    finally:
        for sock in idle:
            sock.close()


def test_one_client_cannot_hold_every_connection(live_server, sample_logdir, monkeypatch):
    from deepscope.app import server as server_module

    monkeypatch.setattr(server_module, "MAX_CONNECTIONS_PER_CLIENT", 5)
    monkeypatch.setattr(server_module, "_BOUND_LOOPBACK_CLIENTS", True)  # treat us as remote
    port = _port(live_server(sample_logdir))
    socks = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(8)]
    try:
        for sock in socks[:5]:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # half-sent, held open
        for sock in socks[5:]:  # beyond the bound: closed as they arrive
            try:
                sock.sendall(b"GET / HTTP/1.1\r\n")
                closed = sock.recv(1) == b""
            except (ConnectionResetError, BrokenPipeError):
                closed = True
            assert closed
        assert all(_still_open(sock) for sock in socks[:5])  # those within the bound are served
        for sock in socks:
            sock.close()
        time.sleep(0.5)
        assert fetch(f"http://127.0.0.1:{port}/_dash-layout")[0] == 200  # slots come back
        # ...all of them, every time: a connection that leaked its slot would shut this client out
        # (a loaded server may notice the last round's closes late, so a round may be retried; a
        # leaked slot never comes back and fails every try)
        for _ in range(3):

            def five_held() -> bool:
                again = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(5)]
                socks.extend(again)
                for sock in again:
                    sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                time.sleep(0.3)
                held = all(_still_open(sock) for sock in again)
                for sock in again:
                    sock.close()
                time.sleep(0.3)
                return held

            eventually(five_held, timeout=20)
    finally:
        for sock in socks:
            sock.close()


def _still_open(sock: socket.socket) -> bool:
    """Whether the server keeps ``sock`` open: nothing to read yet, neither end-of-stream nor a reset."""
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)


def test_headers_sent_a_byte_at_a_time_are_cut_off(live_server, sample_logdir, monkeypatch):
    """Slowloris: a client that drips its headers never goes idle, so only a bound on the time the
    headers take closes it; a client that sends them in time is served."""
    from deepscope.app import server

    monkeypatch.setattr(server, "HEADER_TIMEOUT_S", 1)
    monkeypatch.setattr(server, "CLEANUP_INTERVAL_S", 0.25)
    port = _port(live_server(sample_logdir))
    request = b"GET /_dash-layout HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"a" * 200
    with socket.create_connection(("127.0.0.1", port), timeout=20) as slow:
        started = time.monotonic()
        closed_after = None
        for byte in request:  # 0.05 s a byte: about 12 s for the whole request, never idle
            try:
                slow.sendall(bytes([byte]))
            except OSError:
                closed_after = time.monotonic() - started
                break
            if not _still_open(slow):
                closed_after = time.monotonic() - started
                break
            time.sleep(0.05)
        assert closed_after is not None, "the server kept a connection whose headers never ended"
        assert closed_after < 8
    # a slow but bounded client is served, and so is everyone else
    with socket.create_connection(("127.0.0.1", port), timeout=20) as patient:
        whole = b"GET /_dash-layout HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        for start in range(0, len(whole), 10):
            patient.sendall(whole[start : start + 10])
            time.sleep(0.03)
        assert patient.recv(64).startswith(b"HTTP/1.1 200")
    assert fetch(f"http://127.0.0.1:{port}/_dash-layout")[0] == 200
