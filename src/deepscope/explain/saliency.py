"""Saliency: the gradient of the target output with respect to the input (Simonyan et al. 2014).

>>> import torch, deepscope as ds
>>> net = torch.nn.Linear(3, 2)
>>> ds.explain.saliency(net, torch.ones(1, 3), target=0).values.shape
(1, 3)
"""

from __future__ import annotations

from typing import Any

import torch

from deepscope.explain._task import Task, gradient_task
from deepscope.explain.attribution import Attribution
from deepscope.explain.registry import attribution_core, attribution_method

__all__ = ["saliency"]


@attribution_method("saliency")
def saliency(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    abs: bool = False,
    feature_names: list[str] | None = None,
) -> Attribution:
    """d output[target] / d input, signed (``abs=True`` for its magnitude, as Captum's default).

    For text the gradient is taken at the input embeddings and summed over the embedding dimension.
    """
    with gradient_task(
        model,
        inputs,
        method="saliency",
        target=target,
        batch_size=batch_size,
        progress=progress,
        defer_targets=True,
        feature_names=feature_names,
    ) as task:
        values = _core(task, task.x, task.rows, None, None, abs=abs)
        return task.finish(values, options={"abs": abs})


@attribution_core("saliency")
def _core(
    task: Task, x: torch.Tensor, rows: torch.Tensor, baseline: Any, gen: Any, *, abs: bool = False
) -> torch.Tensor:
    with task.bar(len(x)) as bar:
        grads = task.gradients(x, rows, bar)
    if not abs:
        return grads
    return grads.abs_() if task.writable(grads) else grads.abs()
