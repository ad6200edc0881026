"""Benchmark: profiling a 1,000,000-row x 20-column Parquet file, deepscope against its peers.

Side by side in one run: deepscope's ``profile`` (streaming, sketches), DuckDB's ``SUMMARIZE``
and pandas' ``describe`` (in this process), whylogs and ydata-profiling (minimal mode), each in
its own virtualenv under /tmp and timed in a subprocess, because their pins (numpy<2, older
pandas) do not fit the project's environment. A peer that cannot be installed is reported as
unavailable with the reason, and the rest carries on. Also measures deepscope's peak RSS on a
10,000,000-row file in a separate process (``--large``).

Run: ``.venv/bin/python bench/bench_profile.py [--rows 1000000] [--large] [--no-peers]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from _results import Results

WORKDIR = Path(tempfile.gettempdir()) / "deepscope-bench"
PEER_TIMEOUT_S = 900
INSTALL_TIMEOUT_S = 600


def make_parquet(path: Path, rows: int, seed: int = 0) -> Path:
    """20 columns: 8 float (5% NaN), 6 int and 6 string (2% null), 10 to 10,000 distinct values each."""
    if path.exists() and pq.ParquetFile(path).metadata.num_rows == rows:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cardinalities = np.geomspace(10, 10_000, 20).round().astype(int)
    chunk = 1_000_000
    schema = None
    writer = None
    try:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            columns = {}
            for i, k in enumerate(cardinalities):
                pool_rng = np.random.default_rng(seed + i)  # same pool in every chunk
                codes = rng.integers(0, k, n)
                if i % 3 == 0 or i == 19:
                    pool = pool_rng.normal(50.0, 15.0, k).round(3)
                    values = pool[codes]
                    values[rng.random(n) < 0.05] = np.nan
                    columns[f"f{i:02d}"] = pa.array(values)
                elif i % 3 == 1:
                    pool = pool_rng.integers(-1000, 100_000, k)
                    columns[f"i{i:02d}"] = pa.array(pool[codes], mask=rng.random(n) < 0.02)
                else:
                    pool = np.array([f"value-{j:05d}-{'x' * int(j % 13)}" for j in pool_rng.permutation(k)])
                    columns[f"s{i:02d}"] = pa.array(pool[codes], mask=rng.random(n) < 0.02)
            table = pa.table(columns)
            if writer is None:
                schema = table.schema
                writer = pq.ParquetWriter(path, schema)
            writer.write_table(table, row_group_size=256 * 1024)
    finally:
        if writer is not None:
            writer.close()
    return path


def time_call(fn, repeat: int = 1) -> tuple[float, float]:
    """Best (wall seconds, CPU seconds of this process, all threads) over ``repeat`` calls."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - start, time.process_time() - cpu))
    return best


def bench_deepscope(path: Path) -> tuple[float, float]:
    from deepscope.data import profile

    profile(str(path))  # warm imports and file cache
    return time_call(lambda: profile(str(path), progress=False), repeat=2)


def bench_read_only(path: Path) -> tuple[float, float]:
    """The floor under any profile of the file: decoding every batch as deepscope reads it."""
    from deepscope.data.sources import open_source

    def run():
        for _ in open_source(str(path)).batches:
            pass

    run()
    return time_call(run, repeat=3)


def bench_duckdb(path: Path) -> tuple[float, float]:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SUMMARIZE SELECT * FROM read_parquet('{path}')").fetchall()
    return time_call(lambda: con.execute(f"SUMMARIZE SELECT * FROM read_parquet('{path}')").fetchall(), repeat=2)


def bench_pandas(path: Path) -> tuple[float, float]:
    import pandas as pd

    def run():
        frame = pd.read_parquet(path)
        frame.describe(include="all")

    return time_call(run, repeat=2)


PEERS = {
    "whylogs": {
        "packages": ["whylogs", "numpy<2", "pandas<2.3", "pyarrow<18"],
        "script": """
            import sys, time
            import pyarrow.parquet as pq
            import whylogs as why
            frame = pq.read_table(sys.argv[1]).to_pandas()
            start, cpu = time.perf_counter(), time.process_time()
            why.log(frame).view()
            print(time.perf_counter() - start, time.process_time() - cpu)
        """,
    },
    "ydata-profiling": {
        "packages": ["ydata-profiling", "pyarrow", "setuptools<81"],
        "script": """
            import sys, time
            import pyarrow.parquet as pq
            from ydata_profiling import ProfileReport
            frame = pq.read_table(sys.argv[1]).to_pandas()
            start, cpu = time.perf_counter(), time.process_time()
            ProfileReport(frame, minimal=True, progress_bar=False).get_description()
            print(time.perf_counter() - start, time.process_time() - cpu)
        """,
    },
}


def peer_venv(name: str) -> tuple[Path | None, str]:
    """The peer's interpreter in /tmp/bench-<name>, installing it on first use."""
    venv = Path("/tmp") / f"bench-{name}"
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if marker.exists():
        return python, ""
    try:
        if not python.exists():
            subprocess.run(["python3", "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
        result = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *PEERS[name]["packages"]],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
        )
    except (subprocess.SubprocessError, OSError) as error:
        return None, f"could not create its virtualenv: {error}"
    if result.returncode != 0:
        lines = [line for line in (result.stderr or result.stdout).strip().splitlines() if line.strip()]
        return None, "pip install failed: " + (lines[-1] if lines else f"exit {result.returncode}")
    marker.write_text("ok")
    return python, ""


def peer_version(name: str) -> str:
    """The version installed in the peer's virtualenv (or why there is none)."""
    python = Path("/tmp") / f"bench-{name}" / "bin" / "python"
    code = f"import importlib.metadata as m; print(m.version({name!r}))"
    try:
        out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60)
    except (subprocess.SubprocessError, OSError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def bench_peer(name: str, path: Path) -> tuple[tuple[float, float] | None, str]:
    python, why = peer_venv(name)
    if python is None:
        return None, why
    script = WORKDIR / f"peer_{name}.py"
    script.write_text(textwrap.dedent(PEERS[name]["script"]))
    try:
        result = subprocess.run(
            [str(python), str(script), str(path)], capture_output=True, text=True, timeout=PEER_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return None, f"did not finish within {PEER_TIMEOUT_S} s"
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        return None, "failed: " + (lines[-1] if lines else f"exit {result.returncode}")
    wall, cpu = result.stdout.strip().splitlines()[-1].split()
    return (float(wall), float(cpu)), ""


def peak_rss_of_profile(path: Path) -> float:
    """Peak resident memory (MiB) of a fresh process that profiles ``path``."""
    code = textwrap.dedent(f"""
        import resource, time
        from deepscope.data import profile
        start = time.perf_counter()
        p = profile({str(path)!r}, progress=False)
        elapsed = time.perf_counter() - start
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, elapsed, p.rows)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    rss, elapsed, rows = result.stdout.split()
    print(f"  10M rows: {float(elapsed):.2f} s, peak RSS {float(rss):.0f} MiB for {int(rows):,} rows")
    return float(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-peers", action="store_true", help="skip whylogs and ydata-profiling")
    parser.add_argument("--large", action="store_true", help="also measure peak RSS on 10,000,000 rows")
    args = parser.parse_args()

    path = make_parquet(WORKDIR / f"bench_{args.rows}.parquet", args.rows)
    print(
        f"file: {path} ({path.stat().st_size / 2**20:.0f} MiB, {args.rows:,} rows x 20 columns), {os.cpu_count()} cores"
    )
    results: dict[str, tuple[float, float] | None] = {}
    results["deepscope profile"] = bench_deepscope(path)
    results["read only (floor)"] = bench_read_only(path)
    results["duckdb SUMMARIZE"] = bench_duckdb(path)
    results["pandas describe"] = bench_pandas(path)
    notes = {}
    if not args.no_peers:
        for peer in PEERS:
            seconds, why = bench_peer(peer, path)
            results[peer] = seconds
            if why:
                notes[peer] = why
    wall, cpu = results["deepscope profile"]
    print(
        "Wall and CPU seconds (CPU: all threads of the process; the machine is shared, so CPU time is "
        "the steadier measure). whylogs and ydata-profiling are timed after reading the file, the "
        "others including it. 'read only' decodes the file as deepscope reads it and computes "
        "nothing: no profile of the file can be faster."
    )
    print(f"{'tool':<20}{'wall s':>9}{'cpu s':>9}{'wall ratio':>12}{'cpu ratio':>11}")
    for tool, seconds in results.items():
        if seconds is None:
            print(f"{tool:<20}{'n/a':>9}  unavailable: {notes[tool]}")
        else:
            print(
                f"{tool:<20}{seconds[0]:>9.2f}{seconds[1]:>9.2f}{seconds[0] / wall:>11.1f}x{seconds[1] / cpu:>10.1f}x"
            )
    record = Results(
        "bench_profile", f"{args.rows:,}-row x 20-column Parquet file ({path.stat().st_size / 2**20:.0f} MiB)"
    )
    packages = {"duckdb SUMMARIZE": "duckdb", "pandas describe": "pandas"}
    for tool, seconds in results.items():
        if tool in ("deepscope profile", "read only (floor)"):
            continue
        if seconds is None:
            record.note(f"{tool}: unavailable ({notes[tool]})")
            continue
        version = None if tool in packages else peer_version(tool)
        record.add(
            "profile every column",
            ours=wall,
            peer=seconds[0],
            peer_name=tool,
            peer_package=packages.get(tool),
            peer_version=version,
        )
        record.add(
            "profile every column",
            ours=cpu,
            peer=seconds[1],
            peer_name=tool,
            peer_package=packages.get(tool),
            peer_version=version,
            quantity="CPU time",
        )
    floor = results["read only (floor)"]
    if floor is not None:
        record.note(
            f"reading the file alone (no statistics) takes {floor[0]:.2f} s wall: "
            f"deepscope's profile is {wall / floor[0]:.1f}x that floor"
        )
    summary: dict[str, object] = {"seconds (wall, cpu)": results}
    if args.large:
        large = make_parquet(WORKDIR / "bench_10000000.parquet", 10_000_000)
        summary["peak RSS MiB, 10M rows"] = peak_rss_of_profile(large)
    if args.large:
        record.note(f"peak RSS profiling 10,000,000 rows: {summary['peak RSS MiB, 10M rows']:.0f} MiB")
    record.write()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
