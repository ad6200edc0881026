"""The one rule that turns a model's outputs into class probabilities.

- Several columns ``[N, C]``: rows of non-negative values summing to one (within 1e-4) already
  are probabilities (a ``predict_proba`` or a softmax layer) and are only renormalised; any other
  row is logits and goes through a softmax.
- One column (``[N]`` or ``[N, 1]``) is the positive class of a binary model and becomes
  ``[1 - p, p]``, as in scikit-learn. Whether it is a probability or a logit is a fact about the
  model, not about the values of one batch: a logit of 0.3 read as a probability flips the
  prediction (0.3 < 0.5 but sigmoid(0.3) > 0.5). So the caller says what it knows
  (``single_is_probability``; ``Model`` knows it for torch modules: a probability exactly when
  the module ends in ``torch.nn.Sigmoid``). Only when nobody knows (a plain callable) do the
  values decide: a column inside [0, 1] is a probability, anything else a logit.

>>> to_probabilities(np.array([[0.3]]), single_is_probability=False).round(3).tolist()
[[0.426, 0.574]]
>>> to_probabilities(np.array([[0.3]])).round(3).tolist()
[[0.7, 0.3]]
"""

from __future__ import annotations

import numpy as np

from deepscope.errors import InvalidArgumentError, ShapeError

__all__ = ["to_probabilities"]

SUM_TOLERANCE = 1e-4


def _sigmoid(values: np.ndarray) -> np.ndarray:
    # exp of a negative number only, so huge logits neither overflow nor warn
    out = np.empty_like(values)
    positive = values >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-values[positive]))
    shrunk = np.exp(values[~positive])
    out[~positive] = shrunk / (1.0 + shrunk)
    return out


def _softmax(values: np.ndarray) -> np.ndarray:
    shifted = np.exp(values - values.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _within_unit(values: np.ndarray) -> bool:
    return bool(values.size == 0 or (values.min() >= 0.0 and values.max() <= 1.0))


def to_probabilities(outputs: np.ndarray, *, single_is_probability: bool | None = None) -> np.ndarray:
    """Class probabilities ``[N, C]`` (C >= 2, float64) from a model's outputs (see the module)."""
    values = np.asarray(outputs, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[1] == 0:
        raise ShapeError("outputs", "model outputs shaped [N] or [N, C]", values)
    if not np.isfinite(values).all():
        raise InvalidArgumentError(
            "outputs",
            "finite model outputs",
            f"{int((~np.isfinite(values)).sum())} NaN or infinite",
        )
    if values.shape[1] == 1:
        column = values[:, 0]
        is_probability = _within_unit(column) if single_is_probability is None else single_is_probability
        if is_probability and not _within_unit(column):
            raise InvalidArgumentError(
                "outputs",
                "probabilities in [0, 1] from a model ending in a sigmoid",
                f"values from {column.min():.4g} to {column.max():.4g}",
            )
        positive = column if is_probability else _sigmoid(column)
        return np.column_stack([1.0 - positive, positive])
    sums = values.sum(axis=1, keepdims=True)
    if values.min() >= 0.0 and np.allclose(sums, 1.0, atol=SUM_TOLERANCE):
        return values
    return _softmax(values)
