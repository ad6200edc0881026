"""Perturbation methods over feature groups: feature ablation and Shapley values.

A *feature* is one number of an example, or, with ``feature_mask``, a group of numbers with
the same label (superpixels, feature sets): integers of the example's shape, ``[1, ...]`` or
one mask per example ``[N, ...]``. A feature that is *absent* takes the ``baseline`` value
(a number, one example's shape, or one per example; default 0). Every number of a group gets
the group's value, as in Captum. ``perturbations_per_eval`` (Captum's option): perturbed
copies of each example per model call (default: ``batch_size`` copies in all per call, or
without it one copy of every example per call, at least 16 rows: ``deepscope.explain._rows``).

- ``feature_ablation``: f(x) - f(x with the feature absent) (Captum's FeatureAblation).
- ``shapley_exact``: the Shapley values of the features, every coalition evaluated (at most
  ``MAX_EXACT_FEATURES`` features; Captum's ShapleyValues).
- ``shapley_sampling``: Shapley values estimated from ``n_samples`` random orderings (Captum's
  ShapleyValueSampling); exact for additive models, otherwise within the sampling error
  (which shrinks as 1 / sqrt(n_samples)).

>>> import torch, deepscope as ds
>>> net = torch.nn.Linear(3, 1)
>>> a = ds.explain.shapley_exact(net, torch.ones(2, 3))
>>> bool(abs(a.delta).max() < 1e-5)
True
"""

from __future__ import annotations

from math import factorial
from typing import Any

import numpy as np
import torch

from deepscope.errors import InvalidArgumentError, ShapeError, UnsupportedModelError, describe
from deepscope.explain._inputs import broadcast_value
from deepscope.explain._task import Task, predict_task
from deepscope.explain._validate import check_positive_int, resolve_seed
from deepscope.explain.attribution import Attribution
from deepscope.explain.registry import attribution_method

__all__ = ["feature_ablation", "shapley_exact", "shapley_sampling", "MAX_EXACT_FEATURES"]

MAX_EXACT_FEATURES = 16


def feature_groups(task: Task, feature_mask: Any) -> tuple[torch.Tensor, int]:
    """(group of every number [1 or N, ...] as 0..G-1, G) from ``feature_mask`` (None: each
    number its own feature)."""
    x = task.x
    shape = tuple(x.shape[1:])
    if feature_mask is None:
        size = int(np.prod(shape)) if shape else 1
        return torch.arange(size, device=x.device).reshape((1, *shape)), size
    mask = torch.as_tensor(np.asarray(feature_mask) if not isinstance(feature_mask, torch.Tensor) else feature_mask)
    if mask.is_floating_point() or mask.dtype == torch.bool:
        if mask.dtype == torch.bool or not bool((mask == mask.round()).all()):
            raise ShapeError("feature_mask", "integer group labels", describe(feature_mask))
        mask = mask.long()
    if tuple(mask.shape) == shape:
        mask = mask.unsqueeze(0)
    if tuple(mask.shape[1:]) != shape or mask.shape[0] not in (1, task.n):
        raise ShapeError(
            "feature_mask",
            f"integer labels of one example's shape {list(shape)}, [1, ...] or one mask per example [{task.n}, ...]",
            describe(feature_mask),
        )
    labels, inverse = torch.unique(mask, return_inverse=True)
    return inverse.to(x.device), len(labels)


def _check_inputs(task: Task) -> None:
    if task.kind == "text":
        raise UnsupportedModelError(
            "inputs",
            "images, tables or arrays (features are replaced by a baseline)",
            "texts",
            hint="use lime or kernel_shap for text",
        )


def _coalition_scores(
    task: Task,
    base: torch.Tensor,
    groups: torch.Tensor,
    example: torch.Tensor,
    present: torch.Tensor,
) -> torch.Tensor:
    """The target output of each (example, coalition) pair: ``present`` [P, G] bool, or [P]
    long, the one feature absent from each pair (feature ablation: no [P, G] matrix)."""
    x = task.x
    scores = []
    for part in task.passes(len(example)):
        ex = example[part]
        where = groups[ex] if groups.shape[0] > 1 else groups.expand(len(ex), *groups.shape[1:])
        if present.ndim == 1:
            keep = where != present[part].view((-1,) + (1,) * (where.ndim - 1))
        else:
            keep = torch.gather(present[part], 1, where.reshape(len(ex), -1)).reshape(where.shape)
        b = base[ex] if base.shape[0] > 1 else base.expand_as(x[ex])
        scores.append(task.scores(torch.where(keep, x[ex], b), task.rows[ex]))
    return torch.cat(scores)


def _spread(task: Task, groups: torch.Tensor, per_group: torch.Tensor) -> torch.Tensor:
    """Each number's value: its group's, ``per_group`` [N, G]."""
    where = groups.expand(task.n, *groups.shape[1:]).reshape(task.n, -1)
    return torch.gather(per_group, 1, where).reshape(task.x.shape)


def _start(
    task: Task, baseline: Any, feature_mask: Any, perturbations_per_eval: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, int]:
    _check_inputs(task)
    if perturbations_per_eval is not None:
        # Captum's option: perturbed copies of each example per model call
        task.batch_size = check_positive_int(perturbations_per_eval, "perturbations_per_eval") * task.n
    base = broadcast_value(0.0 if baseline is None else baseline, task.x, "baseline")
    groups, n_groups = feature_groups(task, feature_mask)
    return base.to(task.x.dtype), groups, n_groups


def _options(baseline: Any, feature_mask: Any, **more: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"feature_mask": feature_mask is not None, **more}
    if isinstance(baseline, (int, float)):
        options["baseline"] = baseline
    return options


@attribution_method("feature_ablation")
def feature_ablation(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    baseline: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    feature_mask: Any = None,
    perturbations_per_eval: int | None = None,
    feature_names: list[str] | None = None,
) -> Attribution:
    """f(x)[target] - f(x with each feature replaced by ``baseline``). Works with any model."""
    with predict_task(
        model,
        inputs,
        method="feature_ablation",
        target=target,
        batch_size=batch_size,
        progress=progress,
        feature_names=feature_names,
    ) as task:
        base, groups, g = _start(task, baseline, feature_mask, perturbations_per_eval)
        pairs = torch.arange(task.n * g, device=task.x.device)
        example, feature = pairs // g, pairs % g
        with task.bar(len(pairs)):
            dropped = _coalition_scores(task, base, groups, example, feature)
        per_group = (task.score[example] - dropped).view(task.n, g)
        return task.finish(_spread(task, groups, per_group), options=_options(baseline, feature_mask))


@attribution_method("shapley_exact")
def shapley_exact(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    baseline: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    feature_mask: Any = None,
    perturbations_per_eval: int | None = None,
    feature_names: list[str] | None = None,
) -> Attribution:
    """Exact Shapley values of each feature (every one of the 2^G coalitions evaluated).

    ``delta`` is sum over features - (f(x) - f(baseline)): zero up to rounding (efficiency).
    """
    with predict_task(
        model,
        inputs,
        method="shapley_exact",
        target=target,
        batch_size=batch_size,
        progress=progress,
        feature_names=feature_names,
    ) as task:
        base, groups, g = _start(task, baseline, feature_mask, perturbations_per_eval)
        if g > MAX_EXACT_FEATURES:
            raise InvalidArgumentError(
                "feature_mask",
                f"at most {MAX_EXACT_FEATURES} features (2^G coalitions)",
                f"{g} features",
                hint="group them with feature_mask, or use shapley_sampling",
            )
        device = task.x.device
        codes = torch.arange(2**g, device=device)
        subsets = (codes[:, None] >> torch.arange(g, device=device)) & 1  # [2^G, G]
        present = subsets.bool()
        n, s = task.n, 2**g
        example = torch.arange(n * s, device=device) // s
        with task.bar(n * s):
            value = _coalition_scores(task, base, groups, example, present.repeat(n, 1))
        value = value.view(n, s).double()
        size = subsets.sum(dim=1)
        weight = torch.tensor(
            [factorial(k) * factorial(g - k - 1) / factorial(g) if k < g else 0.0 for k in range(g + 1)],
            dtype=torch.float64,
            device=device,
        )[size]
        per_group = torch.zeros((n, g), dtype=torch.float64, device=device)
        for i in range(g):
            without = codes[(codes >> i) & 1 == 0]
            per_group[:, i] = ((value[:, without | (1 << i)] - value[:, without]) * weight[without]).sum(dim=1)
        per_group = per_group.to(task.score.dtype)
        delta = per_group.sum(dim=1) - (value[:, -1] - value[:, 0]).to(per_group.dtype)
        return task.finish(
            _spread(task, groups, per_group),
            options=_options(baseline, feature_mask),
            delta=delta,
            base_value=value[:, 0],
        )


@attribution_method("shapley_sampling")
def shapley_sampling(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    baseline: Any = None,
    batch_size: int | None = None,
    seed: int | None = None,
    progress: bool | None = None,
    n_samples: int = 25,
    feature_mask: Any = None,
    perturbations_per_eval: int | None = None,
    feature_names: list[str] | None = None,
) -> Attribution:
    """Shapley values estimated over ``n_samples`` random feature orderings per example.

    Each ordering adds the features one by one to the baseline; a feature's value is its mean
    marginal change of f. The values add up to f(x) - f(baseline) exactly for every ordering
    (``delta``, zero up to rounding).
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    rng = np.random.default_rng(resolve_seed(seed))
    with predict_task(
        model,
        inputs,
        method="shapley_sampling",
        target=target,
        batch_size=batch_size,
        progress=progress,
        feature_names=feature_names,
    ) as task:
        base, groups, g = _start(task, baseline, feature_mask, perturbations_per_eval)
        device = task.x.device
        n = task.n
        orders = torch.as_tensor(
            np.stack([rng.permutation(g) for _ in range(n * n_samples)]), device=device
        )  # [n * samples, G]
        # the coalition after k steps of each ordering, k = 0..G
        rank = torch.empty_like(orders)
        rank.scatter_(1, orders, torch.arange(g, device=device).expand_as(orders))
        steps = torch.arange(g + 1, device=device)
        present = (rank[:, None, :] < steps[None, :, None]).reshape(-1, g)  # [n*S*(G+1), G]
        example = torch.arange(n * n_samples * (g + 1), device=device) // (n_samples * (g + 1))
        with task.bar(len(example)):
            value = _coalition_scores(task, base, groups, example, present)
        value = value.view(n * n_samples, g + 1).double()
        gains = value[:, 1:] - value[:, :-1]  # gain of the feature added at each step
        per_order = torch.zeros_like(gains).scatter_(1, orders, gains)
        per_group = per_order.view(n, n_samples, g).mean(dim=1).to(task.score.dtype)
        first = value.view(n, n_samples, g + 1)[:, 0, :]
        delta = per_group.sum(dim=1) - (first[:, -1] - first[:, 0]).to(per_group.dtype)
        return task.finish(
            _spread(task, groups, per_group),
            options=_options(baseline, feature_mask, n_samples=n_samples),
            delta=delta,
            base_value=first[:, 0],
        )
