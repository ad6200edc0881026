"""Load test: concurrent clients on the dashboard's home and scalars pages, over loopback.

The server runs as ``deepscope serve`` does (waitress, 8 threads) in its own process on
127.0.0.1. Headless Chromium opens both pages once so the benchmark records the exact requests a
browser makes (page HTML, Dash layout and dependencies, every callback POST); then ``--clients``
threads replay them for ``--duration`` seconds, each as a user would: open the home page or the
scalars page, at random, and on the scalars page move the smoothing slider a few times (chart
callbacks with new values, so the server computes rather than replays its cache). Reported:
requests, errors (any status other than 200/204, timeouts, broken connections; target 0), and
p50/p95/p99 latency per kind of request. Both the client count and the duration are bounded.

Run: ``.venv/bin/python bench/bench_server_load.py [--clients 50] [--duration 30] [--runs 1000]``
(the logdir is the one bench_scalars_page.py builds, kept in /tmp).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scalars_page import build_logdir

HOST = "127.0.0.1"  # loopback only, always
MAX_CLIENTS = 200
MAX_DURATION_S = 300
REQUEST_TIMEOUT_S = 60
SMOOTHING_MOVES = 3  # slider moves per scalars visit
CHART_KIND = "POST callback -> scalars-chart"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(logdir: Path, pages: list[str] | None) -> tuple[subprocess.Popen, int]:
    """``deepscope serve``'s server (waitress, 8 threads, loopback host guard) in a child process;
    ``pages``: the slugs of the pages to serve ("runs", "scalars", ...), default every page."""
    port = _free_port()
    code = (
        "import logging; logging.basicConfig(level=logging.ERROR)\n"
        "from deepscope.app import create_app\n"
        "from deepscope.app.plugin import discover_pages\n"
        "from deepscope.app.server import LoopbackHostGuard, start_server\n"
        f"wanted = {pages!r}\n"
        "pages = [p for p in discover_pages() if wanted is None or p.slug in wanted]\n"
        f"app = create_app({str(logdir)!r}, pages=pages)\n"
        f"start_server(LoopbackHostGuard(app.server), host={HOST!r}, port={port}, threads=8)"
        ".wait()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{process.stderr.read()[-3000:]}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=5)
            connection.request("GET", "/")
            if connection.getresponse().status == 200:
                connection.close()
                return process, port
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("the server did not answer within 120 s")


def record_requests(port: int) -> list[dict]:
    """What a browser asks when it opens / and then /scalars: method, path, body, kind."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs Chromium on PATH to record the requests a browser makes")
    recorded: list[dict] = []

    def keep(request) -> None:
        path = request.url.split(f"{HOST}:{port}", 1)[1]
        bare = path.split("?", 1)[0]
        if "/_dash-component-suites/" in bare or "/assets/" in bare or bare.endswith(".ico"):
            return  # static files: a browser caches them, they are not what a page costs
        recorded.append({"method": request.method, "path": path, "body": request.post_data, "page": page_name[0]})

    page_name = ["home"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(300_000)  # a fresh server on a large logdir is slow once
        page.on("request", keep)
        page.goto(f"http://{HOST}:{port}/")
        page.wait_for_function(  # the home page drew: the runs table, or whatever serves "/"
            """() => { const content = document.querySelector('#app-content');
                       if (!content || !content.children.length) return false;
                       return !document.querySelector('#runs-table')
                           || document.querySelectorAll('#runs-table tbody tr').length > 1; }"""
        )
        page.wait_for_timeout(2000)  # the last callbacks (navigation) are sent by now
        page_name[0] = "scalars"
        page.goto(f"http://{HOST}:{port}/scalars")
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
        page.wait_for_timeout(2000)
        browser.close()
    for request in recorded:
        request["kind"] = _kind(request)
    return recorded


def _kind(request: dict) -> str:
    path = request["path"].split("?", 1)[0]
    if request["method"] == "GET":
        return {"/": "GET home page", "/scalars": "GET scalars page"}.get(path, f"GET {path}")
    body = json.loads(request["body"] or "{}")
    outputs = body.get("outputs", [])
    first = outputs[0] if isinstance(outputs, list) and outputs else outputs
    target = first.get("id", "?") if isinstance(first, dict) else "?"
    if isinstance(target, dict):  # a pattern-matching id, such as one scalars chart
        target = target.get("type", "?")
    return f"POST callback -> {target}"


def _with_smoothing(body: str, smoothing: float) -> str:
    payload = json.loads(body)
    for item in payload.get("inputs", []):
        if isinstance(item, dict) and item.get("id") == "scalars-smoothing":
            item["value"] = smoothing
    return json.dumps(payload)


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.examples: list[str] = []

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            if error is None:
                self.latency[kind].append(seconds * 1000)
            else:
                self.errors[kind] += 1
                if len(self.examples) < 5:
                    self.examples.append(f"{kind}: {error}")


def client(port: int, script: list[dict], deadline: float, results: Results, seed: int) -> None:
    rng = random.Random(seed)
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
    chart_requests = [r for r in script if r["kind"] == CHART_KIND]
    visits = {page: [r for r in script if r["page"] == page] for page in ("home", "scalars")}
    while time.time() < deadline:
        # A user opens the home page or the scalars page (and then moves its smoothing slider).
        page = rng.choice(["home", "scalars"])
        visit = list(visits[page])
        for _ in range(SMOOTHING_MOVES if page == "scalars" else 0):
            smoothing = round(rng.uniform(0.0, 0.99), 2)
            visit += [{**r, "body": _with_smoothing(r["body"], smoothing)} for r in chart_requests]
        for request in visit:
            if time.time() >= deadline:
                break
            headers = {"Content-Type": "application/json"} if request["body"] else {}
            start = time.perf_counter()
            try:
                connection.request(request["method"], request["path"], body=request["body"], headers=headers)
                response = connection.getresponse()
                response.read()
                error = None if response.status in (200, 204) else f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as exc:
                error = f"{type(exc).__name__}: {exc}"
                connection.close()
                connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
            results.add(request["kind"], time.perf_counter() - start, error)
    connection.close()


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50, help=f"at most {MAX_CLIENTS}")
    parser.add_argument("--duration", type=float, default=30.0, help=f"seconds, at most {MAX_DURATION_S}")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--tags", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument(
        "--pages", help="serve only these pages, e.g. runs,scalars (default: every page, as `deepscope serve` does)"
    )
    args = parser.parse_args()
    if not 1 <= args.clients <= MAX_CLIENTS:
        parser.error(f"--clients must be between 1 and {MAX_CLIENTS}")
    if not 1 <= args.duration <= MAX_DURATION_S:
        parser.error(f"--duration must be between 1 and {MAX_DURATION_S} seconds")

    logdir = build_logdir(args.runs, args.tags, args.steps)
    print(
        f"Load test: {args.clients} clients for {args.duration:.0f} s on http://{HOST} "
        f"(logdir: {args.runs} runs x {args.tags} tags x {args.steps:,} steps; "
        f"pages: {args.pages or 'all'}; cpu cores: {os.cpu_count()})"
    )
    pages = args.pages.split(",") if args.pages else None
    server, port = start_server(logdir, pages)
    try:
        script = record_requests(port)
        kinds = defaultdict(int)
        for request in script:
            kinds[request["kind"]] += 1
        home = sum(r["page"] == "home" for r in script)
        print(
            f"  a visit: / ({home} requests) or /scalars ({len(script) - home} requests "
            f"+ {SMOOTHING_MOVES} smoothing moves x {kinds[CHART_KIND]} charts), at random"
        )
        results = Results()
        deadline = time.time() + args.duration
        threads = [
            threading.Thread(target=client, args=(port, script, deadline, results, i), daemon=True)
            for i in range(args.clients)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(args.duration + REQUEST_TIMEOUT_S + 5)
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()

    every = [ms for samples in results.latency.values() for ms in samples]
    errors = sum(results.errors.values())
    total = len(every) + errors
    print(f"  {total:,} requests in {elapsed:.1f} s ({total / elapsed:.0f}/s), errors: {errors} (target 0)")
    print(f"\n| {'request':36} | {'count':>6} | {'errors':>6} | {'p50 ms':>7} | {'p95 ms':>7} | {'p99 ms':>7} |")
    print(f"|{'-' * 38}|{'-' * 8}|{'-' * 8}|{'-' * 9}|{'-' * 9}|{'-' * 9}|")
    for kind in sorted(set(results.latency) | set(results.errors)):
        samples = results.latency.get(kind, [])
        print(
            f"| {kind:36} | {len(samples):6} | {results.errors.get(kind, 0):6} | "
            f"{statistics.median(samples) if samples else 0:7.0f} | {_p(samples, 0.95):7.0f} | "
            f"{_p(samples, 0.99):7.0f} |"
        )
    print(
        f"| {'all':36} | {len(every):6} | {errors:6} | "
        f"{statistics.median(every) if every else 0:7.0f} | {_p(every, 0.95):7.0f} | "
        f"{_p(every, 0.99):7.0f} |"
    )
    for example in results.examples:
        print(f"  error: {example}")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
