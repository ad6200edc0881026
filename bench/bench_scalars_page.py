"""Benchmark: the Scalars page on 1,000 runs x 10 tags x 2,000 steps (20 million points).

Measures, on a logdir of that size built once with the store's writer and kept in /tmp:
- the data path of one chart update (``SeriesSource.chart``: read, smooth, downsample, plus the
  figure and its JSON, i.e. what one Dash callback does per chart), p50/p95 over many updates
  that each change the smoothing, the tag or the x axis; the target is p95 under 300 ms;
- the same when the logdir changed since the last update (a live run wrote), so the cached
  series are read again (the first chart after a change);
- in headless Chromium: the first paint of the Scalars page, cold (fresh server) and warm, measured
  twice: from navigation until every chart in the window shows its lines, as a preview (the
  server-drawn SVG of the same points that comes with the page, shown until plotly.js has loaded
  and drawn) or as the interactive chart; and until every chart in the window is the interactive
  plotly chart (the others draw as they scroll in); then the time from a control's change (x axis,
  smoothing, run filter) until every chart in the window was redrawn by plotly;
- the Runs page on a logdir of 10,000 small runs: its first load (cold: a fresh server, which
  starts from the logdir's run summaries index) and the time from a filter, a sort or a page
  change until the table shows it (target p95 under 300 ms).
Results go to bench/results.md (the "peer" column there is the target).

Run: ``.venv/bin/python bench/bench_scalars_page.py [--runs 1000] [--tags 10] [--steps 2000]``
(``--runs 50`` builds a small logdir for a quick look; ``--rebuild`` writes it again; ``--repeat 1`` measures
in the browser once (the default keeps the median of three, each on a fresh server)).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CACHE_ROOT = Path(tempfile.gettempdir())
WRITE_WORKERS = 4  # writing is bound by SQLite's fsyncs as much as by the CPU


def logdir_for(runs: int, tags: int, steps: int) -> Path:
    return CACHE_ROOT / f"deepscope-bench-scalars-page-{runs}x{tags}x{steps}"


def _write_runs(args: tuple[str, list[int], int, int]) -> int:
    from deepscope.track import Run

    folder, indices, tags, steps = args
    names = [f"train/loss_{t}" if t % 2 == 0 else f"val/metric_{t}" for t in range(tags)]
    step_column = np.arange(steps, dtype=np.int64)
    for index in indices:
        rng = np.random.default_rng(index)
        start = 1.7e9 + index * 60.0
        wall = start + np.cumsum(rng.uniform(0.05, 0.15, size=steps))
        run = Run(folder, name=f"run-{index:04d}", hparams={"lr": float(10 ** rng.uniform(-4, -1)), "seed": index})
        for t, tag in enumerate(names):
            decay = rng.uniform(500, 5000)
            values = 0.1 + 2.0 * np.exp(-step_column / decay) + rng.normal(0, 0.05 + 0.02 * t, steps)
            # The importer's path of the writer: the same chunks ``run.log`` commits, without a
            # Python call per point, so 100 million points are written in about a minute.
            run._add_scalar_chunk(tag, step_column, wall, values)
        run.finish()
    return len(indices)


def build_logdir(runs: int, tags: int, steps: int, *, rebuild: bool = False) -> Path:
    """The benchmark logdir, written once (in parallel) and reused while its marker file exists."""
    folder = logdir_for(runs, tags, steps)
    marker = folder / ".complete"
    if marker.exists() and not rebuild:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    start = time.perf_counter()
    batches = [list(range(i, min(i + 10, runs))) for i in range(0, runs, 10)]
    done = 0
    with multiprocessing.get_context("spawn").Pool(WRITE_WORKERS) as pool:
        for count in pool.imap_unordered(_write_runs, [(str(folder), batch, tags, steps) for batch in batches]):
            done += count
            print(f"\r  writing runs: {done}/{runs}", end="", flush=True)
    seconds = time.perf_counter() - start
    print(f"\r  wrote {runs} runs x {tags} tags x {steps:,} steps ({runs * tags * steps:,} points) in {seconds:.1f} s")
    marker.write_text(json.dumps({"seconds": seconds}))
    return folder


def _write_small_runs(args: tuple[str, list[int]]) -> int:
    from deepscope.track import Run

    folder, indices = args
    steps = np.arange(50, dtype=np.int64)
    for index in indices:
        rng = np.random.default_rng(index)
        arch = ("cnn", "mlp", "vit")[index % 3]
        hparams = {"lr": float(10 ** rng.uniform(-4, -1)), "seed": index, "arch": arch, "width": 2 ** (4 + index % 4)}
        run = Run(folder, name=f"{arch}-{index:05d}", hparams=hparams)
        wall = 1.7e9 + index * 60.0 + steps * 0.1
        run._add_scalar_chunk("train/loss", steps, wall, 2.0 * np.exp(-steps / 20) + rng.normal(0, 0.05, steps.size))
        run._add_scalar_chunk("val/accuracy", steps, wall, 1 - np.exp(-steps / 30) + rng.normal(0, 0.02, steps.size))
        run.finish()
    return len(indices)


def build_runs_logdir(runs: int, *, rebuild: bool = False) -> Path:
    """A logdir of many small runs (hparams, two tags of 50 steps) for the Runs page, written once."""
    folder = CACHE_ROOT / f"deepscope-bench-runs-page-{runs}"
    marker = folder / ".complete"
    if marker.exists() and not rebuild:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    start = time.perf_counter()
    batches = [(str(folder), list(range(i, min(i + 100, runs)))) for i in range(0, runs, 100)]
    done = 0
    with multiprocessing.get_context("spawn").Pool(WRITE_WORKERS) as pool:
        for count in pool.imap_unordered(_write_small_runs, batches):
            done += count
            print(f"\r  writing runs: {done}/{runs}", end="", flush=True)
    print(f"\r  wrote {runs:,} small runs in {time.perf_counter() - start:.1f} s")
    marker.write_text("done")
    return folder


def _ensure_index(folder: Path) -> bool:
    """Whether ``folder`` had its run summaries index (``.deepscope/summaries.json``) already; if
    not, write it, as the first server on a logdir does: the cold measurements are of a server
    restarted on a logdir it has served before (the very first one reads every run once)."""
    from deepscope.track import open_logdir
    from deepscope.track._summary import INDEX_DIR, INDEX_FILE

    if (folder / INDEX_DIR / INDEX_FILE).exists():
        return True
    start = time.perf_counter()
    logdir = open_logdir(folder)
    logdir.runs()
    logdir._summaries.save(wait=True)
    print(f"  first read of every run (no index yet): {time.perf_counter() - start:.1f} s")
    return False


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


def steps_of(source: object, tag: str, runs: list[str]) -> int:
    """How many steps the benchmark's runs have (the live run logs as many to start with)."""
    series = source.series([tag], runs[-1:])
    return max((len(s.step) for s in series.values()), default=1)


def bench_data_path(folder: Path, updates: int) -> dict:
    """Latency of one chart update: the page's callback work for one chart, timed end to end."""
    from plotly.io.json import to_json_plotly

    from deepscope.app.pages.scalars import CHART_WIDTH, MAX_RUNS, POINTS_PER_PIXEL
    from deepscope.app.series import SeriesSource
    from deepscope.track import open_logdir
    from deepscope.viz.scalars import scalars_figure_json

    logdir = open_logdir(folder)
    source = SeriesSource(logdir)
    version = logdir.version()
    start = time.perf_counter()
    runs = source.run_names(version)
    tags = source.tags(version)
    listing = time.perf_counter() - start
    shown = runs[-MAX_RUNS:]
    rng = np.random.default_rng(0)
    modes = ["step", "relative", "wall"]

    def update(tag: str, smoothing: float, xaxis: str, version: int, shown: list[str] = shown) -> tuple[float, int]:
        start = time.perf_counter()
        data = source.chart(
            tag,
            shown,
            version=version,
            smoothing=smoothing,
            xaxis=xaxis,
            width=CHART_WIDTH,
            points_per_pixel=POINTS_PER_PIXEL,
        )
        figure = scalars_figure_json(data, yscale="linear", ignore_outliers=bool(rng.integers(2)))
        payload = to_json_plotly(figure)
        return (time.perf_counter() - start) * 1000, len(payload)

    # Warm: the series are cached; each update changes smoothing, tag or x axis.
    for tag in tags:
        update(tag, 0.6, "step", version)
    warm, sizes = [], []
    for _ in range(updates):
        tag = tags[int(rng.integers(len(tags)))]
        ms, size = update(tag, float(rng.uniform(0, 0.99)), modes[int(rng.integers(3))], version)
        warm.append(ms)
        sizes.append(size)
    # Live: a new run writes between updates, as training does. Each update sees a new version;
    # only the writing run is read again, the other shown runs come from the cache.
    from deepscope.track import Run

    live = Run(folder, name="zz-bench-live")
    try:
        count = steps_of(source, tags[0], shown)
        steps = np.arange(count)
        for tag in tags:
            live._add_scalar_chunk(tag, steps, time.time() + steps * 0.1, rng.normal(size=count))
        live.flush()
        live_shown = [*runs[-(MAX_RUNS - 1) :], live.name]
        cold, listing_live = [], []
        for i in range(min(updates, 40)):
            live.log({tag: float(rng.normal()) for tag in tags}, step=live.step + 1)
            live.flush()
            version = logdir.version()
            start = time.perf_counter()
            source.tags(version)
            listing_live.append((time.perf_counter() - start) * 1000)
            ms, _ = update(tags[i % len(tags)], 0.6, "step", version, live_shown)
            cold.append(ms)
    finally:
        live.finish()
        shutil.rmtree(live.path, ignore_errors=True)
    return {
        "listing_ms": listing * 1000,
        "runs": len(runs),
        "shown": len(shown),
        "warm": _percentiles(warm),
        "live": _percentiles(cold),
        "listing_live": _percentiles(listing_live),
        "payload_kb": statistics.median(sizes) / 1024,
        "updates": len(warm),
    }


# Charts of the Scalars page whose card is in the window, and whether each drew.
_IN_VIEW_JS = """() => [...document.querySelectorAll('[data-scalars-tag]')].filter(card => {
        const r = card.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; })
    .map(card => card.querySelector('.js-plotly-plot'))"""
_ALL_IN_VIEW_DREW = f"""() => {{ const gds = ({_IN_VIEW_JS})();
    return gds.length > 0 && gds.every(gd => gd && Array.isArray(gd._fullData) && gd._fullData.length > 0); }}"""
# The same, where a card that shows its preview (the server-drawn SVG of the same points, before
# plotly.js has loaded) counts as drawn once the preview's image has loaded.
_ALL_IN_VIEW_SHOWN = """() => { const cards = [...document.querySelectorAll('[data-scalars-tag]')].filter(card => {
        const r = card.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; });
    return cards.length > 0 && cards.every(card => {
        const gd = card.querySelector('.js-plotly-plot');
        if (gd && Array.isArray(gd._fullData) && gd._fullData.length > 0) return true;
        const img = card.querySelector('.ds-scalars-preview img');
        return !!img && img.complete && img.naturalWidth > 0; }); }"""
# Before a control's change: note each chart in the window and its data, and start timing in the
# page's own clock, from the event that applies the change (its timeStamp: when the browser got
# the click or the key; for the run filter the Enter key, as typing a pattern changes nothing until
# then) until the frame after every chart in the window was drawn again (plotly sets a chart's new
# data as it draws it, in one task). That is what a user waits for, without the test driver's
# round trips to the browser (between typing and Enter, too), which the wall-clock figure counts.
_STAMP = f"""() => {{
    window.__stamp = ({_IN_VIEW_JS})().map(gd => [gd, gd.data]);
    window.__inputAt = null;
    window.__paintedAt = null;
    if (!window.__listening) {{
        window.__listening = true;
        for (const type of ['pointerdown', 'mousedown', 'keydown']) {{
            document.addEventListener(type, event => {{
                if (window.__inputAt === null) window.__inputAt = event.timeStamp;
            }}, true);
        }}
    }}
    const poll = setInterval(() => {{
        if (window.__inputAt === null || !window.__stamp.every(([gd, data]) => gd.data !== data)) return;
        clearInterval(poll);
        requestAnimationFrame(() => setTimeout(() => {{ window.__paintedAt = performance.now(); }}, 0));
    }}, 2);
    return window.__stamp.length;
}}"""
_REDREW = "() => window.__stamp.every(([gd, data]) => gd.data !== data)"
_PAINTED = "() => window.__paintedAt !== null"
_INPUT_TO_PAINT = "() => window.__paintedAt - window.__inputAt"


def _browser(playwright: object) -> object:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    return playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path=chromium, headless=True, args=["--headless", "--no-sandbox", "--disable-gpu"]
    )


def _serve(folder: Path, pages: list[str] | None) -> object:
    from deepscope.app import create_app
    from deepscope.app.plugin import discover_pages
    from deepscope.app.server import start_server

    app = create_app(folder, pages=[p for p in discover_pages() if pages is None or p.slug in pages])
    return start_server(app.server, host="127.0.0.1", port=0, threads=8)


def bench_scalars_browser(folder: Path, updates: int, pages: list[str] | None = None) -> dict:
    """In headless Chromium: the first paint of /scalars on a fresh server (cold) and again (warm),
    twice over: until every chart in the window shows its lines (its preview or its interactive
    chart, whichever is first), and until every chart in the window is the interactive plotly
    chart; then the time from a control's change (x axis, smoothing, run filter) until every
    chart in the window drew again (the interactive chart: previews are for the first load)."""
    from playwright.sync_api import sync_playwright

    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return {"error": "no chromium on PATH"}
    handle = _serve(folder, pages)
    url = f"http://127.0.0.1:{handle.port}/scalars"  # type: ignore[attr-defined]
    paints, shown, times, latencies, kinds = [], [], [], [], []
    try:
        with sync_playwright() as playwright:
            browser = _browser(playwright)
            for _ in range(3):
                context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
                page = context.new_page()
                start = time.perf_counter()
                page.goto(url)
                page.wait_for_function(_ALL_IN_VIEW_SHOWN, timeout=180_000, polling=20)
                shown.append((time.perf_counter() - start) * 1000)
                page.wait_for_function(_ALL_IN_VIEW_DREW, timeout=180_000, polling=20)
                paints.append((time.perf_counter() - start) * 1000)
                context.close()
            context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
            page = context.new_page()
            page.goto(url)
            page.wait_for_function(_ALL_IN_VIEW_DREW, timeout=180_000, polling=20)
            axes = ["Relative", "Wall", "Step"]
            filters = ["run-0[0-4]", "run-0[5-9]", "run-00"]  # each a different set of newest 20
            for i in range(updates):
                kind = ("x axis", "smoothing", "run filter")[i % 3]
                page.evaluate(_STAMP)
                start = time.perf_counter()
                if kind == "x axis":
                    page.get_by_label(axes[(i // 3) % 3], exact=True).check()
                elif kind == "smoothing":
                    page.locator("#scalars-smoothing [role=slider]").focus()
                    page.keyboard.press("ArrowLeft" if (i // 3) % 2 else "ArrowRight")
                else:
                    page.fill("#scalars-run-filter", filters[(i // 3) % 3])
                    page.press("#scalars-run-filter", "Enter")
                try:
                    page.wait_for_function(_REDREW, timeout=60_000, polling=10)
                except Exception as error:
                    raise RuntimeError(f"update {i} ({kind}) did not redraw the charts in the window") from error
                times.append((time.perf_counter() - start) * 1000)
                page.wait_for_function(_PAINTED, timeout=60_000, polling=10)
                latencies.append(page.evaluate(_INPUT_TO_PAINT))
                kinds.append(kind)
            context.close()
            browser.close()  # type: ignore[attr-defined]
    finally:
        handle.stop()  # type: ignore[attr-defined]
    by_kind = {
        k: _percentiles([t for t, k2 in zip(latencies, kinds, strict=True) if k2 == k]) for k in dict.fromkeys(kinds)
    }
    return {
        "latency": _percentiles(latencies),
        "cold": paints[0],
        "warm": min(paints[1:]),
        "shown_cold": shown[0],
        "shown_warm": min(shown[1:]),
        "updates": _percentiles(times),
        "by_kind": by_kind,
    }


def bench_runs_page(folder: Path, pages: list[str] | None = None) -> dict:
    """In headless Chromium on the Runs page of ``folder``: the first load (every row counted) and
    the time from a filter, a sort or a page change until the table shows it."""
    from playwright.sync_api import sync_playwright

    handle = _serve(folder, pages)
    url = f"http://127.0.0.1:{handle.port}/"  # type: ignore[attr-defined]
    first_row = "() => (document.querySelector('#runs-table td[data-dash-column=run]') || {}).innerText"
    summary = "() => (document.querySelector('#runs-summary') || {}).innerText || ''"
    loads, times, kinds = [], [], []
    try:
        with sync_playwright() as playwright:
            browser = _browser(playwright)
            for _ in range(2):
                context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
                page = context.new_page()
                start = time.perf_counter()
                page.goto(url)
                page.wait_for_function(f"() => ({summary})().includes('runs') && !!({first_row})()", timeout=300_000)
                loads.append((time.perf_counter() - start) * 1000)
                if len(loads) < 2:
                    context.close()
            patterns = ["^cnn", "^mlp-0", "width=32", "^vit-00", r"seed=1\d\d$", ""] * 3
            for i, pattern in enumerate(patterns):
                before = page.evaluate(summary)
                start = time.perf_counter()
                page.fill("#runs-filter", pattern)
                page.press("#runs-filter", "Enter")
                page.wait_for_function(f"(before) => ({summary})() !== before", arg=before, timeout=60_000)
                times.append((time.perf_counter() - start) * 1000)
                kinds.append("filter")
                row = page.evaluate(first_row)
                start = time.perf_counter()
                if i % 2 == 0:
                    page.locator("#runs-table th", has_text="lr").last.locator(".column-header--sort").click()
                    kinds.append("sort")
                else:
                    page.locator("#runs-table .next-page").click()
                    kinds.append("next page")
                page.wait_for_function(f"(row) => ({first_row})() !== row", arg=row, timeout=60_000)
                times.append((time.perf_counter() - start) * 1000)
            context.close()
            browser.close()  # type: ignore[attr-defined]
    finally:
        handle.stop()  # type: ignore[attr-defined]
    by_kind = {
        k: _percentiles([t for t, k2 in zip(times, kinds, strict=True) if k2 == k]) for k in dict.fromkeys(kinds)
    }
    return {"cold": loads[0], "warm": loads[1], "updates": _percentiles(times), "by_kind": by_kind}


def _median_of(results: list[dict]) -> dict:
    """Each number of ``results`` (dicts of numbers, pairs and dicts of pairs): its median."""
    first = results[0]
    if "error" in first:
        return first
    merged: dict = {}
    for key, value in first.items():
        values = [r[key] for r in results]
        if isinstance(value, dict):
            merged[key] = _median_of(values)
        elif isinstance(value, tuple):
            merged[key] = tuple(statistics.median(v[i] for v in values) for i in range(len(value)))
        else:
            merged[key] = statistics.median(values)
    return merged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--tags", type=int, default=10)
    parser.add_argument("--steps", type=int, default=2_000)
    parser.add_argument("--updates", type=int, default=50, help="chart updates to time")
    parser.add_argument("--browser-updates", type=int, default=30, help="control changes to time in the browser")
    parser.add_argument("--runs-page", type=int, default=10_000, help="runs of the Runs page's logdir (0: skip)")
    parser.add_argument("--rebuild", action="store_true", help="write the logdir again")
    parser.add_argument(
        "--repeat", type=int, default=3, help="measure in the browser this many times; the median of each is kept"
    )
    parser.add_argument("--no-browser", action="store_true", help="skip the browser checks")
    parser.add_argument(
        "--pages",
        help="serve only these pages in the browser checks, e.g. "
        "runs,scalars (default: every page, as `deepscope serve` does)",
    )
    args = parser.parse_args()
    for name in ("runs", "tags", "steps", "updates", "browser_updates", "repeat"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")

    load = os.getloadavg()[0]
    print(
        f"Scalars page: {args.runs} runs x {args.tags} tags x {args.steps:,} steps "
        f"(cpu cores: {os.cpu_count()}, load average {load:.1f})"
    )
    folder = build_logdir(args.runs, args.tags, args.steps, rebuild=args.rebuild)
    indexed = _ensure_index(folder)
    print(f"  run summaries index: {'kept from an earlier server' if indexed else 'written now'}")
    print(f"  logdir: {folder}")
    data = bench_data_path(folder, args.updates)
    warm_p50, warm_p95 = data["warm"]
    live_p50, live_p95 = data["live"]
    print(f"  run and tag listing (first, uncached): {data['listing_ms']:.0f} ms")
    print(
        f"  each chart draws {data['shown']} of {data['runs']} runs (~{data['payload_kb']:.0f} KiB of JSON per chart)"
    )
    print(
        f"  server side of a chart update, cached series ({data['updates']} updates): "
        f"p50 {warm_p50:.0f} ms  p95 {warm_p95:.0f} ms"
    )
    print(f"  the same while a run writes (new version each time): p50 {live_p50:.0f} ms  p95 {live_p95:.0f} ms")
    print(
        f"  tag listing while a run writes: p50 {data['listing_live'][0]:.0f} ms  p95 {data['listing_live'][1]:.0f} ms"
    )
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _results import Results

    record = Results(
        "bench_scalars_page",
        f"Scalars page on {args.runs:,} runs x {args.tags} tags x {args.steps:,} steps, Runs page on "
        f"{args.runs_page:,} runs; headless Chromium 1280x800; the peer column is the target",
    )
    record.add(
        "Scalars: server side of a chart update, p95",
        ours=warm_p95 / 1000,
        peer=0.3,
        peer_name="target",
        peer_package=None,
    )
    ok = warm_p95 < 300
    pages = args.pages.split(",") if args.pages else None
    if not args.no_browser:
        paint = _median_of([bench_scalars_browser(folder, args.browser_updates, pages) for _ in range(args.repeat)])
        if "error" in paint:
            print(f"  browser checks: skipped ({paint['error']})")
        else:
            p50, p95 = paint["updates"]
            print(
                f"  first paint of /scalars, lines shown (preview or chart) in every card in the window: "
                f"cold server {paint['shown_cold']:.0f} ms, warm {paint['shown_warm']:.0f} ms   "
                f"target cold < 1500 ms  {'OK' if paint['shown_cold'] < 1500 else 'OVER'}"
            )
            print(
                f"  first paint of /scalars, interactive charts drawn in every card in the window: cold server "
                f"{paint['cold']:.0f} ms, warm {paint['warm']:.0f} ms   {'OK' if paint['cold'] < 1500 else 'OVER'}"
            )
            l50, l95 = paint["latency"]
            print(
                f"  update in the browser (input event -> charts in the window redrawn and painted), "
                f"{args.browser_updates} updates: p50 {l50:.0f} ms  p95 {l95:.0f} ms   target p95 < 300 ms  "
                f"{'OK' if l95 < 300 else 'OVER'}"
            )
            for kind, (k50, k95) in paint["by_kind"].items():
                print(f"    {kind}: p50 {k50:.0f} ms  p95 {k95:.0f} ms")
            print(
                f"  the same, timed by the test driver (its calls to the browser included): "
                f"p50 {p50:.0f} ms  p95 {p95:.0f} ms"
            )
            record.add(
                "Scalars: first paint (preview or chart), cold server",
                ours=paint["shown_cold"] / 1000,
                peer=1.5,
                peer_name="target",
                peer_package=None,
            )
            record.add(
                "Scalars: first paint (interactive charts), cold server",
                ours=paint["cold"] / 1000,
                peer=1.5,
                peer_name="target",
                peer_package=None,
            )
            record.add(
                "Scalars: update in the browser (input event to paint), p95",
                ours=l95 / 1000,
                peer=0.3,
                peer_name="target",
                peer_package=None,
            )
            record.add(
                "Scalars: update in the browser (timed by the test driver), p95",
                ours=p95 / 1000,
                peer=0.3,
                peer_name="target",
                peer_package=None,
            )
            ok = ok and paint["shown_cold"] < 1500 and l95 < 300
        if args.runs_page:
            runs_folder = build_runs_logdir(args.runs_page, rebuild=args.rebuild)
            indexed = _ensure_index(runs_folder)
            print(f"  run summaries index: {'kept from an earlier server' if indexed else 'written now'}")
            runs = _median_of([bench_runs_page(runs_folder, pages) for _ in range(args.repeat)])
            p50, p95 = runs["updates"]
            print(
                f"  Runs page, {args.runs_page:,} runs: first load cold {runs['cold']:.0f} ms, "
                f"warm {runs['warm']:.0f} ms"
            )
            print(
                f"  Runs page update (filter, sort, next page -> table shown): p50 {p50:.0f} ms  p95 {p95:.0f} ms   "
                f"target p95 < 300 ms  {'OK' if p95 < 300 else 'OVER'}"
            )
            for kind, (k50, k95) in runs["by_kind"].items():
                print(f"    {kind}: p50 {k50:.0f} ms  p95 {k95:.0f} ms")
            record.add(
                f"Runs page ({args.runs_page:,} runs): filter/sort/page update, p95",
                ours=p95 / 1000,
                peer=0.3,
                peer_name="target",
                peer_package=None,
            )
            record.add(
                f"Runs page ({args.runs_page:,} runs): first load, cold server",
                ours=runs["cold"] / 1000,
                peer=1.5,
                peer_name="target",
                peer_package=None,
            )
            record.add(
                f"Runs page ({args.runs_page:,} runs): first load, warm server",
                ours=runs["warm"] / 1000,
                peer=1.5,
                peer_name="target",
                peer_package=None,
            )
            ok = ok and p95 < 300
    record.note(
        f"load average: {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores "
        f"(a shared machine); browser figures are the median of {args.repeat} run(s) (each a fresh server)"
    )
    record.note(
        "first paint (preview or chart): navigation until every chart card in the 1280x800 window shows its "
        "lines, as the server-drawn SVG preview that comes with the page (the same points, axes and colours) or "
        "as the plotly chart; first paint (interactive charts): until every such card holds a drawn plotly chart; "
        "updates: a control's change until plotly redrew every chart in the window"
    )
    record.write()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
