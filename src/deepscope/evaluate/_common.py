"""Pieces every evaluate module shares: column checks, class handling, Wilson intervals, results."""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.validation import check_number


def require_frame(table: Any, argument: str = "table") -> pd.DataFrame:
    """``table`` itself when it is a DataFrame, otherwise a typed error."""
    if not isinstance(table, pd.DataFrame):
        raise ArgumentTypeError(argument, "a pandas DataFrame (a predictions table)", table)
    return table


def require_column(table: pd.DataFrame, name: Any, argument: str) -> pd.Series:
    """The column ``name`` of ``table``; a missing one names ``argument`` and the columns there are."""
    if not isinstance(name, Hashable) or name not in table.columns:
        available = [str(c) for c in table.columns]
        close = difflib.get_close_matches(str(name), available, n=1)
        hint = f"Did you mean {close[0]!r}?" if close else None
        shown = ", ".join(repr(c) for c in available[:20])
        raise InvalidArgumentError(argument, f"a column of the table (one of {shown})", repr(name), hint)
    return table[name]


def check_probabilities(values: np.ndarray, column: str, argument: str = "score") -> np.ndarray:
    """``values`` as float64 after checking they are finite probabilities in [0, 1]."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        raise InvalidArgumentError(
            argument,
            f"finite probabilities in [0, 1] in column {column!r}",
            f"{int((~finite).sum())} missing or infinite values",
        )
    if values.size and (values.min() < 0.0 or values.max() > 1.0):
        raise InvalidArgumentError(
            argument,
            f"probabilities in [0, 1] in column {column!r}",
            f"values from {values.min():.4g} to {values.max():.4g}",
            "Pass probabilities (e.g. a softmax or sigmoid of the logits), not raw logits.",
        )
    return values


def z_value(confidence: float) -> float:
    """The two-sided normal quantile for a confidence level (1.96 for 0.95)."""
    confidence = check_number(confidence, "confidence", low=0, high=1, closed="neither")
    return float(ndtri(1.0 - (1.0 - confidence) / 2.0))


def wilson_interval(
    successes: np.ndarray, trials: np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion, vectorised; no trials gives the whole of [0, 1].

    The Wilson interval keeps its coverage on small counts and never leaves [0, 1], so a slice of 12
    examples shows a wide band and one of 12,000 a narrow one.
    """
    z = z_value(confidence)
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denominator = 1.0 + z * z / n
        centre = (p + z * z / (2.0 * n)) / denominator
        half = z / denominator * np.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
        low = np.clip(centre - half, 0.0, 1.0)
        high = np.clip(centre + half, 0.0, 1.0)
    empty = n <= 0
    return np.where(empty, 0.0, low), np.where(empty, 1.0, high)


def sorted_classes(*columns: Sequence[Any] | np.ndarray | pd.Series) -> list[Any]:
    """Distinct non-missing values of the columns, sorted when they can be, else in first-seen order."""
    seen: dict[Any, None] = {}
    for values in columns:
        seen.update(dict.fromkeys(pd.unique(pd.Series(values).dropna()).tolist()))
    try:
        return sorted(seen)
    except TypeError:
        return list(seen)


def positive_label(classes: Sequence[Any], pos_label: Any, argument: str = "pos_label") -> Any:
    """The positive class of a binary problem: ``pos_label`` or 1/True when the labels are 0/1."""
    if pos_label is not None:
        return pos_label
    if set(classes) <= {0, 1}:  # True == 1 and False == 0, so booleans land here too
        return True if any(isinstance(c, (bool, np.bool_)) for c in classes) else 1
    raise InvalidArgumentError(
        argument,
        "the positive class, since the labels are not 0/1",
        f"labels {classes!r}",
        f"Pass {argument}={classes[-1]!r} (or the other one).",
    )
