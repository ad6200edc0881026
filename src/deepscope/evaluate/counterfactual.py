"""Nearest counterfactual: the most similar example the model predicts differently (What-If Tool).

Numeric features are standardised (divided by their standard deviation over the table) so no
feature dominates by its unit; a categorical feature adds 1 when the values differ. The distance is
L1 (sum) or L2 (square root of the sum of squares), or any function you pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, NotFoundError
from deepscope.evaluate._common import require_column, require_frame
from deepscope.result import Result

__all__ = ["nearest_counterfactual", "Counterfactual"]

Distance = Callable[[pd.Series, pd.DataFrame], np.ndarray]


@dataclass(frozen=True, eq=False)
class Counterfactual(Result):
    """An example and its nearest counterfactual, feature by feature.

    ``frame`` has one row per feature: ``feature, example, counterfactual, differs`` and, for
    numeric features, ``difference`` (counterfactual minus example).
    """

    frame: pd.DataFrame
    example_index: Any
    counterfactual_index: Any
    distance: float
    example_prediction: Any
    counterfactual_prediction: Any

    def to_frame(self) -> pd.DataFrame:
        """One row per feature: the two values, whether they differ and by how much."""
        return self.frame.copy()

    default_tag = "counterfactual"
    #: The standardised change of every feature from the example to its counterfactual.
    figure_function = "deepscope.viz.evaluate:counterfactual_figure"


def nearest_counterfactual(
    table: pd.DataFrame,
    example: Any,
    *,
    features: Sequence[str],
    prediction: str = "prediction",
    distance: str | Distance = "l1",
    categorical: Sequence[str] | None = None,
) -> Counterfactual:
    """The row of ``table`` closest to ``example`` whose prediction differs from the example's.

    Args:
        table: a predictions table (features and a prediction column).
        example: an index label of ``table``, or a mapping/Series of feature values that also
            holds its prediction (an edited example).
        features: the columns the distance compares.
        distance: ``"l1"``, ``"l2"``, or ``f(example: Series, candidates: DataFrame) -> array``
            of one distance per candidate.
        categorical: features compared by mismatch (default: the non-numeric ones).

    >>> import pandas as pd
    >>> t = pd.DataFrame({"x": [0.0, 1.0, 3.0, 4.0], "prediction": [0, 0, 1, 1]})
    >>> nearest_counterfactual(t, 1, features=["x"]).counterfactual_index
    2
    """
    table = require_frame(table)
    if isinstance(features, str) or not isinstance(features, Sequence) or not features:
        raise ArgumentTypeError("features", "a non-empty list of column names", features)
    for name in features:
        require_column(table, name, "features")
    require_column(table, prediction, "prediction")
    if isinstance(example, (Mapping, pd.Series)):
        row = pd.Series(example)
        missing = [f for f in [*features, prediction] if f not in row.index]
        if missing:
            raise InvalidArgumentError("example", f"values for {[*features, prediction]!r}", f"no {missing!r}")
        example_index = None
        own_prediction = row[prediction]
        candidates = table
    else:
        if example not in table.index:
            raise NotFoundError("example", str(example), [str(i) for i in table.index[:20]])
        row = table.loc[example]
        if isinstance(row, pd.DataFrame):
            raise InvalidArgumentError("example", "an index label that names one row", example)
        example_index = example
        own_prediction = row[prediction]
        candidates = table.drop(index=example)
    candidates = candidates[candidates[prediction] != own_prediction]
    if candidates.empty:
        raise InvalidArgumentError(
            "table",
            "at least one example predicted differently from the example",
            f"every prediction is {own_prediction!r}",
        )
    if categorical is None:
        categorical = [
            f
            for f in features
            if not pd.api.types.is_numeric_dtype(table[f].dtype) or pd.api.types.is_bool_dtype(table[f].dtype)
        ]
    categorical = list(categorical)
    numeric = [f for f in features if f not in categorical]
    scale = table[numeric].to_numpy(dtype=np.float64).std(axis=0)
    scale[~(scale > 0)] = 1.0  # a constant feature: any difference counts in its own unit

    if callable(distance):
        distances = np.asarray(distance(row[list(features)], candidates[list(features)]), dtype=np.float64)
        if distances.shape != (len(candidates),):
            raise InvalidArgumentError("distance", f"a function returning {len(candidates)} distances", distances)
    elif distance in ("l1", "l2"):
        distances = _distances(row, candidates, numeric, scale, categorical, distance)
    else:
        raise InvalidArgumentError("distance", "'l1', 'l2' or a function (example, candidates) -> distances", distance)

    # A candidate with a missing feature has no defined distance: it can never be the nearest.
    comparable = ~np.isnan(distances)
    if not comparable.any():
        raise InvalidArgumentError(
            "table",
            "a differently predicted example with every feature present",
            "only rows with missing features",
        )
    best = int(np.flatnonzero(comparable)[np.argmin(distances[comparable])])
    other = candidates.iloc[best]
    frame = _comparison(row, other, features, dict(zip(numeric, scale, strict=True)))
    return Counterfactual(
        frame=frame,
        example_index=_plain(example_index),
        counterfactual_index=_plain(candidates.index[best]),
        distance=float(distances[best]),
        example_prediction=_plain(own_prediction),
        counterfactual_prediction=_plain(other[prediction]),
    )


def _plain(value: Any) -> Any:
    """numpy scalars as Python ones, so results print plainly and save as JSON."""
    return value.item() if isinstance(value, np.generic) else value


def _distances(
    row: pd.Series,
    candidates: pd.DataFrame,
    numeric: list[str],
    scale: np.ndarray,
    categorical: list[str],
    norm: str,
) -> np.ndarray:
    parts = np.zeros((len(candidates), len(numeric) + len(categorical)))
    if numeric:
        here = row[numeric].to_numpy(dtype=np.float64)
        parts[:, : len(numeric)] = np.abs(candidates[numeric].to_numpy(dtype=np.float64) - here) / scale
    for j, name in enumerate(categorical, start=len(numeric)):
        parts[:, j] = (candidates[name] != row[name]).to_numpy(dtype=np.float64)
    if norm == "l1":
        return parts.sum(axis=1)
    return np.sqrt((parts**2).sum(axis=1))


def _comparison(row: pd.Series, other: pd.Series, features: Sequence[str], scale: dict[str, float]) -> pd.DataFrame:
    records = []
    for name in features:
        a, b = row[name], other[name]
        difference = float(b) - float(a) if name in scale else np.nan
        records.append(
            {
                "feature": name,
                "example": a,
                "counterfactual": b,
                "differs": bool(a != b),
                "difference": difference,
                "standardised": difference / scale[name] if name in scale else float(a != b),
            }
        )
    frame = pd.DataFrame(records)
    for column in ("example", "counterfactual"):  # mixed types: keep them readable and saveable
        frame[column] = frame[column].map(str)
    return frame
