"""Inputs and outputs of the attribution methods in the form the methods work on.

Arrays, tensors and DataFrames become numeric arrays (with their column names), baselines a
tensor per example or one shared, model outputs a float tensor [N, C] and targets one class
index per example; texts keep their tokens.

>>> import torch
>>> from deepscope.explain._inputs import input_kind
>>> input_kind(torch.zeros(2, 3, 8, 8)), input_kind(torch.zeros(2, 5))
('image', 'tabular')
"""

from __future__ import annotations

from typing import Any, TypeGuard

import numpy as np
import pandas as pd
import torch

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, ShapeError, describe


def as_model(model: Any) -> Any:
    """``deepscope.Model(model)``: the one adapter every method works through."""
    from deepscope.model import Model

    return Model(model)


def is_texts(inputs: Any) -> bool:
    return isinstance(inputs, str) or (
        isinstance(inputs, (list, tuple)) and len(inputs) > 0 and all(isinstance(t, str) for t in inputs)
    )


def _is_frame(inputs: Any) -> TypeGuard[pd.DataFrame]:
    return hasattr(inputs, "iloc") and hasattr(inputs, "columns")


def input_kind(x: torch.Tensor | np.ndarray) -> str:
    """``image`` for [N, C, H, W], ``tabular`` for [N, F], ``array`` for anything else."""
    return {4: "image", 2: "tabular"}.get(x.ndim, "array")


def to_numeric_array(inputs: Any, *, floating: bool) -> tuple[np.ndarray | torch.Tensor, list[str] | None]:
    """Arrays and tensors as given, frames as their values; the frame's column names."""
    names = None
    if isinstance(inputs, tuple) and not is_texts(inputs):
        raise ArgumentTypeError(
            "inputs",
            "one array, tensor or DataFrame here",
            f"a tuple of {len(inputs)}",
            hint="a tuple of several inputs is taken by the attribution methods (ds.explain.<method>)",
        )
    if _is_frame(inputs):
        names = [str(c) for c in inputs.columns]
        kinds = {dtype.kind for dtype in inputs.dtypes}
        if not kinds <= set("biuf"):
            bad = [str(c) for c, d in zip(inputs.columns, inputs.dtypes, strict=True) if d.kind not in "biuf"]
            raise ArgumentTypeError(
                "inputs",
                "a DataFrame of numeric columns",
                f"non-numeric columns {bad}",
                hint="encode categorical columns as numbers first",
            )
        inputs = inputs.to_numpy(dtype=np.float64)
    elif isinstance(inputs, torch.Tensor):
        inputs = inputs.detach()
    elif not isinstance(inputs, np.ndarray):
        try:
            inputs = np.asarray(inputs)
        except ValueError as err:
            raise ShapeError("inputs", "a rectangular batch of numbers", describe(inputs)) from err
    if inputs.ndim < 2:
        raise ShapeError(
            "inputs",
            "a batch with the examples along the first dimension (at least 2-D)",
            inputs,
            hint="add a batch dimension, e.g. x[None]",
        )
    if len(inputs) == 0:
        raise InvalidArgumentError("inputs", "at least one example", inputs)
    kind = inputs.dtype.kind if isinstance(inputs, np.ndarray) else None
    is_float = inputs.is_floating_point() if isinstance(inputs, torch.Tensor) else kind == "f"
    if floating and not is_float:
        raise ArgumentTypeError(
            "inputs",
            "floating-point values (gradients need continuous inputs)",
            inputs,
            hint="convert with .astype('float32'); scale uint8 images to [0, 1] first",
        )
    if isinstance(inputs, np.ndarray) and inputs.dtype.kind not in "biuf":
        raise ArgumentTypeError("inputs", "numeric values", inputs)
    return inputs, names


def broadcast_value(value: Any, x: torch.Tensor, argument: str) -> torch.Tensor:
    """A scalar, one example's shape, or one per example, as a tensor [1 or N, *x.shape[1:]]."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return torch.full((1, *x.shape[1:]), float(value), dtype=x.dtype, device=x.device)
    if _is_frame(value):
        value = value.to_numpy(dtype=np.float64)
    try:
        tensor = torch.as_tensor(value if isinstance(value, torch.Tensor) else np.asarray(value))
    except (TypeError, ValueError) as err:
        raise ArgumentTypeError(argument, "a number or an array", describe(value)) from err
    if (
        tensor.dtype.is_complex
        or tensor.dtype == torch.bool
        or not (tensor.is_floating_point() or tensor.dtype in (torch.int32, torch.int64, torch.uint8))
    ):
        raise ArgumentTypeError(argument, "a number or a numeric array", describe(value))
    tensor = tensor.detach().to(device=x.device, dtype=x.dtype)
    example = tuple(x.shape[1:])
    if tensor.ndim == 0:
        return tensor.reshape(1, *[1] * len(example)).expand(1, *example).clone()
    if tuple(tensor.shape) == example:
        return tensor.unsqueeze(0)
    if tuple(tensor.shape[1:]) == example and tensor.shape[0] in (1, x.shape[0]):
        return tensor
    raise ShapeError(
        argument,
        f"a number, one example's shape {list(example)}, or one per example {[x.shape[0], *example]}",
        describe(value),
    )


def rows_of(baseline: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """The baseline of each row: a shared baseline ([1, ...]) as is, a per-example one indexed."""
    return baseline if baseline.shape[0] == 1 else baseline[rows]


def as_2d_outputs(outputs: Any) -> torch.Tensor:
    """Model outputs as a float tensor [N, C] (a single output per example becomes C = 1)."""
    if not isinstance(outputs, torch.Tensor):
        outputs = getattr(outputs, "logits", outputs)
        outputs = torch.as_tensor(np.asarray(outputs))
    if outputs.ndim == 1:
        outputs = outputs.unsqueeze(1)
    if outputs.ndim != 2:
        raise ShapeError(
            "model",
            "outputs of shape [N, C] (one row of scores per example)",
            outputs,
            hint="for outputs of more dimensions, name one with a tuple target=(i, j, ...)",
        )
    return outputs if outputs.is_floating_point() else outputs.double()


def selected(outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``outputs[i, target[i]]`` for each row."""
    return outputs.gather(1, target.view(-1, 1)).squeeze(1)


def resolve_targets(model: Any, target: Any, outputs: torch.Tensor) -> torch.Tensor:
    """One class index per example for ``outputs`` [N, C] (None: each row's argmax), checked
    by the model adapter (a ``TargetError`` naming ``target`` when out of range)."""
    indices = model.resolve_target(target, outputs)
    indices = torch.as_tensor(indices, dtype=torch.long, device=outputs.device).reshape(-1)
    if indices.numel() == 1 and outputs.shape[0] > 1:
        indices = indices.expand(outputs.shape[0]).clone()
    return indices


def compact_tokens(values: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Per-token values moved to the front of each row (padding dropped, zeros after)."""
    mask = attention_mask.bool()
    out = torch.zeros_like(values)
    for i in range(values.shape[0]):
        kept = values[i][mask[i]]
        out[i, : len(kept)] = kept
    return out


def _text_tokens(model: Any, texts: list[str], ids: torch.Tensor, mask: torch.Tensor) -> list[list[str]]:
    """The tokens each text became, aligned with the unpadded positions of ``ids``."""
    lengths = mask.sum(dim=1).tolist()
    try:
        tokens = [list(map(str, t)) for t in model.tokens(texts)]
    except (AttributeError, NotImplementedError, TypeError):
        tokens = None
    if tokens is not None and [len(t) for t in tokens] == lengths:
        return tokens
    tokenizer = model.tokenizer
    return [
        [str(t) for t in tokenizer.convert_ids_to_tokens(ids[i][mask[i].bool()].tolist())] for i in range(len(texts))
    ]


def predict_texts(model: Any, texts: list[str], batch_size: int) -> torch.Tensor:
    """Model outputs [N, C] for texts (any text model or callable)."""
    out = model.predict(list(texts), batch_size=batch_size, progress=False)
    return as_2d_outputs(np.asarray(out, dtype=np.float64) if not isinstance(out, torch.Tensor) else out)
