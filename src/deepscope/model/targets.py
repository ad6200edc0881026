"""Targets: which output each example is explained for (an int, a label, one per example, None).

>>> from deepscope.model.targets import normalize_target
>>> normalize_target([2, 0], n=2, labels=None).tolist()
[2, 0]
>>> normalize_target("cat", n=3, labels=["dog", "cat"])
1
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from deepscope.errors import TargetError, describe

__all__ = ["Target", "normalize_target", "target_slice", "to_indices"]

Target = int | str | Sequence[int] | Sequence[str] | np.ndarray | torch.Tensor | None


def normalize_target(target: Any, n: int, labels: list[str] | None) -> int | np.ndarray | None:
    """None, one class index for all examples, or an int64 array with one index per example.

    A one-element sequence or tensor is one class index for all examples (as Captum's
    one-element target tensor).

    Label names are looked up in ``labels``. Ranges are checked later, against the outputs.
    """
    if target is None:
        return None
    if isinstance(target, torch.Tensor):
        target = target.detach().cpu().numpy()
    if isinstance(target, np.ndarray) and target.ndim == 0:
        target = target.item()
    if isinstance(target, str):
        return _label_index(target, labels)
    if isinstance(target, (bool, np.bool_)):
        raise TargetError("target", "a class index (int), a label, or one per example", target)
    if isinstance(target, (int, np.integer)):
        return int(target)
    if isinstance(target, (list, tuple)) and any(isinstance(t, str) for t in target):
        target = [_label_index(t, labels) if isinstance(t, str) else t for t in target]
    try:
        array = np.asarray(target)
    except ValueError as err:
        raise TargetError("target", "one class index per example", describe(target)) from err
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise TargetError("target", "a class index (int), a label, or a 1-D sequence of class indices", target)
    if len(array) == 1 and n != 1:
        return int(array[0])
    if len(array) != n:
        raise TargetError("target", f"one class index per example ({n})", f"{len(array)} class indices")
    return array.astype(np.int64)


def target_slice(target: int | np.ndarray | None, start: int, stop: int) -> int | np.ndarray | None:
    """The part of a normalized target that belongs to examples ``start:stop``."""
    return target[start:stop] if isinstance(target, np.ndarray) else target


def to_indices(target: int | np.ndarray | None, outputs: torch.Tensor) -> torch.Tensor:
    """A LongTensor [N] of class indices for ``outputs`` [N, C]; None means each row's argmax."""
    n, classes = outputs.shape
    if target is None:
        return outputs.detach().argmax(dim=1)
    indices = np.full(n, target, dtype=np.int64) if isinstance(target, int) else target
    if len(indices) != n:
        raise TargetError("target", f"one class index per example ({n})", f"{len(indices)}")
    bad = np.flatnonzero((indices < 0) | (indices >= classes))
    if len(bad):
        got = target if isinstance(target, int) else f"{indices[bad[0]]} at position {bad[0]}"
        raise TargetError("target", f"a class index in [0, {classes}) (the model has {classes} outputs)", got)
    return torch.as_tensor(indices, dtype=torch.long, device=outputs.device)


def _label_index(label: str, labels: list[str] | None) -> int:
    if labels is None:
        raise TargetError(
            "target",
            "a class index (the model has no labels to look names up in)",
            label,
            hint="pass labels=[...] to deepscope.Model",
        )
    if label not in labels:
        raise TargetError("target", f"one of the labels {labels}", label)
    return labels.index(label)
