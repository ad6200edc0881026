"""The hyper-parameter table: column types, and final / best / at-step metrics against pandas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import deepscope as ds
from deepscope.errors import InvalidArgumentError
from deepscope.hparams import (
    CATEGORICAL,
    LOG_NUMERIC,
    NUMERIC,
    hparams_table,
    infer_kind,
    infer_types,
    metric_goal,
    read_table,
    select_metrics,
)
from deepscope.hparams.table import metric_columns
from deepscope.track import open_logdir
from tests.hparams.sweeps import DIVERGED, STEPS, schedule_logdir, sweep_logdir

# -- column types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([1e-4, 3e-3, 1e-2], LOG_NUMERIC),  # exactly two decades
        ([1e-4, 9.9e-3], NUMERIC),  # just under two decades
        ([8, 64, 1024], LOG_NUMERIC),  # batch sizes: integers spanning decades
        ([1e-5, math.nan, 1e-1, None], LOG_NUMERIC),  # missing values are ignored
        ([0.0, 1e-4, 1e-1], NUMERIC),  # zero has no logarithm
        ([-1e-3, 1e-1, 10.0], NUMERIC),  # neither have negatives
        ([1e-3], NUMERIC),  # one value spans nothing
        ([16, 32, 64], NUMERIC),
        (["adam", "sgd"], CATEGORICAL),
        ([True, False, True], CATEGORICAL),  # booleans are choices, not numbers
        (["a", 1, 2.5], CATEGORICAL),  # mixed text and numbers
        ([math.inf, 1e-3, 1e-1], LOG_NUMERIC),  # infinities do not widen the span
    ],
)
def test_infer_kind(values, kind):
    assert infer_kind(values) == kind
    assert infer_kind(pd.Series(values)) == kind


def test_infer_types_of_a_frame_and_a_numeric_csv_column(tmp_path):
    frame = pd.DataFrame({
        "lr": [1e-5, 1e-3, 1e-1], "units": [32, 64, 48], "flag": [True, False, True],
        "act": ["relu", "gelu", "relu"], "acc": [0.7, np.nan, 0.9],
    })  # fmt: skip
    expected = {"lr": LOG_NUMERIC, "units": NUMERIC, "flag": CATEGORICAL, "act": CATEGORICAL, "acc": NUMERIC}
    assert infer_types(frame) == expected
    frame.to_csv(tmp_path / "r.csv", index=False)
    assert infer_types(read_table(tmp_path / "r.csv")) == expected


def test_metric_goal():
    for tag in ("loss", "val/loss", "train_logloss", "eval/mse", "test/error_rate", "ppl", "val/WER"):
        assert metric_goal(tag) == "min", tag
    for tag in ("val/accuracy", "f1", "auc", "reward", "val/top5"):
        assert metric_goal(tag) == "max", tag


# -- metric selection -----------------------------------------------------------------------------


def _random_points(seed: int) -> pd.DataFrame:
    """Scalar points in logging order: steps out of order, a re-logged step, NaN and inf values."""
    rng = np.random.default_rng(seed)
    rows = []
    for run in ("a", "b", "c"):
        for tag in ("train/loss", "val/accuracy", "lr"):
            steps = rng.permutation(20)[: rng.integers(3, 12)].tolist()
            steps.append(steps[0])  # the same step logged twice: the later point counts
            for step in steps:
                value = float(rng.normal())
                if rng.random() < 0.15:
                    value = float(rng.choice([np.nan, np.inf, -np.inf]))
                rows.append((run, tag, step, value))
    rows.append(("d", "train/loss", 5, np.nan))  # a run whose only point is NaN
    return pd.DataFrame(rows, columns=["run", "tag", "step", "value"])


def _manual(points: pd.DataFrame, select: str, step: int | None, goals: dict) -> pd.DataFrame:
    """Straightforward pandas: one value per (run, tag), written independently of the library."""
    out = {}
    for (run, tag), group in points.groupby(["run", "tag"], sort=False):
        group = group.reset_index(drop=True)
        if select == "at":
            group = group[group["step"] <= step]
        if group.empty:
            value = np.nan
        elif select == "best":
            finite = group["value"][np.isfinite(group["value"])]
            goal = goals.get(tag) or metric_goal(tag)
            best = finite.min() if goal == "min" else finite.max()
            value = group["value"].iloc[-1] if finite.empty else best  # nothing finite: the final point
        elif select == "final":
            value = group["value"].iloc[-1]  # the last logged
        else:  # at: the largest step up to `step`, the later-logged point if it repeats
            value = group.loc[group["step"] == group["step"].max(), "value"].iloc[-1]
        out[(run, tag)] = value
    series = pd.Series(out, dtype=float)
    series.index.names = ["run", "tag"]
    return series.unstack("tag")


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("select", "step"), [("final", None), ("best", None), ("at", 7), ("at", 0)])
def test_select_metrics_matches_pandas(seed, select, step):
    points = _random_points(seed)
    goals = {"lr": "min"}
    got = select_metrics(points, select, step=step, goals=goals)
    expected = _manual(points, select, step, goals).reindex(index=got.index, columns=got.columns)
    assert list(got.index) == list(dict.fromkeys(points["run"]))
    assert list(got.columns) == list(dict.fromkeys(points["tag"]))
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())  # NaN == NaN, inf == inf


def test_final_keeps_a_diverged_value_and_best_skips_it():
    points = pd.DataFrame({"run": ["r"] * 3, "tag": ["loss"] * 3, "step": [0, 1, 2], "value": [1.0, 0.5, np.nan]})
    assert math.isnan(select_metrics(points, "final").loc["r", "loss"])
    assert select_metrics(points, "best").loc["r", "loss"] == 0.5
    assert select_metrics(points, "best", goals={"loss": "max"}).loc["r", "loss"] == 1.0


def test_bad_selection_arguments():
    points = pd.DataFrame({"run": ["r"], "tag": ["x"], "step": [0], "value": [1.0]})
    with pytest.raises(InvalidArgumentError, match="select"):
        select_metrics(points, "last")
    with pytest.raises(InvalidArgumentError, match="step"):
        select_metrics(points, "at")
    with pytest.raises(InvalidArgumentError, match="goals"):
        select_metrics(points, "best", goals={"x": "up"})
    with pytest.raises(InvalidArgumentError, match="run, tag, step, value"):
        select_metrics(points.drop(columns="step"))


# -- from a logdir --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return sweep_logdir(tmp_path_factory.mktemp("sweep") / "logs")


@pytest.mark.parametrize(("select", "step"), [("final", None), ("best", None), ("at", 4)])
def test_hparams_table_from_a_logdir_matches_pandas(sweep, select, step):
    table = hparams_table(sweep, select=select, step=step)
    reader = open_logdir(sweep)
    hp = reader.hparams()
    points = reader.scalars()
    manual = _manual(points, select, step, {})
    assert table.frame.columns.tolist() == [
        "run",
        "lr",
        "width",
        "optimizer",
        "dropout",
        "train/loss",
        "val/accuracy",
        "val/loss",
    ]
    assert table.hparams == ["lr", "width", "optimizer", "dropout"]
    assert table.metrics == ["train/loss", "val/accuracy", "val/loss"]
    assert table.frame["run"].tolist() == hp["run"].tolist()
    for column in table.hparams:
        assert table.frame[column].tolist() == hp[column].tolist()
    for tag in table.metrics:
        np.testing.assert_array_equal(table.frame[tag].to_numpy(), manual.loc[table.frame["run"], tag].to_numpy())
    assert table.types["lr"] == LOG_NUMERIC and table.types["optimizer"] == CATEGORICAL
    assert table.goals == {"train/loss": "min", "val/accuracy": "max", "val/loss": "min"}


def test_diverged_run_is_nan_when_final_and_its_minimum_when_best(sweep):
    final = hparams_table(sweep).frame.set_index("run")
    best = hparams_table(sweep, select="best").frame.set_index("run")
    at = hparams_table(sweep, select="at", step=8).frame.set_index("run")
    losses = open_logdir(sweep).scalars(tags="val/loss", runs=DIVERGED)["value"]
    assert math.isnan(final.loc[DIVERGED, "val/loss"])
    assert best.loc[DIVERGED, "val/loss"] == losses.min()
    assert at.loc[DIVERGED, "val/loss"] == losses.iloc[8]
    assert STEPS > 9


def test_public_names_and_result_figure(sweep):
    assert ds.hparams.hparams_table is hparams_table
    table = ds.hparams.hparams_table(sweep, select="best", goals={"val/accuracy": "min"})
    assert table.goals["val/accuracy"] == "min"
    figure = table.figure()
    assert figure.data[0].type == "parcoords"
    assert "<div" in table._repr_html_()


def test_read_table_errors(tmp_path):
    with pytest.raises(InvalidArgumentError, match="an existing file"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InvalidArgumentError, match="csv, .tsv or .parquet"):
        read_table(tmp_path / "notes.txt")
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    frame.to_parquet(tmp_path / "r.parquet")
    frame.to_csv(tmp_path / "r.tsv", sep="\t", index=False)
    pd.testing.assert_frame_equal(read_table(tmp_path / "r.parquet"), frame)
    pd.testing.assert_frame_equal(read_table(tmp_path / "r.tsv"), frame)


# -- a metric with a hyper-parameter's name --------------------------------------------------------


@pytest.fixture(scope="module")
def schedule(tmp_path_factory):
    return schedule_logdir(tmp_path_factory.mktemp("schedule") / "logs")


@pytest.mark.parametrize(("select", "step"), [("final", None), ("best", None), ("at", 2)])
def test_a_metric_named_like_a_hyperparameter_keeps_both_columns(schedule, select, step):
    table = hparams_table(schedule, select=select, step=step)
    reader = open_logdir(schedule)
    manual = _manual(reader.scalars(), select, step, {})
    assert table.frame.columns.tolist() == ["run", "lr", "width", "lr (metric)", "val/accuracy", "val/loss"]
    assert table.hparams == ["lr", "width"]
    assert table.metrics == ["lr (metric)", "val/accuracy", "val/loss"]
    # The hyper-parameter is what the run was configured with; the metric is the logged schedule.
    assert table.frame["lr"].tolist() == reader.hparams()["lr"].tolist() == [0.3, 0.03, 0.003]
    np.testing.assert_array_equal(
        table.frame["lr (metric)"].to_numpy(), manual.loc[table.frame["run"], "lr"].to_numpy()
    )
    factor = {"final": 0.5**5, "best": 1.0, "at": 0.5**2}[select]  # the schedule halves each step
    np.testing.assert_allclose(table.frame["lr (metric)"], table.frame["lr"] * factor)
    assert table.goals == {"lr (metric)": "max", "val/accuracy": "max", "val/loss": "min"}
    assert table.types["lr"] == LOG_NUMERIC and table.types["lr (metric)"] == LOG_NUMERIC


def test_goals_name_the_tag_of_a_renamed_metric(schedule):
    table = hparams_table(schedule, select="best", goals={"lr": "min"})
    assert table.goals["lr (metric)"] == "min"
    np.testing.assert_allclose(table.frame["lr (metric)"], table.frame["lr"] * 0.5**5)  # the smallest


def test_metric_columns_never_collide():
    assert metric_columns(["lr", "loss", "run"], ["lr", "lr (metric)"]) == {
        "lr": "lr (metric 2)", "loss": "loss", "run": "run (metric)",
    }  # fmt: skip


def test_a_hyperparameter_called_run_keeps_the_run_names_and_its_values(tmp_path):
    for i, lr in enumerate((0.1, 0.01, 0.001)):
        with ds.Run(tmp_path / "logs", name=f"trial-{i}", hparams={"lr": lr}) as run:
            run.log_hparams({"run": i + 3})  # e.g. the index a sweep tool gives each trial
            run.log({"run": 10.0 * i, "val/loss": lr}, step=0)  # and a metric called run too
    table = hparams_table(tmp_path / "logs")
    assert table.frame.columns.tolist() == ["run", "lr", "run (hparam)", "run (metric)", "val/loss"]
    assert table.frame["run"].tolist() == ["trial-0", "trial-1", "trial-2"]
    assert table.hparams == ["lr", "run (hparam)"] and table.metrics == ["run (metric)", "val/loss"]
    assert table.frame["run (hparam)"].tolist() == [3, 4, 5]
    assert table.frame["run (metric)"].tolist() == [0.0, 10.0, 20.0]
    assert table.types["run (hparam)"] == NUMERIC
    # Every view keyed by run name still finds each run's values.
    bars = ds.hparams.compare_performance(table, ["val/loss"]).figure()
    assert list(bars.data[0].x) == ["trial-0", "trial-1", "trial-2"]


def test_a_table_with_repeated_column_names_is_refused():
    frame = pd.DataFrame([[0.1, 0.05, 0.7], [0.01, 0.005, 0.8]], columns=["lr", "lr", "acc"])
    with pytest.raises(InvalidArgumentError, match=r"repeated columns \['lr'\]"):
        ds.hparams.parallel_coordinates(frame).figure()
    with pytest.raises(InvalidArgumentError, match="distinct names"):
        ds.hparams.hyperopt_report(frame, "acc").figure()
