"""Ludwig-style views: learning curves, a bar per metric per run, and the hyperopt report."""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd
import pytest

import deepscope as ds
from deepscope.errors import NotFoundError
from deepscope.hparams.ludwig import UNSPLIT, curve_metrics, curve_splits, curves, split_tag
from deepscope.track import open_logdir
from deepscope.viz.theme import run_color
from tests.hparams.sweeps import DIVERGED, results_frame, schedule_logdir, sweep_logdir


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return sweep_logdir(tmp_path_factory.mktemp("sweep") / "logs", runs=4)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("train/loss", ("train", "loss")),
        ("val/loss", ("validation", "loss")),
        ("validation/top-1", ("validation", "top-1")),
        ("eval_accuracy", ("validation", "accuracy")),
        ("loss/test", ("test", "loss")),
        ("accuracy_train", ("train", "accuracy")),
        ("lr", None),
        ("learning_rate", None),
    ],
)
def test_split_tag(tag, expected):
    assert split_tag(tag) == expected


def test_keras_style_bare_tag_is_the_train_split():
    points = pd.DataFrame({"run": "r", "tag": ["loss", "val_loss", "lr"], "step": 0, "value": 1.0})
    parsed = curves(points)
    assert sorted(zip(parsed["split"], parsed["metric"], strict=True)) == [("train", "loss"), ("validation", "loss")]


def test_learning_curves_draw_the_logged_points(sweep):
    figure = ds.hparams.learning_curves(sweep, "loss").figure()
    scalars = open_logdir(sweep).scalars()
    runs = open_logdir(sweep).run_names()
    assert len(figure.data) == 2 * len(runs)  # train and validation per run
    for trace in figure.data:
        run = trace.legendgroup
        tag = "train/loss" if trace.line.dash == "solid" else "val/loss"
        expected = scalars[(scalars["run"] == run) & (scalars["tag"] == tag)]
        np.testing.assert_array_equal(trace.x, expected["step"])
        np.testing.assert_array_equal(np.asarray(trace.y, dtype=float), expected["value"])
        assert trace.line.color == run_color(run)
    assert sum(bool(t.showlegend) for t in figure.data) == len(runs)  # one legend entry per run
    assert curve_metrics(sweep) == ["loss", "accuracy"]  # losses first; accuracy is val only
    with pytest.raises(NotFoundError, match="available: 'loss'"):
        ds.hparams.learning_curves(sweep, "f1").figure()


def _plain_points(runs: int = 3, steps: int = 6) -> pd.DataFrame:
    """What a loop that logs ``loss`` and ``accuracy`` (no split in the tags) leaves."""
    rows = [
        (f"r{i}", tag, step, value)
        for i in range(runs)
        for step in range(steps)
        for tag, value in (("loss", 1.0 / (step + 1 + i)), ("accuracy", 0.5 + 0.05 * step - 0.01 * i))
    ]
    return pd.DataFrame(rows, columns=["run", "tag", "step", "value"])


def test_tags_without_a_split_are_drawn_as_logged_one_line_per_run():
    points = _plain_points()
    assert curves(points).empty  # no tag names a split ...
    assert curve_metrics(points) == ["loss", "accuracy"]  # ... yet each tag has its curves
    assert curve_splits(points, "accuracy") == [UNSPLIT]
    figure = ds.hparams.learning_curves(points).figure()  # the first metric: the loss
    assert [t.legendgroup for t in figure.data] == ["r0", "r1", "r2"]
    for trace in figure.data:
        expected = points[(points["run"] == trace.legendgroup) & (points["tag"] == "loss")]
        np.testing.assert_array_equal(trace.x, expected["step"])
        np.testing.assert_allclose(np.asarray(trace.y, dtype=float), expected["value"])
        assert trace.line.dash == "solid" and trace.line.color == run_color(trace.legendgroup)
    assert "as logged" in figure.layout.title.text
    accuracy = ds.hparams.learning_curves(points, "accuracy", runs=["r1"]).figure()
    assert len(accuracy.data) == 1
    np.testing.assert_allclose(accuracy.data[0].y, points.query("run == 'r1' and tag == 'accuracy'")["value"])


def test_a_train_tag_alone_and_other_tags_each_have_their_curves():
    points = pd.DataFrame(
        {
            "run": "r",
            "tag": ["train/loss", "lr", "train/loss", "lr"],
            "step": [0, 0, 1, 1],
            "value": [2.0, 0.1, 1.0, 0.05],
        }
    )
    assert curve_metrics(points) == ["loss", "lr"]  # split metrics first, then the other tags
    loss = ds.hparams.learning_curves(points, "loss").figure()
    assert [(t.line.dash, list(t.y)) for t in loss.data] == [("solid", [2.0, 1.0])]
    lr = ds.hparams.learning_curves(points, "lr").figure()
    assert [list(t.y) for t in lr.data] == [[0.1, 0.05]]
    with pytest.raises(NotFoundError, match="available: 'loss', 'lr'"):
        ds.hparams.learning_curves(points, "accuracy").figure()


def test_a_run_without_split_tags_joins_the_figure_of_its_metric():
    split = pd.DataFrame({"run": "a", "tag": ["train/loss"], "step": 0, "value": [1.0]})
    plain = pd.DataFrame({"run": "b", "tag": ["loss"], "step": 0, "value": [0.9]})
    points = pd.concat([split, plain], ignore_index=True)
    assert curve_metrics(points) == ["loss"]
    figure = ds.hparams.learning_curves(points, "loss").figure()
    assert [(t.legendgroup, t.line.dash, list(t.y)) for t in figure.data] == [
        ("a", "solid", [1.0]),
        ("b", "dashdot", [0.9]),
    ]
    assert "solid: train, dash-dot: as logged" in figure.layout.legend.title.text
    # Keras' pair: a bare tag beside its val_ tag is the train split, not a line as logged.
    keras = pd.DataFrame({"run": "k", "tag": ["loss", "val_loss"], "step": 0, "value": [1.0, 1.2]})
    assert curve_splits(keras, "loss") == ["train", "validation"]


def test_with_no_scalars_the_figure_says_what_is_missing_instead_of_empty_axes(tmp_path):
    with ds.Run(tmp_path / "logs", name="only-hparams", hparams={"lr": 0.1}):
        pass
    assert curve_metrics(tmp_path / "logs") == []
    figure = ds.hparams.learning_curves(tmp_path / "logs").figure()
    assert len(figure.data) == 0
    assert not figure.layout.xaxis.visible and not figure.layout.yaxis.visible
    message = html.unescape(figure.layout.annotations[0].text.replace("<br>", " "))  # plotly decodes the entities
    assert "logged no scalars" in message and "run.log({'train/loss'" in message


def test_compare_performance_bars_are_the_metric_values(sweep):
    table = ds.hparams.hparams_table(sweep, select="best")
    figure = ds.hparams.compare_performance(sweep, select="best").figure()
    frame = table.frame.set_index("run")
    # By default: the held-out (validation) metrics, one panel each.
    assert [a.text for a in figure.layout.annotations] == ["val/accuracy", "val/loss"]
    for trace, metric in zip(figure.data, ["val/accuracy", "val/loss"], strict=True):
        assert list(trace.x) == frame.index.tolist()
        np.testing.assert_allclose(trace.y, frame[metric].to_numpy())
        best = int(np.argmax(frame[metric]) if metric == "val/accuracy" else np.argmin(frame[metric]))
        widths = list(trace.marker.line.width)
        assert widths[best] > 0 and sum(w > 0 for w in widths) == 1
    final = ds.hparams.compare_performance(sweep, metrics=["val/loss"]).figure()
    index = list(final.data[0].x).index(DIVERGED)
    assert final.data[0].y[index] == 0 and final.data[0].text[index] == "NaN"  # not a zero bar


def test_compare_leaves_out_runs_without_metrics_and_labels_many_bars_by_hover(tmp_path):
    logs = sweep_logdir(tmp_path / "logs", runs=10)
    with ds.Run(logs, name="data-profile") as run:  # a run in the same logdir with no scalars
        run.log_hparams({"source": "loans"})
    figure = ds.hparams.compare_performance(logs, metrics=["val/loss"]).figure()
    bars = figure.data[0]
    assert "data-profile" not in list(bars.x) and DIVERGED in list(bars.x)
    # Ten runs: values live in the hover; only the bar that cannot be drawn carries a label.
    labelled = {run: text for run, text in zip(bars.x, bars.text, strict=True) if text}
    assert labelled == {DIVERGED: "NaN"}
    final = ds.hparams.hparams_table(logs).frame.set_index("run")["val/loss"]
    for run, shown in zip(bars.x, bars.customdata, strict=True):
        assert shown == ("NaN" if run == DIVERGED else f"{final[run]:.4g}")


def test_compare_performance_from_a_wide_frame():
    frame = pd.DataFrame({"run": ["a", "b"], "acc": [0.8, 0.9], "loss": [0.3, 0.2]})
    figure = ds.hparams.compare_performance(frame).figure()
    assert len(figure.data) == 2
    assert list(figure.data[1].y) == [0.3, 0.2]
    assert list(figure.data[1].marker.line.width) == [0, 2.5]  # lower loss is better


def test_hyperopt_report_plots_the_target_against_each_hparam():
    frame = results_frame(rows=25)
    figure = ds.hparams.hyperopt_report(frame, "accuracy", columns=["lr", "optimizer", "layers"]).figure()
    points = [t for t in figure.data if t.name != "best trial"]
    stars = [t for t in figure.data if t.name == "best trial"]
    assert len(points) == 3 and len(stars) == 3
    accuracy = frame["accuracy"].to_numpy()
    finite = np.isfinite(accuracy)
    for trace in points:
        np.testing.assert_allclose(np.asarray(trace.y)[finite], accuracy[finite])
    best = int(np.nanargmax(accuracy))
    assert all(math.isclose(s.y[0], accuracy[best]) for s in stars)
    lr_axis = figure.layout.xaxis
    assert "0.0001" in lr_axis.ticktext  # a log axis, labelled by decade
    assert np.allclose(points[0].x, np.log10(frame["lr"]))


def test_hyperopt_report_on_a_logdir_uses_its_hparams_and_goal(sweep):
    figure = ds.hparams.hyperopt_report(sweep, "val/loss").figure()
    stars = [t for t in figure.data if t.name == "best trial"]
    assert len(stars) == 4  # lr, width, optimizer, dropout
    table = ds.hparams.hparams_table(sweep).frame
    assert math.isclose(stars[0].y[0], np.nanmin(table["val/loss"]))
    with pytest.raises(NotFoundError, match="no column named 'nope'"):
        ds.hparams.hyperopt_report(sweep, "nope").figure()


def test_views_of_a_metric_named_like_a_hyperparameter(tmp_path):
    """A logged learning-rate schedule is the metric 'lr (metric)'; the hyper-parameter stays 'lr'."""
    logdir = schedule_logdir(tmp_path / "logs")
    table = ds.hparams.hparams_table(logdir)
    frame = table.frame.set_index("run")
    bars = ds.hparams.compare_performance(table, metrics=["lr (metric)", "val/loss"]).figure()
    assert [a.text for a in bars.layout.annotations] == ["lr (metric)", "val/loss"]
    np.testing.assert_allclose(bars.data[0].y, frame["lr (metric)"])
    assert [a.text for a in ds.hparams.compare_performance(logdir).figure().layout.annotations] == [
        "val/accuracy",
        "val/loss",
    ]  # held-out metrics by default, as before

    report = ds.hparams.hyperopt_report(logdir, "lr (metric)").figure()
    points = [t for t in report.data if t.name != "best trial"]
    assert [report.layout.xaxis.title.text, report.layout.xaxis2.title.text] == ["lr (log)", "width"]
    np.testing.assert_allclose(points[0].x, np.log10(frame["lr"]))  # the hyper-parameter...
    np.testing.assert_allclose(points[0].y, np.log10(frame["lr (metric)"]))  # ...against the metric
    stars = [t for t in report.data if t.name == "best trial"]
    assert math.isclose(10 ** stars[0].y[0], frame["lr (metric)"].max())  # goal of tag 'lr': max

    # Learning curves read the scalar tags themselves: 'lr' is there, drawn as logged.
    assert "lr" in curve_metrics(logdir)
    assert len(ds.hparams.learning_curves(logdir, "lr").figure().data) == 3
