"""Load test of the dashboard server (issue 16): idle half-open connections beside active clients.

Opens ``--idle`` connections that send half a request and stop, then runs ``--clients`` threads
that fetch cheap pages (the layout, a Runs-table callback) for ``--seconds``; prints requests per
second, p50/p95 latency and errors, then checks that a 50 MB body is refused (413) from its
headers alone. Run: ``python bench/bench_server_hardening.py --seconds 30``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import tempfile
import threading
import time

import numpy as np

import deepscope as ds
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


def _refuses_large_body(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /_dash-update-component HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 52428800\r\n\r\n")
        return sock.recv(64).startswith(b"HTTP/1.1 413")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--idle", type=int, default=100)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    app = create_app(_logdir())
    callback = _callback(app)
    handle = start_server(app.server, host="127.0.0.1", port=0, threads=8)
    idle = []
    try:
        for _ in range(args.idle):
            sock = socket.create_connection(("127.0.0.1", handle.port), timeout=10)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ")
            idle.append(sock)
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
        print(f"{args.idle} idle half-open connections, {args.clients} active clients, {args.seconds:g} s")
        print(
            f"requests: {len(times)} ({len(times) / args.seconds:.0f}/s), "
            f"p50 {np.percentile(times, 50):.0f} ms, p95 {np.percentile(times, 95):.0f} ms, "
            f"errors: {len(errors)} {sorted(set(errors))}"
        )
        print(f"50 MB body refused with 413 before it is read: {_refuses_large_body(handle.port)}")
    finally:
        for sock in idle:
            sock.close()
        handle.stop()


if __name__ == "__main__":
    main()
