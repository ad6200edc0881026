"""The run summaries a Logdir keeps (in memory and in ``.deepscope/summaries.json``): never stale
after a write, new runs appear, damaged runs stay damaged, a bad index file is ignored."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deepscope as ds
from deepscope.track import _db
from deepscope.track._summary import INDEX_DIR, INDEX_FILE

RUNS = ("a", "b", "c")
TAGS = ("loss", "acc")

# One step of a workload: (run, what, tag, value)
operations = st.lists(
    st.tuples(
        st.sampled_from(RUNS),
        st.sampled_from(["log", "hparams", "histogram", "image", "finish"]),
        st.sampled_from(TAGS),
        st.floats(-1e6, 1e6, allow_nan=False),
    ),
    min_size=1,
    max_size=8,
)


def _index(folder: Path) -> Path:
    return folder / INDEX_DIR / INDEX_FILE


def _expected_last(model: dict) -> dict:
    return {(run, tag): point for run, state in model.items() for tag, point in state["last"].items()}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_cached_listings_match_every_write(tmp_path_factory, ops):
    folder = tmp_path_factory.mktemp("logs")
    reader = ds.open_logdir(folder)  # lives through every write, as the dashboard's does
    writers: dict[str, ds.Run] = {}
    model: dict[str, dict] = {}
    try:
        for run, what, tag, value in ops:
            state = model.setdefault(run, {"last": {}, "hparams": {}, "status": "running", "kinds": set()})
            if state["status"] == "finished":
                continue
            writer = writers.get(run) or writers.setdefault(run, ds.Run(folder, name=run))
            if what == "log":
                writer.log({tag: value})
                writer.flush()
                state["last"][tag] = (writer.step, value)
            elif what == "hparams":
                writer.log_hparams({tag: value})
                state["hparams"][tag] = value
            elif what == "histogram":
                writer.log_histogram(tag, np.arange(4.0))
                state["kinds"].add(("histograms", tag))
            elif what == "image":
                writer.log_image(tag, np.zeros((2, 2)))
                state["kinds"].add(("images", tag))
            else:
                writer.finish()
                state["status"] = "finished"
            # The long-lived reader and a fresh one (starting from the index file) see the write.
            for logdir in (reader, ds.open_logdir(folder)):
                last = logdir.last_scalars()
                rows = last[["run", "tag", "step", "value"]].values.tolist()
                got = {(r, t): (s, v) for r, t, s, v in rows}
                assert got == _expected_last(model)
                runs = logdir.runs().set_index("run")
                assert sorted(runs.index) == sorted(model)
                for name, expected in model.items():
                    assert runs.loc[name, "hparams"] == expected["hparams"]
                    assert runs.loc[name, "status"] == expected["status"]
                for kind in ("scalars", "histograms", "images"):
                    wanted = {
                        name: sorted(
                            set(expected["last"])
                            if kind == "scalars"
                            else {t for k, t in expected["kinds"] if k == kind}
                        )
                        for name, expected in model.items()
                    }
                    assert logdir.tags_by_run(kind) == wanted
            reader._summaries.save(wait=True)
    finally:
        for writer in writers.values():
            writer.finish()


WRITER = textwrap.dedent(
    """
    import sys
    from deepscope.track import Run

    run = Run(sys.argv[1], name="other-process")
    for step in range(200):
        run.log({"loss": float(step)}, step=step)
        if step % 10 == 0:
            run.flush()
    run.finish()
    """
)


def test_a_run_written_by_another_process_is_never_stale(tmp_path):
    reader = ds.open_logdir(tmp_path)
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)])
    seen = []
    while process.poll() is None:
        last = reader.last_scalars()
        if len(last):
            seen.append(int(last["step"].iloc[0]))
        reader._summaries.save(wait=True)
    assert process.wait() == 0
    assert seen == sorted(seen)  # only ever forward
    # Once the writer is done, both the long-lived reader and a fresh one see its last point.
    for logdir in (reader, ds.open_logdir(tmp_path)):
        last = logdir.last_scalars()
        assert last[["run", "tag", "step", "value"]].values.tolist() == [["other-process", "loss", 199, 199.0]]
        assert logdir.runs()["status"].tolist() == ["finished"]


def test_a_fresh_reader_starts_from_the_index_without_opening_the_runs(tmp_path, monkeypatch):
    for name in RUNS:
        with ds.Run(tmp_path, name=name, hparams={"lr": 0.1}) as run:
            run.log({"loss": 1.0}, step=3)
    first = ds.open_logdir(tmp_path)
    expected = first.last_scalars()
    first._summaries.save(wait=True)
    assert _index(tmp_path).exists()

    opened = []
    real_read = _db.read
    monkeypatch.setattr(_db, "read", lambda path, query: opened.append(path) or real_read(path, query))
    fresh = ds.open_logdir(tmp_path)
    assert fresh.last_scalars().equals(expected)
    assert fresh.runs()["run"].tolist() == list(RUNS)
    assert opened == []  # every summary came from the index file
    with ds.Run(tmp_path, name="d") as run:  # a new run appears; only it is read
        run.log({"loss": 2.0})
    assert fresh.run_names() == [*RUNS, "d"]
    assert fresh.tags_by_run()["d"] == ["loss"]
    assert len({str(path) for path in opened}) == 1


def test_a_run_damaged_after_it_was_indexed_is_reported_damaged(tmp_path):
    from tests.track.test_damaged_runs import PAGE

    with ds.Run(tmp_path, name="good") as run:
        run.log({"loss": 1.0})
    with ds.Run(tmp_path, name="bad") as run:
        for step in range(300):
            run.log({f"t{j}": float(step) for j in range(20)}, step=step)
    first = ds.open_logdir(tmp_path)
    assert set(first.last_scalars()["run"]) == {"good", "bad"}
    first._summaries.save(wait=True)
    db = tmp_path / "bad" / "run.sqlite"
    with sqlite3.connect(db) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name='scalar_chunks'").fetchone()[0]
    with open(db, "r+b") as file:  # the same size: only its mtime tells the index it changed
        file.seek((root - 1) * PAGE)
        file.write(b"\xa5" * PAGE)
    for logdir in (first, ds.open_logdir(tmp_path)):
        runs = logdir.runs().set_index("run")
        assert runs.loc["bad", "status"] == "damaged" and runs.loc["good", "status"] == "finished"
        assert logdir.last_scalars()["run"].tolist() == ["good"]


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        json.dumps({"format": 99, "runs": {}}),
        json.dumps({"format": 1, "runs": {"a": [[1, 2, 3], ["x"]], "b": "nonsense"}}),
        json.dumps({"format": 1, "runs": {"a": [[0, 0, 0], ["a", 0, [1, 2], [], {}, [["loss", 1, 2.0]]]]}}),
        "[" * 100_000,
    ],
)
def test_a_malformed_index_file_is_ignored(tmp_path, content):
    with ds.Run(tmp_path, name="a", hparams={"lr": 0.5}) as run:
        run.log({"loss": 0.25}, step=7)
    _index(tmp_path).parent.mkdir()
    _index(tmp_path).write_text(content)
    logdir = ds.open_logdir(tmp_path)
    assert logdir.last_scalars()[["run", "tag", "step", "value"]].values.tolist() == [["a", "loss", 7, 0.25]]
    assert logdir.runs().loc[0, "hparams"] == {"lr": 0.5}


def test_an_index_with_a_forged_signature_for_another_inode_is_not_used(tmp_path):
    with ds.Run(tmp_path, name="a") as run:
        run.log({"loss": 1.0}, step=1)
    first = ds.open_logdir(tmp_path)
    first.last_scalars()
    first._summaries.save(wait=True)
    # The run is replaced by another of the same name (a new index file, a new inode).
    shutil.rmtree(tmp_path / "a")
    with ds.Run(tmp_path, name="a") as run:
        run.log({"loss": 5.0}, step=9)
    last = ds.open_logdir(tmp_path).last_scalars()
    assert last[["step", "value"]].values.tolist() == [[9, 5.0]]


def test_an_unwritable_logdir_keeps_the_summaries_in_memory(tmp_path, monkeypatch):
    with ds.Run(tmp_path, name="a") as run:
        run.log({"loss": math.pi})
    (tmp_path / INDEX_DIR).write_text("a file where the index folder would go")
    logdir = ds.open_logdir(tmp_path)
    assert logdir.last_scalars()["value"].tolist() == [math.pi]
    logdir._summaries.save(wait=True)  # cannot write: no error, nothing written
    assert logdir.last_scalars()["value"].tolist() == [math.pi]
    assert not logdir._summaries._writable
