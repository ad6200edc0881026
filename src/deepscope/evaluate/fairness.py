"""Per-group decision thresholds for a binary classifier, as the What-If Tool's fairness panel.

Each strategy picks one threshold per group (a score at or above it is predicted positive):

- ``custom``: the thresholds you give (``custom=0.5`` or ``custom={"a": 0.4, "b": 0.6}``).
- ``single``: one threshold for everyone, the one of least cost.
- ``group``: each group its own threshold of least cost.
- ``demographic_parity``: equal positive rates across groups, at the least total cost.
- ``equal_opportunity``: equal true-positive rates across groups, at the least total cost.
- ``equal_accuracy``: equal accuracies across groups, at the least total cost.

The cost is ``cost_ratio * false positives + false negatives`` (``cost_ratio`` is the cost of a
false positive relative to a false negative; 1 maximises accuracy). A rate can only move one
example at a time, so "equal" means within one example of each group: every group's count is
the nearest whole number to ``target * group size`` for a common target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import InvalidArgumentError
from deepscope.evaluate._common import (
    check_probabilities,
    positive_label,
    require_column,
    require_frame,
    sorted_classes,
)
from deepscope.result import Result
from deepscope.validation import check_number

__all__ = ["thresholds", "Thresholds", "STRATEGIES"]

STRATEGIES = ("custom", "single", "demographic_parity", "equal_opportunity", "equal_accuracy", "group")


@dataclass(frozen=True, eq=False)
class Thresholds(Result):
    """Each group's threshold and what it gives: confusion matrix, rates, cost; ROC per group.

    ``frame`` has one row per group (``group, threshold, n, tp, fp, tn, fn, tpr, fpr,
    positive_rate, accuracy, precision, cost``); ``roc`` holds each group's ROC curve
    (``group, threshold, fpr, tpr``).
    """

    frame: pd.DataFrame
    roc: pd.DataFrame
    strategy: str
    cost_ratio: float
    group_column: str

    @property
    def thresholds(self) -> dict[Any, float]:
        """Group value -> threshold; a score at or above it is predicted positive."""
        return dict(zip(self.frame["group"].tolist(), self.frame["threshold"].tolist(), strict=True))

    @property
    def cost(self) -> float:
        """Total cost over every group: ``cost_ratio * FP + FN``."""
        return float(self.frame["cost"].sum())

    def to_frame(self) -> pd.DataFrame:
        """One row per group: ``group, threshold, tpr, fpr, positive_rate, accuracy`` and counts."""
        return self.frame.copy()

    default_tag = "thresholds"
    #: ROC curve per group with each group's operating point marked.
    figure_function = "deepscope.viz.evaluate:thresholds_figure"


@dataclass(frozen=True)
class _Curve:
    """Every distinct decision of one group: threshold j gives tp[j] and fp[j] positives."""

    threshold: np.ndarray  # descending; the first lies above every score (nothing positive)
    tp: np.ndarray
    fp: np.ndarray
    positives: int
    negatives: int

    def cost(self, cost_ratio: float) -> np.ndarray:
        return cost_ratio * self.fp + (self.positives - self.tp)


def thresholds(
    table: pd.DataFrame,
    *,
    group: str,
    strategy: str,
    label: str = "label",
    score: str = "score",
    cost_ratio: float = 1.0,
    custom: float | Mapping[Any, float] | None = None,
    pos_label: Any = None,
) -> Thresholds:
    """Choose a threshold per value of ``group`` by ``strategy`` (see the module docstring).

    Args:
        table: a predictions table of a binary classifier.
        group: the column holding the groups (e.g. a sensitive attribute).
        strategy: one of ``custom, single, demographic_parity, equal_opportunity,
            equal_accuracy, group``.
        label: the 0/1 (or two-class) label column; score: the positive-class probability.
        cost_ratio: cost of a false positive relative to a false negative.
        custom: thresholds for ``strategy="custom"``: one number, or group value -> number
            (default 0.5).
        pos_label: the positive class (default 1 for 0/1 labels).

    >>> import pandas as pd
    >>> t = pd.DataFrame({"g": list("aabb"), "label": [0, 1, 0, 1], "score": [0.2, 0.7, 0.4, 0.9]})
    >>> thresholds(t, group="g", strategy="group").thresholds
    {'a': 0.7, 'b': 0.9}
    """
    table = require_frame(table)
    if strategy not in STRATEGIES:
        raise InvalidArgumentError("strategy", f"one of {list(STRATEGIES)}", strategy)
    cost_ratio = check_number(
        cost_ratio,
        "cost_ratio",
        low=0,
        closed="neither",
        hint="the cost of a false positive over that of a false negative",
    )
    groups_column = require_column(table, group, "group")
    truth = require_column(table, label, "label")
    scores = check_probabilities(
        require_column(table, score, "score").to_numpy(dtype=np.float64, na_value=np.nan), score
    )
    if truth.isna().any():
        raise InvalidArgumentError("label", "a label on every row", f"{int(truth.isna().sum())} missing labels")
    classes = sorted_classes(truth)
    if len(classes) > 2:
        raise InvalidArgumentError("label", "two classes (a binary classifier)", f"{len(classes)} classes")
    positive = positive_label(classes, pos_label)
    y = (truth == positive).to_numpy(dtype=bool)
    if groups_column.isna().any():
        raise InvalidArgumentError("group", "a group on every row", f"{int(groups_column.isna().sum())} missing values")
    codes, values = pd.factorize(groups_column, sort=True)
    values = values.tolist()

    curves = []
    for i, value in enumerate(values):
        member = codes == i
        positives = int(y[member].sum())
        if positives == 0 or positives == int(member.sum()):
            only = "negative" if positives == 0 else "positive"
            raise InvalidArgumentError(
                "group",
                "both classes in every group (true- and false-positive rates need both)",
                f"group {value!r} of column {group!r} has only {only} labels ({int(member.sum())} rows)",
            )
        curves.append(_curve(scores[member], y[member]))

    if strategy == "custom":
        chosen = _custom(custom, values)
    elif strategy == "single":
        everyone = _curve(scores, y)
        best = everyone.threshold[int(np.argmin(everyone.cost(cost_ratio)))]
        chosen = [float(best)] * len(values)
    elif strategy == "group":
        chosen = [float(c.threshold[int(np.argmin(c.cost(cost_ratio)))]) for c in curves]
    else:
        chosen = _constrained(curves, strategy, cost_ratio)

    frame = _summarise(values, codes, scores, y, chosen, cost_ratio)
    roc = pd.concat(
        [
            pd.DataFrame(
                {
                    "group": [v] * len(c.threshold),
                    "threshold": c.threshold,
                    "fpr": c.fp / c.negatives,
                    "tpr": c.tp / c.positives,
                }
            )
            for v, c in zip(values, curves, strict=True)
        ],
        ignore_index=True,
    )
    return Thresholds(frame=frame, roc=roc, strategy=strategy, cost_ratio=cost_ratio, group_column=group)


def _curve(scores: np.ndarray, y: np.ndarray) -> _Curve:
    order = np.argsort(-scores, kind="stable")
    s, yy = scores[order], y[order]
    last_of_tie = np.r_[s[1:] != s[:-1], True]
    tp = np.cumsum(yy)[last_of_tie]
    fp = np.cumsum(~yy)[last_of_tie]
    above_all = np.nextafter(s[0], np.inf) if len(s) else 1.0
    return _Curve(
        threshold=np.r_[above_all, s[last_of_tie]],
        tp=np.r_[0, tp].astype(np.float64),
        fp=np.r_[0, fp].astype(np.float64),
        positives=int(y.sum()),
        negatives=int((~y).sum()),
    )


def _custom(custom: Any, values: list[Any]) -> list[float]:
    if custom is None:
        return [0.5] * len(values)
    if isinstance(custom, Mapping):
        missing = [v for v in values if v not in custom]
        if missing:
            raise InvalidArgumentError("custom", f"a threshold for every group {values!r}", f"none for {missing!r}")
        chosen = [custom[v] for v in values]
    else:
        chosen = [custom] * len(values)
    return [check_number(v, "custom", hint="thresholds on the score") for v in chosen]


def _constrained(curves: list[_Curve], strategy: str, cost_ratio: float) -> list[float]:
    """Least total cost such that each group's count is round(target * its size), one target.

    When tied scores make a group's count unreachable for every target, the targets whose
    counts come closest (in examples) win first, and cost decides among them.
    """
    tables = []
    for c in curves:
        if strategy == "demographic_parity":
            count, size = c.tp + c.fp, c.positives + c.negatives
        elif strategy == "equal_opportunity":
            count, size = c.tp, c.positives
        else:  # equal_accuracy
            count, size = c.tp + (c.negatives - c.fp), c.positives + c.negatives
        tables.append(_best_by_count(count.astype(np.int64), c.cost(cost_ratio), size))
    sizes = [size for *_, size in tables]
    targets = np.unique(np.concatenate([np.arange(s + 1) / s for s in sizes]))
    total = np.zeros(len(targets))
    worst_gap = np.zeros(len(targets), dtype=np.int64)
    picks = []
    for best_cost, best_index, gap, size in tables:
        wanted = np.rint(targets * size).astype(np.int64)
        total += best_cost[wanted]
        worst_gap = np.maximum(worst_gap, gap[wanted])
        picks.append(best_index[wanted])
    winner = int(np.lexsort((total, worst_gap))[0])
    return [float(c.threshold[p[winner]]) for c, p in zip(curves, picks, strict=True)]


def _best_by_count(count: np.ndarray, cost: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """For each count 0..size: the least cost of a threshold giving the nearest reachable count,
    that threshold's index, and how far (in examples) that count is from the one wanted."""
    best_cost = np.full(size + 1, np.inf)
    np.minimum.at(best_cost, count, cost)
    order = np.lexsort((cost, count))  # per count, the cheapest threshold comes first
    first = np.r_[True, count[order][1:] != count[order][:-1]]
    best_index = np.zeros(size + 1, dtype=np.int64)
    best_index[count[order][first]] = order[first]
    reachable = np.flatnonzero(np.isfinite(best_cost))  # never empty: every threshold reaches some count
    wanted = np.arange(size + 1)
    right = np.searchsorted(reachable, wanted).clip(max=len(reachable) - 1)
    left = (right - 1).clip(min=0)
    take_left = wanted - reachable[left] <= np.abs(reachable[right] - wanted)
    nearest = np.where(take_left, reachable[left], reachable[right])
    return best_cost[nearest], best_index[nearest], np.abs(nearest - wanted), size


def _summarise(
    values: list[Any], codes: np.ndarray, scores: np.ndarray, y: np.ndarray, chosen: list[float], cost_ratio: float
) -> pd.DataFrame:
    rows = []
    for i, (value, threshold) in enumerate(zip(values, chosen, strict=True)):
        member = codes == i
        positive = scores[member] >= threshold
        truth = y[member]
        tp = int((positive & truth).sum())
        fp = int((positive & ~truth).sum())
        fn = int((~positive & truth).sum())
        tn = int((~positive & ~truth).sum())
        n = tp + fp + fn + tn
        rows.append(
            {
                "group": value,
                "threshold": threshold,
                "n": n,
                "tp": tp,
                "fp": fp,
                "tn": tn,
                "fn": fn,
                "tpr": tp / (tp + fn),
                "fpr": fp / (fp + tn),
                "positive_rate": (tp + fp) / n,
                "accuracy": (tp + tn) / n,
                "precision": tp / (tp + fp) if tp + fp else 0.0,
                "cost": cost_ratio * fp + fn,
            }
        )
    return pd.DataFrame(rows)
