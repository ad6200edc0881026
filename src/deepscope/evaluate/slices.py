"""Metrics per slice of a predictions table, with a confidence interval on every rate.

A slice is the rows sharing one value of a feature (numeric features are cut into quantile bins)
or one combination of values of several features. All slices of a feature are computed in one
pass of ``np.bincount`` over integer slice codes, so a million rows take a fraction of a second.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, NotFoundError
from deepscope.evaluate._common import (
    check_probabilities,
    positive_label,
    require_column,
    require_frame,
    sorted_classes,
    wilson_interval,
    z_value,
)
from deepscope.evaluate.query.parser import Column, Literal, unparse
from deepscope.result import Result
from deepscope.validation import check_int

__all__ = ["slices", "SliceTable", "CLASSIFICATION_METRICS", "REGRESSION_METRICS"]

CLASSIFICATION_METRICS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "calibration_error",
)
REGRESSION_METRICS = ("mean_error", "mae", "mse")
_NEEDS_SCORES = ("roc_auc", "log_loss", "calibration_error")
_INTERVALS = ("wilson", "bootstrap", None)
_EPS = np.finfo(np.float64).eps

ByItem = str | Sequence[str]


@dataclass(frozen=True, eq=False)
class SliceTable(Result):
    """Metrics per slice: one row per slice with ``slice, feature, value, n, query`` and a column
    per metric. ``query`` selects the slice's rows in the query language (see ``rows``).

    Rates carry ``<metric>_low``/``<metric>_high`` columns: the interval at ``confidence``.
    """

    frame: pd.DataFrame
    metrics: list[str]
    task: str
    interval: str | None
    confidence: float

    def to_frame(self) -> pd.DataFrame:
        """A copy of the table: ``slice, feature, value, n``, then each metric and its interval."""
        return self.frame.copy()

    def rows(self, table: pd.DataFrame, slice: str) -> pd.DataFrame:
        """The rows of ``table`` in the slice named ``slice`` (its ``query``, original index kept)."""
        from deepscope.evaluate.query import query

        match = self.frame.loc[self.frame["slice"] == slice, "query"]
        if match.empty:
            raise NotFoundError("slice", slice, self.frame["slice"].tolist())
        return query(table, match.iloc[0])

    default_tag = "slices"
    #: Each slice's ``metric`` (the first one by default) with its interval, per feature.
    figure_function = "deepscope.viz.evaluate:slices_figure"


def slices(
    table: pd.DataFrame,
    *,
    by: ByItem | Sequence[ByItem],
    label: str = "label",
    prediction: str = "prediction",
    score: str | Sequence[str] | Mapping[Any, str] | None = None,
    metrics: Sequence[str] | None = None,
    bins: int = 5,
    pos_label: Any = None,
    task: str = "auto",
    interval: str | None = "wilson",
    confidence: float = 0.95,
    n_boot: int = 200,
    seed: int = 0,
    calibration_bins: int = 10,
    overall: bool = False,
) -> SliceTable:
    """Metrics of the rows in each slice of ``table``.

    Args:
        table: a predictions table (see ``deepscope.evaluate.predictions``).
        by: a column, or a list whose items are columns (one slice per value) or tuples of
            columns (one slice per combination of values, e.g. ``("group", "income")``).
        label, prediction: the label and predicted-class (or predicted-value) columns.
        score: binary classifiers: the positive-class probability column (default ``score`` when
            present); multiclass: a list of probability columns in class order, or a mapping
            class -> column (default ``score_<class>`` when all exist). Needed for ``roc_auc``,
            ``log_loss`` and ``calibration_error``.
        metrics: a subset of ``accuracy, precision, recall, f1, roc_auc, log_loss,
            calibration_error`` (classification) or ``mean_error, mae, mse`` (regression);
            default: all that the columns allow.
        bins: numeric features with more distinct values than this are cut into this many
            quantile bins.
        pos_label: the positive class of a binary classifier (default 1 for 0/1 labels).
            Multiclass precision, recall and F1 are macro averages, as in scikit-learn.
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (non-integer predictions are
            a regression).
        interval: ``"wilson"`` (rates: accuracy, precision, recall; regression means get a normal
            interval), ``"bootstrap"`` (every metric, ``n_boot`` resamples within each slice), or
            None.
        calibration_bins: equal-width probability bins of the calibration error (ECE).
        overall: add a first row ``all`` holding every example (``by=[]`` then gives only it).

    Undefined rates follow scikit-learn's ``zero_division=0`` (precision with no predicted
    positives is 0) and keep the whole interval [0, 1]; ROC AUC of a slice with one class is NaN.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"g": ["a", "a", "b", "b"], "label": [1, 0, 1, 1], "prediction": [1, 1, 1, 0]})
    >>> slices(t, by="g", metrics=["accuracy"]).to_frame()[["slice", "n", "accuracy"]].values.tolist()
    [['g=a', 2, 0.5], ['g=b', 2, 0.5]]
    """
    table = require_frame(table)
    truth = require_column(table, label, "label")
    guess = require_column(table, prediction, "prediction")
    items = _by_items(table, by, allow_empty=overall)
    if table.empty:
        raise InvalidArgumentError("table", "a predictions table with at least one row", "an empty table")
    if task not in ("auto", "classification", "regression"):
        raise InvalidArgumentError("task", "'auto', 'classification' or 'regression'", task)
    if interval not in _INTERVALS:
        raise InvalidArgumentError("interval", "'wilson', 'bootstrap' or None", interval)
    z_value(confidence)
    bins = check_int(bins, "bins", low=1)
    if task == "auto":
        task = _infer_task(guess)
    if task == "regression":
        engine = _regression_engine(table, truth, guess, metrics)
    else:
        engine = _classification_engine(table, truth, guess, score, metrics, pos_label, calibration_bins)

    parts = []
    if overall:
        parts.append((np.zeros(len(table), dtype=np.int64), ["all"], "all", ["all"], ["true"]))
    parts.extend(_slice_codes(table, item, bins) for item in items)
    rng = np.random.default_rng(seed)
    frames = []
    for codes, values, feature, names, queries in parts:
        n_slices = len(values)
        point = engine.compute(codes, n_slices, None)
        block = {
            "slice": names,
            "feature": [feature] * n_slices,
            "value": values,
            "n": np.bincount(codes, minlength=n_slices).astype(np.int64),
            "query": queries,
        }
        bounds = (
            _bootstrap(engine, codes, n_slices, n_boot, confidence, rng)
            if interval == "bootstrap"
            else engine.intervals(point, confidence)
            if interval == "wilson"
            else {}
        )
        for metric in engine.metrics:
            block[metric] = point[metric]
            if metric in bounds:
                block[f"{metric}_low"], block[f"{metric}_high"] = bounds[metric]
        frames.append(pd.DataFrame(block))
    frame = pd.concat(frames, ignore_index=True)
    return SliceTable(frame=frame, metrics=list(engine.metrics), task=task, interval=interval, confidence=confidence)


# -- slicing ---------------------------------------------------------------------------------------


def _by_items(table: pd.DataFrame, by: Any, allow_empty: bool) -> list[tuple[str, ...]]:
    if isinstance(by, str):
        by = [by]
    if not isinstance(by, Sequence) or not (by or allow_empty):
        raise ArgumentTypeError("by", "a column name or a non-empty list of columns", by)
    items = []
    for item in by:
        columns = (item,) if isinstance(item, str) else tuple(item) if isinstance(item, Sequence) else None
        if not columns or not all(isinstance(c, str) for c in columns):
            raise ArgumentTypeError("by", "column names or tuples of column names", item)
        for column in columns:
            require_column(table, column, "by")
        items.append(columns)
    return items


def _slice_codes(
    table: pd.DataFrame, columns: tuple[str, ...], bins: int
) -> tuple[np.ndarray, list[str], str, list[str], list[str]]:
    """(code per row, value label, feature name, slice name and query per slice)."""
    codes, values, queries = _column_codes(table, columns[0], bins)
    names = [f"{columns[0]}={v}" for v in values]
    for column in columns[1:]:
        more, more_values, more_queries = _column_codes(table, column, bins)
        combined = codes * len(more_values) + more
        used = np.flatnonzero(np.bincount(combined, minlength=len(values) * len(more_values)))
        remap = np.full(len(values) * len(more_values), -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        codes = remap[combined]
        pairs = list(zip(*np.divmod(used, len(more_values)), strict=True))
        values = [f"{values[a]} & {more_values[b]}" for a, b in pairs]
        names = [f"{names[a]} & {column}={more_values[b]}" for a, b in pairs]
        queries = [f"{queries[a]} and {more_queries[b]}" for a, b in pairs]
    return codes, values, " & ".join(columns), names, queries


def _column_codes(table: pd.DataFrame, name: str, bins: int) -> tuple[np.ndarray, list[str], list[str]]:
    """Codes of a column's values (or of quantile bins of a many-valued numeric column), each
    slice's label, and the query language's condition that selects it."""
    column = table[name]
    ref = unparse(Column(name))
    numeric = pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)
    if numeric and column.nunique() > bins:
        x = column.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(x)
        edges = np.unique(np.quantile(x[~missing], np.linspace(0.0, 1.0, bins + 1)))
        codes = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
        last = len(edges) - 2
        values = [
            f"[{_number(lo)}, {_number(hi)}{']' if i == last else ')'}"
            for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True))
        ]
        queries = [
            f"{ref} >= {float(lo)!r} and {ref} {'<=' if i == last else '<'} {float(hi)!r}"
            for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True))
        ]
    else:
        codes, uniques = pd.factorize(column, sort=True)
        values = [str(v) for v in uniques]
        queries = [f"{ref} == {_literal(v)}" for v in uniques]
        missing = codes < 0
    codes = np.asarray(codes, dtype=np.int64)
    if missing.any():
        codes[missing] = len(values)
        values.append("missing")
        queries.append(f"is_missing({ref})")
    return codes, values, queries


def _literal(value: Any) -> str:
    value = value.item() if isinstance(value, np.generic) else value
    return unparse(Literal(value if isinstance(value, (bool, int, float, str)) else str(value)))


def _number(value: float) -> str:
    return f"{value:.4g}"


# -- metric engines --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Engine:
    """Computes the chosen metrics for every slice from codes and optional resampling weights."""

    metrics: tuple[str, ...]
    compute: Callable[[np.ndarray, int, np.ndarray | None], dict[str, np.ndarray]]
    intervals: Callable[[dict[str, np.ndarray], float], dict[str, tuple[np.ndarray, np.ndarray]]]


def _infer_task(guess: pd.Series) -> str:
    if pd.api.types.is_float_dtype(guess.dtype):
        values = guess.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = values[np.isfinite(values)]
        if len(finite) and not np.array_equal(finite, np.round(finite)):
            return "regression"
    return "classification"


def _choose(metrics: Sequence[str] | None, allowed: Sequence[str], default: Sequence[str]) -> tuple[str, ...]:
    if metrics is None:
        return tuple(default)
    if isinstance(metrics, str):
        metrics = [metrics]
    unknown = [m for m in metrics if m not in allowed]
    if unknown or not metrics:
        raise InvalidArgumentError("metrics", f"a non-empty list drawn from {list(allowed)}", list(metrics))
    return tuple(dict.fromkeys(metrics))


def _classification_engine(
    table: pd.DataFrame,
    truth: pd.Series,
    guess: pd.Series,
    score: Any,
    metrics: Sequence[str] | None,
    pos_label: Any,
    calibration_bins: int,
) -> _Engine:
    if truth.isna().any():
        raise InvalidArgumentError("label", "a label on every row", f"{int(truth.isna().sum())} missing labels")
    classes = sorted_classes(truth, guess)
    binary = len(classes) <= 2 and (pos_label is not None or set(classes) <= {0, 1})
    if len(classes) == 2 and not binary:
        positive_label(classes, pos_label)  # raises: two string classes need a pos_label
    if binary:
        positive = positive_label(classes, pos_label)
        y = (truth == positive).to_numpy(dtype=bool)
        p = (guess == positive).to_numpy(dtype=bool)
        s = _binary_scores(table, score)
        chosen = _choose(metrics, CLASSIFICATION_METRICS, _defaults(s is not None))
        _check_scores_needed(chosen, s is not None)

        def compute(codes: np.ndarray, n: int, w: np.ndarray | None) -> dict[str, np.ndarray]:
            return _binary_metrics(codes, n, y, p, s, w, chosen, calibration_bins)

        def intervals(point: dict[str, np.ndarray], confidence: float) -> dict[str, Any]:
            c = point["_counts"]  # columns tn, fp, fn, tp
            tn, fp, fn, tp = c[:, 0], c[:, 1], c[:, 2], c[:, 3]
            trials: dict[str, tuple[np.ndarray, np.ndarray]] = {
                "accuracy": (tp + tn, c.sum(axis=1)),
                "precision": (tp, tp + fp),
                "recall": (tp, tp + fn),
            }
            return {m: wilson_interval(*trials[m], confidence) for m in chosen if m in trials}

        return _Engine(chosen, compute, intervals)

    index = pd.Index(classes)
    y = index.get_indexer(pd.Index(truth))
    p = index.get_indexer(pd.Index(guess))
    if (p < 0).any():
        raise InvalidArgumentError("prediction", "a predicted class on every row", "missing predictions")
    probabilities = _class_scores(table, score, classes)
    chosen = _choose(metrics, CLASSIFICATION_METRICS, _defaults(probabilities is not None))
    _check_scores_needed(chosen, probabilities is not None)

    def compute_multi(codes: np.ndarray, n: int, w: np.ndarray | None) -> dict[str, np.ndarray]:
        return _multiclass_metrics(codes, n, len(classes), y, p, probabilities, w, chosen, calibration_bins)

    def intervals_multi(point: dict[str, np.ndarray], confidence: float) -> dict[str, Any]:
        if "accuracy" not in chosen:
            return {}
        return {"accuracy": wilson_interval(point["_correct"], point["_n"], confidence)}

    return _Engine(chosen, compute_multi, intervals_multi)


def _defaults(has_scores: bool) -> tuple[str, ...]:
    return CLASSIFICATION_METRICS if has_scores else CLASSIFICATION_METRICS[:4]


def _check_scores_needed(chosen: Sequence[str], has_scores: bool) -> None:
    needing = [m for m in chosen if m in _NEEDS_SCORES]
    if needing and not has_scores:
        raise InvalidArgumentError(
            "score",
            f"probability column(s), since metrics {needing} need them",
            "None",
            "Pass score='score' (binary) or the score_<class> columns.",
        )


def _binary_scores(table: pd.DataFrame, score: Any) -> np.ndarray | None:
    if score is None:
        score = "score" if "score" in table.columns else None
        if score is None:
            return None
    if not isinstance(score, str):
        raise ArgumentTypeError("score", "the name of the positive-class probability column", score)
    column = require_column(table, score, "score")
    return check_probabilities(column.to_numpy(dtype=np.float64, na_value=np.nan), score)


def _class_scores(table: pd.DataFrame, score: Any, classes: list[Any]) -> np.ndarray | None:
    if score is None:
        names: list[Any] = [f"score_{c}" for c in classes]
        if not all(n in table.columns for n in names):
            return None
    elif isinstance(score, Mapping):
        names = [score.get(c) for c in classes]
        if None in names:
            raise InvalidArgumentError("score", f"a column for every class {classes!r}", sorted(map(str, score)))
    elif isinstance(score, Sequence) and not isinstance(score, str):
        names = list(score)
        if len(names) != len(classes):
            raise InvalidArgumentError("score", f"one probability column per class ({len(classes)})", names)
    else:
        raise ArgumentTypeError("score", "a list of probability columns, one per class", score)
    return np.column_stack(
        [
            check_probabilities(require_column(table, n, "score").to_numpy(dtype=np.float64, na_value=np.nan), n)
            for n in names
        ]
    )


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray, empty: float = 0.0) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), empty)


def _sum(codes: np.ndarray, n: int, values: np.ndarray | None, w: np.ndarray | None) -> np.ndarray:
    weights = w if values is None else values if w is None else values * w
    return np.bincount(codes, weights=weights, minlength=n).astype(np.float64)


def _binary_metrics(
    codes: np.ndarray,
    n: int,
    y: np.ndarray,
    p: np.ndarray,
    s: np.ndarray | None,
    w: np.ndarray | None,
    chosen: Sequence[str],
    calibration_bins: int,
) -> dict[str, np.ndarray]:
    key = codes * 4 + y.view(np.int8) * 2 + p.view(np.int8)
    counts = np.bincount(key, weights=w, minlength=4 * n).reshape(n, 4).astype(np.float64)
    tn, fp, fn, tp = counts[:, 0], counts[:, 1], counts[:, 2], counts[:, 3]
    total = counts.sum(axis=1)
    out: dict[str, np.ndarray] = {"_counts": counts}
    if "accuracy" in chosen:
        out["accuracy"] = _safe_divide(tp + tn, total, np.nan)
    if "precision" in chosen:
        out["precision"] = _safe_divide(tp, tp + fp)
    if "recall" in chosen:
        out["recall"] = _safe_divide(tp, tp + fn)
    if "f1" in chosen:
        out["f1"] = _safe_divide(2 * tp, 2 * tp + fp + fn)
    if s is not None:
        if "roc_auc" in chosen:
            out["roc_auc"] = _roc_auc(codes, n, y, s, w)
        if "log_loss" in chosen:
            losses = -np.where(y, np.log(np.clip(s, _EPS, 1 - _EPS)), np.log(np.clip(1.0 - s, _EPS, 1 - _EPS)))
            out["log_loss"] = _safe_divide(_sum(codes, n, losses, w), total, np.nan)
        if "calibration_error" in chosen:
            out["calibration_error"] = _calibration_error(codes, n, s, y, w, total, calibration_bins)
    return out


def _multiclass_metrics(
    codes: np.ndarray,
    n: int,
    n_classes: int,
    y: np.ndarray,
    p: np.ndarray,
    probabilities: np.ndarray | None,
    w: np.ndarray | None,
    chosen: Sequence[str],
    calibration_bins: int,
) -> dict[str, np.ndarray]:
    size = n * n_classes
    true = np.bincount(codes * n_classes + y, weights=w, minlength=size).reshape(n, n_classes)
    pred = np.bincount(codes * n_classes + p, weights=w, minlength=size).reshape(n, n_classes)
    hit = y == p
    tp = np.bincount(codes[hit] * n_classes + y[hit], weights=None if w is None else w[hit], minlength=size).reshape(
        n, n_classes
    )
    total = true.sum(axis=1)
    correct = tp.sum(axis=1)
    present = (true > 0) | (pred > 0)
    n_present = present.sum(axis=1)

    def macro(per_class: np.ndarray) -> np.ndarray:
        return _safe_divide((per_class * present).sum(axis=1), n_present, np.nan)

    out: dict[str, np.ndarray] = {"_correct": correct, "_n": total}
    if "accuracy" in chosen:
        out["accuracy"] = _safe_divide(correct, total, np.nan)
    if "precision" in chosen:
        out["precision"] = macro(_safe_divide(tp, pred))
    if "recall" in chosen:
        out["recall"] = macro(_safe_divide(tp, true))
    if "f1" in chosen:
        out["f1"] = macro(_safe_divide(2 * tp, true + pred))
    if probabilities is not None:
        if "roc_auc" in chosen:
            per_class = np.column_stack([_roc_auc(codes, n, y == c, probabilities[:, c], w) for c in range(n_classes)])
            out["roc_auc"] = per_class.mean(axis=1)  # NaN unless every class is present, as sklearn
        if "log_loss" in chosen:
            p_true = np.clip(probabilities[np.arange(len(y)), y], _EPS, 1 - _EPS)
            out["log_loss"] = _safe_divide(_sum(codes, n, -np.log(p_true), w), total, np.nan)
        if "calibration_error" in chosen:
            top = probabilities.max(axis=1)
            out["calibration_error"] = _calibration_error(codes, n, top, hit, w, total, calibration_bins)
    return out


def _roc_auc(codes: np.ndarray, n: int, y: np.ndarray, s: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """ROC AUC per slice as the Mann-Whitney statistic (ties count one half), with weights.

    Rows are sorted by (slice, score); within a slice the AUC is the weighted share of
    (positive, negative) pairs where the positive scores higher, which equals scikit-learn's
    ``roc_auc_score``.
    """
    order = np.lexsort((s, codes))
    c, sv, yv = codes[order], s[order], y[order]
    wv = np.ones(len(order)) if w is None else w[order].astype(np.float64)
    starts = np.empty(len(order), dtype=bool)
    starts[:1] = True
    starts[1:] = (c[1:] != c[:-1]) | (sv[1:] != sv[:-1])
    group = np.cumsum(starts) - 1
    n_groups = int(group[-1]) + 1 if len(group) else 0
    group_pos = np.bincount(group, weights=wv * yv, minlength=n_groups)
    group_neg = np.bincount(group, weights=wv * ~yv, minlength=n_groups)
    group_code = c[starts]
    negatives_before = np.cumsum(group_neg) - group_neg
    first_of_slice = np.empty(n_groups, dtype=bool)
    first_of_slice[:1] = True
    first_of_slice[1:] = group_code[1:] != group_code[:-1]
    offset = negatives_before[first_of_slice][np.cumsum(first_of_slice) - 1]
    below = negatives_before - offset
    wins = np.bincount(group_code, weights=group_pos * (below + 0.5 * group_neg), minlength=n)
    positives = _sum(codes, n, y.astype(np.float64), w)
    negatives = _sum(codes, n, (~y).astype(np.float64), w)
    pairs = positives * negatives
    return _safe_divide(wins, pairs, np.nan)


def _calibration_error(
    codes: np.ndarray,
    n: int,
    confidence: np.ndarray,
    outcome: np.ndarray,
    w: np.ndarray | None,
    total: np.ndarray,
    n_bins: int,
) -> np.ndarray:
    """Expected calibration error: sum over equal-width bins of |observed - predicted| / n."""
    bin_index = np.minimum((confidence * n_bins).astype(np.int64), n_bins - 1)
    key = codes * n_bins + bin_index
    size = n * n_bins
    predicted = np.bincount(key, weights=confidence if w is None else confidence * w, minlength=size)
    observed = np.bincount(key, weights=outcome.astype(np.float64) if w is None else outcome * w, minlength=size)
    gap = np.abs(observed - predicted).reshape(n, n_bins).sum(axis=1)
    return _safe_divide(gap, total, np.nan)


def _regression_engine(
    table: pd.DataFrame, truth: pd.Series, guess: pd.Series, metrics: Sequence[str] | None
) -> _Engine:
    chosen = _choose(metrics, REGRESSION_METRICS, REGRESSION_METRICS)
    if not pd.api.types.is_numeric_dtype(truth.dtype):
        raise InvalidArgumentError("label", "numeric labels for a regression", f"dtype {truth.dtype}")
    error = guess.to_numpy(dtype=np.float64, na_value=np.nan) - truth.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(error).all():
        raise InvalidArgumentError("label", "finite labels and predictions", "missing or infinite values")
    per_row = {"mean_error": error, "mae": np.abs(error), "mse": error**2}

    def compute(codes: np.ndarray, n: int, w: np.ndarray | None) -> dict[str, np.ndarray]:
        total = _sum(codes, n, None, w) if w is not None else np.bincount(codes, minlength=n).astype(np.float64)
        out: dict[str, np.ndarray] = {"_n": total}
        for m in chosen:
            out[m] = _safe_divide(_sum(codes, n, per_row[m], w), total, np.nan)
            out[f"_sq_{m}"] = _safe_divide(_sum(codes, n, per_row[m] ** 2, w), total, np.nan)
        return out

    def intervals(point: dict[str, np.ndarray], confidence: float) -> dict[str, Any]:
        z = z_value(confidence)
        n = point["_n"]
        bounds = {}
        for m in chosen:
            mean = point[m]
            with np.errstate(divide="ignore", invalid="ignore"):
                variance = (point[f"_sq_{m}"] - mean**2) * n / (n - 1)
                half = z * np.sqrt(np.maximum(variance, 0.0) / n)
            half = np.where(n > 1, half, np.nan)
            bounds[m] = (mean - half, mean + half)
        return bounds

    return _Engine(chosen, compute, intervals)


def _bootstrap(
    engine: _Engine, codes: np.ndarray, n: int, n_boot: int, confidence: float, rng: np.random.Generator
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Percentile intervals from ``n_boot`` resamples drawn within each slice (slice sizes kept)."""
    n_boot = check_int(n_boot, "n_boot", low=2)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=n)
    starts = np.cumsum(sizes) - sizes
    sorted_codes = codes[order]
    draws = {m: np.empty((n_boot, n)) for m in engine.metrics}
    for b in range(n_boot):
        picks = starts[sorted_codes] + (rng.random(len(codes)) * sizes[sorted_codes]).astype(np.int64)
        weights = np.empty(len(codes))
        weights[order] = np.bincount(picks, minlength=len(codes))
        values = engine.compute(codes, n, weights)
        for m in engine.metrics:
            draws[m][b] = values[m]
    alpha = (1.0 - confidence) / 2.0
    bounds = {}
    for m, samples in draws.items():
        with warnings.catch_warnings():  # all-NaN columns (undefined metrics) are expected
            warnings.simplefilter("ignore", RuntimeWarning)
            bounds[m] = (np.nanquantile(samples, alpha, axis=0), np.nanquantile(samples, 1 - alpha, axis=0))
    return bounds
