"""Guided backpropagation (Springenberg et al. 2015) and guided Grad-CAM (Selvaraju et al. 2017).

Guided backprop passes only positive gradients back through each ``nn.ReLU``: hooks on the
ReLU outputs clamp the incoming gradient at zero, and are removed afterwards, so the model is
left as it was. ReLUs applied as functions (``F.relu``) are not seen and act as usual.

>>> import torch, deepscope as ds
>>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
>>> ds.explain.guided_backprop(net, torch.ones(2, 3)).values.shape
(2, 3)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from deepscope.explain._task import Task, gradient_task, log
from deepscope.explain.attribution import Attribution
from deepscope.explain.grad_cam import _grad_cam_core, resolve_layer
from deepscope.explain.registry import attribution_core, attribution_method
from deepscope.model.hooks import this_thread_only

__all__ = ["guided_backprop", "guided_grad_cam", "guided_relus", "deconvolution", "deconv_relus"]


@contextmanager
def guided_relus(module: torch.nn.Module) -> Iterator[int]:
    """Within the block, every ``nn.ReLU`` of ``module`` passes back only positive gradients.

    Clamping the gradient at the ReLU's output and letting the ReLU mask it equals Captum's
    override of its input gradient, relu(grad_in), because the mask is non-negative.
    Yields the number of ReLU modules hooked.
    """

    def on_output(mod: torch.nn.Module, args: Any, output: torch.Tensor) -> None:
        if isinstance(output, torch.Tensor) and output.requires_grad:
            output.register_hook(lambda grad: grad.clamp(min=0))

    relus = [m for m in module.modules() if isinstance(m, torch.nn.ReLU)]
    handles = [m.register_forward_hook(this_thread_only(on_output)) for m in relus]
    try:
        yield len(handles)
    finally:
        for handle in handles:
            handle.remove()


@attribution_method("guided_backprop")
def guided_backprop(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    feature_names: list[str] | None = None,
) -> Attribution:
    """The gradient with negative gradients stopped at every ReLU on the way back."""
    with gradient_task(
        model,
        inputs,
        method="guided_backprop",
        target=target,
        batch_size=batch_size,
        progress=progress,
        defer_targets=True,
        feature_names=feature_names,
    ) as task:
        return task.finish(_guided_backprop_core(task, task.x, task.rows, None, None), options={})


@attribution_method("guided_grad_cam")
def guided_grad_cam(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    layer: str | None = None,
    interpolate: str = "bilinear",
) -> Attribution:
    """Guided backprop times the (upsampled) Grad-CAM map: fine detail where the class is.

    Values have the inputs' shape. ``layer`` and ``interpolate`` as in ``grad_cam``.
    """
    with gradient_task(
        model,
        inputs,
        method="guided_grad_cam",
        target=target,
        batch_size=batch_size,
        progress=progress,
        defer_targets=True,
    ) as task:
        layer = resolve_layer(task.model, layer)
        values = _guided_grad_cam_core(task, task.x, task.rows, None, None, layer=layer, interpolate=interpolate)
        return task.finish(values, options={"layer": layer, "interpolate": interpolate})


class _DeconvReLU(torch.autograd.Function):
    """ReLU forward; backward passes relu(gradient), whatever the input's sign (Zeiler 2014)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return grad.clamp(min=0)


@contextmanager
def deconv_relus(module: torch.nn.Module) -> Iterator[int]:
    """Within the block, every ``nn.ReLU`` of ``module`` passes back relu(gradient) (as Captum's
    Deconvolution overrides their backward). Yields the number of ReLU modules hooked."""

    def on_output(mod: torch.nn.Module, args: Any, output: torch.Tensor) -> Any:
        if isinstance(output, torch.Tensor) and args and isinstance(args[0], torch.Tensor):
            return _DeconvReLU.apply(args[0])
        return None

    relus = [m for m in module.modules() if isinstance(m, torch.nn.ReLU)]
    handles = [m.register_forward_hook(this_thread_only(on_output)) for m in relus]
    try:
        yield len(handles)
    finally:
        for handle in handles:
            handle.remove()


@attribution_method("deconvolution")
def deconvolution(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    feature_names: list[str] | None = None,
) -> Attribution:
    """The gradient with every ``nn.ReLU`` passing back relu(gradient) (Zeiler and Fergus 2014)."""
    with gradient_task(
        model,
        inputs,
        method="deconvolution",
        target=target,
        batch_size=batch_size,
        progress=progress,
        defer_targets=True,
        feature_names=feature_names,
    ) as task:
        return task.finish(_deconvolution_core(task, task.x, task.rows, None, None), options={})


@attribution_core("deconvolution")
def _deconvolution_core(task: Task, x: torch.Tensor, rows: torch.Tensor, baseline: Any, gen: Any) -> torch.Tensor:
    with deconv_relus(task.model.module) as hooked, task.bar(len(x)) as bar:
        if not hooked:
            log.warning("deconvolution: the model has no nn.ReLU modules; this is the gradient")
        return task.gradients(x, rows, bar)


@attribution_core("guided_backprop")
def _guided_backprop_core(task: Task, x: torch.Tensor, rows: torch.Tensor, baseline: Any, gen: Any) -> torch.Tensor:
    with guided_relus(task.model.module) as hooked, task.bar(len(x)) as bar:
        if not hooked:
            log.warning("guided_backprop: the model has no nn.ReLU modules; this is the plain gradient")
        return task.gradients(x, rows, bar)


@attribution_core("guided_grad_cam")
def _guided_grad_cam_core(
    task: Task,
    x: torch.Tensor,
    rows: torch.Tensor,
    baseline: Any,
    gen: Any,
    *,
    layer: str | None = None,
    interpolate: str = "bilinear",
) -> torch.Tensor:
    cam = _grad_cam_core(task, x, rows, None, None, layer=layer, relu=True, interpolate=interpolate)
    return _guided_backprop_core(task, x, rows, None, None) * cam
