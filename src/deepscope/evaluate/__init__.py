"""How well might the model work, on which data, and why does it fail there.

- ``predictions(model, data, label=..., features=...)``: the predictions table every other
  function reads (label, prediction, per-class scores, confidence, correctness, loss).
- ``slices(table, by=...)``: metrics per slice with confidence intervals.
- ``thresholds(table, group=..., strategy=...)``: fairness thresholds per group (What-If Tool).
- ``nearest_counterfactual``, ``partial_dependence``: what-if analysis.
- ``confusion_matrix``, ``compare_performance``, ``compare_predictions``,
  ``confidence_thresholding``, ``data_vs_accuracy``, ``two_thresholds``, ``calibration``,
  ``roc_pr``, ``frequency_vs_f1``, ``multiclass_metrics``: classifier comparisons (Ludwig).
- ``query(table, text)``, ``groups``, ``rewrite``: error analysis with a query language (Errudite).
- ``side_by_side``, ``compare_generated``, ``salience`` and the generators ``word_replacer``,
  ``scrambler``, ``token_ablation``: two or more models on the same data (LIT).

>>> import deepscope as ds, pandas as pd
>>> t = pd.DataFrame({"group": ["a", "a", "b"], "label": [1, 0, 1], "prediction": [1, 1, 1]})
>>> ds.evaluate.slices(t, by="group", metrics=["accuracy"]).to_frame()["accuracy"].tolist()
[0.5, 1.0]
"""

from __future__ import annotations

from deepscope.evaluate.compare import (
    Agreement,
    Calibration,
    ConfusionMatrix,
    Curves,
    PerClassMetrics,
    Performance,
    ThresholdCurve,
    ThresholdSurface,
    calibration,
    compare_performance,
    compare_predictions,
    confidence_thresholding,
    confusion_matrix,
    data_vs_accuracy,
    frequency_vs_f1,
    multiclass_metrics,
    roc_pr,
    two_thresholds,
)
from deepscope.evaluate.counterfactual import Counterfactual, nearest_counterfactual
from deepscope.evaluate.dependence import PartialDependence, partial_dependence
from deepscope.evaluate.fairness import STRATEGIES, Thresholds, thresholds
from deepscope.evaluate.generators import (
    Generated,
    rule_generator,
    scrambler,
    token_ablation,
    word_replacer,
)
from deepscope.evaluate.predictions import predictions

# Binding ``query`` to the function replaces the subpackage attribute that importing the package
# ``deepscope.evaluate.query`` set; its modules stay importable by their full names.
from deepscope.evaluate.query import (
    Groups,
    QueryError,
    Rewrite,
    UnknownColumnError,
    UnknownFunctionError,
    groups,
    mask,
    parse,
    query,
    rewrite,
)
from deepscope.evaluate.side_by_side import (
    Salience,
    SideBySide,
    compare_generated,
    from_tables,
    salience,
    side_by_side,
)
from deepscope.evaluate.slices import SliceTable, slices

__all__ = [
    "side_by_side",
    "from_tables",
    "compare_generated",
    "salience",
    "SideBySide",
    "Salience",
    "word_replacer",
    "scrambler",
    "token_ablation",
    "rule_generator",
    "Generated",
    "predictions",
    "slices",
    "SliceTable",
    "thresholds",
    "Thresholds",
    "STRATEGIES",
    "nearest_counterfactual",
    "Counterfactual",
    "partial_dependence",
    "PartialDependence",
    "confusion_matrix",
    "ConfusionMatrix",
    "compare_performance",
    "Performance",
    "compare_predictions",
    "Agreement",
    "confidence_thresholding",
    "data_vs_accuracy",
    "ThresholdCurve",
    "two_thresholds",
    "ThresholdSurface",
    "calibration",
    "Calibration",
    "roc_pr",
    "Curves",
    "frequency_vs_f1",
    "multiclass_metrics",
    "PerClassMetrics",
    "query",
    "mask",
    "parse",
    "groups",
    "Groups",
    "rewrite",
    "Rewrite",
    "QueryError",
    "UnknownColumnError",
    "UnknownFunctionError",
]
