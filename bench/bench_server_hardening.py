"""Load test of the dashboard server (issue 16): idle half-open connections beside active clients.

Holds ``--idle`` connections that send half a request and stop (one that the server closes, for
taking too long over its headers, is opened again at once, so the attack lasts the whole run),
while ``--clients`` threads fetch cheap pages (the layout, a Runs-table callback) for
``--seconds``; prints requests per second, p50/p95 latency and errors, then checks that a 50 MB
body is refused (413) from its headers alone. Targets (issue 16): p95 under 1 s, 0 errors, 413.
The numbers go to bench/results.md (the "peer" column holds the target).
Run: ``python bench/bench_server_hardening.py --seconds 30``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deepscope as ds
from _results import Results
from deepscope.app import create_app
from deepscope.app.server import start_server


def _callback(app) -> bytes:
    """A real callback request: the Runs filter, as the browser sends it."""
    output = next(key for key in app.callback_map if "runs-table.data" in key)
    spec = app.callback_map[output]
    outputs = [{"id": part.split(".")[0], "property": part.split(".")[1]} for part in output.strip(".").split("...")]
    inputs = [
        {"id": i["id"], "property": i["property"], "value": "lr" if i["id"] == "runs-filter" else None}
        for i in spec["inputs"]
    ]
    return json.dumps(
        {"output": output, "outputs": outputs, "inputs": inputs, "state": [], "changedPropIds": ["runs-filter.value"]}
    ).encode()


def _logdir() -> str:
    folder = tempfile.mkdtemp()
    for i in range(20):
        with ds.Run(folder, name=f"run-{i}", hparams={"lr": 0.1 * i}) as run:
            for step in range(200):
                run.log({"loss": 1 / (step + 1 + i), "acc": step / 200}, step=step)
    return folder


def _client(port: int, callback: bytes, stop: float, latencies: list[float], errors: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    turn = 0
    while time.monotonic() < stop:
        start = time.perf_counter()
        try:
            if turn % 2:
                conn.request(
                    "POST", "/_dash-update-component", body=callback, headers={"Content-Type": "application/json"}
                )
            else:
                conn.request("GET", "/_dash-layout")
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors.append(str(response.status))
        except (OSError, http.client.HTTPException) as err:
            errors.append(type(err).__name__)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        latencies.append(time.perf_counter() - start)
        turn += 1
    conn.close()


class _HalfOpen:
    """``count`` connections that each sent half a request; reopened when the server closes one."""

    def __init__(self, port: int, count: int) -> None:
        self.port = port
        self.socks = [self._open() for _ in range(count)]
        self.reopened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, daemon=True)
        self._thread.start()

    def _open(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ")
        sock.setblocking(False)
        return sock

    def _keep(self) -> None:
        while not self._stop.wait(0.5):
            for i, sock in enumerate(self.socks):
                try:
                    closed = sock.recv(1) == b""
                except BlockingIOError:
                    closed = False
                except OSError:
                    closed = True
                if closed:
                    sock.close()
                    try:
                        self.socks[i] = self._open()
                        self.reopened += 1
                    except OSError:
                        pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.socks:
            sock.close()


def _refuses_large_body(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /_dash-update-component HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 52428800\r\n\r\n")
        return sock.recv(64).startswith(b"HTTP/1.1 413")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--idle", type=int, default=100)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    app = create_app(_logdir())
    callback = _callback(app)
    handle = start_server(app.server, host="127.0.0.1", port=0, threads=8)
    idle = _HalfOpen(handle.port, args.idle)
    try:
        latencies: list[float] = []
        errors: list[str] = []
        stop = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=_client, args=(handle.port, callback, stop, latencies, errors))
            for _ in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        times = np.asarray(latencies) * 1000
        p50, p95 = float(np.percentile(times, 50)), float(np.percentile(times, 95))
        refused = _refuses_large_body(handle.port)
        print(f"{args.idle} idle half-open connections, {args.clients} active clients, {args.seconds:g} s")
        print(
            f"requests: {len(times)} ({len(times) / args.seconds:.0f}/s), p50 {p50:.0f} ms, p95 {p95:.0f} ms "
            f"(target < 1000), errors: {len(errors)} {sorted(set(errors))} (target 0)"
        )
        print(f"half-open connections the server closed for slow headers (and the attacker reopened): {idle.reopened}")
        print(f"50 MB body refused with 413 before it is read: {refused}")
    finally:
        idle.close()
        handle.stop()
    results = Results(
        "bench_server_hardening",
        f"{args.idle} idle half-open connections (reopened when closed) + {args.clients} active clients "
        f"(Dash layout and a Runs-table callback, in turn) for {args.seconds:g} s on a 20-run logdir; waitress 8 "
        "threads; the peer column is the issue's target",
    )
    results.add(
        "active clients' p95 under the attack", ours=p95 / 1000, peer=1.0, peer_name="target", peer_package=None
    )
    results.note(
        f"{len(times)} requests ({len(times) / args.seconds:.0f}/s), p50 {p50:.0f} ms, errors {len(errors)} "
        f"(target 0); half-open connections closed for slow headers and reopened: {idle.reopened}; "
        f"50 MB body refused with 413 before it is read: {refused}"
    )
    results.write()


if __name__ == "__main__":
    main()
