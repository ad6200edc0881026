"""Partial dependence and ICE curves: how the model's output moves as one feature is varied.

For each value ``v`` on a grid, every example gets ``feature = v`` (all else kept) and the model is
run: each example's outputs form its ICE curve (individual conditional expectation), and their
mean is the partial dependence. Works for numeric and categorical features and any model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, TargetError
from deepscope.evaluate._common import require_column, require_frame
from deepscope.evaluate._model import Encoder, model_inputs, model_outputs
from deepscope.model import Model
from deepscope.result import Result
from deepscope.validation import check_int

__all__ = ["partial_dependence", "PartialDependence"]


@dataclass(frozen=True, eq=False)
class PartialDependence(Result):
    """The partial-dependence curve of one feature and the ICE curve of every example used.

    ``curve`` has ``value, partial_dependence`` (one row per grid value); ``ice`` is
    ``[examples, grid values]``; ``rows`` are the positions in the data of those examples.
    """

    feature: str
    kind: str  # "numeric" | "categorical"
    target: int
    curve: pd.DataFrame
    ice: np.ndarray
    rows: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """``value, partial_dependence``: one row per grid value."""
        return self.curve.copy()

    def ice_frame(self) -> pd.DataFrame:
        """The ICE curves long: ``row, value, output`` (row = position in the data)."""
        values = self.curve["value"].to_numpy()
        return pd.DataFrame(
            {
                "row": np.repeat(self.rows, len(values)),
                "value": np.tile(values, len(self.rows)),
                "output": self.ice.reshape(-1),
            }
        )

    default_tag = "partial_dependence"
    #: ICE curves in light lines under the partial dependence in a bold one.
    figure_function = "deepscope.viz.evaluate:partial_dependence_figure"


def partial_dependence(
    model: Any,
    data: pd.DataFrame,
    *,
    feature: str,
    features: Sequence[str] | None = None,
    target: int | None = None,
    grid: Sequence[Any] | None = None,
    grid_size: int = 20,
    output: str = "auto",
    encode: Encoder | None = None,
    sample: int | None = None,
    seed: int = 0,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> PartialDependence:
    """Partial dependence and ICE curves of ``model`` on ``feature`` over the rows of ``data``.

    Args:
        model: anything ``deepscope.Model`` accepts, e.g. a callable on a float32 matrix.
        data: the examples (a DataFrame of features).
        feature: the column to vary.
        features: the columns the model reads, in order (default: every column).
        target: which output to follow; default the positive class of a binary classifier or the
            single output of a regressor (needed for more than two classes).
        grid: the values to try; default the distinct values of a categorical feature, or up to
            ``grid_size`` quantiles of a numeric one.
        output: ``"proba"`` (class probabilities), ``"raw"`` (outputs as returned) or ``"auto"``
            (probabilities for two or more outputs, raw for one).
        encode: turns ``data[features]`` into model inputs; sample: use this many random rows.

    >>> import numpy as np, pandas as pd
    >>> data = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [1.0, 2.0, 3.0]})
    >>> f = lambda x: 3 * x[:, 0] + x[:, 1]
    >>> partial_dependence(f, data, feature="a", grid=[0.0, 1.0]).to_frame()["partial_dependence"].tolist()
    [2.0, 5.0]
    """
    data = require_frame(data, "data")
    column = require_column(data, feature, "feature")
    features = list(data.columns) if features is None else [features] if isinstance(features, str) else list(features)
    for name in features:
        require_column(data, name, "features")
    if feature not in features:
        raise InvalidArgumentError("feature", f"one of the model's features {features!r}", repr(feature))
    if output not in ("auto", "proba", "raw"):
        raise InvalidArgumentError("output", "'auto', 'proba' or 'raw'", output)
    grid_size = check_int(grid_size, "grid_size", low=2)

    rows = np.arange(len(data))
    if sample is not None:
        size: int = check_int(sample, "sample", low=1)
        if size < len(data):
            rows = np.sort(np.random.default_rng(seed).choice(len(data), size=size, replace=False))
    part = data.iloc[rows]
    numeric = pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)
    values = _grid(column, grid, grid_size, numeric)

    repeated = pd.concat([part[features]] * len(values), ignore_index=True)
    repeated[feature] = np.repeat(np.asarray(values, dtype=np.float64 if numeric else object), len(part))
    adapter = Model(model)
    outputs = model_outputs(adapter, model_inputs(repeated, features, encode), batch_size=batch_size, progress=progress)
    if output == "proba" or (output == "auto" and outputs.shape[1] >= 2):
        outputs = adapter.probabilities(outputs)
    if target is None:
        if outputs.shape[1] > 2:
            raise TargetError(
                "target",
                f"an output index below {outputs.shape[1]}",
                None,
                "A model with several classes needs the class to follow.",
            )
        target = outputs.shape[1] - 1
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or not 0 <= target < outputs.shape[1]:
        raise TargetError("target", f"an output index below {outputs.shape[1]}", target)
    ice = outputs[:, int(target)].reshape(len(values), len(part)).T
    curve = pd.DataFrame({"value": values, "partial_dependence": ice.mean(axis=0)})
    return PartialDependence(
        feature=feature,
        kind="numeric" if numeric else "categorical",
        target=int(target),
        curve=curve,
        ice=ice,
        rows=rows,
    )


def _grid(column: pd.Series, grid: Sequence[Any] | None, grid_size: int, numeric: bool) -> list[Any]:
    if grid is not None:
        if isinstance(grid, str) or not isinstance(grid, (Sequence, np.ndarray)) or len(grid) == 0:
            raise ArgumentTypeError("grid", "a non-empty list of values to try", grid)
        return list(grid)
    present = column.dropna()
    if present.empty:
        raise InvalidArgumentError("feature", "a column with values", "only missing values")
    if not numeric:
        return sorted(present.unique().tolist(), key=str)
    distinct = np.unique(present.to_numpy(dtype=np.float64))
    if len(distinct) <= grid_size:
        return distinct.tolist()
    return np.unique(np.quantile(present.to_numpy(dtype=np.float64), np.linspace(0, 1, grid_size))).tolist()
