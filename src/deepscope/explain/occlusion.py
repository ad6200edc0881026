"""Occlusion (Zeiler and Fergus 2014): slide a window over the input, replace what it covers by a
baseline, and credit the drop in the target output to the covered features.

Each feature's value is the mean drop over the windows that covered it, as in Captum. Occluded
copies are evaluated ``batch_size`` at a time (``perturbations_per_eval`` per example, as Captum's
option, when given; by default one copy of every example per pass, as Captum's default, at least
16 rows: ``deepscope.explain._rows``). With ``feature_mask`` the windows are the mask's groups (superpixels,
feature sets): each group is occluded once, as Captum's FeatureAblation does.

>>> import torch, deepscope as ds
>>> net = torch.nn.Linear(4, 1, bias=False)
>>> _ = torch.nn.init.ones_(net.weight)
>>> ds.explain.occlusion(net, torch.tensor([[1.0, 2.0, 3.0, 4.0]])).values.tolist()
[[1.0, 2.0, 3.0, 4.0]]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from deepscope.errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    ShapeError,
    UnsupportedModelError,
)
from deepscope.explain._groups import (
    feature_groups,
    per_group_values,
    spread,
)
from deepscope.explain._inputs import broadcast_value, rows_of
from deepscope.explain._task import Task, predict_task
from deepscope.explain._validate import check_positive_int
from deepscope.explain.attribution import Attribution
from deepscope.explain.registry import attribution_method
from deepscope.validation import check_bool

__all__ = ["occlusion", "windows"]


def _as_shape(value: Any, shape: tuple[int, ...], kind: str, argument: str) -> tuple[int, ...]:
    """An int or tuple as a full window shape over the example's dimensions."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value),) * (2 if kind == "image" else len(shape))
    if not isinstance(value, Sequence) or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value
    ):
        raise ArgumentTypeError(argument, "an int or a tuple of ints", value)
    value = tuple(int(v) for v in value)
    if kind == "image" and len(value) == 2:
        value = (shape[0], *value)
    if len(value) != len(shape):
        raise ShapeError(argument, f"an int or {len(shape)} sizes (one per dimension of an example)", value)
    return value


def windows(shape: Sequence[int], window: Sequence[int], stride: Sequence[int]) -> list[tuple[slice, ...]]:
    """Every window position: starts at multiples of the stride until the window reaches the end
    (the last one may be cut off at the edge), as Captum's Occlusion places them.

    >>> len(windows((8,), (3,), (2,)))
    4
    """
    per_dim = []
    for size, w, s in zip(shape, window, stride, strict=True):
        count = math.ceil((size - w) / s) + 1
        per_dim.append([slice(k * s, min(k * s + w, size)) for k in range(count)])
    return list(itertools.product(*per_dim))


# Precompute all window masks when they hold at most this many elements (bools: 64 MiB).
_MASKS_AT_ONCE = 2**26


def _masks(spots: list[tuple[slice, ...]], which: Any, shape: tuple[int, ...], device: Any) -> torch.Tensor:
    """Boolean masks [len(which), *shape], True inside each chosen window."""
    which = list(which)
    masks = torch.zeros((len(which), *shape), dtype=torch.bool, device=device)
    for j, w in enumerate(which):
        masks[(j, *spots[w])] = True
    return masks


def _count(spots: list[tuple[slice, ...]], shape: tuple[int, ...], device: Any) -> torch.Tensor:
    """How many windows cover each feature."""
    count = torch.zeros(shape, dtype=torch.int64, device=device)
    for spot in spots:
        count[spot] += 1
    return count


@attribution_method("occlusion")
def occlusion(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    baseline: Any = 0.0,
    batch_size: int | None = None,
    progress: bool | None = None,
    window: int | Sequence[int] | None = None,
    stride: int | Sequence[int] | None = None,
    feature_mask: Any = None,
    return_input_shape: bool = True,
    perturbations_per_eval: int | None = None,
    feature_names: list[str] | None = None,
) -> Attribution:
    """f(x)[target] - f(x with a window replaced by ``baseline``), averaged per feature.

    ``window``: an int (images: a square over all channels; tables: that many adjacent features)
    or a size per dimension (images also (h, w)). Default: an eighth of the image's shorter side,
    or one feature. ``stride`` defaults to half the window (at least 1) and may not exceed it.
    ``baseline``: a number, one example's shape, or one per example. ``batch_size``: occluded
    copies per model call (default: the number of examples, at most the model's batch size;
    tables: the model's batch size, at least 16384 rows). ``perturbations_per_eval``: occluded
    copies of each example per model call (Captum's option; overrides ``batch_size`` for them).
    ``feature_mask``: group labels (one example's shape, ``[1, ...]`` or one per example) to
    occlude group by group instead of windows (not with ``window``/``stride``);
    ``return_input_shape=False`` then gives one value per group [N, G]. Works with any model,
    plain callables included.
    """
    return_input_shape = check_bool(return_input_shape, "return_input_shape")
    if perturbations_per_eval is not None:
        perturbations_per_eval = check_positive_int(perturbations_per_eval, "perturbations_per_eval")
    if feature_mask is not None and (window is not None or stride is not None):
        raise InvalidArgumentError(
            "feature_mask",
            "no window or stride with it (the mask's groups are the windows)",
            "feature_mask with "
            + " and ".join(n for n, v in (("window", window), ("stride", stride)) if v is not None),
        )
    if feature_mask is None and not return_input_shape:
        raise InvalidArgumentError(
            "return_input_shape", "True unless feature_mask is given (values per group)", return_input_shape
        )
    with predict_task(
        model,
        inputs,
        method="occlusion",
        target=target,
        batch_size=batch_size,
        progress=progress,
        feature_names=feature_names,
    ) as task:
        if task.kind == "text":
            raise UnsupportedModelError(
                "inputs",
                "images, tables or arrays (occlusion replaces spans of numbers)",
                "texts",
                hint="use lime for text, or a gradient method (per-token attributions)",
            )
        if perturbations_per_eval is not None:
            task.batch_size = perturbations_per_eval * task.n
        elif batch_size is None and task.kind != "tabular" and task.batch_size is not None:
            # the model's own batch size: at most one occluded copy per example per pass
            task.batch_size = min(task.batch_size, task.n)
        if feature_mask is not None:
            return _by_groups(task, baseline, feature_mask, return_input_shape, perturbations_per_eval)
        x = task.x
        shape = tuple(x.shape[1:])
        if window is None:
            window = max(1, min(shape[1:]) // 8) if task.kind == "image" else 1
        win = _as_shape(window, shape, task.kind, "window")
        if any(w < 1 or w > d for w, d in zip(win, shape, strict=True)):
            raise ShapeError("window", f"sizes between 1 and the example's shape {list(shape)}", list(win))
        if stride is None:
            stride = tuple(max(1, w // 2) if w < d else w for w, d in zip(win, shape, strict=True))
        step = _as_shape(stride, shape, task.kind, "stride")
        if any(s < 1 or (s > w and w < d) for s, w, d in zip(step, win, shape, strict=True)):
            raise InvalidArgumentError(
                "stride",
                f"steps between 1 and the window {list(win)}, so every feature is covered",
                list(step),
            )
        base = broadcast_value(0.0 if baseline is None else baseline, x, "baseline")
        spots = windows(shape, win, step)
        n, k = task.n, len(spots)
        score = task.score
        total = torch.zeros_like(x, dtype=score.dtype)
        # every window's mask at once when small (the common case), else built per batch
        every = _masks(spots, range(k), shape, x.device) if k * x[0].numel() <= _MASKS_AT_ONCE else None
        count = (every.sum(dim=0) if every is not None else _count(spots, shape, x.device)).to(score.dtype)
        with task.bar(n * k) as bar:
            for part in task.passes(n * k):
                pair = torch.arange(part.start, part.stop, device=x.device)
                example, where = pair // k, pair % k
                masks = every[where] if every is not None else _masks(spots, where.tolist(), shape, x.device)
                occluded = torch.where(masks, rows_of(base, example), x[example])
                drop = score[example] - task.scores(occluded, task.rows[example])
                spread = masks.to(score.dtype) * drop.view(-1, *[1] * len(shape))
                total.index_add_(0, example, spread)
                bar.update(len(pair))
        values = total / count
        options: dict[str, Any] = {"window": list(win), "stride": list(step)}
        if perturbations_per_eval is not None:
            options["perturbations_per_eval"] = perturbations_per_eval
        if isinstance(baseline, (int, float)):
            options["baseline"] = baseline
        return task.finish(values, options=options)


def _by_groups(
    task: Task, baseline: Any, feature_mask: Any, return_input_shape: bool, perturbations_per_eval: int | None
) -> Attribution:
    """Occlude each group of ``feature_mask`` in turn: f(x) - f(x with the group at the baseline)."""
    x = task.x
    groups, g = feature_groups(task, feature_mask)
    base = broadcast_value(0.0 if baseline is None else baseline, x, "baseline")
    score = task.score
    drops = torch.empty(task.n * g, dtype=score.dtype, device=x.device)
    shape = tuple(x.shape[1:])
    with task.bar(task.n * g) as bar:
        for part in task.passes(task.n * g):
            pair = torch.arange(part.start, part.stop, device=x.device)
            example, group = pair // g, pair % g
            where = groups[example] if groups.shape[0] > 1 else groups.expand(len(pair), *shape)
            occluded = torch.where(where == group.view(-1, *[1] * len(shape)), rows_of(base, example), x[example])
            drops[part] = score[example] - task.scores(occluded, task.rows[example])
            bar.update(len(pair))
    per_group = drops.view(task.n, g)
    options: dict[str, Any] = {"feature_mask": True, "return_input_shape": return_input_shape}
    if perturbations_per_eval is not None:
        options["perturbations_per_eval"] = perturbations_per_eval
    if isinstance(baseline, (int, float)):
        options["baseline"] = baseline
    if not return_input_shape:
        per_group_values(task, feature_mask)
        return task.finish(per_group, options=options)
    return task.finish(spread(groups, per_group, shape), options=options)
