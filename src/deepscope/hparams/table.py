"""The hyper-parameter table: one row per run, a column per hyper-parameter and per metric.

Metrics are read from a logdir's scalars and reduced to one number per run: the ``"final"`` value
(the last point logged), the ``"best"`` (the minimum for loss-like tags, the maximum otherwise) or
the value ``"at"`` a step (the last point logged at or before it). Every column gets a type:
``"numeric"``, ``"log-numeric"`` (positive values spanning two decades or more, such as learning
rates) or ``"categorical"``.

>>> import pandas as pd
>>> from deepscope.hparams.table import infer_types
>>> infer_types(pd.DataFrame({"lr": [1e-4, 1e-3, 1e-2], "width": [16, 32, 64], "opt": ["sgd", "adam", "sgd"]}))
{'lr': 'log-numeric', 'width': 'numeric', 'opt': 'categorical'}
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, LogdirError
from deepscope.result import Result
from deepscope.track import Logdir, open_logdir
from deepscope.track.logdir import distinct_columns
from deepscope.validation import check_int

__all__ = [
    "NUMERIC",
    "LOG_NUMERIC",
    "CATEGORICAL",
    "SELECTIONS",
    "HParamTable",
    "hparams_table",
    "select_metrics",
    "metric_goal",
    "infer_kind",
    "infer_types",
    "read_table",
    "as_frame",
    "metric_columns",
]

NUMERIC = "numeric"
LOG_NUMERIC = "log-numeric"
CATEGORICAL = "categorical"
KINDS = (NUMERIC, LOG_NUMERIC, CATEGORICAL)
# A positive column whose largest value is at least 10**LOG_DECADES times its smallest is drawn on
# a log scale: a learning-rate sweep 1e-5..1e-1 would otherwise squeeze into one end of the axis.
LOG_DECADES = 2.0
SELECTIONS = ("final", "best", "at")
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")

# Words that mark a metric where smaller is better; anything else is "higher is better".
_SMALLER_IS_BETTER = {
    "loss", "error", "err", "mse", "mae", "rmse", "mape", "nll", "perplexity", "ppl", "wer",
    "cer", "fpr", "fnr", "regret", "latency", "divergence", "kl",
}  # fmt: skip


@dataclass(frozen=True)
class HParamTable(Result):
    """Runs as rows, hyper-parameters and metrics as columns, with each column's inferred type.

    frame: the table; its first column is ``run``, the run names.
    hparams, metrics: which columns are which (metric columns are named after their scalar tags;
        ``"lr (metric)"`` for a tag ``lr`` that is also a hyper-parameter, see :func:`metric_columns`;
        a hyper-parameter called ``run`` is the column ``"run (hparam)"``, as ``Logdir.hparams()``
        names it).
    types: column -> ``"numeric"``, ``"log-numeric"`` or ``"categorical"``.
    select, step, goals: how metrics were reduced (``goals`` maps each metric to "min" or "max").

    ``figure(color=None, columns=None)`` draws it as parallel coordinates
    (see ``deepscope.hparams.parallel_coordinates``).
    """

    default_tag = "hparams_table"
    figure_function = "deepscope.viz.hparams:hparams_table_figure"

    frame: pd.DataFrame
    hparams: list[str]
    metrics: list[str]
    types: dict[str, str]
    select: str = "final"
    step: int | None = None
    goals: dict[str, str] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()


def metric_goal(tag: str) -> str:
    """``"min"`` for loss-like tags (loss, error, mse, perplexity, ...), ``"max"`` otherwise.

    >>> metric_goal("val/loss"), metric_goal("train_logloss"), metric_goal("val/accuracy")
    ('min', 'min', 'max')
    """
    words = [w for w in re.split(r"[^a-z0-9]+", str(tag).lower()) if w]
    if any(w in _SMALLER_IS_BETTER or w.endswith("loss") or w.endswith("error") for w in words):
        return "min"
    return "max"


def select_metrics(
    scalars: pd.DataFrame,
    select: str = "final",
    *,
    step: int | None = None,
    goals: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One value per run and tag from scalar points ``DataFrame(run, tag, step, value)``.

    select="final": the last point logged, as ``Logdir.last_scalars`` (NaN when the run ended on
        NaN: a diverged run shows it).
    select="best": the minimum for tags whose goal is "min", else the maximum, ignoring NaN and
        infinities (when there is nothing finite, the final value).
    select="at": the point at the largest step <= ``step`` (the later one if that step was logged
        twice); NaN when there is none.
    goals: tag -> "min" or "max", overriding :func:`metric_goal`.

    Returns a frame indexed by run with a column per tag, runs and tags in order of appearance.
    """
    _check_selection(select, step)
    goals = dict(goals or {})
    for tag, goal in goals.items():
        if goal not in ("min", "max"):
            raise InvalidArgumentError(f"goals[{tag!r}]", "'min' or 'max'", goal)
    missing = {"run", "tag", "step", "value"} - set(scalars.columns)
    if missing:
        raise InvalidArgumentError("scalars", "a DataFrame with columns run, tag, step, value", f"no {sorted(missing)}")
    points = scalars[["run", "tag", "step", "value"]]
    runs = list(dict.fromkeys(points["run"]))
    tags = list(dict.fromkeys(points["tag"]))
    if select == "at":
        points = points[points["step"] <= step]
    if len(points) == 0:
        empty = pd.DataFrame(np.nan, index=pd.Index(runs, name="run"), columns=tags, dtype=float)
        return empty.rename_axis(columns=None)
    if select == "best":
        values = points["value"].astype(float)
        finite = points[np.isfinite(values.to_numpy())]
        grouped = finite.groupby(["run", "tag"], sort=False)["value"]
        low, high = grouped.min(), grouped.max()
        wants_min = low.index.get_level_values("tag").map(lambda t: _goal(t, goals)) == "min"
        wide = low.where(np.asarray(wants_min, dtype=bool), high).astype(float).unstack("tag")
        # A tag whose points were all non-finite has no best: show what it was (NaN or inf).
        last = _last(points).unstack("tag")
        wide = wide.combine_first(last) if len(wide) else last
    elif select == "final":
        wide = _last(points).unstack("tag")
    else:
        # The last point at or before the step: by step, the later-logged one when a step repeats.
        ordered = points.iloc[np.lexsort((np.arange(len(points)), points["step"].to_numpy()))]
        wide = _last(ordered).unstack("tag")
    return wide.reindex(index=runs, columns=tags).rename_axis(index="run", columns=None)


def _goal(tag: str, goals: Mapping[str, str]) -> str:
    return goals.get(tag) or metric_goal(tag)


def _last(points: pd.DataFrame) -> pd.Series:
    # groupby().last() would skip NaN, hiding a run that diverged; tail(1) keeps it.
    tail = points.groupby(["run", "tag"], sort=False).tail(1)
    return tail.set_index(["run", "tag"])["value"].astype(float)


def _check_selection(select: str, step: int | None) -> None:
    if select not in SELECTIONS:
        raise InvalidArgumentError("select", "'final', 'best' or 'at'", select)
    if select == "at":
        check_int(step, "step", hint="select='at' needs the step")


def hparams_table(
    logdir: str | os.PathLike | Logdir,
    *,
    select: str = "final",
    step: int | None = None,
    goals: Mapping[str, str] | None = None,
    tags: Iterable[str] | None = None,
) -> HParamTable:
    """The hyper-parameters and metrics of every run in ``logdir``.

    select: "final", "best" or "at" (with ``step``); see :func:`select_metrics`.
    goals: tag -> "min"/"max" for "best" (default: min for loss-like tags, max otherwise).
    tags: the scalar tags to use as metrics (default: all).

    >>> table = hparams_table("demo-logdir", select="best")  # doctest: +SKIP
    >>> table.frame.columns.tolist()  # doctest: +SKIP
    ['run', 'lr', 'width', 'train/loss', 'val/accuracy']
    """
    _check_selection(select, step)
    reader = _reader(logdir)
    hparams = reader.hparams()
    runs = [str(r) for r in hparams["run"]] if "run" in hparams else []
    tag_list = None if tags is None else [str(t) for t in ([tags] if isinstance(tags, str) else tags)]
    scalars = reader.last_scalars(tags=tag_list) if select == "final" else reader.scalars(tags=tag_list)
    metrics = select_metrics(scalars, select, step=step, goals=goals)
    hp_names = [c for c in hparams.columns if c != "run"]
    frame = hparams.set_index("run").reindex(runs) if runs else pd.DataFrame(index=pd.Index([], name="run"))
    frame = frame.loc[:, hp_names]
    metric_names = metric_columns(metrics.columns, hp_names)
    used_goals = {metric_names[tag]: _goal(tag, goals or {}) for tag in metrics.columns}
    metrics = metrics.rename(columns=metric_names).reindex(runs)
    table = pd.concat([frame, metrics], axis=1).rename_axis("run").reset_index()
    return HParamTable(
        frame=table,
        hparams=hp_names,
        metrics=list(metric_names.values()),
        types=infer_types(table),
        select=select,
        step=step if select == "at" else None,
        goals=used_goals,
    )


def metric_columns(tags: Iterable[str], hparams: Iterable[str]) -> dict[str, str]:
    """Scalar tag -> its column in the table: the tag itself, or ``"<tag> (metric)"`` when a
    hyper-parameter (or ``run``) already has that name, so both columns are kept.

    A learning-rate schedule logged as a scalar is the common case:

    >>> metric_columns(["lr", "val/loss"], ["lr", "depth"])
    {'lr': 'lr (metric)', 'val/loss': 'val/loss'}
    """
    return distinct_columns([str(t) for t in tags], {"run", *(str(h) for h in hparams)}, "metric")


def _reader(logdir: Any) -> Logdir:
    if isinstance(logdir, Logdir):
        return logdir
    if not isinstance(logdir, (str, os.PathLike)):
        raise ArgumentTypeError("logdir", "a path to a log directory or a Logdir", logdir)
    path = Path(logdir).expanduser()
    if not path.is_dir():
        raise LogdirError(f"no logdir at {path}: log runs into it with ds.Run({str(path)!r})")
    return open_logdir(path)


# -- column types --------------------------------------------------------------------------------


def infer_kind(values: Iterable[Any]) -> str:
    """``"numeric"``, ``"log-numeric"`` or ``"categorical"`` for one column.

    Numbers (not booleans) are numeric; numeric columns whose finite values are all positive and
    span at least two decades (max / min >= 100) are log-numeric; anything else (text, booleans,
    mixed text and numbers) is categorical. Missing values and NaN are ignored.

    >>> infer_kind([1e-5, 3e-4, 1e-3]), infer_kind([0.0, 1e-4, 1e-2]), infer_kind(["a", 1])
    ('log-numeric', 'numeric', 'categorical')
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    present = series[series.notna()]
    if pd.api.types.is_bool_dtype(series.dtype):
        return CATEGORICAL
    if pd.api.types.is_numeric_dtype(series.dtype):
        numbers_ = present.to_numpy(dtype=float)
    else:
        if not all(_is_number(v) for v in present):
            return CATEGORICAL
        numbers_ = np.asarray([float(v) for v in present], dtype=float)
    finite = numbers_[np.isfinite(numbers_)]
    if finite.size >= 2 and finite.min() > 0 and math.log10(finite.max() / finite.min()) >= LOG_DECADES:
        return LOG_NUMERIC
    return NUMERIC


def infer_types(frame: pd.DataFrame) -> dict[str, str]:
    """:func:`infer_kind` of every column, in column order."""
    if not isinstance(frame, pd.DataFrame):
        raise ArgumentTypeError("frame", "a pandas DataFrame", frame)
    return {str(name): infer_kind(frame[name]) for name in frame.columns}


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


# -- reading any table ----------------------------------------------------------------------------


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """A results table from a CSV, TSV or Parquet file.

    >>> read_table("results.csv")  # doctest: +SKIP
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentTypeError("path", "a path to a .csv, .tsv or .parquet file", path)
    file = Path(path).expanduser()
    suffix = file.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InvalidArgumentError("path", "a .csv, .tsv or .parquet file", str(file))
    if not file.is_file():
        raise InvalidArgumentError("path", "an existing file", str(file), hint="check the path")
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(file)
        return pd.read_csv(file, sep="\t" if suffix == ".tsv" else ",")
    except (ValueError, OSError) as err:  # parser, encoding and Arrow errors are ValueErrors
        raise InvalidArgumentError(
            "path", f"a readable {suffix[1:]} file", str(file), hint=f"{type(err).__name__}: {err}"
        ) from err


def as_frame(data: Any) -> tuple[pd.DataFrame, dict[str, str], HParamTable | None]:
    """(frame, column types, the HParamTable when there is one) for any table-like input.

    ``data``: an :class:`HParamTable`, a DataFrame, a CSV/TSV/Parquet path, or a logdir path.
    """
    if isinstance(data, HParamTable):
        return data.frame, dict(data.types), data
    if isinstance(data, pd.DataFrame):
        frame = _named_columns(data.copy(), "data")
        return frame, infer_types(frame), None
    if isinstance(data, (str, os.PathLike)):
        path = Path(data).expanduser()
        if path.is_dir():
            table = hparams_table(path)
            return table.frame, dict(table.types), table
        frame = _named_columns(read_table(path), "data")
        return frame, infer_types(frame), None
    if isinstance(data, Logdir):
        table = hparams_table(data)
        return table.frame, dict(table.types), table
    raise ArgumentTypeError("data", "a DataFrame, an HParamTable, or a path to a CSV/Parquet file or a logdir", data)


def _named_columns(frame: pd.DataFrame, argument: str) -> pd.DataFrame:
    """``frame`` with its column names as text, refused when two share a name: every view picks
    a column by its name, and would silently draw the wrong one."""
    frame.columns = [str(c) for c in frame.columns]
    repeated = list(dict.fromkeys(frame.columns[frame.columns.duplicated()]))
    if repeated:
        raise InvalidArgumentError(
            argument,
            "a table whose columns have distinct names",
            f"repeated columns {repeated}",
            hint="rename one of each, e.g. 'lr' (the hyper-parameter) and 'lr (metric)'",
        )
    return frame
