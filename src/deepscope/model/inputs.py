"""What users pass as ``inputs``: checks, conversion to tensors, slicing into batches.

>>> import numpy as np
>>> from deepscope.model.inputs import to_tensor, take
>>> take(to_tensor(np.zeros((5, 2)), "inputs"), 1, 3).shape
torch.Size([2, 2])
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, ShapeError, describe
from deepscope.progress import tqdm
from deepscope.validation import check_bool, check_int

__all__ = [
    "Inputs",
    "is_texts",
    "is_frame",
    "check_not_empty",
    "count",
    "take",
    "to_tensor",
    "to_array",
    "first_layer",
    "check_first_layer",
    "check_batch_size",
    "batch_ranges",
]

Inputs = torch.Tensor | np.ndarray | Sequence[str] | Mapping[str, torch.Tensor] | Sequence[Any]

# More batches than this get a progress bar when progress=None and stderr is a terminal.
FEW_BATCHES = 4


def is_texts(inputs: Any) -> bool:
    """True for a non-empty list or tuple of strings."""
    return isinstance(inputs, (list, tuple)) and len(inputs) > 0 and all(isinstance(item, str) for item in inputs)


def is_frame(inputs: Any) -> bool:
    """True for a pandas DataFrame (checked by duck typing, so pandas need not be imported)."""
    return hasattr(inputs, "iloc") and hasattr(inputs, "columns")


def check_not_empty(inputs: Any, argument: str = "inputs") -> None:
    """Raise a typed error for None, a bare string, a 0-d value or zero examples."""
    if inputs is None:
        raise ArgumentTypeError(argument, "a tensor, an array or a list of strings", None)
    if isinstance(inputs, str):
        raise ArgumentTypeError(argument, "a list of strings", "a single str", hint="wrap one text in a list: [text]")
    if not isinstance(inputs, (np.ndarray, torch.Tensor)) and not hasattr(inputs, "__len__"):
        raise ArgumentTypeError(argument, "a tensor, an array or a list of strings", inputs)
    if isinstance(inputs, (np.ndarray, torch.Tensor)) and inputs.ndim == 0:
        raise ShapeError(argument, "a batch with the examples along the first dimension", inputs)
    texts = [isinstance(item, str) for item in inputs] if isinstance(inputs, (list, tuple)) else []
    if any(texts) and not all(texts):
        raise ArgumentTypeError(argument, "a list of strings only", describe(inputs))
    if isinstance(inputs, Mapping) and "input_ids" not in inputs:
        raise InvalidArgumentError(argument, "a dict with 'input_ids' (and 'attention_mask')", sorted(inputs))
    if count(inputs) == 0:
        raise InvalidArgumentError(argument, "at least one example", inputs)


def count(inputs: Any) -> int:
    """The number of examples: rows of an array, frame or encoded dict, or texts in a list."""
    if isinstance(inputs, Mapping):
        return count(inputs["input_ids"])
    if isinstance(inputs, (np.ndarray, torch.Tensor)):
        return int(inputs.shape[0])
    return len(inputs)


def take(inputs: Any, start: int, stop: int) -> Any:
    """Examples ``start:stop`` of any input form, keeping the form."""
    if isinstance(inputs, Mapping):
        return {key: value[start:stop] for key, value in inputs.items()}
    if is_frame(inputs):
        return inputs.iloc[start:stop]
    return inputs[start:stop]


def to_tensor(inputs: Any, argument: str = "inputs") -> torch.Tensor:
    """A tensor of the examples (on the CPU unless it already was a tensor elsewhere)."""
    if isinstance(inputs, torch.Tensor):
        return inputs
    if isinstance(inputs, (list, tuple)) and inputs and isinstance(inputs[0], torch.Tensor):
        try:
            return torch.stack(list(inputs))
        except RuntimeError as err:
            raise ShapeError(argument, "tensors of one shape", describe(inputs), hint=str(err)) from err
    array = to_array(inputs, argument)
    if array.dtype.kind not in "biuf":
        raise ArgumentTypeError(argument, "numeric values (bool, integer or float)", array)
    if not array.flags.writeable:  # torch cannot share memory it may not write
        array = array.copy()
    return torch.from_numpy(np.ascontiguousarray(array))


def to_array(inputs: Any, argument: str = "inputs") -> np.ndarray:
    """A numpy array of the examples (tensors are moved to the CPU and detached)."""
    if isinstance(inputs, torch.Tensor):
        return inputs.detach().cpu().numpy()
    if is_frame(inputs):
        return inputs.to_numpy()
    if isinstance(inputs, (list, tuple)) and inputs and isinstance(inputs[0], torch.Tensor):
        return to_tensor(inputs, argument).detach().cpu().numpy()
    try:
        array = np.asarray(inputs)
    except ValueError as err:  # ragged nested lists
        raise ShapeError(argument, "a rectangular batch", describe(inputs), hint=str(err)) from err
    if array.dtype == object:
        raise ShapeError(argument, "a rectangular batch of numbers", describe(inputs))
    return array


def first_layer(module: torch.nn.Module) -> torch.nn.Module:
    """The layer an ``nn.Sequential`` applies first (descending nested Sequentials)."""
    while isinstance(module, torch.nn.Sequential) and len(module) > 0:
        module = module[0]
    return module


def check_first_layer(layer: torch.nn.Module, x: torch.Tensor, got: Any, argument: str) -> None:
    """Check ``x`` against what ``layer`` takes (Linear: features, ConvNd: channels, float dtype).

    ``got`` is what the user passed, described in the message.
    """
    if isinstance(layer, torch.nn.Linear):
        if isinstance(layer.weight, torch.nn.parameter.UninitializedParameter):
            return
        what = f"a batch shaped [N, {layer.in_features}]"
        ok = x.ndim >= 2 and x.shape[-1] == layer.in_features
    elif isinstance(layer, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)):
        if isinstance(layer.weight, torch.nn.parameter.UninitializedParameter):
            return
        spatial = {torch.nn.Conv1d: "L", torch.nn.Conv2d: "H, W", torch.nn.Conv3d: "D, H, W"}
        dims = spatial.get(type(layer), "...")
        what = f"a batch shaped [N, {layer.in_channels}, {dims}]"
        ok = x.ndim == layer.weight.ndim and x.shape[1] == layer.in_channels
    else:
        return
    because = f"the model's first layer is {layer!r}"
    if not ok:
        raise ShapeError(argument, f"{what} ({because})", got)
    if not x.is_floating_point():
        raise ArgumentTypeError(
            argument,
            f"floating-point values ({because})",
            got,
            hint="convert with .astype('float32') (scale uint8 images to [0, 1] first)",
        )


def check_batch_size(batch_size: Any, argument: str = "batch_size") -> int:
    """A positive int, or a typed error naming ``argument``."""
    return check_int(batch_size, argument, low=1)


def batch_ranges(n: int, size: int, progress: bool | None, desc: str) -> Iterator[tuple[int, int]]:
    """(start, stop) of each batch, with a progress bar when asked or when long and interactive."""
    progress = check_bool(progress, "progress", allow_none=True, hint="None: automatic")
    starts = range(0, n, size)
    show = progress if progress is not None else len(starts) > FEW_BATCHES and sys.stderr.isatty()
    # no tqdm at all when hidden: the first one of a process, even disabled, starts a process
    for start in tqdm(starts, desc=desc, unit="batch", leave=False) if show else starts:
        yield start, min(start + size, n)
