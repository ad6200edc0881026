"""Grad-CAM (Selvaraju et al. 2017) and Grad-CAM++ (Chattopadhay et al. 2018).

The class map of a convolutional layer, weighted by the gradients of the target output, and
upsampled (bilinear) to the input's height and width. Without ``layer`` the last 2-D
convolution of the model is used.

>>> import torch, deepscope as ds
>>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
...                           torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 2))
>>> ds.explain.grad_cam(net, torch.rand(2, 3, 8, 8)).values.shape
(2, 1, 8, 8)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from deepscope.errors import InvalidArgumentError, NotFoundError, UnsupportedModelError
from deepscope.explain._inputs import as_2d_outputs, selected
from deepscope.explain._task import Task, batches, gradient_task
from deepscope.explain.attribution import Attribution
from deepscope.explain.registry import attribution_core, attribution_method

__all__ = ["grad_cam", "grad_cam_pp", "conv_layers"]

INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area")


def conv_layers(model: Any) -> list[str]:
    """Names of the 2-D convolution layers of a model, in registration order."""
    module = getattr(model, "module", model)
    if not isinstance(module, torch.nn.Module):
        return []
    return [n for n, m in module.named_modules() if isinstance(m, torch.nn.Conv2d) and n]


def resolve_layer(model: Any, layer: str | None) -> str:
    """The named layer, checked; or the model's last 2-D convolution."""
    module = getattr(model, "module", None)
    if layer is None:
        convs = conv_layers(model)
        if not convs:
            raise UnsupportedModelError(
                "model",
                "a model with a 2-D convolutional layer (Grad-CAM weights a conv layer's maps)",
                f"{type(module).__name__} without nn.Conv2d layers",
                hint="pass layer= to name a layer with [N, C, H, W] outputs, or use another method",
            )
        return convs[-1]
    names = [n for n, _ in module.named_modules() if n] if module is not None else []
    if layer not in names:
        raise NotFoundError("layer", layer, conv_layers(model) or names)
    return layer


@attribution_method("grad_cam", aliases=("gradcam",))
def grad_cam(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    layer: str | None = None,
    relu: bool = True,
    interpolate: str | None = "bilinear",
) -> Attribution:
    """ReLU(sum_k w_k A_k) with w_k the spatial mean of d output[target] / d A_k.

    ``layer``: a layer name (see ``Model.layers()``), default the last ``nn.Conv2d``.
    ``relu=False`` keeps negative evidence (Captum's default). ``interpolate``: the upsampling
    mode to the input size, or None to keep the layer's resolution. Values are [N, 1, H, W].
    """
    return _run("grad_cam", model, inputs, target, batch_size, progress, layer, relu, interpolate)


@attribution_method("grad_cam_pp")
def grad_cam_pp(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    layer: str | None = None,
    relu: bool = True,
    interpolate: str | None = "bilinear",
) -> Attribution:
    """Grad-CAM++: channel weights from positive gradients, weighted per position by
    alpha = g^2 / (2 g^2 + sum(A) g^3), which localizes several instances of a class better.

    Options as ``grad_cam``.
    """
    return _run("grad_cam_pp", model, inputs, target, batch_size, progress, layer, relu, interpolate)


def _run(
    name: str,
    model: Any,
    inputs: Any,
    target: Any,
    batch_size: Any,
    progress: Any,
    layer: str | None,
    relu: bool,
    interpolate: str | None,
) -> Attribution:
    with gradient_task(
        model,
        inputs,
        method=name,
        target=target,
        batch_size=batch_size,
        progress=progress,
        defer_targets=True,
    ) as task:
        layer = resolve_layer(task.model, layer)
        core = _grad_cam_pp_core if name == "grad_cam_pp" else _grad_cam_core
        values = core(task, task.x, task.rows, None, None, layer=layer, relu=relu, interpolate=interpolate)
        return task.finish(values, options={"layer": layer, "relu": relu, "interpolate": interpolate})


def layer_maps(task: Task, x: torch.Tensor, rows: torch.Tensor, layer: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(activations, gradients of the target output) of ``layer`` for one batch.

    The backward pass stops at the layer: it differentiates with respect to the layer's own bias
    (or weight), which needs the gradient at the layer's output and nothing below it. Layers
    without trainable parameters differentiate down to the input.
    """
    module = task.model.module.get_submodule(layer)
    own = [getattr(module, name, None) for name in ("bias", "weight")]
    stop = [p for p in own if isinstance(p, torch.Tensor) and p.requires_grad][:1]
    xb = x.detach() if stop else x.detach().requires_grad_(True)
    with task.model.capture([layer], grads=True) as cap, torch.enable_grad():
        logits = as_2d_outputs(task.forward(xb, rows))
        out = selected(logits, task.target_rows(rows, logits)).sum()
        torch.autograd.grad(out, stop or [xb], allow_unused=True)
        acts, grads = cap.activations.get(layer), cap.gradients.get(layer)
    if acts is None or grads is None:
        raise InvalidArgumentError("layer", "a layer that runs on the way to the output", layer)
    if acts.ndim != 4:
        raise UnsupportedModelError(
            "layer",
            "a layer with [N, C, H, W] outputs (a 2-D convolution)",
            f"{layer!r} with outputs of shape {tuple(acts.shape)}",
        )
    return acts.detach(), grads.detach()


def _maps(
    task: Task,
    x: torch.Tensor,
    rows: torch.Tensor,
    layer: str | None,
    relu: bool,
    interpolate: str | None,
    plus: bool,
) -> torch.Tensor:
    if task.kind != "image":
        raise UnsupportedModelError(
            "inputs",
            "images [N, C, H, W] (Grad-CAM maps a conv layer back onto the image)",
            f"{task.kind} inputs of shape {tuple(task.x.shape)}",
        )
    if interpolate is not None and interpolate not in INTERPOLATIONS:
        raise InvalidArgumentError("interpolate", f"None or one of {INTERPOLATIONS}", interpolate)
    layer = resolve_layer(task.model, layer)
    parts = []
    with task.bar(len(x)) as bar:
        for part in batches(len(x), task.batch_size):
            acts, grads = layer_maps(task, x[part], rows[part], layer)
            if plus:
                g2 = grads * grads
                denominator = 2 * g2 + acts.sum(dim=(2, 3), keepdim=True) * g2 * grads
                alpha = torch.where(grads != 0, g2 / torch.where(denominator != 0, denominator, 1.0), 0.0)
                weights = (alpha * F.relu(grads)).sum(dim=(2, 3), keepdim=True)
            else:
                weights = grads.mean(dim=(2, 3), keepdim=True)
            cam = (weights * acts).sum(dim=1, keepdim=True)
            if relu:
                cam = F.relu(cam)
            if interpolate is not None:
                cam = F.interpolate(cam, size=tuple(x.shape[2:]), mode=interpolate)
            parts.append(cam)
            bar.update(part.stop - part.start)
    return torch.cat(parts)


@attribution_core("grad_cam")
def _grad_cam_core(
    task: Task,
    x: torch.Tensor,
    rows: torch.Tensor,
    baseline: Any,
    gen: Any,
    *,
    layer: str | None = None,
    relu: bool = True,
    interpolate: str | None = "bilinear",
) -> torch.Tensor:
    return _maps(task, x, rows, layer, relu, interpolate, plus=False)


@attribution_core("grad_cam_pp")
def _grad_cam_pp_core(
    task: Task,
    x: torch.Tensor,
    rows: torch.Tensor,
    baseline: Any,
    gen: Any,
    *,
    layer: str | None = None,
    relu: bool = True,
    interpolate: str | None = "bilinear",
) -> torch.Tensor:
    return _maps(task, x, rows, layer, relu, interpolate, plus=True)
