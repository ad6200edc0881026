"""Classifier comparisons as data, after Ludwig's visualisations.

Every function reads predictions tables (see ``predictions``) and returns a result with
``to_frame()`` and ``figure()``. Functions that compare models take ``tables``: a mapping from a
model's name to its table (or one table, named ``"model"``), all over the same examples.

- ``confusion_matrix``: counts or rates, the ``top_n`` most frequent classes.
- ``compare_performance``: every metric of every model, with intervals.
- ``compare_predictions``: both right / both wrong / only one right, counts and the examples.
- ``confidence_thresholding`` and ``data_vs_accuracy``: accuracy and coverage against a threshold
  on the confidence.
- ``two_thresholds``: the same for two outputs at once, as a 2-D or 3-D surface.
- ``calibration``: reliability diagram and Brier score (one-vs-all per class).
- ``roc_pr``: ROC and precision-recall curves per class with their areas.
- ``frequency_vs_f1`` and ``multiclass_metrics``: per-class precision, recall and F1 with support.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.evaluate._common import (
    check_probabilities,
    positive_label,
    require_column,
    require_frame,
    sorted_classes,
)
from deepscope.evaluate.slices import slices
from deepscope.result import Result
from deepscope.validation import check_int

__all__ = [
    "confusion_matrix",
    "compare_performance",
    "compare_predictions",
    "confidence_thresholding",
    "data_vs_accuracy",
    "two_thresholds",
    "calibration",
    "roc_pr",
    "frequency_vs_f1",
    "multiclass_metrics",
    "ConfusionMatrix",
    "Performance",
    "Agreement",
    "ThresholdCurve",
    "ThresholdSurface",
    "Calibration",
    "Curves",
    "PerClassMetrics",
]

Tables = Mapping[str, pd.DataFrame] | pd.DataFrame
_DEFAULT_THRESHOLDS = np.round(np.arange(0.0, 1.0, 0.05), 2)


# -- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ConfusionMatrix(Result):
    """``matrix[i, j]``: examples of class ``classes[i]`` predicted as ``classes[j]`` (or a rate).

    Classes are ordered by how often they occur as labels, most frequent first.
    """

    matrix: np.ndarray
    classes: list[Any]
    normalize: str | None

    def to_frame(self) -> pd.DataFrame:
        """Long form: ``label, prediction, value``."""
        k = len(self.classes)
        return pd.DataFrame(
            {
                "label": np.repeat(np.asarray(self.classes, dtype=object), k),
                "prediction": np.tile(np.asarray(self.classes, dtype=object), k),
                "value": self.matrix.reshape(-1),
            }
        )

    default_tag = "confusion_matrix"
    #: A heatmap, labels down and predictions across.
    figure_function = "deepscope.viz.evaluate:confusion_matrix_figure"


@dataclass(frozen=True, eq=False)
class Performance(Result):
    """One row per model: ``model, n`` and each metric with its interval."""

    frame: pd.DataFrame
    metrics: list[str]

    def to_frame(self) -> pd.DataFrame:
        """One row per model."""
        return self.frame.copy()

    default_tag = "performance"
    #: Grouped bars: one group per metric, one bar per model, with intervals.
    figure_function = "deepscope.viz.evaluate:performance_figure"


AGREEMENT_OUTCOMES = ("both right", "only {a} right", "only {b} right", "both wrong, same", "both wrong, different")


@dataclass(frozen=True, eq=False)
class Agreement(Result):
    """How two models' predictions relate on each example.

    ``counts``: ``outcome, n, share``; ``rows``: one row per example (original index) with
    ``label, prediction_<a>, prediction_<b>, outcome``.
    """

    counts: pd.DataFrame
    rows: pd.DataFrame
    names: list[str]

    def to_frame(self) -> pd.DataFrame:
        """``outcome, n, share``."""
        return self.counts.copy()

    def examples(self, outcome: str) -> pd.DataFrame:
        """The examples of one outcome (``"both right"``, ``"only <name> right"``, ...)."""
        known = self.counts["outcome"].tolist()
        if outcome not in known:
            raise InvalidArgumentError("outcome", f"one of {known}", outcome)
        return self.rows[self.rows["outcome"] == outcome]

    default_tag = "agreement"
    #: Bars of each outcome's count.
    figure_function = "deepscope.viz.evaluate:agreement_figure"


@dataclass(frozen=True, eq=False)
class ThresholdCurve(Result):
    """Accuracy and coverage of the examples whose confidence reaches each threshold.

    ``frame``: ``model, threshold, n, coverage, accuracy``. ``view`` picks the figure:
    ``"threshold"`` (both against the threshold) or ``"data_vs_accuracy"`` (accuracy against
    coverage).
    """

    frame: pd.DataFrame
    view: str

    def to_frame(self) -> pd.DataFrame:
        """One row per model and threshold."""
        return self.frame.copy()

    default_tag = "threshold_curve"
    #: Lines per model, as ``view`` says.
    figure_function = "deepscope.viz.evaluate:threshold_curve_figure"


@dataclass(frozen=True, eq=False)
class ThresholdSurface(Result):
    """Two outputs thresholded at once: ``coverage[i, j]`` and ``accuracy[i, j]`` of the examples
    whose first confidence reaches ``thresholds[i]`` and second reaches ``thresholds[j]``
    (accuracy: both outputs right)."""

    thresholds: np.ndarray
    coverage: np.ndarray
    accuracy: np.ndarray
    names: list[str]

    def to_frame(self) -> pd.DataFrame:
        """Long form: ``threshold_1, threshold_2, coverage, accuracy``."""
        t = self.thresholds
        return pd.DataFrame(
            {
                "threshold_1": np.repeat(t, len(t)),
                "threshold_2": np.tile(t, len(t)),
                "coverage": self.coverage.reshape(-1),
                "accuracy": self.accuracy.reshape(-1),
            }
        )

    default_tag = "threshold_surface"
    #: ``kind="2d"``: heatmaps of accuracy and coverage; ``"3d"``: the accuracy surface.
    figure_function = "deepscope.viz.evaluate:threshold_surface_figure"


@dataclass(frozen=True, eq=False)
class Calibration(Result):
    """Reliability diagram data and Brier scores, per model and class (one-vs-all).

    ``curves``: ``model, class, bin, mean_predicted, fraction_positive, count`` (empty bins
    left out); ``brier``: ``model, class, brier``.
    """

    curves: pd.DataFrame
    brier: pd.DataFrame
    n_bins: int

    def to_frame(self) -> pd.DataFrame:
        """The reliability curves."""
        return self.curves.copy()

    default_tag = "calibration"
    #: Reliability diagram against the diagonal, Brier scores in the legend.
    figure_function = "deepscope.viz.evaluate:calibration_figure"


@dataclass(frozen=True, eq=False)
class Curves(Result):
    """ROC and precision-recall curves per model and class (one-vs-rest).

    ``roc``: ``model, class, threshold, fpr, tpr``; ``pr``: ``model, class, threshold, recall,
    precision``; ``summary``: ``model, class, support, roc_auc, average_precision``.
    """

    roc: pd.DataFrame
    pr: pd.DataFrame
    summary: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The areas: one row per model and class."""
        return self.summary.copy()

    default_tag = "curves"
    #: ``kind="roc"`` or ``"pr"``: one line per model and class.
    figure_function = "deepscope.viz.evaluate:curves_figure"


@dataclass(frozen=True, eq=False)
class PerClassMetrics(Result):
    """Per-class ``precision, recall, f1, support`` of each model, most frequent class first.

    ``view``: ``"multimetric"`` (bars of the three metrics per class) or ``"frequency_vs_f1"``
    (F1 bars with the class frequency as a line).
    """

    frame: pd.DataFrame
    view: str

    def to_frame(self) -> pd.DataFrame:
        """``model, class, support, frequency, precision, recall, f1``."""
        return self.frame.copy()

    default_tag = "per_class_metrics"
    #: As ``view`` says.
    figure_function = "deepscope.viz.evaluate:per_class_figure"


# -- functions -------------------------------------------------------------------------------------


def confusion_matrix(
    table: pd.DataFrame,
    *,
    label: str = "label",
    prediction: str = "prediction",
    top_n: int | None = None,
    normalize: str | None = None,
) -> ConfusionMatrix:
    """The confusion matrix of the ``top_n`` most frequent classes (all by default).

    ``normalize``: None (counts), ``"true"`` (each label's row sums to 1), ``"pred"`` (each
    prediction's column sums to 1) or ``"all"``. Rates are computed over every class before the
    top classes are kept, so a row's rates still say where all of that class went.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"label": [0, 0, 1], "prediction": [0, 1, 1]})
    >>> confusion_matrix(t).matrix.tolist()
    [[1, 1], [0, 1]]
    """
    table = require_frame(table)
    truth = require_column(table, label, "label")
    guess = require_column(table, prediction, "prediction")
    if normalize not in (None, "true", "pred", "all"):
        raise InvalidArgumentError("normalize", "None, 'true', 'pred' or 'all'", normalize)
    classes = sorted_classes(truth, guess)
    index = pd.Index(classes)
    y, p = index.get_indexer(pd.Index(truth)), index.get_indexer(pd.Index(guess))
    keep = (y >= 0) & (p >= 0)
    k = len(classes)
    counts = np.bincount(y[keep] * k + p[keep], minlength=k * k).reshape(k, k)
    frequency = counts.sum(axis=1)
    order = np.argsort(-frequency, kind="stable")
    matrix: np.ndarray = counts
    if normalize is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            if normalize == "true":
                matrix = counts / counts.sum(axis=1, keepdims=True)
            elif normalize == "pred":
                matrix = counts / counts.sum(axis=0, keepdims=True)
            else:
                matrix = counts / counts.sum()
        matrix = np.nan_to_num(matrix)
    if top_n is not None:
        top_n = check_int(top_n, "top_n", low=1)
        order = order[:top_n]
    return ConfusionMatrix(
        matrix=matrix[np.ix_(order, order)], classes=[classes[i] for i in order], normalize=normalize
    )


def compare_performance(
    tables: Tables,
    *,
    label: str = "label",
    prediction: str = "prediction",
    score: Any = None,
    metrics: Sequence[str] | None = None,
    pos_label: Any = None,
    interval: str | None = "wilson",
    confidence: float = 0.95,
) -> Performance:
    """Every metric of every model on its whole table (the metrics of ``slices``).

    >>> import pandas as pd
    >>> t = pd.DataFrame({"label": [0, 1, 1], "prediction": [0, 1, 0]})
    >>> compare_performance({"m": t}, metrics=["accuracy"]).to_frame()["accuracy"].round(3).tolist()
    [0.667]
    """
    rows = []
    chosen: list[str] = []
    for name, table in _tables(tables).items():
        result = slices(
            table,
            by=[],
            overall=True,
            label=label,
            prediction=prediction,
            score=score,
            metrics=metrics,
            pos_label=pos_label,
            interval=interval,
            confidence=confidence,
        )
        chosen = result.metrics
        row = result.frame.drop(columns=["slice", "feature", "value"]).iloc[0].to_dict()
        rows.append({"model": name, **row})
    return Performance(frame=pd.DataFrame(rows), metrics=chosen)


def compare_predictions(
    tables: Mapping[str, pd.DataFrame], *, label: str = "label", prediction: str = "prediction"
) -> Agreement:
    """Sort the examples of two models by outcome: both right, only one right, both wrong.

    The tables are matched by index; "both wrong, same" means the same wrong class.

    >>> import pandas as pd
    >>> a = pd.DataFrame({"label": [0, 1, 1], "prediction": [0, 1, 0]})
    >>> b = pd.DataFrame({"label": [0, 1, 1], "prediction": [0, 0, 0]})
    >>> compare_predictions({"a": a, "b": b}).to_frame()["n"].tolist()
    [1, 1, 0, 1, 0]
    """
    named = _tables(tables)
    if len(named) != 2:
        raise InvalidArgumentError("tables", "exactly two models' tables", f"{len(named)} tables")
    (name_a, a), (name_b, b) = named.items()
    if name_a == name_b:
        raise InvalidArgumentError("tables", "two different model names", [name_a, name_b])
    truth = require_column(a, label, "label")
    pred_a = require_column(a, prediction, "prediction")
    pred_b = require_column(b, prediction, "prediction")
    if not a.index.equals(b.index):
        if a.index.has_duplicates or b.index.has_duplicates or not a.index.sort_values().equals(b.index.sort_values()):
            raise InvalidArgumentError(
                "tables",
                "two tables over the same examples (the same index)",
                f"{len(a)} and {len(b)} rows with different index labels",
            )
        pred_b = pred_b.reindex(a.index)
    right_a = (pred_a == truth).to_numpy(dtype=bool)
    right_b = (pred_b == truth).to_numpy(dtype=bool)
    same = (pred_a == pred_b).to_numpy(dtype=bool)
    outcomes = [o.format(a=name_a, b=name_b) for o in AGREEMENT_OUTCOMES]
    code = np.select(
        [right_a & right_b, right_a & ~right_b, ~right_a & right_b, same],
        [0, 1, 2, 3],
        default=4,
    )
    counts = np.bincount(code, minlength=5)
    rows = pd.DataFrame(
        {
            "label": truth,
            f"prediction_{name_a}": pred_a,
            f"prediction_{name_b}": pred_b.to_numpy(),
            "outcome": np.asarray(outcomes, dtype=object)[code],
        },
        index=a.index,
    )
    summary = pd.DataFrame({"outcome": outcomes, "n": counts, "share": counts / max(len(code), 1)})
    return Agreement(counts=summary, rows=rows, names=[name_a, name_b])


def confidence_thresholding(
    tables: Tables,
    *,
    label: str = "label",
    prediction: str = "prediction",
    confidence: str = "confidence",
    thresholds: Sequence[float] | None = None,
) -> ThresholdCurve:
    """Accuracy and coverage of the examples with ``confidence >= threshold``, per threshold.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"label": [0, 1], "prediction": [0, 0], "confidence": [0.9, 0.6]})
    >>> confidence_thresholding(t, thresholds=[0.5, 0.8]).to_frame()[["coverage", "accuracy"]].values.tolist()
    [[1.0, 0.5], [0.5, 1.0]]
    """
    return _threshold_curve(tables, label, prediction, confidence, thresholds, "threshold")


def data_vs_accuracy(
    tables: Tables,
    *,
    label: str = "label",
    prediction: str = "prediction",
    confidence: str = "confidence",
    thresholds: Sequence[float] | None = None,
) -> ThresholdCurve:
    """Accuracy against the share of data kept when only confident predictions are kept.

    The same numbers as ``confidence_thresholding``, drawn as accuracy over coverage.
    """
    return _threshold_curve(tables, label, prediction, confidence, thresholds, "data_vs_accuracy")


def two_thresholds(
    first: pd.DataFrame,
    second: pd.DataFrame,
    *,
    label: str = "label",
    prediction: str = "prediction",
    confidence: str = "confidence",
    thresholds: Sequence[float] | None = None,
    names: Sequence[str] = ("first", "second"),
) -> ThresholdSurface:
    """Coverage and accuracy when two outputs (two tables over the same examples) are both
    thresholded: an example counts when both confidences reach their thresholds, and is right
    when both predictions are.

    >>> import pandas as pd
    >>> a = pd.DataFrame({"label": [0, 1], "prediction": [0, 1], "confidence": [0.9, 0.6]})
    >>> b = pd.DataFrame({"label": [1, 1], "prediction": [1, 0], "confidence": [0.7, 0.8]})
    >>> s = two_thresholds(a, b, thresholds=[0.0, 0.75])
    >>> s.coverage.tolist(), s.accuracy.tolist()
    ([[1.0, 0.5], [0.5, 0.0]], [[0.5, 0.0], [1.0, nan]])
    """
    a, b = require_frame(first, "first"), require_frame(second, "second")
    if len(a) != len(b) or not a.index.equals(b.index):
        raise InvalidArgumentError("second", "a table over the same examples (index) as first", f"{len(b)} rows")
    t = _thresholds(thresholds)
    k1, right1 = _threshold_rank(a, label, prediction, confidence, t)
    k2, right2 = _threshold_rank(b, label, prediction, confidence, t)
    size = len(t) + 1
    covered = np.bincount(k1 * size + k2, minlength=size * size).reshape(size, size)
    both = right1 & right2
    hits = np.bincount(k1[both] * size + k2[both], minlength=size * size).reshape(size, size)
    # An example with rank r passes thresholds 0..r-1: sum the counts of ranks above (i, j).
    covered_at = _reverse_cumsum_2d(covered)[1:, 1:]
    hits_at = _reverse_cumsum_2d(hits)[1:, 1:]
    n = max(len(a), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        accuracy = np.where(covered_at > 0, hits_at / np.maximum(covered_at, 1), np.nan)
    return ThresholdSurface(thresholds=t, coverage=covered_at / n, accuracy=accuracy, names=list(names))


def calibration(
    tables: Tables,
    *,
    label: str = "label",
    score: str | Sequence[str] | None = None,
    n_bins: int = 10,
    strategy: str = "uniform",
    pos_label: Any = None,
) -> Calibration:
    """Reliability diagram (fraction of positives against mean predicted probability per bin) and
    Brier score, one-vs-all for every class.

    Binary tables use ``score`` (default the ``score`` column) for the positive class;
    multiclass tables use their ``score_<class>`` columns. Bins are equal-width (``uniform``) or
    hold equal numbers of examples (``quantile``), as ``sklearn.calibration.calibration_curve``.
    """
    n_bins = check_int(n_bins, "n_bins", low=1)
    if strategy not in ("uniform", "quantile"):
        raise InvalidArgumentError("strategy", "'uniform' or 'quantile'", strategy)
    curves, briers = [], []
    for name, table in _tables(tables).items():
        for cls, y, s in _one_vs_all(table, label, score, pos_label):
            if strategy == "quantile":
                edges = np.quantile(s, np.linspace(0.0, 1.0, n_bins + 1))
            else:
                edges = np.linspace(0.0, 1.0, n_bins + 1)
            bin_id = np.searchsorted(edges[1:-1], s)
            count = np.bincount(bin_id, minlength=n_bins)
            sum_s = np.bincount(bin_id, weights=s, minlength=n_bins)
            sum_y = np.bincount(bin_id, weights=y.astype(np.float64), minlength=n_bins)
            used = count > 0
            curves.append(
                pd.DataFrame(
                    {
                        "model": name,
                        "class": [cls] * int(used.sum()),
                        "bin": np.flatnonzero(used),
                        "mean_predicted": sum_s[used] / count[used],
                        "fraction_positive": sum_y[used] / count[used],
                        "count": count[used],
                    }
                )
            )
            briers.append({"model": name, "class": cls, "brier": float(np.mean((s - y) ** 2))})
    return Calibration(curves=pd.concat(curves, ignore_index=True), brier=pd.DataFrame(briers), n_bins=n_bins)


def roc_pr(
    tables: Tables,
    *,
    label: str = "label",
    score: str | Sequence[str] | None = None,
    pos_label: Any = None,
) -> Curves:
    """ROC and precision-recall curves with their areas (ROC AUC, average precision), one-vs-rest
    per class (the positive class only for a binary table)."""
    rocs, prs, summary = [], [], []
    for name, table in _tables(tables).items():
        for cls, y, s in _one_vs_all(table, label, score, pos_label):
            threshold, tp, fp = _ranked_counts(s, y)
            positives, negatives = tp[-1], fp[-1]
            tpr = tp / positives if positives else np.full(len(tp), np.nan)
            fpr = fp / negatives if negatives else np.full(len(fp), np.nan)
            rocs.append(
                pd.DataFrame(
                    {"model": name, "class": [cls] * len(threshold), "threshold": threshold, "fpr": fpr, "tpr": tpr}
                )
            )
            with np.errstate(divide="ignore", invalid="ignore"):
                precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 1.0)
            recall = tpr
            prs.append(
                pd.DataFrame(
                    {
                        "model": name,
                        "class": [cls] * len(threshold),
                        "threshold": threshold,
                        "recall": recall,
                        "precision": precision,
                    }
                )
            )
            roc_auc = float(np.trapezoid(tpr, fpr)) if positives and negatives else np.nan
            average_precision = float(np.sum(np.diff(recall) * precision[1:])) if positives else np.nan
            summary.append(
                {
                    "model": name,
                    "class": cls,
                    "support": int(positives),
                    "roc_auc": roc_auc,
                    "average_precision": average_precision,
                }
            )
    return Curves(
        roc=pd.concat(rocs, ignore_index=True), pr=pd.concat(prs, ignore_index=True), summary=pd.DataFrame(summary)
    )


def frequency_vs_f1(
    tables: Tables, *, label: str = "label", prediction: str = "prediction", top_n: int | None = None
) -> PerClassMetrics:
    """Each class's F1 beside how often it occurs, most frequent first (rare classes last)."""
    return PerClassMetrics(frame=_per_class(tables, label, prediction, top_n), view="frequency_vs_f1")


def multiclass_metrics(
    tables: Tables, *, label: str = "label", prediction: str = "prediction", top_n: int | None = None
) -> PerClassMetrics:
    """Precision, recall and F1 of every class of every model, most frequent class first.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"label": [0, 0, 1, 2], "prediction": [0, 1, 1, 2]})
    >>> frame = multiclass_metrics(t).to_frame()
    >>> frame["class"].tolist(), frame["precision"].tolist(), frame["recall"].tolist()
    ([0, 1, 2], [1.0, 0.5, 1.0], [0.5, 1.0, 1.0])
    """
    return PerClassMetrics(frame=_per_class(tables, label, prediction, top_n), view="multimetric")


# -- helpers ---------------------------------------------------------------------------------------


def _tables(tables: Any) -> dict[str, pd.DataFrame]:
    if isinstance(tables, pd.DataFrame):
        return {"model": tables}
    if not isinstance(tables, Mapping) or not tables:
        raise ArgumentTypeError("tables", "a predictions table or a mapping name -> table", tables)
    for name, table in tables.items():
        require_frame(table, f"tables[{name!r}]")
    return {str(k): v for k, v in tables.items()}


def _thresholds(thresholds: Sequence[float] | None) -> np.ndarray:
    t = _DEFAULT_THRESHOLDS if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    if t.ndim != 1 or len(t) == 0 or not np.all(np.diff(t) > 0):
        raise InvalidArgumentError("thresholds", "an increasing list of numbers", thresholds)
    return t


def _threshold_rank(
    table: pd.DataFrame, label: str, prediction: str, confidence: str, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(how many thresholds each example's confidence reaches, whether it is right)."""
    truth = require_column(table, label, "label")
    guess = require_column(table, prediction, "prediction")
    conf = require_column(table, confidence, "confidence").to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isnan(conf).any():
        raise InvalidArgumentError(
            "confidence", f"a confidence on every row of column {confidence!r}", "missing values"
        )
    return np.searchsorted(t, conf, side="right"), (guess == truth).to_numpy(dtype=bool)


def _reverse_cumsum_2d(counts: np.ndarray) -> np.ndarray:
    return counts[::-1, ::-1].cumsum(axis=0).cumsum(axis=1)[::-1, ::-1]


def _threshold_curve(
    tables: Tables, label: str, prediction: str, confidence: str, thresholds: Sequence[float] | None, view: str
) -> ThresholdCurve:
    t = _thresholds(thresholds)
    frames = []
    for name, table in _tables(tables).items():
        rank, right = _threshold_rank(table, label, prediction, confidence, t)
        covered = np.bincount(rank, minlength=len(t) + 1)[::-1].cumsum()[::-1][1:]
        hits = np.bincount(rank[right], minlength=len(t) + 1)[::-1].cumsum()[::-1][1:]
        with np.errstate(divide="ignore", invalid="ignore"):
            accuracy = np.where(covered > 0, hits / np.maximum(covered, 1), np.nan)
        frames.append(
            pd.DataFrame(
                {
                    "model": name,
                    "threshold": t,
                    "n": covered,
                    "coverage": covered / max(len(table), 1),
                    "accuracy": accuracy,
                }
            )
        )
    return ThresholdCurve(frame=pd.concat(frames, ignore_index=True), view=view)


def _one_vs_all(
    table: pd.DataFrame, label: str, score: Any, pos_label: Any
) -> list[tuple[Any, np.ndarray, np.ndarray]]:
    """(class, is-that-class, probability of that class) for each class scored in ``table``."""
    truth = require_column(table, label, "label")
    if truth.isna().any():
        raise InvalidArgumentError("label", "a label on every row", f"{int(truth.isna().sum())} missing labels")
    if isinstance(score, str) or (score is None and "score" in table.columns):
        column = "score" if score is None else score
        s = check_probabilities(
            require_column(table, column, "score").to_numpy(dtype=np.float64, na_value=np.nan), column
        )
        classes = sorted_classes(truth)
        if len(classes) > 2:
            raise InvalidArgumentError("score", "one probability column per class for a multiclass table", column)
        positive = positive_label(classes or [1], pos_label)
        return [(positive, (truth == positive).to_numpy(dtype=bool), s)]
    if score is None:
        columns = [c for c in table.columns if isinstance(c, str) and c.startswith("score_")]
        if not columns:
            raise InvalidArgumentError(
                "score",
                "a 'score' column or score_<class> columns",
                "none in the table",
                "Make the table with deepscope.evaluate.predictions().",
            )
        classes = [c[len("score_") :] for c in columns]
        known = {str(v): v for v in sorted_classes(truth)}
        pairs = [(known.get(c, c), col) for c, col in zip(classes, columns, strict=True)]
    elif isinstance(score, Sequence):
        pairs = [(c, col) for c, col in zip(sorted_classes(truth), score, strict=False)]
        if len(score) != len(pairs):
            raise InvalidArgumentError("score", f"one column per class ({len(pairs)})", list(score))
    else:
        raise ArgumentTypeError("score", "a column name or a list of columns", score)
    out = []
    for cls, column in pairs:
        s = check_probabilities(
            require_column(table, column, "score").to_numpy(dtype=np.float64, na_value=np.nan), column
        )
        out.append((cls, (truth == cls).to_numpy(dtype=bool), s))
    return out


def _ranked_counts(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thresholds from above every score down to the lowest, with true/false positives at each."""
    order = np.argsort(-s, kind="stable")
    sv, yv = s[order], y[order]
    last = np.r_[sv[1:] != sv[:-1], True] if len(sv) else np.zeros(0, dtype=bool)
    tp = np.r_[0, np.cumsum(yv)[last]].astype(np.float64)
    fp = np.r_[0, np.cumsum(~yv)[last]].astype(np.float64)
    threshold = np.r_[np.inf, sv[last]]
    return threshold, tp, fp


def _per_class(tables: Tables, label: str, prediction: str, top_n: int | None) -> pd.DataFrame:
    top_n = check_int(top_n, "top_n", low=1, allow_none=True)
    frames = []
    for name, table in _tables(tables).items():
        truth = require_column(table, label, "label")
        guess = require_column(table, prediction, "prediction")
        classes = sorted_classes(truth, guess)
        index = pd.Index(classes)
        y, p = index.get_indexer(pd.Index(truth)), index.get_indexer(pd.Index(guess))
        keep = (y >= 0) & (p >= 0)
        y, p = y[keep], p[keep]
        k = len(classes)
        support = np.bincount(y, minlength=k)
        predicted = np.bincount(p, minlength=k)
        tp = np.bincount(y[y == p], minlength=k)
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
            recall = np.where(support > 0, tp / np.maximum(support, 1), 0.0)
            f1 = np.where(support + predicted > 0, 2 * tp / np.maximum(support + predicted, 1), 0.0)
        frame = pd.DataFrame(
            {
                "model": name,
                "class": classes,
                "support": support,
                "frequency": support / max(len(y), 1),
                "precision": precision,
                "recall": recall,
                "f1": f1,
            }
        ).sort_values("support", ascending=False, kind="stable")
        frames.append(frame.head(top_n) if top_n else frame)
    return pd.concat(frames, ignore_index=True)
