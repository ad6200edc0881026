"""Ludwig-style views of runs: learning curves, performance per run, and a hyperopt report.

- :func:`learning_curves`: train against validation over steps, per metric (tags such as
  ``train/loss`` and ``val/loss``, ``loss/train``, or Keras' ``loss`` and ``val_loss``); a tag
  that names no split (``loss`` alone, ``lr``) is drawn as logged, one line per run.
- :func:`compare_performance`: a bar per run for each metric.
- :func:`hyperopt_report`: the target metric against each hyper-parameter.

Each takes a logdir (path or ``Logdir``) or a DataFrame and returns a result (``LearningCurves``,
``PerformanceComparison``, ``HyperoptReport``) whose ``figure()`` draws it.

>>> import pandas as pd
>>> from deepscope.hparams import hyperopt_report
>>> trials = pd.DataFrame({"lr": [1e-4, 1e-3, 1e-2, 1e-1], "depth": [2, 4, 2, 4], "acc": [0.6, 0.8, 0.85, 0.5]})
>>> report = hyperopt_report(trials, "acc")
>>> report.best, report.columns
(2, ['lr', 'depth'])
>>> len(report.figure().data)  # a panel per hyper-parameter, each with its points and the best trial
4
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, NotFoundError
from deepscope.hparams.parallel import default_columns
from deepscope.hparams.table import (
    HParamTable,
    as_frame,
    hparams_table,
    metric_goal,
    select_metrics,
)
from deepscope.result import Result
from deepscope.track import Logdir, open_logdir

__all__ = [
    "LearningCurves",
    "PerformanceComparison",
    "HyperoptReport",
    "UNSPLIT",
    "NO_CURVES",
    "NO_CURVES_HINT",
    "NO_COMPARE",
    "NO_COMPARE_HINT",
    "NO_HYPEROPT",
    "NO_HYPEROPT_HINT",
    "split_tag",
    "curves",
    "curve_metrics",
    "curve_splits",
    "learning_curves",
    "compare_performance",
    "hyperopt_report",
]

_SPLITS = {
    "train": "train", "training": "train",
    "val": "validation", "valid": "validation", "validation": "validation", "eval": "validation",
    "dev": "validation",
    "test": "test",
}  # fmt: skip
_SPLIT_ORDER = {"train": 0, "validation": 1, "test": 2}
# The split of a tag that names none: its points are drawn as they were logged.
UNSPLIT = "as logged"
NO_CURVES = "No learning curves: these runs logged no scalars."
NO_CURVES_HINT = (
    "Log a value per step while training, e.g. run.log({'train/loss': loss, 'val/loss': val_loss}, "
    "step=epoch): a train/ and a val/ tag of one metric are drawn against each other; any other tag "
    "is drawn as logged."
)
NO_COMPARE = "Nothing to compare: these runs logged no scalars."
NO_COMPARE_HINT = (
    "Log a metric while training, e.g. run.log({'val/loss': val_loss, 'val/accuracy': accuracy}, "
    "step=epoch): each run gets a bar per metric, its final, best or at-step value as chosen above."
)
NO_HYPEROPT = "No hyperopt report: these runs logged no scalars."
NO_HYPEROPT_HINT = (
    "The report draws a metric against each hyper-parameter: log one while training, e.g. "
    "run.log({'val/accuracy': accuracy}, step=epoch), and it becomes the target metric."
)


@dataclass(frozen=True)
class LearningCurves(Result):
    """Train against validation (and test) over steps for one metric.

    curves: DataFrame(run, split, step, value), split one of "train", "validation", "test" or
    ``UNSPLIT`` (a tag that names no split). metric: which (None when there was nothing to draw);
    message: what the figure says instead of empty axes.
    """

    default_tag = "learning_curves"
    figure_function = "deepscope.viz.hparams:learning_curves_figure"

    curves: pd.DataFrame
    metric: str | None
    message: str | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.curves.copy()


@dataclass(frozen=True)
class PerformanceComparison(Result):
    """One number per run and metric: ``values`` indexed by run, a column per metric; ``goals``
    maps each metric to "min" or "max" (which run is best)."""

    default_tag = "performance_comparison"
    figure_function = "deepscope.viz.hparams:compare_performance_figure"

    values: pd.DataFrame
    goals: dict[str, str] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Columns ``run, metric, value``."""
        frame = self.values.rename_axis("run").reset_index()
        return frame.melt(id_vars="run", var_name="metric", value_name="value")


@dataclass(frozen=True)
class HyperoptReport(Result):
    """The ``target`` metric against each hyper-parameter of ``columns``, one row per trial.

    frame: the trials (the hyper-parameters and the target); types: column -> kind;
    goal: "min" or "max"; best: the row of the best trial (None when no value is finite);
    names: what each row is called (run names, or ``row i``).
    """

    default_tag = "hyperopt_report"
    figure_function = "deepscope.viz.hparams:hyperopt_figure"

    frame: pd.DataFrame
    types: dict[str, str]
    columns: list[str]
    target: str
    goal: str
    best: int | None
    names: list[str]

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()


def split_tag(tag: str) -> tuple[str, str] | None:
    """``(split, metric)`` for a tag that names its data split, else None.

    >>> split_tag("train/loss"), split_tag("loss/val"), split_tag("val_accuracy"), split_tag("lr")
    (('train', 'loss'), ('validation', 'loss'), ('validation', 'accuracy'), None)
    """
    for sep in ("/", "_", "-", "."):
        if sep not in tag:
            continue
        head, rest = tag.split(sep, 1)
        if head.lower() in _SPLITS and rest:
            return _SPLITS[head.lower()], rest
        body, tail = tag.rsplit(sep, 1)
        if tail.lower() in _SPLITS and body:
            return _SPLITS[tail.lower()], body
    return None


def curves(scalars: pd.DataFrame, *, unsplit: bool = False) -> pd.DataFrame:
    """Scalar points ``(run, tag, step, value)`` as ``(run, split, metric, step, value)``.

    Tags that name a split are kept; a bare tag counts as the train split of its metric when some
    other tag is that metric's validation or test split (Keras logs ``loss`` and ``val_loss``).
    unsplit: keep the other tags too (``loss`` alone, ``lr``), each the metric of its own name
    with split ``UNSPLIT``, so runs that name no split still have curves.
    """
    tags = list(dict.fromkeys(scalars["tag"]))
    parsed = {tag: split_tag(tag) for tag in tags}
    split_metrics = {p[1] for p in parsed.values() if p is not None and p[0] != "train"}
    for tag in tags:
        if parsed[tag] is None and tag in split_metrics:
            parsed[tag] = ("train", tag)
        elif parsed[tag] is None and unsplit:
            parsed[tag] = (UNSPLIT, tag)
    known = {tag: p for tag, p in parsed.items() if p is not None}
    points = scalars[scalars["tag"].isin(list(known))]
    return pd.DataFrame({
        "run": points["run"].astype(str).to_numpy(),
        "split": [known[t][0] for t in points["tag"]],
        "metric": [known[t][1] for t in points["tag"]],
        "step": points["step"].to_numpy(),
        "value": points["value"].astype(float).to_numpy(),
    })  # fmt: skip


def curve_metrics(source: Any) -> list[str]:
    """Metrics with a learning curve: those of split tags first, then every other tag; losses
    first within each, the rest in the order they were logged.

    >>> points = pd.DataFrame({"run": "r", "tag": ["acc", "lr", "train/loss"], "step": 0, "value": 1.0})
    >>> curve_metrics(points)
    ['loss', 'acc', 'lr']
    """
    return _ordered_metrics(curves(_scalars(source), unsplit=True))


def curve_splits(source: Any, metric: str) -> list[str]:
    """The splits ``metric``'s curves have, train first; ``UNSPLIT`` for a tag that names none.

    >>> points = pd.DataFrame({"run": "r", "tag": ["train/loss", "val/loss", "acc"], "step": 0, "value": 1.0})
    >>> curve_splits(points, "loss"), curve_splits(points, "acc")
    (['train', 'validation'], ['as logged'])
    """
    frame = curves(_scalars(source), unsplit=True)
    found = set(frame.loc[frame["metric"] == metric, "split"])
    return sorted(found, key=lambda split: (_SPLIT_ORDER.get(split, 9), split))


def _ordered_metrics(frame: pd.DataFrame) -> list[str]:
    paired = frame["split"] != UNSPLIT
    split_names = list(dict.fromkeys(frame.loc[paired, "metric"]))
    plain_names = [m for m in dict.fromkeys(frame.loc[~paired, "metric"]) if m not in split_names]

    def losses_first(names: list[str]) -> list[str]:
        return sorted(names, key=lambda m: (metric_goal(m) != "min", names.index(m)))

    return losses_first(split_names) + losses_first(plain_names)


def learning_curves(source: Any, metric: str | None = None, *, runs: Iterable[str] | None = None) -> LearningCurves:
    """Train against validation (and test) over steps for ``metric``, one colour per run.

    source: a logdir (path or ``Logdir``) or scalar points ``DataFrame(run, tag, step, value)``.
    metric: e.g. ``"loss"`` for ``train/loss`` and ``val/loss``, or a tag that names no split
    (``"accuracy"``), drawn as logged (default: the first of ``curve_metrics``). With no scalars
    at all the figure says so, and how to log them, instead of drawing empty axes.

    >>> figure = learning_curves("demo-logdir", "loss").figure()  # doctest: +SKIP
    """
    frame = curves(_scalars(source, runs=runs), unsplit=True)
    available = _ordered_metrics(frame)
    if metric is None:
        if not available:
            return LearningCurves(
                frame[["run", "split", "step", "value"]], None, message=f"{NO_CURVES} {NO_CURVES_HINT}"
            )
        metric = available[0]
    if metric not in available:
        raise NotFoundError("metric", str(metric), available)
    chosen = frame[frame["metric"] == metric]
    chosen = chosen.iloc[np.argsort(chosen["split"].map(_SPLIT_ORDER).fillna(9).to_numpy(), kind="stable")]
    return LearningCurves(chosen[["run", "split", "step", "value"]].reset_index(drop=True), metric)


def compare_performance(
    source: Any,
    metrics: Sequence[str] | None = None,
    *,
    select: str = "final",
    step: int | None = None,
    goals: Mapping[str, str] | None = None,
    runs: Iterable[str] | None = None,
) -> PerformanceComparison:
    """A bar per run for each metric, the best run of each outlined.

    source: a logdir (path or ``Logdir``), an ``HParamTable``, scalar points
    ``DataFrame(run, tag, step, value)``, or a wide DataFrame with a row per run (a ``run`` column
    or the index) and a column per metric.
    metrics: which (default: the validation and test metrics when there are any, else all).
    select, step, goals: how a run's series becomes one number (see ``hparams_table``).

    >>> figure = compare_performance("demo-logdir", select="best").figure()  # doctest: +SKIP
    """
    values, goal_of = _per_run(source, select=select, step=step, goals=goals)
    if runs is not None:
        wanted = [str(r) for r in ([runs] if isinstance(runs, str) else runs)]
        values = values.loc[[r for r in values.index if r in wanted]]
    if metrics is None:
        numeric = [c for c in values.columns if pd.api.types.is_numeric_dtype(values[c])]
        held_out = [c for c in numeric if (split_tag(c) or ("",))[0] in ("validation", "test")]
        metrics = held_out or numeric
    else:
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        for name in metrics:
            if name not in values.columns:
                raise NotFoundError("metric", str(name), [str(c) for c in values.columns])
    if not metrics:
        raise InvalidArgumentError("metrics", "at least one numeric metric", list(values.columns))
    return PerformanceComparison(values[list(metrics)], goals={m: goal_of(m) for m in metrics})


def hyperopt_report(
    data: Any,
    target: str,
    *,
    columns: Sequence[str] | None = None,
    goal: str | None = None,
) -> HyperoptReport:
    """The ``target`` metric against each hyper-parameter, the best trial starred.

    data: a DataFrame, a CSV/TSV/Parquet path, an ``HParamTable``, or a logdir path.
    columns: the hyper-parameters (default: the table's hyper-parameters, or for a plain table
    every column but the target and identifiers).
    goal: "min" or "max" (default: min for loss-like names, max otherwise).
    """
    frame, types, table = as_frame(data)
    if target not in frame.columns:
        raise NotFoundError("column", str(target), [str(c) for c in frame.columns])
    goal = goal or (table.goals.get(target) if table is not None else None) or metric_goal(target)
    if goal not in ("min", "max"):
        raise InvalidArgumentError("goal", "'min' or 'max'", goal)
    if columns is None:
        if table is not None:
            columns = list(table.hparams)
        else:
            columns = [c for c in default_columns(frame, types) if c != target]
    columns = [c for c in columns if c != target]
    if not columns:
        raise InvalidArgumentError("columns", "at least one hyper-parameter column", columns)
    for name in columns:
        if name not in frame.columns:
            raise NotFoundError("column", str(name), [str(c) for c in frame.columns])
    values = pd.to_numeric(frame[target], errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(values)
    best = None
    if finite.any():
        masked = np.where(finite, values, np.inf if goal == "min" else -np.inf)
        best = int(np.argmin(masked) if goal == "min" else np.argmax(masked))
    used = [str(c) for c in columns] + [str(target)]
    return HyperoptReport(
        frame=frame[used].reset_index(drop=True),
        types={c: types.get(c, "numeric") for c in used},
        columns=[str(c) for c in columns],
        target=str(target),
        goal=goal,
        best=best,
        names=_row_names(frame),
    )


def _row_names(frame: pd.DataFrame) -> list[str]:
    if "run" in frame.columns:
        return [str(r) for r in frame["run"]]
    return [f"row {i}" for i in range(len(frame))]


# -- reading sources ------------------------------------------------------------------------------


def _scalars(source: Any, *, runs: Iterable[str] | None = None) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        missing = {"run", "tag", "step", "value"} - set(source.columns)
        if missing:
            raise InvalidArgumentError(
                "source", "scalar points DataFrame(run, tag, step, value)", f"no {sorted(missing)}"
            )
        frame = source
        if runs is not None:
            frame = frame[frame["run"].isin([str(r) for r in ([runs] if isinstance(runs, str) else runs)])]
        return frame
    if isinstance(source, (str, os.PathLike)):
        source = open_logdir(source)
    if isinstance(source, Logdir):
        return source.scalars(runs=runs)
    raise ArgumentTypeError("source", "a logdir (path or Logdir) or a DataFrame(run, tag, step, value)", source)


def _per_run(
    source: Any, *, select: str, step: int | None, goals: Mapping[str, str] | None
) -> tuple[pd.DataFrame, Any]:
    """(frame indexed by run with a column per metric, metric -> goal)."""
    goals = dict(goals or {})
    if isinstance(source, HParamTable):
        table = source
    elif isinstance(source, pd.DataFrame) and {"run", "tag", "step", "value"} <= set(source.columns):
        wide = select_metrics(source, select, step=step, goals=goals)
        wide.index = wide.index.astype(str)
        return wide, lambda m: goals.get(m) or metric_goal(m)
    elif isinstance(source, pd.DataFrame):
        frame = source.set_index("run") if "run" in source.columns else source
        frame = frame.copy()
        frame.index = [str(i) for i in frame.index]
        frame.columns = [str(c) for c in frame.columns]
        return frame, lambda m: goals.get(m) or metric_goal(m)
    else:
        table = hparams_table(source, select=select, step=step, goals=goals)
    wide = table.frame.set_index("run")[table.metrics]
    wide.index = wide.index.astype(str)
    # Runs that logged no metric at all (a data-profiling run in the same logdir) have nothing
    # to compare; a run whose metric went NaN keeps its row, and its NaN is shown.
    logged = wide.notna().any(axis=1) if table.metrics else pd.Series(True, index=wide.index)
    return wide[logged], lambda m: table.goals.get(m) or goals.get(m) or metric_goal(m)
