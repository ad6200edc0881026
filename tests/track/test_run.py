"""Writer round trips: what a Run logs is what a Logdir reads back."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from deepscope.errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    LogdirError,
    ShapeError,
)
from deepscope.track import Run, open_logdir


def test_scalars_round_trip_exactly_including_nan_and_inf(tmp_path):
    values = [0.1, -0.0, 1e-310, 1e308, math.nan, math.inf, -math.inf, 1 / 3]
    with Run(tmp_path, name="r") as run:
        for step, value in enumerate(values):
            run.log({"x": value, "y": step}, step=step)
            if step == 3:
                run.flush()  # spread the points over several chunks
    frame = open_logdir(tmp_path).scalars(tags="x")
    assert frame["step"].tolist() == list(range(len(values)))
    stored = frame["value"].to_numpy()
    np.testing.assert_array_equal(stored, np.array(values))  # NaN == NaN here, bit-exact otherwise
    assert np.signbit(stored[1])  # -0.0 kept
    assert frame["value"].dtype == np.float64 and frame["step"].dtype == np.int64


def test_many_points_keep_logging_order_across_flushes(tmp_path):
    with Run(tmp_path, name="r") as run:
        for step in range(5000):
            run.log({"a": step * 0.5} if step % 7 else {"a": step * 0.5, "b": -step}, step=step)
            if step % 1234 == 0:
                run.flush()
    frame = open_logdir(tmp_path).scalars()
    a = frame[frame["tag"] == "a"]
    b = frame[frame["tag"] == "b"]
    np.testing.assert_array_equal(a["step"], np.arange(5000))
    np.testing.assert_array_equal(a["value"], np.arange(5000) * 0.5)
    np.testing.assert_array_equal(b["step"], np.arange(0, 5000, 7))
    np.testing.assert_array_equal(b["value"], -np.arange(0, 5000, 7.0))


def test_values_of_other_numeric_types_are_stored_as_floats(tmp_path):
    torch = pytest.importorskip("torch")
    with Run(tmp_path, name="r") as run:
        run.log(
            {
                "int": 3,
                "np32": np.float32(0.25),
                "np64": np.int64(7),
                "bool": True,
                "tensor": torch.tensor(1.5),
                "array": np.array([2.5]),
            }
        )
    last = open_logdir(tmp_path).last_scalars().set_index("tag")["value"].to_dict()
    assert last == {"int": 3.0, "np32": 0.25, "np64": 7.0, "bool": 1.0, "tensor": 1.5, "array": 2.5}


def test_step_auto_increments_from_the_previous_step(tmp_path):
    with Run(tmp_path, name="r") as run:
        run.log({"a": 1.0})
        run.log({"a": 1.0})
        run.log({"a": 1.0}, step=10)
        run.log({"a": 1.0})
        assert run.step == 11
    assert open_logdir(tmp_path).scalars()["step"].tolist() == [0, 1, 10, 11]


def test_a_caller_reusing_its_dict_does_not_change_logged_points(tmp_path):
    values = {"a": 1.0}
    with Run(tmp_path, name="r") as run:
        run.log(values)
        values["a"] = 2.0
        run.log(values)
    assert open_logdir(tmp_path).scalars()["value"].tolist() == [1.0, 2.0]


def test_status_finished_on_normal_exit_and_failed_on_exception(tmp_path):
    with Run(tmp_path, name="ok") as run:
        run.log({"a": 1.0})
    with pytest.raises(RuntimeError), Run(tmp_path, name="broken") as run:
        run.log({"a": 1.0})
        raise RuntimeError("boom")
    runs = open_logdir(tmp_path).runs().set_index("run")
    assert runs.loc["ok", "status"] == "finished"
    assert runs.loc["broken", "status"] == "failed"
    assert (runs["end_time"] >= runs["start_time"]).all()
    assert (runs["duration"] >= 0).all()
    # what was logged before the exception is kept
    assert len(open_logdir(tmp_path).scalars(runs="broken")) == 1


def test_logging_after_finish_is_refused(tmp_path):
    run = Run(tmp_path, name="r")
    run.finish()
    run.finish()  # idempotent
    with pytest.raises(LogdirError, match="finished"):
        run.log({"a": 1.0})


def test_histogram_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal(size=1000)
    values[:3] = [np.nan, np.inf, -np.inf]
    with Run(tmp_path, name="r") as run:
        run.log_histogram("w", values, step=4, bins=20)
        run.log_histogram("w", values[3:] * 2, step=9)
    frame = open_logdir(tmp_path).histograms("w")
    assert frame["step"].tolist() == [4, 9]
    first = frame.iloc[0]
    counts, edges = np.histogram(values[3:], bins=20)
    np.testing.assert_array_equal(first["edges"], edges)
    np.testing.assert_array_equal(first["counts"], counts)
    assert (first["count"], first["nan_count"], first["inf_count"]) == (997, 1, 2)
    assert first["min"] == values[3:].min() and first["max"] == values[3:].max()
    assert first["sum"] == pytest.approx(values[3:].sum())
    assert frame.iloc[1]["counts"].sum() == 997 and len(frame.iloc[1]["edges"]) == 65


def test_images_round_trip_in_every_layout(tmp_path):
    rng = np.random.default_rng(0)
    gray = rng.random((5, 7))
    rgb = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    chw = rng.random((3, 5, 7)).astype(np.float32)
    with Run(tmp_path, name="r") as run:
        run.log_image("gray", gray, step=1)
        run.log_image("rgb", rgb, step=2)
        run.log_image("rgb", chw, step=3)
    logdir = open_logdir(tmp_path)
    [(step, image)] = logdir.images("gray", "r")
    assert step == 1 and image.dtype == np.uint8
    np.testing.assert_array_equal(image, np.round(gray * 255).astype(np.uint8))
    records = logdir.images("rgb", "r")
    assert [r.step for r in records] == [2, 3]
    np.testing.assert_array_equal(records[0].image, rgb)
    np.testing.assert_array_equal(records[1].image, np.round(chw.transpose(1, 2, 0) * 255).astype(np.uint8))
    assert [r.step for r in logdir.images("rgb", "r", step=3)] == [3]
    assert logdir.image_tags() == ["gray", "rgb"]


def test_embeddings_round_trip_with_metadata(tmp_path):
    vectors = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    labels = ["a", "b", "a", "c", "b", "a"]
    frame = pd.DataFrame({"label": labels, "score": np.arange(6.0)})
    with Run(tmp_path, name="r") as run:
        run.log_embedding("emb", vectors, labels, step=1)
        run.log_embedding("emb", vectors * 2, frame, step=2)
        run.log_embedding("plain", vectors)
    logdir = open_logdir(tmp_path)
    first, second = logdir.embeddings("emb", "r")
    np.testing.assert_array_equal(first.vectors, vectors)
    assert first.vectors.dtype == np.float32
    assert first.metadata["label"].tolist() == labels
    np.testing.assert_array_equal(second.vectors, vectors * 2)
    pd.testing.assert_frame_equal(second.metadata, frame)
    assert logdir.embeddings("plain", "r")[0].metadata is None
    assert logdir.embedding_tags() == ["emb", "plain"]


def test_tables_round_trip_and_a_second_log_replaces(tmp_path):
    table = pd.DataFrame(
        {
            "text": ["good", "bad", None],
            "label": np.array([1, 0, 1], dtype=np.int64),
            "prob": [0.9, np.nan, 0.4],
            "when": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
        }
    )
    with Run(tmp_path, name="r") as run:
        run.log_table("predictions", table.iloc[:1])
        run.log_table("predictions", table)
    logdir = open_logdir(tmp_path)
    assert logdir.tables("r") == ["predictions"]
    pd.testing.assert_frame_equal(logdir.table("r", "predictions"), table)
    assert len(list((tmp_path / "r" / "tables").iterdir())) == 1  # the replaced file is gone


def test_hparams_and_meta_round_trip(tmp_path):
    with Run(
        tmp_path,
        name="a",
        hparams={"lr": 0.1, "optim": {"name": "adam", "beta": 0.9}},
        meta={"git": "abc"},
    ) as run:
        run.set_meta("dataset", {"name": "shapes", "n": np.int64(2000)})
    with Run(tmp_path, name="b", hparams={"lr": 0.01, "layers": 3}):
        pass
    logdir = open_logdir(tmp_path)
    runs = logdir.runs().set_index("run")
    assert runs.loc["a", "hparams"] == {"lr": 0.1, "optim": {"name": "adam", "beta": 0.9}}
    assert runs.loc["a", "meta"] == {"git": "abc", "dataset": {"name": "shapes", "n": 2000}}
    table = logdir.hparams().set_index("run")
    assert table.loc["a", "optim.name"] == "adam" and table.loc["b", "layers"] == 3
    assert math.isnan(table.loc["a", "layers"])


@pytest.mark.parametrize(
    ("call", "error", "argument"),
    [
        (lambda r: r.log({"loss": "0.3"}), ArgumentTypeError, "values['loss']"),
        (lambda r: r.log({"loss": [1.0, 2.0]}), ArgumentTypeError, "values['loss']"),
        (lambda r: r.log({"loss": np.ones(3)}), ShapeError, "values['loss']"),
        (lambda r: r.log({"loss": 1 + 2j}), ArgumentTypeError, "values['loss']"),
        (lambda r: r.log({3: 1.0}), ArgumentTypeError, "values key"),
        (lambda r: r.log({"": 1.0}), InvalidArgumentError, "values key"),
        (lambda r: r.log([1.0]), ArgumentTypeError, "values"),
        (lambda r: r.log({"a": 1.0}, step=1.5), ArgumentTypeError, "step"),
        (lambda r: r.log({"a": 1.0}, step=True), ArgumentTypeError, "step"),
        (lambda r: r.log({"a": 1.0}, step=2**70), InvalidArgumentError, "step"),
        (lambda r: r.log_image("img", np.zeros((2, 3, 4, 5))), ShapeError, "image"),
        (lambda r: r.log_image("img", np.zeros((5, 6, 2))), ShapeError, "image"),
        (lambda r: r.log_image("img", np.full((4, 5), 3.0)), InvalidArgumentError, "image"),
        (lambda r: r.log_image("img", np.full((4, 5), np.nan)), InvalidArgumentError, "image"),
        (lambda r: r.log_image(7, np.zeros((4, 5))), ArgumentTypeError, "tag"),
        (lambda r: r.log_histogram("h", []), ShapeError, "values"),
        (lambda r: r.log_histogram("h", ["a"]), ArgumentTypeError, "values"),
        (lambda r: r.log_histogram("h", [1.0], bins=0), InvalidArgumentError, "bins"),
        (lambda r: r.log_embedding("e", np.zeros(3)), ShapeError, "vectors"),
        (lambda r: r.log_embedding("e", np.zeros((3, 2)), ["a"]), ShapeError, "metadata"),
        (lambda r: r.log_table("t", {"a": [1]}), ArgumentTypeError, "dataframe"),
        (
            lambda r: r.log_table("t", pd.DataFrame({"a": [object()]})),
            InvalidArgumentError,
            "dataframe",
        ),
        (lambda r: r.set_meta("k", object()), ArgumentTypeError, "value"),
        (lambda r: r.finish("done"), InvalidArgumentError, "status"),
    ],
)
def test_bad_input_raises_a_typed_error_naming_the_argument(tmp_path, call, error, argument):
    with Run(tmp_path, name="r") as run:
        with pytest.raises(error) as caught:
            call(run)
        assert caught.value.argument == argument


def test_a_rejected_log_call_keeps_none_of_its_points(tmp_path):
    with Run(tmp_path, name="r") as run:
        run.log({"a": 1.0, "b": 2.0})
        with pytest.raises(ArgumentTypeError):
            run.log({"a": 3.0, "b": "bad"})
        assert run.step == 0
        run.log({"a": 4.0, "b": 5.0})
    frame = open_logdir(tmp_path).scalars()
    assert frame[frame["tag"] == "a"]["value"].tolist() == [1.0, 4.0]
    assert frame[frame["tag"] == "b"]["step"].tolist() == [0, 1]


def test_bad_hparams_are_refused(tmp_path):
    with pytest.raises(ArgumentTypeError, match="hparams"):
        Run(tmp_path, name="r", hparams={"model": object()})
    with pytest.raises(ArgumentTypeError, match="hparams"):
        Run(tmp_path, name="r", hparams=[("lr", 0.1)])


@pytest.mark.parametrize("name", ["../escape", "/etc/evil", "a/../../b", "..", ".", "", "C:\\evil", "a\\..\\..\\b"])
def test_run_names_that_would_escape_the_logdir_are_refused(tmp_path, name):
    logdir = tmp_path / "logs"
    with pytest.raises(InvalidArgumentError) as caught:
        Run(logdir, name=name)
    assert caught.value.argument == "name"
    assert list(tmp_path.iterdir()) == []  # nothing was created


def test_odd_run_names_are_kept_in_the_index_and_stored_inside_the_logdir(tmp_path):
    names = ["lr=0.1/seed 0", "lr=0.1_seed_0", "ünïcode ✓", ".hidden", "CON"]
    for name in names:
        with Run(tmp_path, name=name) as run:
            run.log({"a": 1.0})
            assert run.path.parent == tmp_path
    assert sorted(open_logdir(tmp_path).run_names()) == sorted(names)
    assert len(list(tmp_path.iterdir())) == len(names)


def test_default_names_are_unique(tmp_path):
    names = set()
    for _ in range(5):
        with Run(tmp_path) as run:
            names.add(run.name)
    assert len(names) == 5 and set(open_logdir(tmp_path).run_names()) == names


def test_an_existing_name_is_refused_unless_resumed(tmp_path):
    with Run(tmp_path, name="r", hparams={"lr": 0.1}) as run:
        run.log({"a": 1.0}, step=5)
    with pytest.raises(LogdirError, match="already exists"):
        Run(tmp_path, name="r")
    with Run(tmp_path, name="r", resume=True, hparams={"epochs": 2}) as run:
        assert run.hparams == {"lr": 0.1, "epochs": 2}
        run.log({"a": 2.0})
    frame = open_logdir(tmp_path).scalars()
    assert frame["step"].tolist() == [5, 6]
    assert open_logdir(tmp_path).runs()["status"].tolist() == ["finished"]


def test_many_flushes_are_compacted_on_finish_without_changing_data(tmp_path, monkeypatch):
    import sqlite3

    with Run(tmp_path, name="r") as run:
        for step in range(300):
            run.log({"a": float(step), "b": -float(step)})
            run.flush()
    conn = sqlite3.connect(tmp_path / "r" / "run.sqlite")
    assert conn.execute("SELECT count(*) FROM scalar_chunks").fetchone()[0] == 2
    conn.close()
    frame = open_logdir(tmp_path).scalars(tags="b")
    np.testing.assert_array_equal(frame["value"], -np.arange(300.0))


def test_log_hparams_merges_into_the_index(tmp_path):
    with Run(tmp_path, name="r", hparams={"lr": 0.1, "depth": 2}) as run:
        run.log_hparams({"depth": 3, "optimizer": "adam"})
        assert run.hparams == {"lr": 0.1, "depth": 3, "optimizer": "adam"}
    runs = open_logdir(tmp_path).runs().set_index("run")
    assert runs.loc["r", "hparams"] == {"lr": 0.1, "depth": 3, "optimizer": "adam"}


def test_a_script_that_logs_does_not_import_the_smoothing_filter(tmp_path):
    """scipy.signal (smoothing's filter) takes over half a second to import: logging never needs
    it, and ``deepscope.track.smooth`` still loads it when asked for."""
    import subprocess
    import sys

    code = (
        "import sys, deepscope as ds\n"
        f"with ds.Run({str(tmp_path)!r}, name='r') as run:\n"
        "    run.log({'loss': 1.0})\n"
        "print('scipy.signal' in sys.modules)\n"
        "from deepscope.track import smooth\n"
        "print(smooth([1.0, 2.0], 0.5).tolist(), 'scipy.signal' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:2] == ["False", "[1.0, 1.6666666666666667] True"]
