"""Reader behaviour: empty and missing logdirs, run selection, version(), last points."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope.errors import LogdirError, NotFoundError
from deepscope.track import Logdir, Run, open_logdir


def test_missing_logdir_is_a_clear_error(tmp_path):
    with pytest.raises(LogdirError, match="does not exist"):
        open_logdir(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(LogdirError, match="not a folder"):
        open_logdir(tmp_path / "file")


def test_empty_logdir_has_no_runs_and_empty_frames(tmp_path):
    logdir = open_logdir(tmp_path)
    assert isinstance(logdir, Logdir)
    assert logdir.run_names() == []
    assert len(logdir.runs()) == 0 and "status" in logdir.runs().columns
    assert logdir.scalar_tags() == []
    scalars = logdir.scalars()
    assert list(scalars.columns) == ["run", "tag", "step", "wall_time", "value"] and len(scalars) == 0
    assert list(logdir.last_scalars().columns)[:4] == ["run", "tag", "step", "value"]
    assert list(logdir.hparams().columns) == ["run"]
    assert len(logdir.histograms("w")) == 0


def test_unrelated_folders_and_files_are_ignored(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "readme.txt").write_text("hi")
    (tmp_path / ".half-written.tmp").mkdir()
    with Run(tmp_path, name="r") as run:
        run.log({"a": 1.0})
    assert open_logdir(tmp_path).run_names() == ["r"]


def test_runs_and_tags_can_be_selected(tmp_path):
    for name in ("first", "second"):
        with Run(tmp_path, name=name) as run:
            for step in range(3):
                run.log({"loss": step + (name == "second"), f"{name}/only": 1.0})
    logdir = open_logdir(tmp_path)
    assert logdir.run_names() == ["first", "second"]  # oldest first
    assert logdir.scalar_tags() == ["first/only", "loss", "second/only"]
    assert logdir.scalar_tags(runs="first") == ["first/only", "loss"]
    frame = logdir.scalars(tags=["loss"], runs=["second"])
    assert frame["run"].tolist() == ["second"] * 3 and frame["value"].tolist() == [1.0, 2.0, 3.0]
    last = logdir.last_scalars(tags="loss")
    assert last[["run", "step", "value"]].values.tolist() == [["first", 2, 2.0], ["second", 2, 3.0]]
    with pytest.raises(NotFoundError, match="third"):
        logdir.scalars(runs=["third"])


def test_named_runs_are_read_from_where_they_are_now(tmp_path):
    """Reading named runs skips listing the whole logdir while each run's index is the file the
    last listing found; a run deleted, or deleted and written again, since then is seen."""
    import shutil

    for name in ("a", "b"):
        with Run(tmp_path, name=name) as run:
            run.log({"loss": 1.0})
    logdir = open_logdir(tmp_path)
    assert logdir.scalars(runs=["a", "b"])["value"].tolist() == [1.0, 1.0]
    shutil.rmtree(tmp_path / "a")
    with Run(tmp_path, name="a") as run:  # the same name in a new index file
        run.log({"loss": 5.0})
    assert logdir.scalars(runs=["a"])["value"].tolist() == [5.0]
    shutil.rmtree(tmp_path / "b")
    with pytest.raises(NotFoundError, match="'b'"):
        logdir.scalars(runs=["b"])
    assert logdir.run_names() == ["a"]


def test_version_changes_with_every_commit_and_only_then(tmp_path):
    logdir = open_logdir(tmp_path)
    seen = [logdir.version()]
    run = Run(tmp_path, name="r")
    seen.append(logdir.version())
    for step in range(5):
        run.log({"a": float(step)})
        run.flush()
        seen.append(logdir.version())
    run.log_histogram("h", np.arange(10))
    seen.append(logdir.version())
    run.finish()
    seen.append(logdir.version())
    assert len(set(seen)) == len(seen)
    # a JavaScript number holds it exactly, so the dashboard's poll compares it faithfully
    assert all(0 <= v < 2**53 for v in seen)
    open_logdir(tmp_path).scalars()  # reading changes nothing
    assert logdir.version() == seen[-1] == logdir.version()


def test_a_logdir_removed_while_open_is_a_clear_error(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    logdir = open_logdir(folder)
    folder.rmdir()
    with pytest.raises(LogdirError, match="no longer exists"):
        logdir.runs()
    with pytest.raises(LogdirError, match="no longer exists"):
        logdir.version()


def test_a_hyperparameter_called_run_keeps_the_run_names(tmp_path):
    with Run(tmp_path, name="first", hparams={"lr": 0.1}) as run:
        run.log_hparams({"run": 3})
    with Run(tmp_path, name="second", hparams={"run": "seed-7", "run (hparam)": "taken"}):
        pass
    with Run(tmp_path, name="third", hparams={"lr": 0.01}):
        pass
    table = open_logdir(tmp_path).hparams()
    assert table["run"].tolist() == ["first", "second", "third"]
    assert table.columns.tolist() == ["run", "lr", "run (hparam 2)", "run (hparam)"]
    # Each value stays with its run and its own key: the hyper-parameter "run (hparam)" is not
    # overwritten by the one called "run".
    assert table["run (hparam 2)"].tolist()[:2] == [3, "seed-7"]
    assert table["run (hparam)"].tolist()[1] == "taken"
    assert table[["run (hparam 2)", "run (hparam)"]].iloc[2].isna().all()  # "third" has neither
    assert table["lr"].tolist()[::2] == [0.1, 0.01]


def test_a_hyperparameter_called_run_is_the_column_run_hparam(tmp_path):
    with Run(tmp_path, name="a", hparams={"lr": 0.1}) as run:
        run.log_hparams({"run": 3})
    table = open_logdir(tmp_path).hparams()
    assert table.to_dict("records") == [{"run": "a", "lr": 0.1, "run (hparam)": 3}]
