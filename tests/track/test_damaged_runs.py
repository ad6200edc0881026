"""A damaged, malformed or oddly named run stays local: every other run keeps working (issue 16)."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import deepscope as ds
from deepscope.errors import LogdirError
from deepscope.track import run as run_module

PAGE = 16384  # the page size run indexes are created with


def _good(logdir: Path) -> None:
    with ds.Run(logdir, name="good", hparams={"lr": 0.1}) as run:
        run.log({"loss": 1.0}, step=0)
        run.log({"loss": 0.5}, step=1)


def _damage_scalars(logdir: Path, name: str = "bad") -> Path:
    """A run whose scalar table's root page is overwritten: its info stays readable."""
    with ds.Run(logdir, name=name, hparams={"lr": 0.2}) as run:
        for step in range(300):
            run.log({f"t{j}": float(step) for j in range(20)}, step=step)
    db = logdir / name / "run.sqlite"
    with sqlite3.connect(db) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name='scalar_chunks'").fetchone()[0]
    with open(db, "r+b") as file:
        file.seek((root - 1) * PAGE)
        file.write(b"\xa5" * PAGE)
    return db


def test_damaged_run_is_skipped_by_readers_and_listed_as_damaged(tmp_path, caplog):
    _good(tmp_path)
    _damage_scalars(tmp_path)
    logdir = ds.open_logdir(tmp_path)
    with caplog.at_level(logging.WARNING, logger="deepscope.track.logdir"):
        scalars = logdir.scalars()
        assert set(scalars["run"]) == {"good"}
        assert scalars["value"].tolist() == [1.0, 0.5]
        assert logdir.scalar_tags() == ["loss"]
        assert logdir.last_scalars()["run"].tolist() == ["good"]
    assert any("damaged" in record.getMessage() for record in caplog.records)
    runs = logdir.runs().set_index("run")
    assert runs.loc["bad", "status"] == "damaged"
    assert "malformed" in runs.loc["bad", "problem"]
    assert runs.loc["good", "status"] == "finished" and runs.loc["good", "problem"] == ""
    assert logdir.hparams().set_index("run").loc["good", "lr"] == 0.1


def test_run_with_unreadable_index_is_listed_and_others_work(tmp_path):
    _good(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "run.sqlite").write_bytes(b"not a database at all" * 1000)
    logdir = ds.open_logdir(tmp_path)
    runs = logdir.runs().set_index("run")
    assert runs.loc["broken", "status"] == "damaged"
    assert logdir.scalars()["run"].unique().tolist() == ["good"]
    assert list(logdir.hparams()["run"]) == ["good"]
    assert isinstance(logdir.version(), int)


def test_hparams_and_meta_that_are_not_json_do_not_break_runs(tmp_path):
    _good(tmp_path)
    with ds.Run(tmp_path, name="odd", meta={"source": "x"}) as run:
        run.log({"loss": 2.0})
    with sqlite3.connect(tmp_path / "odd" / "run.sqlite") as conn:
        conn.execute("UPDATE info SET hparams='{not json'")
        conn.execute("UPDATE meta SET value='[1,' WHERE key='source'")
    logdir = ds.open_logdir(tmp_path)
    runs = logdir.runs().set_index("run")
    assert runs.loc["odd", "hparams"] == {}
    assert runs.loc["odd", "meta"] == {"source": None}
    assert "hparams is not valid JSON" in runs.loc["odd", "problem"]
    assert "meta 'source' is not valid JSON" in runs.loc["odd", "problem"]
    frame = logdir.hparams().set_index("run")
    assert frame.loc["good", "lr"] == 0.1 and "odd" in frame.index
    assert sorted(logdir.scalars()["run"].unique()) == ["good", "odd"]


@pytest.mark.skipif(os.name != "posix", reason="bytes file names are a POSIX thing")
def test_run_folder_and_logdir_that_are_not_utf8(tmp_path):
    parent = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"logs-\xff")))
    _good(parent)
    os.rename(parent / "good", Path(os.fsdecode(os.path.join(os.fsencode(parent), b"run-\xfe"))))
    _good(parent)
    logdir = ds.open_logdir(parent)
    assert isinstance(logdir.version(), int)
    runs = logdir.runs()
    assert len(runs) == 2 and set(runs["status"]) == {"finished"}
    for path in runs["path"]:
        path.encode("utf-8")  # printable: undecodable bytes are shown as U+FFFD
    assert len(logdir.scalars()) == 4
    assert len(logdir.hparams()) == 2


def test_second_writer_of_an_open_run_is_refused(tmp_path):
    first = ds.Run(tmp_path, name="a", hparams={"lr": 0.1})
    with pytest.raises(LogdirError, match="open for writing"):
        ds.Run(tmp_path, name="a", resume=True)
    first.log_hparams({"batch": 32})
    first.finish()
    again = ds.Run(tmp_path, name="a", resume=True, hparams={"seed": 1})
    again.log_hparams({"depth": 2})
    again.finish()
    stored = ds.open_logdir(tmp_path).runs().set_index("run").loc["a", "hparams"]
    assert stored == {"lr": 0.1, "batch": 32, "seed": 1, "depth": 2}


def test_log_hparams_merges_with_the_index_not_a_stale_copy(tmp_path):
    run = ds.Run(tmp_path, name="a", hparams={"lr": 0.1})
    with sqlite3.connect(tmp_path / "a" / "run.sqlite") as conn:  # another writer's key
        conn.execute("""UPDATE info SET hparams='{"lr": 0.1, "seed": 3}'""")
    run.log_hparams({"batch": 8})
    run.finish()
    stored = ds.open_logdir(tmp_path).runs().loc[0, "hparams"]
    assert stored == {"lr": 0.1, "seed": 3, "batch": 8}


def test_resuming_a_damaged_run_is_a_typed_error(tmp_path):
    _damage_scalars(tmp_path)
    db = tmp_path / "bad" / "run.sqlite"
    with open(db, "r+b") as file:  # now the info page too
        file.seek(PAGE)
        file.write(b"\x5a" * PAGE)
    with pytest.raises(LogdirError, match="damaged"):
        ds.Run(tmp_path, name="bad", resume=True)
    with ds.Run(tmp_path, name="bad2") as other:  # the lock of the refused run was let go
        other.log({"x": 1.0})


class _FullDisk:
    """A writer connection whose writes fail as SQLite's do on a full disk."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, *args: object) -> object:
        if sql.startswith(("INSERT", "UPDATE")):
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, *args)

    def executemany(self, sql: str, *args: object) -> object:
        raise sqlite3.OperationalError("database or disk is full")

    def close(self) -> None:
        self._conn.close()


def test_full_disk_is_a_typed_error_and_one_line_at_exit(tmp_path, caplog, monkeypatch):
    run = ds.Run(tmp_path, name="a")
    run._conn = _FullDisk(run._conn)
    with pytest.raises(LogdirError, match="disk is full"):
        run.log_histogram("h", np.arange(10.0))
    with pytest.raises(LogdirError, match="disk is full"):
        run.log_hparams({"lr": 1})
    run.log({"loss": 1.0})
    with pytest.raises(LogdirError, match="disk is full"):
        run.flush()

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_module.np, "save", no_space)
    with pytest.raises(LogdirError, match="No space left"):
        run.log_image("img", np.zeros((4, 4)))
    assert not any((tmp_path / "a" / "images").glob("*.tmp"))
    with caplog.at_level(logging.ERROR, logger="deepscope.track.run"):
        run._at_exit()
    [record] = [r for r in caplog.records if "at exit" in r.getMessage()]
    assert record.exc_info is None and "disk is full" in record.getMessage()
    run._conn = run._conn._conn  # the disk has room again: the run closes normally
    monkeypatch.undo()
    run.finish()
    assert ds.open_logdir(tmp_path).runs()["status"].tolist() == ["finished"]


def test_dashboard_readers_keep_working_with_a_damaged_run(tmp_path):
    from deepscope.app.pages import runs as runs_page
    from deepscope.app.pages.runs import runs_table
    from deepscope.app.plugin import AppContext
    from deepscope.app.series import SeriesSource

    _good(tmp_path)
    _damage_scalars(tmp_path)
    logdir = ds.open_logdir(tmp_path)
    runs, last = runs_page._read(AppContext(tmp_path, logdir))
    table = runs_table(runs, last)
    rows = {row["run"]: (row, tip) for row, tip in zip(table.rows, table.tooltips, strict=True)}
    assert rows["bad"][0]["status"] == "damaged" and "malformed" in rows["bad"][1]["status"]
    assert rows["good"][0]["status"] == "finished"
    source = SeriesSource(logdir)
    assert "loss" in source.tags()  # tags may still come from the intact tag index
    series = source.series(["loss"], source.run_names())
    assert list(series) == [("good", "loss")]
