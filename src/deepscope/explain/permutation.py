"""Permutation feature importance within a batch (Captum's ``FeaturePermutation``).

Each feature (one number of an example, or with ``feature_mask`` a group of numbers with the
same label, as in ``feature_ablation``) is shuffled across the batch: every example takes that
feature from another example, by one random permutation of the batch per feature (never the
identity), drawn from ``seed``. An example's value for the feature is f(x)[target] - f(x with
the feature shuffled)[target], the same for every number of the group. The batch is the
population the feature is drawn from, so it needs at least two examples.

>>> import torch, deepscope as ds
>>> net = torch.nn.Linear(3, 1)
>>> ds.explain.feature_permutation(net, torch.randn(4, 3)).values.shape
(4, 3)
"""

from __future__ import annotations

from typing import Any

import torch

from deepscope.errors import InvalidArgumentError
from deepscope.explain._task import generator, predict_task
from deepscope.explain._validate import resolve_seed
from deepscope.explain.ablation import feature_groups
from deepscope.explain.attribution import Attribution
from deepscope.explain.registry import attribution_method

__all__ = ["feature_permutation", "permutations"]


def permutations(n: int, n_features: int, seed: int | None = None) -> torch.Tensor:
    """The permutation of the batch ``n`` for each feature [G, N]: none is the identity.

    >>> bool((permutations(2, 3, seed=0) == torch.tensor([1, 0])).all())
    True
    """
    gen = generator(resolve_seed(seed))
    order = torch.rand((n_features, n), generator=gen).argsort(dim=1)
    same = (order == torch.arange(n)).all(dim=1)
    while bool(same.any()):
        order[same] = torch.rand((int(same.sum()), n), generator=gen).argsort(dim=1)
        same = (order == torch.arange(n)).all(dim=1)
    return order


@attribution_method("feature_permutation")
def feature_permutation(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    batch_size: int | None = None,
    seed: int | None = None,
    progress: bool | None = None,
    feature_mask: Any = None,
    feature_names: list[str] | None = None,
) -> Attribution:
    """f(x)[target] - f(x with each feature shuffled across the batch)[target]. Any model.

    ``feature_mask``: integer group labels of one example's shape, ``[1, ...]`` or one mask per
    example (a group takes, in each example, the numbers the mask gives it there).
    """
    seed = resolve_seed(seed)
    with predict_task(
        model,
        inputs,
        method="feature_permutation",
        target=target,
        batch_size=batch_size,
        progress=progress,
        feature_names=feature_names,
    ) as task:
        if task.kind == "text":
            raise InvalidArgumentError(
                "inputs", "images, tables or arrays (features are moved between examples)", "texts"
            )
        n = task.n
        if n < 2:
            raise InvalidArgumentError(
                "inputs",
                "at least 2 examples (each feature is shuffled across the batch)",
                f"{n} example",
                hint="pass a batch; feature_ablation explains a single example",
            )
        x = task.x
        groups, g = feature_groups(task, feature_mask)
        order = permutations(n, g, seed).to(x.device)  # [G, N]
        flat_groups = groups.reshape(groups.shape[0], -1)
        flat_x = x.reshape(n, -1)
        dropped = torch.empty(n * g, dtype=task.score.dtype, device=x.device)
        with task.bar(n * g) as bar:
            for part in task.passes(n * g):
                pair = torch.arange(part.start, part.stop, device=x.device)
                feature, example = pair // n, pair % n
                where = flat_groups[example] if flat_groups.shape[0] > 1 else flat_groups.expand(len(pair), -1)
                moved = torch.where(where == feature[:, None], flat_x[order[feature, example]], flat_x[example])
                dropped[part] = task.scores(moved.view(len(pair), *x.shape[1:]), task.rows[example])
                bar.update(len(pair))
        per_group = task.score[None, :] - dropped.view(g, n)  # [G, N]
        spread = groups.expand(n, *groups.shape[1:]).reshape(n, -1)
        values = torch.gather(per_group.T, 1, spread).reshape(x.shape)
        return task.finish(values, options={"feature_mask": feature_mask is not None, "seed": seed})
