"""Vectors from any layer of a model, pooled to one row per example, ready to project.

>>> import torch, numpy as np
>>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
>>> activations(net, np.ones((3, 4), dtype=np.float32), "1").shape
(3, 8)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, ShapeError
from deepscope.model import Model
from deepscope.model.inputs import batch_ranges, check_batch_size, count, is_texts, take

__all__ = ["activations", "POOLS"]

POOLS = ("mean", "max", "first", "last", "flatten")


def activations(
    model: Any,
    inputs: Any,
    layer: str,
    *,
    pool: str = "mean",
    batch_size: int | None = None,
    progress: bool | None = None,
) -> np.ndarray:
    """The output of ``layer`` for each input as a float32 array [N, D].

    Outputs with more than two dimensions are pooled per example: ``"mean"`` or ``"max"`` over
    the spatial positions of a conv map [N, C, H, W] or over the tokens of a sequence [N, T, D]
    (padding tokens left out, so MiniLM's ``""`` layer with ``"mean"`` gives its sentence
    embeddings), ``"first"`` / ``"last"`` token, or ``"flatten"``.
    """
    model = Model(model)
    if pool not in POOLS:
        raise InvalidArgumentError("pool", f"one of {', '.join(POOLS)}", pool)
    if not isinstance(layer, str):
        raise ArgumentTypeError("layer", "a layer name (see model.layers())", layer)
    size = check_batch_size(model.batch_size if batch_size is None else batch_size)
    texts = is_texts(inputs)
    n = count(inputs)
    parts = []
    with model.capture([layer]) as captured, model.eval_mode(), torch.no_grad():
        for start, stop in batch_ranges(n, size, progress, f"{model.name} activations"):
            chunk = take(inputs, start, stop)
            batch = model.prepare(chunk)
            model.forward(batch)
            mask = batch.get("attention_mask") if texts and isinstance(batch, dict) else None
            parts.append(_pool(captured.activations[layer], pool, mask, texts))
            captured.clear()
    return np.concatenate(parts).astype(np.float32, copy=False)


def _pool(output: torch.Tensor, pool: str, mask: torch.Tensor | None, texts: bool) -> np.ndarray:
    output = output.detach().float()
    if output.ndim == 2 or pool == "flatten":
        return output.reshape(len(output), -1).cpu().numpy()
    if output.ndim < 2:
        raise ShapeError("layer", "a layer whose output has a batch dimension", tuple(output.shape))
    if texts and output.ndim == 3:  # [N, T, D]
        weights = (
            torch.ones(output.shape[:2], device=output.device) if mask is None else mask.to(output.device, output.dtype)
        )
        if pool == "first":
            return output[:, 0].cpu().numpy()
        if pool == "last":
            last = (weights.sum(dim=1).long() - 1).clamp(min=0)
            return output[torch.arange(len(output)), last].cpu().numpy()
        if pool == "max":
            masked = output.masked_fill(weights[..., None] == 0, float("-inf"))
            return masked.max(dim=1).values.cpu().numpy()
        summed = (output * weights[..., None]).sum(dim=1)
        return (summed / weights.sum(dim=1, keepdim=True).clamp(min=1)).cpu().numpy()
    # [N, C, ...]: pool over the positions after the channel axis
    flat = output.reshape(output.shape[0], output.shape[1], -1)
    if pool == "max":
        return flat.max(dim=2).values.cpu().numpy()
    if pool == "first":
        return flat[:, :, 0].cpu().numpy()
    if pool == "last":
        return flat[:, :, -1].cpu().numpy()
    return flat.mean(dim=2).cpu().numpy()
