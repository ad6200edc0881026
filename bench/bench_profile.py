"""Benchmark: profiling Parquet files, deepscope against DuckDB, ydata-profiling and others.

Parts (each writes its own section of bench/results.md):

- ``bench_profile`` (default): the matrix of time ratios deepscope / DuckDB, one Parquet file per
  column type (lognormal floats with 3% nulls, bimodal and zero-inflated floats, Poisson and
  wide-range integers, strings of 50 values, string ids with 30,000+ distinct values, a
  dictionary (categorical) column, booleans, timestamps, an all-null column) at 100k and 1M rows
  (``--sizes`` adds 10M): ``ds.data.profile(path)`` against ``SUMMARIZE`` on the same file, the
  first call (a fresh process: imports and the call) and warm (median of repeats, in one process).
  Target (issue 16): at most 0.5 on every cell.
- ``bench_profile_ydata`` (on by default, ``--no-ydata`` skips it): the job a user runs,
  Parquet file to HTML report, on both sides: ``deepscope profile FILE -o report.html``
  against reading the file with pandas and ``ProfileReport(df, minimal=True).to_file(...)``,
  each in a fresh process (ydata-profiling runs in a virtualenv of its own under /tmp,
  installed from PyPI on first use).
- ``bench_profile_dask`` (on by default, ``--no-dask`` skips it; about 3 minutes): 100M
  generated rows profiled on a Dask LocalCluster of two workers with a memory limit each; rows
  per second and the workers' peak memory.
- ``bench_profile_wide`` (``--wide``): a 1,000,000-row x 20-column file against DuckDB, pandas
  ``describe``, whylogs and ydata-profiling (those two in virtualenvs of their own under /tmp,
  their pins do not fit the project's; ``--no-peers`` skips them), ``--large`` adds peak RSS on 10M rows.

Run: ``PYTHONPATH=src .venv/bin/python bench/bench_profile.py [--sizes 100000,1000000,10000000]
[--no-ydata] [--no-dask] [--dask-rows N] [--wide]``; ``make bench`` runs the defaults, which
are the configurations the README cites.
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
from typing import cast

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
        "packages": ["ydata-profiling", "pyarrow", "setuptools<81"],  # also run by bench_ydata
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


def bench_wide(args: argparse.Namespace) -> None:
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
        "bench_profile_wide", f"{args.rows:,}-row x 20-column Parquet file ({path.stat().st_size / 2**20:.0f} MiB)"
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


# --- the matrix: one column type per file, deepscope against DuckDB's SUMMARIZE -------------------

COLUMN_TYPES = (
    "float lognormal (3% null)",
    "float bimodal",
    "float zero-inflated",
    "int Poisson",
    "int wide range",
    "string, 50 values",
    "string ids (30k+ distinct)",
    "categorical (dictionary)",
    "bool",
    "timestamp",
    "all null",
)
DECODE_BOUND = "string ids (30k+ distinct)"  # the cells whose floor the matrix also reports
CHUNK_ROWS = 1 << 20  # rows generated and written at a time (one row group each)


def _column(kind: str, n: int, rng: np.random.Generator, rows: int) -> pa.Array:
    """``n`` values of one column type (the ids' pool grows with the file: rows / 10, at least 30,000)."""
    if kind.startswith("float lognormal"):
        return pa.array(rng.lognormal(0.0, 1.0, n), mask=rng.random(n) < 0.03)
    if kind == "float bimodal":
        return pa.array(np.where(rng.random(n) < 0.4, rng.normal(-3.0, 1.0, n), rng.normal(4.0, 0.5, n)))
    if kind == "float zero-inflated":
        return pa.array(np.where(rng.random(n) < 0.6, 0.0, rng.exponential(5.0, n)))
    if kind == "int Poisson":
        return pa.array(rng.poisson(4.0, n).astype(np.int64))
    if kind == "int wide range":
        return pa.array(rng.integers(-(10**12), 10**12, n))
    if kind == "string, 50 values":
        return pa.array(np.array([f"category-{i:02d}" for i in range(50)])[rng.integers(0, 50, n)])
    if kind.startswith("string ids"):
        import pyarrow.compute as pc

        numbers = pa.array(rng.integers(0, max(30_000, rows // 10), n)).cast(pa.string())
        padded = pc.utf8_lpad(numbers, width=8, padding="0")  # pyright: ignore[reportAttributeAccessIssue]
        return pc.binary_join_element_wise("id-", padded, "")  # pyright: ignore[reportAttributeAccessIssue]
    if kind.startswith("categorical"):
        labels = pa.array([f"label {i}" for i in range(200)])
        return pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, 200, n).astype(np.int32)), labels)
    if kind == "bool":
        return pa.array(rng.random(n) < 0.3, mask=rng.random(n) < 0.01)
    if kind == "timestamp":
        return pa.array(rng.integers(1_600_000_000_000_000, 1_700_000_000_000_000, n), type=pa.timestamp("us"))
    if kind == "all null":
        return pa.nulls(n, pa.float64())
    raise ValueError(kind)


def make_column_file(kind: str, rows: int) -> Path:
    slug = "".join(c if c.isalnum() else "_" for c in kind).strip("_")
    path = WORKDIR / "types" / f"{slug}_{rows}.parquet"
    if path.exists() and pq.ParquetFile(path).metadata.num_rows == rows:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    writer = None
    try:
        for start in range(0, rows, CHUNK_ROWS):
            table = pa.table({"x": _column(kind, min(CHUNK_ROWS, rows - start), rng, rows)})
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=CHUNK_ROWS)
    finally:
        if writer is not None:
            writer.close()
    return path


_FIRST_CALL = {
    "deepscope": "import deepscope as ds\nds.data.profile({path!r})",
    # The floor under deepscope's first call: the libraries any profile of a Parquet file in Python needs.
    "floor": "import numpy\nimport pyarrow._parquet",
    "duckdb": "import duckdb\nduckdb.sql(\"SUMMARIZE SELECT * FROM read_parquet('{path}')\").fetchall()",
}


def first_call(tool: str, path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of a fresh process's imports and first call: wall from the first import
    (the interpreter's start left out), CPU of all the process's threads since it started."""
    code = "import time\nstart = time.perf_counter()\n" + _FIRST_CALL[tool].format(path=str(path))
    code += "\nprint(time.perf_counter() - start, time.process_time())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    wall, cpu = result.stdout.split()[-2:]
    return float(wall), float(cpu)


def median_time(fn, repeat: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds of ``repeat`` calls; CPU counts every thread of this process."""
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return float(np.median(walls)), float(np.median(cpus))


def bench_matrix(sizes: list[int]) -> None:
    import duckdb

    import deepscope as ds

    con = duckdb.connect()
    record = Results(
        "bench_profile",
        "one Parquet file per column type; `ds.data.profile(path)` against DuckDB `SUMMARIZE` on the same "
        "file; first call = a fresh process's imports and call (median of 3 processes), warm = median of "
        "5 calls in one process (2 at 10M rows); time = wall clock, CPU time = all threads of the process "
        "(steadier on a shared machine); ratio here = DuckDB / deepscope (issue 16's target, deepscope at "
        "most 0.5x DuckDB's time, is a ratio of 2 or more)",
    )
    loads = [os.getloadavg()[0]]
    print(f"{os.cpu_count()} cores, load {loads[0]:.1f}; time ratio deepscope / DuckDB (target <= 0.5)")
    header = f"{'column type':<28}" + "".join(f"{f'{r:,} first':>18}{f'{r:,} warm':>18}" for r in sizes)
    matrix: dict[str, list[str]] = {kind: [] for kind in COLUMN_TYPES}
    cpu_matrix: dict[str, list[str]] = {kind: [] for kind in COLUMN_TYPES}
    ratios: dict[str, list[float]] = {"wall": [], "cpu": []}
    cells: list[tuple[float, str]] = []
    floors: list[tuple[float, float]] = []
    duck_smallest: list[tuple[float, float]] = []
    decode_floors: list[tuple[int, float]] = []
    for rows in sizes:
        repeat = 2 if rows >= 5_000_000 else 5
        for kind in COLUMN_TYPES:
            path = make_column_file(kind, rows)
            path.read_bytes()  # both tools read it from the page cache
            query = f"SUMMARIZE SELECT * FROM read_parquet('{path}')"
            firsts: dict[str, list[tuple[float, float]]] = {tool: [] for tool in _FIRST_CALL}
            for _ in range(3):  # interleaved, so both see the same load
                for tool in _FIRST_CALL:
                    if tool != "floor" or rows == sizes[0]:
                        firsts[tool].append(first_call(tool, path))
            ds.data.profile(str(path))
            con.sql(query).fetchall()
            ours = median_time(lambda path=path: ds.data.profile(str(path)), repeat)
            theirs = median_time(lambda query=query: con.sql(query).fetchall(), repeat)
            if rows == sizes[0]:
                floors += firsts["floor"]
                duck_smallest += firsts["duckdb"]
            ours_first = tuple(float(v) for v in np.median(firsts["deepscope"], axis=0))
            theirs_first = tuple(float(v) for v in np.median(firsts["duckdb"], axis=0))
            loads.append(os.getloadavg()[0])
            for label, a, b in (("first call", ours_first, theirs_first), ("warm", ours, theirs)):
                case = f"{kind}, {rows:,} rows, {label}"
                record.add(case, ours=a[0], peer=b[0], peer_name="duckdb", peer_package="duckdb")
                record.add(case, ours=a[1], peer=b[1], peer_name="duckdb", peer_package="duckdb", quantity="CPU time")
                ratios["wall"].append(a[0] / b[0])
                ratios["cpu"].append(a[1] / b[1])
                cells.append((a[0] / b[0], case))
            if kind == DECODE_BOUND:
                # What reading the batches alone costs, no statistics: the floor under this cell.
                read = bench_read_only(path)
                decode_floors.append((rows, read[0] / theirs[0]))
            matrix[kind] += [f"{ours_first[0] / theirs_first[0]:.2f}", f"{ours[0] / theirs[0]:.2f}"]
            cpu_matrix[kind] += [f"{ours_first[1] / theirs_first[1]:.2f}", f"{ours[1] / theirs[1]:.2f}"]
            print(
                f"  {kind}, {rows:,} rows: first {ours_first[0]:.3f} s vs {theirs_first[0]:.3f} s; "
                f"warm {ours[0]:.4f} s vs {theirs[0]:.4f} s (CPU {ours[1]:.4f} s vs {theirs[1]:.4f} s); "
                f"load {loads[-1]:.1f}",
                flush=True,
            )
    for title, table in (("wall-clock time", matrix), ("CPU time", cpu_matrix)):
        print(f"\n{title}, deepscope / DuckDB (target <= 0.5)")
        print(header)
        for kind, row in table.items():
            print(f"{kind:<28}" + "".join(f"{c:>18}" for c in row))
    half = len(ratios["wall"]) // 2  # first-call and warm cells alternate
    for quantity in ("wall", "cpu"):
        values = ratios[quantity]
        first, warm = values[0::2], values[1::2]
        met_first, met_warm = sum(r <= 0.5 for r in first), sum(r <= 0.5 for r in warm)
        label = "wall-clock" if quantity == "wall" else "CPU"
        line = (
            f"{label} time: {met_warm} of {half} warm cells and {met_first} of {half} first-call cells meet the "
            f"0.5x target; worst warm {max(warm):.2f}x, worst first call {max(first):.2f}x DuckDB's time"
        )
        print(line)
        record.note(line)
    floor, duck = np.median(floors, axis=0), np.median(duck_smallest, axis=0)
    line = (
        f"import floor (a fresh process importing numpy and pyarrow's Parquet reader, nothing else): "
        f"{floor[0]:.3f} s wall, {floor[1]:.3f} s CPU = {floor[0] / duck[0]:.2f}x / {floor[1] / duck[1]:.2f}x "
        f"DuckDB's whole first call at {sizes[0]:,} rows (median over the column types)"
    )
    print(line)
    record.note(line)
    line = (
        f"decode floor of {DECODE_BOUND} (reading its batches with pyarrow, no statistics), "
        "DuckDB's warm SUMMARIZE = 1: " + ", ".join(f"{ratio:.2f}x at {rows:,} rows" for rows, ratio in decode_floors)
    )
    print(line)
    record.note(line)
    worst = sorted(cells, reverse=True)[:5]
    record.note("worst wall-clock cells: " + "; ".join(f"{case} {ratio:.2f}x" for ratio, case in worst))
    record.note(
        f"load average (1 min) on {os.cpu_count()} cores during the run: {min(loads):.1f} to {max(loads):.1f} "
        "(a machine shared by four engineers: wall-clock ratios move with it)"
    )
    record.write()


# --- ydata-profiling end to end: file to HTML report --------------------------------------------


def _mixed_table(rows: int) -> pa.Table:
    rng = np.random.default_rng(1)
    kinds = [k for k in COLUMN_TYPES if k != "all null"]
    return pa.table({f"c{i}_{k.split()[0]}": _column(k, rows, rng, rows) for i, k in enumerate(kinds)})


def bench_ydata(rows: int) -> None:
    path = WORKDIR / f"mixed_{rows}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(_mixed_table(rows), path)
    record = Results(
        "bench_profile_ydata",
        f"{rows:,}-row x 10-column Parquet file (the matrix's column types) to an HTML report, each side in a fresh "
        "process: `deepscope profile FILE -o report.html` against `pd.read_parquet` + "
        "`ProfileReport(df, minimal=True).to_file(...)`",
    )
    # ydata-profiling pins older numpy, pandas and scipy than the project's: it runs in a virtualenv
    # of its own (installed on first use), never in the project's.
    python, why = peer_venv("ydata-profiling")
    if python is None:
        print(f"ydata-profiling could not be installed ({why}); skipping the end-to-end comparison")
        record.note(f"ydata-profiling unavailable: {why}")
        record.write()
        return
    out = WORKDIR / "reports"
    out.mkdir(parents=True, exist_ok=True)
    # What the `deepscope` console script runs.
    cli = "import sys\nfrom deepscope.cli import main\nsys.exit(main(sys.argv[1:]))"
    ours_cmd = [sys.executable, "-c", cli, "profile", str(path), "-o", str(out / "deepscope.html")]
    ydata_code = textwrap.dedent(f"""
        import pandas as pd
        from ydata_profiling import ProfileReport
        frame = pd.read_parquet({str(path)!r})
        ProfileReport(frame, minimal=True, progress_bar=False).to_file({str(out / "ydata.html")!r})
    """)
    theirs_cmd = [str(python), "-c", ydata_code]
    times: dict[str, list[float]] = {"deepscope": [], "ydata": []}
    for _ in range(2):
        for name, cmd in (("deepscope", ours_cmd), ("ydata", theirs_cmd)):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, text=True)
            times[name].append(time.perf_counter() - start)
    ours, theirs = min(times["deepscope"]), min(times["ydata"])
    print(f"file to HTML report, {rows:,} rows: deepscope {ours:.2f} s, ydata-profiling (minimal) {theirs:.2f} s, ")
    print(f"  ratio deepscope / ydata {ours / theirs:.2f} (ydata / deepscope {theirs / ours:.1f}x)")
    record.add(
        "file to HTML report (whole process)",
        ours=ours,
        peer=theirs,
        peer_name="ydata-profiling (minimal)",
        peer_package=None,
        peer_version=peer_version("ydata-profiling"),
    )
    record.write()


# --- 100M rows on a Dask LocalCluster -----------------------------------------------------------

_REGIONS = None


def _dask_partition(seed: int, rows: int):
    import pandas as pd

    global _REGIONS
    if _REGIONS is None:
        _REGIONS = pd.CategoricalDtype([f"region-{i}" for i in range(50)])
    rng = np.random.default_rng(seed)
    # The cheapest generators numpy has: the partitions are made on the workers, inside the timing.
    return pd.DataFrame(
        {
            "amount": rng.random(rows) * 1000.0,
            "count": rng.integers(0, 20, rows),
            "score": rng.standard_normal(rows),
            "flag": rng.random(rows) < 0.3,
            "region": pd.Categorical.from_codes(rng.integers(0, 50, rows), dtype=_REGIONS),
        }
    )


def _peak_rss_kib() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def bench_dask(rows: int, workers: int = 2, memory_limit: str = "2GiB") -> None:
    import dask.dataframe as dd
    from dask.distributed import Client, LocalCluster

    import deepscope as ds

    per_partition = 1_000_000
    parts = [(seed, min(per_partition, rows - start)) for seed, start in enumerate(range(0, rows, per_partition))]
    meta = _dask_partition(0, 0)
    frame = dd.from_map(lambda part: _dask_partition(*part), parts, meta=meta)
    with (
        LocalCluster(n_workers=workers, threads_per_worker=1, memory_limit=memory_limit, processes=True) as cluster,
        Client(cluster) as client,
    ):
        start = time.perf_counter()
        profile = ds.data.profile(frame, engine="dask")
        elapsed = time.perf_counter() - start
        peaks = cast(dict, client.run(_peak_rss_kib))
    peak = max(peaks.values()) / 1024
    assert profile.rows == rows
    print(
        f"Dask LocalCluster ({workers} workers, 1 thread and {memory_limit} each): {rows:,} rows x 5 columns "
        f"(generated on the workers) in {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s; peak worker RSS {peak:.0f} MiB"
    )
    record = Results(
        "bench_profile_dask",
        f"{rows:,} generated rows x 5 columns (float, int, float, bool, categorical) in partitions of "
        f"{per_partition:,}, profiled on a Dask LocalCluster of {workers} worker processes (1 thread, "
        f"{memory_limit} memory limit each)",
    )
    record.note(f"{rows / elapsed:,.0f} rows/s ({elapsed:.1f} s for {rows:,} rows, generation on the workers included)")
    record.note(f"peak resident memory of a worker: {peak:.0f} MiB (limit {memory_limit})")
    record.write()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes", default="100000,1000000,10000000", help="rows per file of the matrix, comma-separated"
    )
    parser.add_argument("--no-matrix", action="store_true", help="skip the matrix of column types")
    parser.add_argument("--no-ydata", action="store_true", help="skip file to HTML report against ydata-profiling")
    parser.add_argument("--ydata-rows", type=int, default=100_000)
    parser.add_argument("--no-dask", action="store_true", help="skip 100M rows on a Dask LocalCluster (minutes)")
    parser.add_argument("--dask-rows", type=int, default=100_000_000)
    parser.add_argument("--wide", action="store_true", help="the 20-column file against DuckDB, pandas and peers")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the --wide file")
    parser.add_argument("--no-peers", action="store_true", help="--wide: skip whylogs and ydata-profiling")
    parser.add_argument("--large", action="store_true", help="--wide: also peak RSS on 10,000,000 rows")
    args = parser.parse_args()
    if not args.no_matrix:
        bench_matrix([int(s) for s in args.sizes.split(",") if s])
    if not args.no_ydata:
        bench_ydata(args.ydata_rows)
    if not args.no_dask:
        bench_dask(args.dask_rows)
    if args.wide:
        bench_wide(args)


if __name__ == "__main__":
    main()
