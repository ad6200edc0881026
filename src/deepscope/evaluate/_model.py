"""How evaluate feeds a table to a model and reads its outputs as probabilities or values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import InvalidArgumentError, ShapeError

Encoder = Callable[[pd.DataFrame], Any]


def is_text_column(column: pd.Series) -> bool:
    """True for a column of strings (object or string dtype)."""
    return pd.api.types.is_string_dtype(column.dtype) or bool(
        column.dtype == object and column.map(lambda v: isinstance(v, str)).all()
    )


def model_inputs(frame: pd.DataFrame, features: Sequence[str], encode: Encoder | None) -> Any:
    """What the model is called on: ``encode(frame[features])``, the texts, or a float32 matrix.

    Without ``encode`` a single text column becomes a list of strings (text models) and numeric
    columns become a float32 ``[N, F]`` array; anything else needs ``encode``.
    """
    part = frame[list(features)]
    if encode is not None:
        return encode(part)
    if len(features) == 1 and is_text_column(part.iloc[:, 0]):
        return part.iloc[:, 0].astype(str).tolist()
    other = [f for f in features if not pd.api.types.is_numeric_dtype(part[f].dtype)]
    if other:
        raise InvalidArgumentError(
            "features",
            "numeric columns, or one text column, unless encode= is given",
            f"non-numeric column(s) {other!r}",
            "Pass encode=lambda frame: ... to turn the feature columns into model inputs.",
        )
    return part.to_numpy(dtype=np.float32)


def model_outputs(
    model: Any, inputs: Any, *, batch_size: int | None = None, progress: bool | None = None
) -> np.ndarray:
    """The model's outputs on ``inputs`` as a float64 ``[N, K]`` array (K = 1 for one output)."""
    from deepscope.model import Model

    outputs = np.asarray(Model(model).predict(inputs, batch_size=batch_size, progress=progress), dtype=np.float64)
    if outputs.ndim == 1:
        outputs = outputs[:, None]
    if outputs.ndim != 2:
        raise ShapeError("model", "outputs of shape [N] or [N, classes]", outputs)
    return outputs
