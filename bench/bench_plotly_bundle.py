"""Benchmark: the dashboard's partial plotly.js bundle against plotly.py's full plotly.min.js.

Both are plotly.js v4.1.1: the full one is what dash serves to dcc.Graph by default, the partial
one (``src/deepscope/app/assets/vendor/plotly-deepscope.min.js``, built by
``tools/build_plotly_bundle.sh``) holds only the trace types the dashboard draws. In headless
Chromium (the system ``chromium`` with the browser tests' flags), on a page served from this
machine that loads one of them and draws one chart, each visit in a fresh browser context
(empty cache, as a new user's first visit), the two alternating:
- plotly.js run: from the script's last byte until it has run (parse, compile, the modules'
  set-up), the cost a page pays before its first chart;
- first chart: from navigation until ``Plotly.newPlot`` resolved, for a line chart and for
  100,000 points in 10 WebGL (scattergl) traces, as the Projector draws first.
Medians over ``--visits`` visits each. Results go to bench/results.md (peer: the full bundle).

Run: ``.venv/bin/python bench/bench_plotly_bundle.py [--visits 9]``
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import plotly

from _results import Results, package_version

ROOT = Path(__file__).resolve().parents[1]
PARTIAL = ROOT / "src" / "deepscope" / "app" / "assets" / "vendor" / "plotly-deepscope.min.js"
FULL = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<div id="chart" style="width:800px;height:400px"></div>
<script src="{script}"></script>
<script>
window.__ran = performance.now();
{traces}
Plotly.newPlot('chart', traces).then(() => {{ window.__drew = performance.now(); }});
</script></body></html>"""

# The charts: a line chart (SVG), and 100,000 points in 10 WebGL traces (the Projector's first view).
CHARTS = {
    "line": "const traces = [{type: 'scatter', y: [1, 3, 2, 4, 3, 5]}];",
    "webgl": (
        "const traces = [...Array(10).keys()].map(k => ({type: 'scattergl', mode: 'markers',"
        " x: Float64Array.from({length: 10000}, () => Math.random() + k),"
        " y: Float64Array.from({length: 10000}, () => Math.random())}));"
    ),
}

_TIMES = """(script) => {
    const entry = performance.getEntriesByType('resource').find(e => e.name.endsWith(script));
    return {ran: window.__ran - entry.responseEnd, drew: window.__drew, bytes: entry.decodedBodySize};
}"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def measure(visits: int) -> dict[tuple[str, str], dict[str, list[float]]]:
    """(bundle, chart) -> {"ran": [ms...], "drew": [ms...]} over ``visits`` fresh contexts each."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no chromium on PATH (apt-get install chromium)")
    cases = [(bundle, chart) for chart in CHARTS for bundle in ("full", "partial")]
    times: dict[tuple[str, str], dict[str, list[float]]] = {case: {"ran": [], "drew": []} for case in cases}
    with tempfile.TemporaryDirectory() as folder:
        for bundle, source in (("full", FULL), ("partial", PARTIAL)):
            shutil.copyfile(source, Path(folder) / f"{bundle}.js")
            for chart, traces in CHARTS.items():
                page = PAGE.format(script=f"{bundle}.js", traces=traces)
                (Path(folder) / f"{bundle}-{chart}.html").write_text(page, encoding="utf-8")
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=folder))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
                for visit in range(visits + 1):  # the first round warms the browser process up
                    for bundle, chart in cases if visit % 2 else cases[::-1]:
                        context = browser.new_context(viewport={"width": 1280, "height": 800})
                        page = context.new_page()
                        page.goto(f"http://127.0.0.1:{server.server_port}/{bundle}-{chart}.html")
                        page.wait_for_function("() => window.__drew", timeout=120_000, polling=20)
                        measured = page.evaluate(_TIMES, f"{bundle}.js")
                        context.close()
                        if visit:
                            for key in ("ran", "drew"):
                                times[(bundle, chart)][key].append(measured[key])
                browser.close()
        finally:
            server.shutdown()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--visits", type=int, default=9)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    times = measure(args.visits)
    load = max(load_before, os.getloadavg()[0])
    median = {case: {key: statistics.median(values) for key, values in t.items()} for case, t in times.items()}
    full_mb, partial_mb = FULL.stat().st_size / 1e6, PARTIAL.stat().st_size / 1e6
    results = Results(
        "bench_plotly_bundle",
        f"plotly.js v4.1.1 in headless Chromium (software WebGL), a page that loads it and draws one chart, each "
        f"visit in a fresh browser context, medians of {args.visits} visits each (alternating); partial bundle "
        f"{partial_mb:.2f} MB against the full {full_mb:.2f} MB",
    )
    rows = [
        ("line", "ran", "plotly.js parse, compile and set-up"),
        ("line", "drew", "navigation to a first line chart drawn"),
        ("webgl", "drew", "navigation to a first WebGL chart drawn (100,000 points, scattergl)"),
    ]
    for chart, key, case in rows:
        ours, peer = median[("partial", chart)][key] / 1000, median[("full", chart)][key] / 1000
        results.add(
            case,
            ours=ours,
            peer=peer,
            peer_name="full plotly.min.js (dash's default)",
            peer_package=None,
            peer_version=f"plotly.js 4.1.1 from plotly {package_version('plotly')}",
        )
        print(f"{case}: partial {ours * 1000:.0f} ms, full {peer * 1000:.0f} ms, ratio {peer / ours:.2f}x")
    results.note(
        f"File size: partial {partial_mb:.2f} MB, full {full_mb:.2f} MB ({partial_mb / full_mb:.0%}); "
        f"load average {load:.1f} on {os.cpu_count()} cores during the run."
    )
    print(f"sizes: partial {partial_mb:.2f} MB, full {full_mb:.2f} MB; load average {load:.1f}")
    results.write()


if __name__ == "__main__":
    main()
