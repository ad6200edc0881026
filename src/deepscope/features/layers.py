"""The layer explorer (CNN Explainer, for any CNN): every layer's output for one input, and the
arithmetic behind one unit (convolution, ReLU, pooling, linear, softmax).

>>> import torch
>>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU())
>>> maps = layer_maps(net, torch.ones(1, 1, 5, 5).numpy())
>>> maps.names
['0', '1', 'softmax']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from deepscope.errors import InvalidArgumentError, NotFoundError, UnsupportedModelError
from deepscope.features._common import (
    ADAPTIVE,
    Step,
    as_images,
    image_box,
    image_model,
    trace,
    window,
)
from deepscope.result import Result
from deepscope.validation import check_int

__all__ = ["layer_maps", "unit_arithmetic", "LayerMaps", "UnitArithmetic"]


@dataclass(frozen=True)
class LayerMaps(Result):
    """Every layer's output for one input, in the order the layers ran.

    image: the input ``[C, H, W]``; names/types: per layer; maps: per layer its output without the
    batch dimension (``[C, H, W]`` for conv, activation and pooling layers, ``[F]`` for linear
    ones); the last entry is the softmax of the logits; class_names: the model's labels or None.
    """

    image: np.ndarray
    names: list[str]
    types: list[str]
    maps: list[np.ndarray]
    class_names: list[str] | None = None

    default_tag = "features/layer_maps"
    figure_function = "deepscope.viz.layers:layer_maps_figure"

    @property
    def probabilities(self) -> np.ndarray:
        return self.maps[-1]

    @property
    def prediction(self) -> int:
        return int(np.argmax(self.maps[-1]))

    def map(self, layer: str) -> np.ndarray:
        if layer not in self.names:
            raise NotFoundError("layer", layer, self.names)
        return self.maps[self.names.index(layer)]

    def to_frame(self) -> pd.DataFrame:
        """One row per layer: name, type, output shape, min, max."""
        return pd.DataFrame(
            {
                "layer": self.names,
                "type": self.types,
                "shape": [str(tuple(m.shape)) for m in self.maps],
                "min": [float(m.min()) for m in self.maps],
                "max": [float(m.max()) for m in self.maps],
            }
        )


@dataclass(frozen=True)
class UnitArithmetic(Result):
    """How one unit's value is computed from its layer's input.

    kind: "conv", "relu", "maxpool", "avgpool", "linear", "softmax" or "identity".
    patch: the input values the unit reads (``[C_in, kh, kw]`` for conv and pooling, ``[1]`` for
    ReLU, ``[F]`` for linear, the logits for softmax). kernel: the weights (conv, linear) or None.
    products: patch * kernel (conv, linear), the exponentials (softmax), else the patch. total: what
    the arithmetic gives (sum + bias, max, mean, max(0, x), the probability); value: the real output.
    input_box / image_box: (top, left, bottom, right), inclusive, of the window on the layer's
    input and on the image (-1s where the unit sees all of it).
    """

    layer: str
    type: str
    kind: str
    channel: int
    row: int
    col: int
    previous: str | None
    patch: np.ndarray
    kernel: np.ndarray | None
    bias: float
    products: np.ndarray
    total: float
    value: float
    input_box: tuple[int, int, int, int]
    image_box: tuple[int, int, int, int]
    exp_sum: float | None = None
    class_names: list[str] | None = None

    default_tag = "features/unit_arithmetic"
    figure_function = "deepscope.viz.layers:unit_arithmetic_figure"

    @property
    def error(self) -> float:
        return abs(self.total - self.value)


def _input(model: Any, input: Any) -> tuple[Any, torch.Tensor]:
    wrapped = image_model(model, "the layer explorer")
    array = as_images(input, "input")
    if len(array) != 1:
        array = array[:1]
    return wrapped, torch.from_numpy(array).to(wrapped.device)


def layer_maps(model: Any, input: Any) -> LayerMaps:
    """Every layer's output for one ``input`` image (``[C, H, W]`` or a batch of which the first
    is used), with the softmax of the logits last."""
    wrapped, x = _input(model, input)
    steps = trace(wrapped, x)
    return LayerMaps(
        image=x[0].cpu().numpy().astype(np.float32),
        names=[s.name for s in steps],
        types=[type(s.module).__name__ for s in steps],
        maps=[s.output[0].float().cpu().numpy() for s in steps],
        class_names=list(wrapped.labels) if wrapped.labels else None,
    )


def unit_arithmetic(model: Any, input: Any, *, layer: str, channel: int, row: int = 0, col: int = 0) -> UnitArithmetic:
    """The arithmetic behind unit (``channel``, ``row``, ``col``) of ``layer`` for one input
    (``layer="softmax"`` for the final softmax, where ``channel`` is the class)."""
    wrapped, x = _input(model, input)
    steps = trace(wrapped, x)
    names = [s.name for s in steps]
    if layer not in names:
        raise NotFoundError("layer", str(layer), names)
    index = names.index(layer)
    step = steps[index]
    out = step.output[0]
    channel = check_int(channel, "channel", low=0)
    if channel >= out.shape[0]:
        raise InvalidArgumentError("channel", f"a channel below {out.shape[0]} in {layer!r}", channel)
    spatial = out.ndim == 3
    row, col = (check_int(row, "row", low=0), check_int(col, "col", low=0)) if spatial else (0, 0)
    if spatial and (row >= out.shape[1] or col >= out.shape[2]):
        raise InvalidArgumentError(
            "row, col",
            f"a position inside the {out.shape[1]}x{out.shape[2]} map of {layer!r}",
            (row, col),
        )
    value = float(out[channel, row, col] if spatial else out[channel])
    previous = names[index - 1] if index > 0 else None
    if step.input is None:
        raise UnsupportedModelError("layer", "a layer called with a tensor", layer)
    fields = _arithmetic(step, channel, row, col)
    box = image_box(steps, index, row, col) if spatial else (-1, -1, -1, -1)
    return UnitArithmetic(
        layer=layer,
        type=type(step.module).__name__,
        channel=channel,
        row=row,
        col=col,
        previous=previous,
        value=value,
        image_box=(int(box[0]), int(box[1]), int(box[2]), int(box[3])),
        class_names=list(wrapped.labels) if wrapped.labels else None,
        **fields,
    )


def _arithmetic(step: Step, channel: int, row: int, col: int) -> dict[str, Any]:
    if step.input is None:
        raise UnsupportedModelError("layer", "a layer called with a tensor", step.name)
    module, x = step.module, step.input[0].double()
    none_box = (-1, -1, -1, -1)
    if isinstance(module, torch.nn.Conv2d):
        if module.padding_mode != "zeros" or isinstance(module.padding, str):
            raise UnsupportedModelError("layer", "a Conv2d with numeric zero padding", module)
        groups = module.groups
        per_group = module.in_channels // groups
        group = channel // (module.out_channels // groups)
        top, bottom = window(module, 0, row, row, x.shape[1])
        left, right = window(module, 1, col, col, x.shape[2])
        d = module.dilation
        padded = F.pad(
            x,
            (
                max(0, -left),
                max(0, right - x.shape[2] + 1),
                max(0, -top),
                max(0, bottom - x.shape[1] + 1),
            ),
        )
        t0, l0 = top + max(0, -top), left + max(0, -left)
        patch = padded[
            group * per_group : (group + 1) * per_group,
            t0 : t0 + bottom - top + 1 : d[0],
            l0 : l0 + right - left + 1 : d[1],
        ]
        kernel = module.weight[channel].detach().double()
        bias = float(module.bias[channel].detach()) if module.bias is not None else 0.0
        products = patch * kernel
        return dict(
            kind="conv",
            patch=_np(patch),
            kernel=_np(kernel),
            bias=bias,
            products=_np(products),
            total=float(products.sum()) + bias,
            input_box=_clip((top, left, bottom, right), x.shape),
        )
    if isinstance(module, torch.nn.Linear):
        flat = x.reshape(-1)
        kernel = module.weight[channel].detach().double()
        bias = float(module.bias[channel].detach()) if module.bias is not None else 0.0
        products = flat * kernel
        return dict(
            kind="linear",
            patch=_np(flat),
            kernel=_np(kernel),
            bias=bias,
            products=_np(products),
            total=float(products.sum()) + bias,
            input_box=none_box,
        )
    if isinstance(module, torch.nn.Softmax):
        logits = x.reshape(-1)
        exps = torch.exp(logits - logits.max())
        total = float(exps[channel] / exps.sum())
        return dict(
            kind="softmax",
            patch=_np(logits),
            kernel=None,
            bias=0.0,
            products=_np(exps),
            total=total,
            input_box=none_box,
            exp_sum=float(exps.sum()),
        )
    if x.ndim != 3:
        cell = x.reshape(-1)[channel] if x.numel() else x.new_zeros(())
        return _elementwise(module, cell.reshape(1), none_box)
    if isinstance(module, (torch.nn.MaxPool2d, torch.nn.AvgPool2d, *ADAPTIVE)):
        top, bottom = window(module, 0, row, row, x.shape[1])
        left, right = window(module, 1, col, col, x.shape[2])
        is_max = isinstance(module, (torch.nn.MaxPool2d, torch.nn.AdaptiveMaxPool2d))
        fill = float("-inf") if is_max else 0.0
        dilation = getattr(module, "dilation", 1)
        d = dilation if isinstance(dilation, tuple) else (dilation, dilation)
        padded = F.pad(
            x,
            (
                max(0, -left),
                max(0, right - x.shape[2] + 1),
                max(0, -top),
                max(0, bottom - x.shape[1] + 1),
            ),
            value=fill,
        )
        t0, l0 = top + max(0, -top), left + max(0, -left)
        patch = padded[channel, t0 : t0 + bottom - top + 1 : d[0], l0 : l0 + right - left + 1 : d[1]][None]
        if is_max:
            total = float(patch.max())
        elif isinstance(module, torch.nn.AvgPool2d) and not module.count_include_pad:
            total = float(x[channel, max(top, 0) : bottom + 1, max(left, 0) : right + 1].mean())
        else:
            total = float(patch.mean())
        return dict(
            kind="maxpool" if is_max else "avgpool",
            patch=_np(patch),
            kernel=None,
            bias=0.0,
            products=_np(patch),
            total=total,
            input_box=_clip((top, left, bottom, right), x.shape),
        )
    return _elementwise(module, x[channel, row, col].reshape(1), (row, col, row, col))


def _elementwise(module: torch.nn.Module, cell: torch.Tensor, box: tuple) -> dict[str, Any]:
    if isinstance(module, torch.nn.ReLU):
        kind, total = "relu", float(cell.clamp_min(0)[0])
    else:
        with torch.no_grad():
            try:
                total = float(module(cell.float())[0])
            except RuntimeError:
                total = float(cell[0])
        kind = (
            "identity"
            if isinstance(module, (torch.nn.Identity, torch.nn.Dropout, torch.nn.Flatten))
            else type(module).__name__.lower()
        )
    return dict(
        kind=kind,
        patch=_np(cell),
        kernel=None,
        bias=0.0,
        products=_np(cell),
        total=total,
        input_box=tuple(int(v) for v in box),
    )


def _clip(box: tuple[int, int, int, int], shape: Any) -> tuple[int, int, int, int]:
    top, left, bottom, right = box
    return (max(top, 0), max(left, 0), min(bottom, shape[1] - 1), min(right, shape[2] - 1))


def _np(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float64)
