"""Feature groups of the perturbation methods (occlusion, KernelSHAP, LIME): ``feature_mask``.

A ``feature_mask`` labels every number of an example with the group it belongs to (superpixels,
word groups, feature sets): integers of one example's shape, ``[1, ...]``, or one mask per
example ``[N, ...]``; it is checked once, by ``deepscope.explain.ablation.feature_groups``.
Groups are numbered by their sorted labels. With ``return_input_shape=False`` a method returns
one value per group ``[N, G]`` instead of spreading each group's value over its numbers.

>>> import numpy as np
>>> group_names(np.array([[3, 3, 7]]))
['group 3', 'group 7']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from deepscope.explain._task import Task
from deepscope.explain.ablation import feature_groups

__all__ = ["broadcast_mask", "feature_groups", "group_names", "spread", "per_group_values"]


def group_names(feature_mask: Any) -> list[str]:
    """``group <label>`` for each distinct label of the mask, in the order of the groups."""
    labels = np.unique(
        np.asarray(feature_mask.detach().cpu() if isinstance(feature_mask, torch.Tensor) else feature_mask)
    )
    return [f"group {label.item()}" for label in labels]


def broadcast_mask(task: Task, feature_mask: Any) -> Any:
    """A mask that broadcasts to one example (superpixels [H, W] or [1, H, W] of an image
    [C, H, W]) or to the batch ([N, 1, H, W]), expanded to that shape; any other mask as given,
    for ``feature_groups`` to check."""
    if feature_mask is None or not hasattr(feature_mask, "shape"):
        return feature_mask
    mask = torch.as_tensor(np.asarray(feature_mask) if not isinstance(feature_mask, torch.Tensor) else feature_mask)
    example = tuple(task.x.shape[1:])
    for shape in (example, tuple(task.x.shape)):
        if mask.ndim <= len(shape) and tuple(mask.shape) != shape:
            try:
                if torch.broadcast_shapes(tuple(mask.shape), shape) == shape:
                    return mask.expand(shape)
            except RuntimeError:
                continue
    return feature_mask


def spread(groups: torch.Tensor, per_group: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Each number's value: its group's, from ``per_group`` [N, G]; ``groups`` [1 or N, ...]."""
    n = per_group.shape[0]
    where = groups.expand(n, *groups.shape[1:]).reshape(n, -1)
    return torch.gather(per_group, 1, where.to(per_group.device)).reshape(n, *shape)


def per_group_values(task: Task, feature_mask: Any) -> None:
    """Make ``task`` give one value per group: a table [N, G] whose columns are the groups."""
    task.kind = "tabular"
    task.inputs = None
    task.feature_names = group_names(feature_mask)
    task.tokens = None
