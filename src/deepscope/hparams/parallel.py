"""Parallel coordinates for any table as a result, and brushes as row filters.

:func:`parallel_coordinates` picks the axes (every column but identifiers) and the colour and
returns a :class:`ParallelCoordinates` result; ``deepscope.viz.hparams`` places each column on an
axis (log and categorical axes, slots for NaN and infinities; see ``deepscope.viz.hparams_axes``)
and draws it.

A brush on an axis is a selection in data terms (value ranges, category labels, NaN/inf slots,
made by ``Axis.selection`` from plotly's ``constraintrange``) that survives re-drawing;
:func:`brushed_rows` filters the table by it.

>>> import pandas as pd
>>> import deepscope as ds
>>> frame = pd.DataFrame({"lr": [1e-4, 1e-3, 1e-2], "opt": ["sgd", "adam", "sgd"], "acc": [0.7, 0.8, 0.75]})
>>> chart = ds.hparams.parallel_coordinates(frame, color="acc")
>>> chart.columns, chart.color
(['lr', 'opt', 'acc'], 'acc')
>>> [d.label for d in chart.figure().data[0].dimensions]
['lr (log)', 'opt', 'acc']
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import InvalidArgumentError, NotFoundError
from deepscope.hparams.table import CATEGORICAL, LOG_NUMERIC, NUMERIC, as_frame
from deepscope.result import Result

__all__ = [
    "ParallelCoordinates",
    "parallel_coordinates",
    "default_columns",
    "default_color",
    "brushed_rows",
    "normalize_ranges",
    "within_spans",
    "category_label",
    "is_missing",
    "MISSING",
]

MISSING = "(missing)"
NAN, POS_INF, NEG_INF = "NaN", "+inf", "-inf"
# Categorical columns with every value distinct (run names, ids) tell nothing on an axis once
# there are more rows than this; they stay in the table.
_IDENTIFIER_ROWS = 20


@dataclass(frozen=True)
class ParallelCoordinates(Result):
    """A table drawn as parallel coordinates: one axis per column of ``columns``, one line per row.

    frame: the rows (the drawn columns and the colour column); types: column -> "numeric",
    "log-numeric" or "categorical"; color: the column that colours the lines, or None;
    selections: brushes to draw, column -> selection as made by ``Axis.selection``.
    """

    default_tag = "parallel_coordinates"
    figure_function = "deepscope.viz.hparams:parallel_coordinates_figure"

    frame: pd.DataFrame
    types: dict[str, str]
    columns: list[str]
    color: str | None = None
    selections: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()


def parallel_coordinates(
    data: Any,
    *,
    color: str | None = None,
    columns: Sequence[str] | None = None,
    selections: Mapping[str, Any] | None = None,
) -> ParallelCoordinates:
    """Parallel coordinates of a table: one axis per column, one line per row.

    data: a DataFrame, a CSV/TSV/Parquet path, an ``HParamTable``, or a logdir path.
    color: the column that colours the lines (default: the last metric or numeric column).
    columns: the axes, in order (default: every column but identifiers such as run names).
    selections: brushes to draw, column -> selection as made by :meth:`Axis.selection`.

    >>> import deepscope as ds
    >>> figure = ds.hparams.parallel_coordinates("results.csv", color="accuracy").figure()  # doctest: +SKIP
    """
    frame, types, table = as_frame(data)
    columns = list(columns) if columns is not None else default_columns(frame, types)
    if not columns:
        raise InvalidArgumentError("columns", "at least one column", columns)
    for name in columns:
        if name not in frame.columns:
            raise NotFoundError("column", str(name), [str(c) for c in frame.columns])
    metrics = table.metrics if table is not None else ()
    color = color if color is not None else default_color(columns, types, metrics)
    if color is not None and color not in frame.columns:
        raise NotFoundError("column", str(color), [str(c) for c in frame.columns])
    used = [str(c) for c in dict.fromkeys([*columns, *([color] if color is not None else [])])]
    return ParallelCoordinates(
        frame=frame[used].reset_index(drop=True),
        types={str(c): types.get(c, NUMERIC) for c in used},
        columns=[str(c) for c in columns],
        color=color,
        selections={str(k): dict(v) for k, v in (selections or {}).items() if v},
    )


def default_columns(frame: pd.DataFrame, types: Mapping[str, str]) -> list[str]:
    """Every column but identifiers (categorical columns with a distinct value in each of many rows)."""
    columns = []
    for name in frame.columns:
        identifier = types.get(name) == CATEGORICAL and len(frame) > _IDENTIFIER_ROWS
        if identifier and frame[name].nunique(dropna=False) == len(frame):
            continue
        columns.append(str(name))
    return columns


def default_color(columns: Sequence[str], types: Mapping[str, str], metrics: Sequence[str] = ()) -> str | None:
    """The last metric, else the last numeric column, else the last column."""
    for name in reversed(list(metrics)):
        if name in columns:
            return name
    for name in reversed(list(columns)):
        if types.get(name) in (NUMERIC, LOG_NUMERIC):
            return name
    return columns[-1] if columns else None


def brushed_rows(frame: pd.DataFrame, types: Mapping[str, str], selections: Mapping[str, Any]) -> np.ndarray:
    """Boolean mask of the rows inside every column's selection (see :meth:`Axis.selection`).

    A column absent from ``frame`` is ignored (a brush on a column that went away filters nothing).
    """
    keep = np.ones(len(frame), dtype=bool)
    for name, selection in selections.items():
        if not selection or name not in frame.columns:
            continue
        values = frame[name]
        if "labels" in selection or types.get(name) == CATEGORICAL:
            wanted = {str(label) for label in selection.get("labels", [])}
            keep &= np.asarray([category_label(v) in wanted for v in values], dtype=bool)
            continue
        numbers_ = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        inside = within_spans(
            np.nan_to_num(numbers_, nan=np.inf, posinf=np.inf, neginf=np.inf),
            [tuple(r) for r in selection.get("ranges", [])],
        )
        inside &= np.isfinite(numbers_)
        special = set(selection.get("special", []))
        if NAN in special:
            inside |= np.isnan(numbers_)
        if POS_INF in special:
            inside |= numbers_ == np.inf
        if NEG_INF in special:
            inside |= numbers_ == -np.inf
        keep &= inside
    return keep


def normalize_ranges(ranges: Any) -> list[tuple[float, float]]:
    """``[lo, hi]`` or ``[[lo, hi], ...]`` (plotly accepts both) as a list of ordered pairs."""
    if ranges is None:
        return []
    items = list(ranges)
    if not items:
        return []
    if all(isinstance(v, numbers.Real) for v in items):
        items = [items]
    spans = []
    for item in items:
        pair = [float(v) for v in item]
        if len(pair) != 2 or not all(math.isfinite(v) for v in pair):
            raise InvalidArgumentError("constraintrange", "pairs [lo, hi] of numbers", ranges)
        spans.append((min(pair), max(pair)))
    return spans


def within_spans(positions: np.ndarray, spans: Sequence[tuple[float, float]]) -> np.ndarray:
    """Which positions fall inside any of the ``spans`` (inclusive)."""
    keep = np.zeros(len(positions), dtype=bool)
    for lo, hi in spans:
        keep |= (positions >= lo) & (positions <= hi)
    return keep


def category_label(value: Any) -> str:
    """How a value reads as a category: text as is, numbers without noise, missing as such."""
    if is_missing(value):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):.6g}"
    return str(value)


def is_missing(value: Any) -> bool:
    """None, NaN and pandas' missing markers (not containers, whose truth value is ambiguous)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value)) and not isinstance(value, (list, tuple, dict, np.ndarray))
    except (TypeError, ValueError):
        return False
