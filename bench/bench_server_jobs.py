"""Page loads while heavy callbacks compute: request threads (before) against the job pool (after).

Two servers run side by side, each in its own process with waitress's 8 request threads, each
with one page whose heavy callback computes what an attribution does: a few hundred small
forward and backward passes of a CNN in torch (about half a second alone). On the first server
the callback is an ordinary Dash callback and computes in the request thread that received it
(deepscope before issue 16); on the second it is a ``heavy_callback``, a job in the app's pool
(``deepscope.app.jobs``), and the client polls for its result as the browser does. Against each
server, ``--heavy`` clients ask for heavy callbacks back to back while ``--cheap`` clients load
pages (the page HTML, the layout, a cheap callback). Reported: cheap requests' p50/p95 and
errors, heavy callbacks finished; the ratio is before's cheap p95 over after's.

Run: ``python bench/bench_server_jobs.py [--seconds 20] [--heavy 12] [--cheap 4]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import Results

HOST = "127.0.0.1"


# -- the server (a child process) -----------------------------------------------------------------


def _heavy_work(seed: int) -> float:
    """What an attribution costs: many small forward/backward passes (the interpreter lock is
    held between torch's kernels)."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8 * 16 * 16, 4)
    )
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    total = 0.0
    for _ in range(150):
        out = model(x)[:, 0].sum()
        (grad,) = torch.autograd.grad(out, x)
        total += float(grad.abs().mean())
    return total


def serve(mode: str, port: int) -> None:
    import logging

    import dash
    from dash import Input, Output, dcc, html

    from deepscope.app import create_app
    from deepscope.app.jobs import heavy_callback
    from deepscope.app.plugin import Page, always_active
    from deepscope.app.server import LoopbackHostGuard, start_server

    logging.basicConfig(level=logging.ERROR)

    def layout(_ctx: object) -> object:
        return html.Div([dcc.Input(id="bench-seed", value="0"), html.Div(id="bench-heavy"), html.Div(id="bench-cheap")])

    def register(app: dash.Dash, _ctx: object) -> None:
        decorate = app.callback if mode == "before" else lambda *a: heavy_callback(app, "the bench", *a)

        @decorate(Output("bench-heavy", "children"), Input("bench-seed", "value"))
        def heavy(seed: str) -> str:
            return f"{_heavy_work(int(seed)):.3f}"

        @app.callback(Output("bench-cheap", "children"), Input("bench-seed", "value"))
        def cheap(seed: str) -> str:
            return f"seed {seed}"

    page = Page(name="Bench", path="/", order=0, is_active=always_active, layout=layout, register_callbacks=register)
    app = create_app(None, pages=[page])
    start_server(LoopbackHostGuard(app.server), host=HOST, port=port, threads=8).wait()


# -- the clients ----------------------------------------------------------------------------------


def _body(output: str, seed: int) -> bytes:
    return json.dumps(
        {
            "output": f"{output}.children",
            "outputs": {"id": output, "property": "children"},
            "inputs": [{"id": "bench-seed", "property": "value", "value": str(seed)}],
            "state": [],
            "changedPropIds": ["bench-seed.value"],
        }
    ).encode()


def _ask(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
    response = conn.getresponse()
    return response.status, response.read()


def heavy_client(port: int, stop: float, done: list[int], errors: list[str], seed: int) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    while time.monotonic() < stop:
        try:
            status, body = _ask(conn, "POST", "/_dash-update-component", _body("bench-heavy", seed))
            answer = json.loads(body) if status == 200 else {}
            while status == 200 and "cacheKey" in answer and "response" not in answer:  # a job: poll it
                time.sleep(0.25)
                poll = f"/_dash-update-component?cacheKey={quote(answer['cacheKey'])}&job={quote(answer['job'])}"
                status, body = _ask(conn, "POST", poll, _body("bench-heavy", seed))
                answer = {**answer, **json.loads(body)} if status == 200 else {}
            if status == 200 and "response" in answer:
                done.append(1)
            elif time.monotonic() < stop:
                errors.append(f"heavy HTTP {status}")
        except (OSError, http.client.HTTPException, ValueError) as err:
            errors.append(type(err).__name__)
            conn.close()
            conn = http.client.HTTPConnection(HOST, port, timeout=120)
        seed += 1
    conn.close()


def cheap_client(port: int, stop: float, latencies: list[float], errors: list[str]) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    turn = 0
    while time.monotonic() < stop:
        method, path, body = (
            [("GET", "/", None), ("GET", "/_dash-layout", None)][turn % 2]
            if turn % 3
            else (
                "POST",
                "/_dash-update-component",
                _body("bench-cheap", turn),
            )
        )
        start = time.perf_counter()
        try:
            status, _ = _ask(conn, method, path, body)
            if status != 200:
                errors.append(f"cheap HTTP {status}")
            else:
                latencies.append(time.perf_counter() - start)
        except (OSError, http.client.HTTPException) as err:
            errors.append(type(err).__name__)
            conn.close()
            conn = http.client.HTTPConnection(HOST, port, timeout=120)
        turn += 1
        time.sleep(0.05)  # a user, not a flood
    conn.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _start(mode: str) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", mode, str(port)], stderr=subprocess.PIPE, text=True
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the {mode} server exited:\n{process.stderr.read()[-3000:] if process.stderr else ''}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            if _ask(conn, "GET", "/_dash-layout")[0] == 200:
                conn.close()
                return process, port
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"the {mode} server did not answer within 120 s")


def measure(mode: str, seconds: float, heavy: int, cheap: int) -> dict:
    process, port = _start(mode)
    try:
        heavy_client(port, time.monotonic() + 0.1, [], [], 0)  # warm up: torch's first pass
        stop = time.monotonic() + seconds
        done: list[int] = []
        latencies: list[float] = []
        errors: list[str] = []
        threads = [
            threading.Thread(target=heavy_client, args=(port, stop, done, errors, i * 1000)) for i in range(heavy)
        ]
        threads += [threading.Thread(target=cheap_client, args=(port, stop, latencies, errors)) for _ in range(cheap)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
    times = np.asarray(latencies) * 1000 if latencies else np.zeros(1)
    return {
        "cheap": len(latencies),
        "p50": float(np.percentile(times, 50)),
        "p95": float(np.percentile(times, 95)),
        "heavy": len(done),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--heavy", type=int, default=12, help="clients asking for heavy callbacks")
    parser.add_argument("--cheap", type=int, default=4, help="clients loading pages")
    parser.add_argument("--serve", nargs=2, metavar=("MODE", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    print(f"{args.heavy} clients asking for heavy callbacks, {args.cheap} loading pages, {args.seconds:g} s per server")
    found = {}
    for mode in ("before", "after"):
        found[mode] = row = measure(mode, args.seconds, args.heavy, args.cheap)
        where = "request threads" if mode == "before" else "job pool"
        print(
            f"  {mode:6} (heavy work in the {where}): cheap requests {row['cheap']}, p50 {row['p50']:.0f} ms, "
            f"p95 {row['p95']:.0f} ms; heavy callbacks done {row['heavy']}; "
            f"errors {len(row['errors'])} {sorted(set(row['errors']))}"
        )
    before, after = found["before"], found["after"]
    print(f"cheap p95: {before['p95'] / after['p95']:.1f}x lower with the job pool")
    results = Results(
        "bench_server_jobs",
        f"{args.heavy} clients asking for heavy callbacks (150 small torch forward/backward passes each) and "
        f"{args.cheap} clients loading pages, {args.seconds:g} s per server; waitress 8 threads, 2 job workers; "
        "peer = the same server computing heavy callbacks in its request threads (before)",
    )
    results.add(
        "page loads while heavy callbacks run: p95",
        ours=after["p95"] / 1000,
        peer=before["p95"] / 1000,
        peer_name="request threads",
        peer_package=None,
    )
    results.add(
        "page loads while heavy callbacks run: p50",
        ours=after["p50"] / 1000,
        peer=before["p50"] / 1000,
        peer_name="request threads",
        peer_package=None,
    )
    results.note(
        f"heavy callbacks finished: {after['heavy']} with the job pool, {before['heavy']} in request threads; "
        f"errors {len(after['errors'])} and {len(before['errors'])}"
    )
    results.write()


if __name__ == "__main__":
    main()
