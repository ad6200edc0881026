"""Gradient x input: the gradient scaled by the input, elementwise (Shrikumar et al. 2016).

>>> import torch, deepscope as ds
>>> net = torch.nn.Linear(2, 1, bias=False)
>>> _ = torch.nn.init.ones_(net.weight)
>>> ds.explain.gradient_x_input(net, torch.tensor([[2.0, 3.0]])).values.tolist()
[[2.0, 3.0]]
"""

from __future__ import annotations

from typing import Any

import torch

from deepscope.explain._task import Task, gradient_task
from deepscope.explain.attribution import Attribution
from deepscope.explain.registry import attribution_core, attribution_method

__all__ = ["gradient_x_input"]


@attribution_method("gradient_x_input")
def gradient_x_input(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    feature_names: list[str] | None = None,
) -> Attribution:
    """input * d output[target] / d input. For text: at the embeddings, summed per token."""
    with gradient_task(
        model,
        inputs,
        method="gradient_x_input",
        target=target,
        batch_size=batch_size,
        progress=progress,
        defer_targets=True,
        feature_names=feature_names,
    ) as task:
        return task.finish(_core(task, task.x, task.rows, None, None), options={})


@attribution_core("gradient_x_input")
def _core(task: Task, x: torch.Tensor, rows: torch.Tensor, baseline: Any, gen: Any) -> torch.Tensor:
    with task.bar(len(x)) as bar:
        grads = task.gradients(x, rows, bar)
    return grads.mul_(x) if task.writable(grads) and grads.dtype == x.dtype else grads * x
