"""What the features package shares: the model's layers in execution order, their inputs and
outputs on one batch, and how a unit's window maps back through the layers to the image."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from deepscope.errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    NotFoundError,
    ShapeError,
    UnsupportedModelError,
)
from deepscope.model import Model
from deepscope.model.hooks import as_logits, first_tensor, this_thread_only

SPATIAL = (torch.nn.Conv2d, torch.nn.MaxPool2d, torch.nn.AvgPool2d)
ADAPTIVE = (torch.nn.AdaptiveMaxPool2d, torch.nn.AdaptiveAvgPool2d)


@dataclass
class Step:
    """One leaf layer's call: its name, module, input and output (batch first)."""

    name: str
    module: torch.nn.Module
    input: torch.Tensor | None
    output: torch.Tensor


def image_model(model: Any, method: str) -> Model:
    """``model`` as a torch ``Model`` with at least one 2-D convolution."""
    wrapped = Model(model)
    if wrapped.module is None:
        raise UnsupportedModelError(
            "model", f"a torch module for {method} (it needs gradients and layers)", wrapped.name
        )
    return wrapped


def torch_module(model: Model) -> torch.nn.Module:
    """The torch module of ``model`` (one that ``image_model`` accepted)."""
    if model.module is None:
        raise UnsupportedModelError("model", "a torch module (it needs gradients and layers)", model.name)
    return model.module


def check_layer(model: Model, name: Any) -> str:
    layers = [layer for layer, _ in torch_module(model).named_modules() if layer]
    if not isinstance(name, str) or name not in layers:
        raise NotFoundError("layer", str(name), layers)
    return name


def in_channels(model: Model) -> int:
    for module in torch_module(model).modules():
        if isinstance(module, torch.nn.Conv2d):
            return int(module.in_channels)
    raise UnsupportedModelError("model", "a CNN (a model with a Conv2d layer)", model.name)


def as_images(images: Any, argument: str, channels: int | None = None) -> np.ndarray:
    """Float32 images ``[N, C, H, W]`` from an array (or a dataset's ``.images``)."""
    array = np.asarray(getattr(images, "images", images), dtype=np.float32)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4:
        raise ShapeError(argument, "images shaped [N, C, H, W] (or [C, H, W])", array.shape)
    if channels is not None and array.shape[1] != channels:
        raise ShapeError(argument, f"images with {channels} channels [N, {channels}, H, W]", array.shape)
    return array


def trace(model: Model, batch: torch.Tensor) -> list[Step]:
    """Every leaf layer's call on ``batch``, in the order they ran (no gradients)."""
    steps: list[Step] = []
    module = torch_module(model)
    names = {child: name for name, child in module.named_modules() if name}
    leaves = [m for m in names if not list(m.children())]

    def record(module: torch.nn.Module, args: Any, output: Any) -> None:
        tensor = first_tensor(output)
        if tensor is None:
            return
        given = args[0] if args and isinstance(args[0], torch.Tensor) else None
        steps.append(
            Step(
                names[module],
                module,
                None if given is None else given.detach().clone(),
                tensor.detach().clone(),
            )
        )

    handles = [m.register_forward_hook(this_thread_only(record)) for m in leaves]
    try:
        # the module itself, not Model.forward: the adapter's one-off layout probe would run the
        # layers twice
        with model.eval_mode(), torch.no_grad():
            logits = as_logits(module(batch))
    finally:
        for handle in handles:
            handle.remove()
    if logits is None:
        raise UnsupportedModelError("model", "a model returning a tensor of logits", model.name)
    steps.append(
        Step(
            "softmax",
            torch.nn.Softmax(dim=-1),
            logits.detach().clone(),
            torch.softmax(logits.detach(), dim=-1),
        )
    )
    return steps


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, Sequence):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def window(module: torch.nn.Module, axis: int, start: int, stop: int, size_in: int) -> tuple[int, int]:
    """Rows (axis 0) or columns (axis 1) ``[start, stop]`` of a layer's output -> the inclusive
    range of its input they read (may reach into padding: below 0 or past the end)."""
    if isinstance(module, SPATIAL):
        k = _pair(module.kernel_size)[axis]
        s = _pair(module.stride if module.stride is not None else module.kernel_size)[axis]
        p = _pair(module.padding)[axis] if not isinstance(module.padding, str) else 0
        d = _pair(getattr(module, "dilation", 1))[axis]
        return start * s - p, stop * s - p + d * (k - 1)
    if isinstance(module, ADAPTIVE):
        out = _pair(module.output_size)[axis] if module.output_size is not None else size_in
        out = size_in if out is None else out
        return math.floor(start * size_in / out), math.ceil((stop + 1) * size_in / out) - 1
    return start, stop


def image_box(steps: list[Step], index: int, row: int, col: int) -> tuple[int, int, int, int]:
    """(top, left, bottom, right), inclusive and clipped, of the image pixels unit ``(row, col)``
    of layer ``steps[index]`` depends on, following the layers back in order (a chain)."""
    top, bottom, left, right = row, row, col, col
    for step in reversed(steps[: index + 1]):
        shape = step.input.shape if step.input is not None else None
        if shape is None or len(shape) != 4:
            return _whole(steps)
        top, bottom = window(step.module, 0, top, bottom, shape[2])
        left, right = window(step.module, 1, left, right, shape[3])
        top, left = max(top, 0), max(left, 0)
        bottom, right = min(bottom, shape[2] - 1), min(right, shape[3] - 1)
    return top, left, bottom, right


def _whole(steps: list[Step]) -> tuple[int, int, int, int]:
    first = steps[0].input
    if first is None:
        raise UnsupportedModelError("model", "a first layer called with the image tensor", steps[0].name)
    return 0, 0, int(first.shape[2]) - 1, int(first.shape[3]) - 1


def forward_check(model: Model, channels: int, size: int) -> None:
    """Raise a typed error naming ``size`` when the model cannot take ``size`` x ``size`` images."""
    probe = torch.zeros(1, channels, size, size, device=model.device)
    try:
        with model.eval_mode(), torch.no_grad():
            model.forward(probe)
    except (InvalidArgumentError, ArgumentTypeError, RuntimeError) as err:
        raise InvalidArgumentError("size", "an image size the model can take", size, hint=str(err)) from err
