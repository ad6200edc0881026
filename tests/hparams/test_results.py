"""Every hparams result saves into a run and comes back as the same type with equal contents."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import deepscope as ds
from deepscope.hparams import (
    HyperoptReport,
    LearningCurves,
    ParallelCoordinates,
    PerformanceComparison,
)
from deepscope.track import Run, open_logdir

TRIALS = pd.DataFrame({
    "lr": [1e-4, 1e-3, 1e-2, 1e-1],
    "opt": ["sgd", "adam", "sgd", "adam"],
    "acc": [0.6, 0.8, 0.85, 0.5],
})  # fmt: skip
POINTS = pd.DataFrame({
    "run": ["a", "a", "b", "b", "a", "b"],
    "tag": ["train/loss", "train/loss", "train/loss", "train/loss", "val/loss", "val/loss"],
    "step": [0, 1, 0, 1, 1, 1],
    "value": [1.0, 0.5, 0.9, 0.4, 0.7, 0.6],
})  # fmt: skip


def _equal(a, b) -> None:
    assert type(a) is type(b)
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_dtype=False, check_index_type=False)
        else:
            assert x == y, f.name


@pytest.mark.parametrize(
    "make, kind",
    [
        (lambda: ds.hparams.parallel_coordinates(TRIALS, color="acc",
                                                 selections={"acc": {"ranges": [[0.7, 0.9]], "special": []}}),
         ParallelCoordinates),
        (lambda: ds.hparams.learning_curves(POINTS, "loss"), LearningCurves),
        (lambda: ds.hparams.compare_performance(POINTS, select="final"), PerformanceComparison),
        (lambda: ds.hparams.hyperopt_report(TRIALS, "acc"), HyperoptReport),
    ],
    ids=["parallel", "curves", "compare", "hyperopt"],
)  # fmt: skip
def test_results_round_trip_through_a_run(tmp_path, make, kind):
    result = make()
    assert isinstance(result, kind)
    with Run(tmp_path, name="r") as run:
        tag = result.save(run)
    assert tag == kind.default_tag
    back = open_logdir(tmp_path).load("r", tag)
    _equal(result, back)
    assert len(back.figure().data) == len(result.figure().data) > 0


def test_results_hold_what_their_figures_draw():
    report = ds.hparams.hyperopt_report(TRIALS, "acc")
    assert report.best == 2 and report.goal == "max" and report.columns == ["lr", "opt"]
    compared = ds.hparams.compare_performance(POINTS, select="final")
    frame = compared.to_frame().set_index(["run", "metric"])["value"]
    assert frame.to_dict() == {("a", "val/loss"): 0.7, ("b", "val/loss"): 0.6}  # held-out metrics only
    curves = ds.hparams.learning_curves(POINTS, "loss")
    assert sorted(curves.curves["split"].unique()) == ["train", "validation"]
    assert np.isclose(curves.curves["value"].sum(), POINTS["value"].sum())
    chart = ds.hparams.parallel_coordinates(TRIALS)
    assert chart.color == "acc" and chart.columns == ["lr", "opt", "acc"]
