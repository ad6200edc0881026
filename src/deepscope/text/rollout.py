"""Attention rollout (Abnar and Zuidema 2020): how much each input token flows into a position
through every layer's attention, residual connections included.

Each layer's heads are fused (mean, max or min), the residual is added as the identity
(``0.5 A + 0.5 I``, rows renormalised), and the layers are multiplied from the first up:
``R = Â_L ... Â_1``. Row ``i`` of ``R`` is the share of position i's final representation that
comes from each input token.

Rollout is attention-based, not a gradient attribution: it ignores the values, the MLPs and the
class, so it says where information can flow, not what the prediction depends on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deepscope.errors import InvalidArgumentError, UnsupportedModelError
from deepscope.explain.attribution import Attribution
from deepscope.text._transformers import as_text_model, model_kind
from deepscope.text.attention import attention
from deepscope.validation import check_number

__all__ = ["attention_rollout", "rollout_matrix", "HEAD_FUSIONS"]

HEAD_FUSIONS = ("mean", "max", "min")


def rollout_matrix(weights: np.ndarray, *, head_fusion: str = "mean", residual: float = 0.5) -> np.ndarray:
    """``[T, T]`` rollout of ``weights`` ``[layers, heads, T, T]``.

    ``residual``: the identity's share in each layer, 0.5 as in the paper (0: raw attention).
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 4 or weights.shape[-1] != weights.shape[-2]:
        raise InvalidArgumentError("weights", "an array [layers, heads, T, T]", weights)
    if head_fusion not in HEAD_FUSIONS:
        raise InvalidArgumentError("head_fusion", f"one of {list(HEAD_FUSIONS)}", head_fusion)
    residual = check_number(residual, "residual", low=0, high=1)
    fused = getattr(weights, head_fusion)(axis=1)  # [L, T, T]
    n = weights.shape[-1]
    result = np.eye(n)
    for layer in fused:
        mixed = (1.0 - residual) * layer + residual * np.eye(n)
        mixed = mixed / mixed.sum(axis=-1, keepdims=True)
        result = mixed @ result
    return result


def attention_rollout(
    model: Any,
    text: str,
    *,
    query: int | str | None = None,
    head_fusion: str = "mean",
    residual: float = 0.5,
    target: Any = None,
    truncate: bool = True,
) -> Attribution:
    """Rollout scores of each token of ``text``, as an ``Attribution`` (kind ``text``, one row).

    ``query``: whose rollout row to read: a position, ``"cls"`` (position 0, what BERT-style
    classifiers pool), ``"mean"`` (all rows averaged, for mean-pooling classifiers such as the
    zoo's transformer), ``"last"`` (the next-token position of a decoder). Default: ``"last"``
    for decoders, ``"mean"`` for models without a [CLS] token, else ``"cls"``. ``target`` is
    recorded (rollout does not depend on the class); None means the predicted class.
    """
    model = as_text_model(model)
    kind = model_kind(model)
    if kind == "encoder-decoder":
        raise UnsupportedModelError("model", "an encoder or a decoder for rollout", "an encoder-decoder")
    found = attention(model, text, truncate=truncate)
    n = len(found.tokens)
    if query is None:
        query = "last" if kind == "decoder" else "cls" if found.special[0] else "mean"
    matrix = rollout_matrix(found.weights, head_fusion=head_fusion, residual=residual)
    if query == "cls":
        row = 0
        values = matrix[0]
    elif query == "last":
        row = n - 1
        values = matrix[-1]
    elif query == "mean":
        row = None
        values = matrix.mean(axis=0)
    elif isinstance(query, (int, np.integer)) and not isinstance(query, bool) and 0 <= query < n:
        row = int(query)
        values = matrix[row]
    else:
        raise InvalidArgumentError("query", f"'cls', 'mean', 'last' or a position in [0, {n})", query)
    ids = np.asarray([model.tokenizer.convert_tokens_to_ids(found.tokens)], dtype=np.int64)
    chosen, score = _target(model, ids, target)
    return Attribution(
        values=values[None].astype(np.float64),
        method="attention_rollout",
        target=np.asarray([chosen], dtype=np.int64),
        inputs=ids,
        kind="text",
        options={
            "query": query if row is None or isinstance(query, str) else row,
            "head_fusion": head_fusion,
            "residual": float(residual),
            "attention_based": True,
        },
        score=None if score is None else np.asarray([score]),
        tokens=[list(found.tokens)],
        texts=[text],
        labels=model.labels,
    )


def _target(model: Any, ids: np.ndarray, target: Any) -> tuple[int, float | None]:
    """The class recorded with the rollout and the model's output for it (classifiers only)."""
    import torch

    with model.eval_mode(), torch.no_grad():
        batch = {"input_ids": torch.as_tensor(ids, device=model.device)}
        batch["attention_mask"] = torch.ones_like(batch["input_ids"])
        try:
            out = model.forward(batch)
        except (RuntimeError, TypeError, ValueError):
            out = None
    if out is None or out.ndim != 2:
        return (int(target) if isinstance(target, (int, np.integer)) else 0), None
    chosen = model.resolve_target(target, out)
    return int(chosen[0]), float(out[0, chosen[0]])
