"""Benchmark: the embedding projector's compute, deepscope against its peers, side by side.

- PCA of 100,000 x 128 (``ds.embed.project``, randomized) against scikit-learn's default PCA;
- t-SNE (openTSNE, FFT) against scikit-learn's ``TSNE`` on the same vectors (``--tsne-points``,
  10,000 x 64 for the issue's comparison; 3,000 by default to keep a quick run short);
- UMAP's start in a second process: two fresh processes each fit UMAP on 2,000 points, once with
  deepscope's on-disk numba cache and once with umap-learn as it comes;
- neighbours of 200 queries among 100,000 points (exact) against scikit-learn;
- a 1,000,000 x 2 density view (datashader or numpy) and the process's peak memory;
- the Projector page's first paint with 100,000 points in headless Chromium (the system
  ``chromium`` driven by Playwright): from navigation until the WebGL scatter drew, on a fresh
  server (reading the embedding and its PCA included) and on a second visit, with the size of the
  figure sent (float32 coordinates and int32 point indices, binary-encoded).

Run: ``.venv/bin/python bench/bench_embed.py [--tsne-points 10000] [--skip-umap] [--only-paint]``
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def blobs(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=5.0, size=(10, d))
    return (centres[rng.integers(0, 10, n)] + rng.normal(size=(n, d))).astype(np.float32)


def bench_pca() -> None:
    from sklearn.decomposition import PCA

    from deepscope.embed import project

    x = blobs(100_000, 128)
    project(x[:1000], "pca")  # imports scikit-learn's PCA outside the timing
    ours, _ = timed(project, x, "pca")
    peer, _ = timed(PCA(n_components=2).fit_transform, x)
    print(
        f"PCA 100k x 128: deepscope {ours:.2f} s, scikit-learn PCA (auto solver) {peer:.2f} s, ratio {ours / peer:.2f}"
    )


def bench_tsne(points: int) -> None:
    from sklearn.manifold import TSNE

    from deepscope.embed import project

    x = blobs(points, 64)
    ours, _ = timed(project, x, "tsne", n_iter=500)
    # the same schedule: 250 early-exaggeration iterations plus 500
    peer, _ = timed(TSNE(n_components=2, max_iter=750, random_state=0, init="pca").fit_transform, x)
    print(
        f"t-SNE {points:,} x 64: deepscope (openTSNE) {ours:.1f} s, scikit-learn TSNE "
        f"{peer:.1f} s, ratio {ours / peer:.2f}"
    )


_UMAP_CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    start = time.perf_counter()
    if sys.argv[1] == "deepscope":
        from deepscope.embed._numba import import_umap
        umap = import_umap()
    else:
        import umap
    x = np.random.default_rng(0).normal(size=(2000, 32)).astype(np.float32)
    umap.UMAP(random_state=0, n_epochs=50).fit_transform(x)
    print(time.perf_counter() - start)
    """
)


def bench_umap_start() -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        times = {}
        for kind in ("deepscope", "deepscope", "plain"):
            out = subprocess.run(
                [sys.executable, "-c", _UMAP_CHILD, kind],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=900,
            )
            times.setdefault(kind, []).append(float(out.stdout.strip().splitlines()[-1]))
    first, second = times["deepscope"]
    plain = times["plain"][0]
    print(
        f"UMAP 2,000 points, import + fit per process: deepscope first process {first:.1f} s, "
        f"second process {second:.1f} s; umap-learn as it comes (no cache) {plain:.1f} s, "
        f"ratio second/plain {second / plain:.2f}"
    )


def bench_neighbors() -> None:
    from sklearn.neighbors import NearestNeighbors

    from deepscope.embed import neighbors

    x = blobs(100_000, 64)
    queries = np.arange(0, 100_000, 500)
    ours, _ = timed(neighbors, x, queries, k=10)
    peer, _ = timed(lambda: NearestNeighbors(n_neighbors=11, metric="cosine").fit(x).kneighbors(x[queries]))
    print(
        f"neighbours, 200 queries in 100k x 64 (cosine, exact): deepscope {ours:.2f} s, "
        f"scikit-learn {peer:.2f} s, ratio {ours / peer:.2f}"
    )


def bench_density() -> None:
    from deepscope.embed import density_image
    from deepscope.embed.density import ENGINE

    coords = blobs(1_000_000, 2)
    density_image(coords[:1000])  # the first call of datashader compiles
    full, image = timed(density_image, coords, width=720, height=540)
    zoom, _ = timed(density_image, coords, x_range=(-2, 2), y_range=(-2, 2), width=720, height=540)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(
        f"density view of 1M points ({ENGINE}): full view {full:.2f} s, zoomed {zoom:.2f} s, "
        f"{image.count:,} points; process peak RSS {peak:.2f} GiB"
    )


_DREW = """() => {
    const gd = document.querySelector('#projector-graph .js-plotly-plot');
    return !!(gd && Array.isArray(gd._fullData) && gd._fullData.length > 0 && gd.querySelector('.main-svg')
        && gd._fullData.some(t => t.type === 'scattergl'));
}"""


def bench_first_paint(points: int = 100_000) -> None:
    import shutil
    from pathlib import Path

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("first paint: skipped (playwright is not installed)")
        return
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("first paint: skipped (no chromium on PATH)")
        return
    from deepscope.app import create_app
    from deepscope.app.server import start_server
    from deepscope.track import Run

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 10, points)
    vectors = (rng.normal(scale=5, size=(10, 32))[truth] + rng.normal(size=(points, 32))).astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        logdir = Path(folder) / "logs"
        with Run(logdir, name="bench") as run:
            labels = np.array([f"class {t}" for t in truth])
            run.log_embedding("vectors", vectors, metadata={"label": labels, "id": np.arange(points)})
        handle = start_server(create_app(logdir).server, host="127.0.0.1", port=0, threads=4)
        times, sizes = [], []
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium, headless=True, args=["--headless", "--no-sandbox", "--disable-gpu"]
                )
                for _ in range(2):
                    page = browser.new_page(viewport={"width": 1280, "height": 800})
                    start = time.perf_counter()
                    page.goto(f"http://127.0.0.1:{handle.port}/projector")
                    page.wait_for_function(_DREW, timeout=120_000)
                    times.append(time.perf_counter() - start)
                    sizes.append(
                        page.evaluate(
                            "() => Math.max(...performance.getEntriesByType('resource')"
                            ".filter(e => e.name.includes('_dash-update-component')).map(e => e.decodedBodySize))"
                        )
                    )
                    page.close()
                browser.close()
        finally:
            handle.stop()
    print(
        f"Projector first paint, {points:,} points in headless Chromium (software WebGL): fresh server "
        f"{times[0]:.2f} s, second visit {times[1]:.2f} s (target < 3 s); figure {sizes[0] / 2**20:.2f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tsne-points", type=int, default=3000)
    parser.add_argument("--skip-umap", action="store_true")
    parser.add_argument("--only-paint", action="store_true", help="only the page's first paint")
    args = parser.parse_args()
    if args.only_paint:
        bench_first_paint()
        return
    bench_pca()
    bench_neighbors()
    bench_density()
    bench_first_paint()
    bench_tsne(args.tsne_points)
    if not args.skip_umap:
        bench_umap_start()


if __name__ == "__main__":
    main()
