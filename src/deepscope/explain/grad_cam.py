"""Grad-CAM (Selvaraju et al. 2017) and Grad-CAM++ (Chattopadhay et al. 2018).

The class map of a layer, weighted by the gradients of the target output. On a convolutional
layer ([N, C, H, W]) it is upsampled (bilinear) to the input's height and width; without
``layer`` the last 2-D convolution of the model is used. Any other layer works as Captum's
LayerGradCam: a linear layer ([N, D]: the gradient itself weighs each unit), a 1-D convolution
([N, C, L]), and a transformer's token outputs ([N, T, D]; channels last for text models, one
value per token). ``attribute_to_layer_input`` takes the layer's input instead of its output;
``attr_dim_summation=False`` keeps one map per channel.

>>> import torch, deepscope as ds
>>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
...                           torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 2))
>>> ds.explain.grad_cam(net, torch.rand(2, 3, 8, 8)).values.shape
(2, 1, 8, 8)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F

from deepscope.errors import InvalidArgumentError, NotFoundError, UnsupportedModelError
from deepscope.explain._inputs import as_2d_outputs, selected
from deepscope.explain._task import Task, gradient_task
from deepscope.explain.attribution import Attribution
from deepscope.explain.registry import attribution_core, attribution_method
from deepscope.model.hooks import this_thread_only
from deepscope.validation import check_bool, check_option

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
    attribute_to_layer_input: bool = False,
    attr_dim_summation: bool = True,
    channel_dim: int | None = None,
) -> Attribution:
    """ReLU(sum_k w_k A_k) with w_k the mean over positions of d output[target] / d A_k.

    ``layer``: a layer name (see ``Model.layers()``), default the last ``nn.Conv2d``.
    ``relu=False`` keeps negative evidence (Captum's default). ``interpolate``: the upsampling
    mode to the input size (4-D layers), or None to keep the layer's resolution.
    ``attribute_to_layer_input``: the layer's input instead of its output (Captum's option).
    ``attr_dim_summation=False``: w_k A_k per channel, not summed (Captum's option).
    ``channel_dim``: the channel dimension of a 3-D layer output, 1 (Captum's layout, a 1-D
    convolution's [N, C, L]) or -1 (a transformer's tokens [N, T, D]); default -1 for text
    models, 1 otherwise. Values: images [N, 1, H, W]; text one per token [N, T]; other layers
    the layer's layout with the channels summed away ([N, 1] for a linear layer), kind
    ``array``; without summation the layer's shape, kind ``array``.
    """
    return _run(
        "grad_cam",
        model,
        inputs,
        target,
        batch_size,
        progress,
        layer,
        relu,
        interpolate,
        attribute_to_layer_input,
        attr_dim_summation,
        channel_dim,
    )


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
    attribute_to_layer_input: bool = False,
    attr_dim_summation: bool = True,
    channel_dim: int | None = None,
) -> Attribution:
    """Grad-CAM++: channel weights from positive gradients, weighted per position by
    alpha = g^2 / (2 g^2 + sum(A) g^3), which localizes several instances of a class better.

    Options as ``grad_cam``.
    """
    return _run(
        "grad_cam_pp",
        model,
        inputs,
        target,
        batch_size,
        progress,
        layer,
        relu,
        interpolate,
        attribute_to_layer_input,
        attr_dim_summation,
        channel_dim,
    )


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
    attribute_to_layer_input: bool,
    attr_dim_summation: bool,
    channel_dim: int | None,
) -> Attribution:
    attribute_to_layer_input = check_bool(attribute_to_layer_input, "attribute_to_layer_input")
    attr_dim_summation = check_bool(attr_dim_summation, "attr_dim_summation")
    check_option(channel_dim, "channel_dim", [None, 1, -1], hint="1: channels first, -1: channels last")
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
        values = core(
            task,
            task.x,
            task.rows,
            None,
            None,
            layer=layer,
            relu=relu,
            interpolate=interpolate,
            attribute_to_layer_input=attribute_to_layer_input,
            attr_dim_summation=attr_dim_summation,
            channel_dim=channel_dim,
        )
        options: dict[str, Any] = {"layer": layer, "relu": relu, "interpolate": interpolate}
        if attribute_to_layer_input:
            options["attribute_to_layer_input"] = True
        if not attr_dim_summation:
            options["attr_dim_summation"] = False
        if channel_dim is not None:
            options["channel_dim"] = channel_dim
        image_map = task.kind == "image" and values.ndim == 4 and values.shape[1] == 1
        token_map = task.kind == "text" and values.ndim == 2 and values.shape[1] == task.x.shape[1]
        if image_map or token_map:
            return task.finish(values, options=options)
        result = task.finish(values.detach().cpu().numpy(), options=options)
        return replace(result, kind="array", feature_names=None)


def layer_maps(
    task: Task, x: torch.Tensor, rows: torch.Tensor, layer: str, to_input: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """(activations, gradients of the target output) of ``layer`` (its output, or with
    ``to_input`` its first input) for one batch.

    The backward pass stops at the layer: outputs are differentiated through the layer's own
    bias (or weight), which needs the gradient at the layer's output and nothing below it;
    inputs are replaced by a leaf tensor of the same value. Layers without trainable
    parameters differentiate down to the input.
    """
    module = task.model.module.get_submodule(layer)
    if to_input:
        return _input_maps(task, module, x, rows, layer)
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
    return acts.detach(), grads.detach()


def _input_maps(
    task: Task, module: torch.nn.Module, x: torch.Tensor, rows: torch.Tensor, layer: str
) -> tuple[torch.Tensor, torch.Tensor]:
    kept: list[torch.Tensor] = []

    def leaf(mod: torch.nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if not args or not isinstance(args[0], torch.Tensor):
            return None
        value = args[0].detach().requires_grad_(True)
        kept[:] = [value]  # the last call's: the adapter may probe the model first
        return (value, *args[1:])

    handle = module.register_forward_pre_hook(this_thread_only(leaf))
    try:
        with torch.enable_grad():
            logits = as_2d_outputs(task.forward(x.detach(), rows))
            out = selected(logits, task.target_rows(rows, logits)).sum()
            if not kept:
                raise InvalidArgumentError("layer", "a layer that runs on the way to the output, on a tensor", layer)
            (grads,) = torch.autograd.grad(out, kept, allow_unused=True)
    finally:
        handle.remove()
    acts = kept[0].detach()
    return acts, torch.zeros_like(acts) if grads is None else grads.detach()


def _channels_first(acts: torch.Tensor, channel_dim: int) -> tuple[torch.Tensor, tuple[int, ...]]:
    """Layer values as [N, C, P] (channels, flattened positions), and the positions' shape."""
    if acts.ndim == 2:
        return acts.unsqueeze(2), ()
    if channel_dim == -1:
        acts = acts.movedim(-1, 1)
    return acts.reshape(acts.shape[0], acts.shape[1], -1), tuple(acts.shape[2:])


def _maps(
    task: Task,
    x: torch.Tensor,
    rows: torch.Tensor,
    layer: str | None,
    relu: bool,
    interpolate: str | None,
    plus: bool,
    to_input: bool = False,
    summation: bool = True,
    channel_dim: int | None = None,
) -> torch.Tensor:
    if interpolate is not None and interpolate not in INTERPOLATIONS:
        raise InvalidArgumentError("interpolate", f"None or one of {INTERPOLATIONS}", interpolate)
    layer = resolve_layer(task.model, layer)
    last = channel_dim == -1 or (channel_dim is None and task.kind == "text")
    parts = []
    with task.bar(len(x)) as bar:
        for part in task.passes(len(x)):
            acts, grads = layer_maps(task, x[part], rows[part], layer, to_input)
            if acts.ndim < 2 or acts.ndim > 5:
                raise UnsupportedModelError(
                    "layer",
                    "a layer whose values are [N, D], [N, C, L], [N, T, D] or [N, C, H, W]",
                    f"{layer!r} with values of shape {tuple(acts.shape)}",
                )
            flat_acts, positions = _channels_first(acts, -1 if last and acts.ndim == 3 else 1)
            flat_grads, _ = _channels_first(grads, -1 if last and acts.ndim == 3 else 1)
            weight = torch.ones(flat_acts.shape[0], 1, flat_acts.shape[2], dtype=acts.dtype, device=acts.device)
            if last and acts.ndim == 3 and task.kind == "text" and task.attention_mask is not None:
                # the mean over a text's own tokens, not its batch's padding
                weight = task.attention_mask[rows[part]].to(acts.device, acts.dtype)[:, None, :]
            if plus:
                g2 = flat_grads * flat_grads
                total = (flat_acts * weight).sum(dim=2, keepdim=True)
                denominator = 2 * g2 + total * g2 * flat_grads
                alpha = torch.where(flat_grads != 0, g2 / torch.where(denominator != 0, denominator, 1.0), 0.0)
                weights = (alpha * F.relu(flat_grads) * weight).sum(dim=2, keepdim=True)
            else:
                weights = (flat_grads * weight).sum(dim=2, keepdim=True) / weight.sum(dim=2, keepdim=True).clamp(min=1)
            cam = weights * flat_acts
            if summation:
                cam = cam.sum(dim=1, keepdim=True)
            if relu:
                cam = F.relu(cam)
            cam = _layout(cam, acts, positions, last and acts.ndim == 3, summation)
            if interpolate is not None and cam.ndim == 4 and task.kind == "image":
                cam = F.interpolate(cam, size=tuple(x.shape[2:]), mode=interpolate)
            parts.append(cam)
            bar.update(part.stop - part.start)
    return torch.cat(parts)


def _layout(
    cam: torch.Tensor, acts: torch.Tensor, positions: tuple[int, ...], tokens: bool, summation: bool
) -> torch.Tensor:
    """``cam`` [N, C or 1, P] back in the layer's layout (tokens summed: [N, T])."""
    n = cam.shape[0]
    if acts.ndim == 2:
        return cam[:, :, 0]
    if tokens:
        return cam[:, 0, :] if summation else cam.movedim(1, -1)
    return cam.reshape(n, cam.shape[1], *positions)


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
    attribute_to_layer_input: bool = False,
    attr_dim_summation: bool = True,
    channel_dim: int | None = None,
) -> torch.Tensor:
    return _maps(
        task, x, rows, layer, relu, interpolate, False, attribute_to_layer_input, attr_dim_summation, channel_dim
    )


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
    attribute_to_layer_input: bool = False,
    attr_dim_summation: bool = True,
    channel_dim: int | None = None,
) -> torch.Tensor:
    return _maps(
        task, x, rows, layer, relu, interpolate, True, attribute_to_layer_input, attr_dim_summation, channel_dim
    )
