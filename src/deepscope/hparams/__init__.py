"""The hyper-parameter explorer: a table of runs (hyper-parameters and metrics), parallel
coordinates for any table, and Ludwig-style views (learning curves, performance per run,
hyperopt report). Each view is a result; ``deepscope.viz.hparams`` draws it (``result.figure()``).

>>> import pandas as pd
>>> import deepscope as ds
>>> results = pd.DataFrame({"lr": [1e-4, 1e-3, 1e-2], "batch": [32, 64, 32], "acc": [0.71, 0.83, 0.78]})
>>> ds.hparams.parallel_coordinates(results, color="acc").figure().data[0].type
'parcoords'
>>> ds.hparams.infer_types(results)
{'lr': 'log-numeric', 'batch': 'numeric', 'acc': 'numeric'}
"""

from __future__ import annotations

from deepscope.hparams.ludwig import (
    HyperoptReport,
    LearningCurves,
    PerformanceComparison,
    compare_performance,
    hyperopt_report,
    learning_curves,
)
from deepscope.hparams.parallel import ParallelCoordinates, brushed_rows, parallel_coordinates
from deepscope.hparams.table import (
    CATEGORICAL,
    LOG_NUMERIC,
    NUMERIC,
    HParamTable,
    hparams_table,
    infer_kind,
    infer_types,
    metric_goal,
    read_table,
    select_metrics,
)

__all__ = [
    "parallel_coordinates",
    "hparams_table",
    "HParamTable",
    "select_metrics",
    "metric_goal",
    "infer_kind",
    "infer_types",
    "read_table",
    "learning_curves",
    "compare_performance",
    "hyperopt_report",
    "ParallelCoordinates",
    "LearningCurves",
    "PerformanceComparison",
    "HyperoptReport",
    "brushed_rows",
    "NUMERIC",
    "LOG_NUMERIC",
    "CATEGORICAL",
]
