"""Benchmark: writing and reading 1,000,000 scalars, deepscope's run store against TensorBoard.

Side by side in one run, 10 tags x 100,000 steps:
- write: ``torch.utils.tensorboard.SummaryWriter.add_scalar`` (one call per point) against
  ``deepscope.Run.log`` (one call per step with a dict of the 10 tags, and one call per point);
- read: TensorBoard's ``EventAccumulator`` with ``size_guidance`` 0 (load everything) against
  ``open_logdir(...).scalars()`` (a DataFrame of every point).
Each phase runs in a fresh subprocess so its time excludes imports and its peak RSS is its own;
memory is reported as the peak RSS above what the process held before the phase started (after
imports and preparing the values). The values read back are checked to be the same on both sides
(TensorBoard stores float32, so deepscope's float64 values are compared after rounding).

Run: ``.venv/bin/python bench/bench_scalars.py [--scale 1.0] [--tags 10]``
(``--scale 0.1`` writes 100,000 scalars for a quick look.)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _results import Results

FULL_STEPS = 100_000


def _values(steps: int, tags: int) -> tuple[list[str], list[list[float]]]:
    names = [f"train/metric_{i}" for i in range(tags)]
    rows = np.random.default_rng(0).normal(size=(steps, tags)).tolist()
    return names, rows


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _digest(per_tag: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
    """Steps and float32-rounded values of every tag, hashed, to compare both readers."""
    digest = hashlib.sha256()
    for tag in sorted(per_tag):
        steps, values = per_tag[tag]
        digest.update(tag.encode())
        digest.update(np.asarray(steps, dtype=np.int64).tobytes())
        digest.update(np.asarray(values, dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]


def phase_tb_write(folder: Path, steps: int, tags: int) -> dict:
    from torch.utils.tensorboard import SummaryWriter

    names, rows = _values(steps, tags)
    before = _rss_mb()
    start = time.perf_counter()
    writer = SummaryWriter(str(folder / "tb"))
    add = writer.add_scalar
    for step in range(steps):
        row = rows[step]
        for column, name in enumerate(names):
            add(name, row[column], step)
    writer.close()
    return {"seconds": time.perf_counter() - start, "rss_mb": _rss_mb() - before}


def _ds_write(folder: Path, steps: int, tags: int, per_tag: bool) -> dict:
    from deepscope.track import Run

    names, rows = _values(steps, tags)
    before = _rss_mb()
    start = time.perf_counter()
    run = Run(folder / ("ds_per_tag" if per_tag else "ds"), name="bench")
    log = run.log
    if per_tag:
        for step in range(steps):
            row = rows[step]
            for column, name in enumerate(names):
                log({name: row[column]}, step)
    else:
        for step in range(steps):
            log(dict(zip(names, rows[step], strict=True)), step)
    run.finish()
    return {"seconds": time.perf_counter() - start, "rss_mb": _rss_mb() - before}


def phase_ds_write(folder: Path, steps: int, tags: int) -> dict:
    return _ds_write(folder, steps, tags, per_tag=False)


def phase_ds_write_per_tag(folder: Path, steps: int, tags: int) -> dict:
    return _ds_write(folder, steps, tags, per_tag=True)


def phase_tb_read(folder: Path, steps: int, tags: int) -> dict:
    from tensorboard.backend.event_processing import event_accumulator

    before = _rss_mb()
    start = time.perf_counter()
    accumulator = event_accumulator.EventAccumulator(str(folder / "tb"), size_guidance={event_accumulator.SCALARS: 0})
    accumulator.Reload()
    events = {tag: accumulator.Scalars(tag) for tag in accumulator.Tags()["scalars"]}
    seconds = time.perf_counter() - start
    points = sum(len(e) for e in events.values())
    per_tag = {tag: ([x.step for x in e], [x.value for x in e]) for tag, e in events.items()}
    return {
        "seconds": seconds,
        "rss_mb": _rss_mb() - before,
        "points": points,
        "digest": _digest(per_tag),
    }


def phase_ds_read(folder: Path, steps: int, tags: int) -> dict:
    from deepscope.track import open_logdir

    before = _rss_mb()
    start = time.perf_counter()
    frame = open_logdir(folder / "ds").scalars()
    seconds = time.perf_counter() - start
    per_tag = {
        tag: (group["step"].to_numpy(), group["value"].to_numpy()) for tag, group in frame.groupby("tag", sort=False)
    }
    return {
        "seconds": seconds,
        "rss_mb": _rss_mb() - before,
        "points": len(frame),
        "digest": _digest(per_tag),
    }


PHASES = {
    "tb_write": phase_tb_write,
    "ds_write": phase_ds_write,
    "ds_write_per_tag": phase_ds_write_per_tag,
    "tb_read": phase_tb_read,
    "ds_read": phase_ds_read,
}


def _run_phase(name: str, folder: Path, steps: int, tags: int) -> dict:
    completed = subprocess.run(
        [
            sys.executable,
            __file__,
            "--phase",
            name,
            "--dir",
            str(folder),
            "--steps",
            str(steps),
            "--tags",
            str(tags),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"phase {name} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 100,000 steps (default 1.0)")
    parser.add_argument("--tags", type=int, default=10)
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(PHASES[args.phase](args.dir, args.steps, args.tags)))
        return

    steps = max(1, round(FULL_STEPS * args.scale))
    total = steps * args.tags
    folder = Path(tempfile.mkdtemp(prefix="deepscope-bench-scalars-"))
    print(f"{total:,} scalars ({args.tags} tags x {steps:,} steps), one subprocess per phase, in {folder}")
    try:
        results = {}
        for name in PHASES:
            results[name] = _run_phase(name, folder, steps, args.tags)
            print(f"  {name:18s} {results[name]['seconds']:8.2f} s", flush=True)
        sizes = {"tb": _size_mb(folder / "tb"), "ds": _size_mb(folder / "ds")}
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    tb_write, tb_read = results["tb_write"]["seconds"], results["tb_read"]["seconds"]
    rows = [
        ("write", "TensorBoard SummaryWriter.add_scalar", "tb_write", tb_write),
        ("write", "deepscope Run.log(dict of all tags)", "ds_write", tb_write),
        ("write", "deepscope Run.log({tag: value})", "ds_write_per_tag", tb_write),
        ("read", "TensorBoard EventAccumulator (all)", "tb_read", tb_read),
        ("read", "deepscope open_logdir().scalars()", "ds_read", tb_read),
    ]
    print()
    header = f"| {'':5} | {'method':38} | {'time (s)':>9} | {'points/s':>11} | "
    print(header + f"{'peak RSS +MiB':>13} | {'vs TensorBoard':>14} |")
    print(f"|{'-' * 7}|{'-' * 40}|{'-' * 11}|{'-' * 13}|{'-' * 15}|{'-' * 16}|")
    for kind, label, key, reference in rows:
        seconds = results[key]["seconds"]
        print(
            f"| {kind:5} | {label:38} | {seconds:9.3f} | {total / seconds:11,.0f} | "
            f"{results[key]['rss_mb']:13.1f} | {reference / seconds:13.1f}x |"
        )
    print()
    print(f"on disk: TensorBoard {sizes['tb']:.1f} MiB, deepscope {sizes['ds']:.1f} MiB")
    record = Results(
        "bench_scalars", f"{total:,} scalars ({args.tags} tags x {steps:,} steps), one subprocess per phase"
    )
    for kind, label, key, _ in rows:
        if not key.startswith("ds_"):
            continue
        peer_key = "tb_read" if kind == "read" else "tb_write"
        peer_label = "TensorBoard " + ("EventAccumulator" if kind == "read" else "SummaryWriter")
        record.add(
            f"{kind}: {label}",
            ours=results[key]["seconds"],
            peer=results[peer_key]["seconds"],
            peer_name=peer_label,
            peer_package="tensorboard",
        )
        if kind == "read":  # a write's extra memory is within the noise of the measurement
            record.add(
                f"{kind}: {label}",
                ours=results[key]["rss_mb"],
                peer=results[peer_key]["rss_mb"],
                peer_name=peer_label,
                peer_package="tensorboard",
                quantity="added peak RSS",
                unit="MiB",
            )
    record.add(
        "on disk",
        ours=sizes["ds"],
        peer=sizes["tb"],
        peer_name="TensorBoard event files",
        peer_package="tensorboard",
        quantity="size",
        unit="MiB",
    )
    same = results["tb_read"]["digest"] == results["ds_read"]["digest"]
    points = (results["tb_read"]["points"], results["ds_read"]["points"])
    print(
        f"points read: TensorBoard {points[0]:,}, deepscope {points[1]:,}; "
        f"values identical after float32 rounding: {'yes' if same else 'NO'}"
    )
    if not same or points[0] != points[1]:
        sys.exit(1)
    record.note(f"both read back the same {points[1]:,} points (identical after float32 rounding)")
    record.write()


if __name__ == "__main__":
    main()
