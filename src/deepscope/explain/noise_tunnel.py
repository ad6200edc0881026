"""Noise tunnel: average a gradient method over noisy copies of the input (Smilkov et al. 2017).

``kind="smoothgrad"`` averages the maps, ``"smoothgrad_sq"`` averages their squares and
``"vargrad"`` takes their variance (Adebayo et al. 2018). The (example, noise sample) pairs are
walked in chunks of ``batch_size``, so memory holds at most ``batch_size`` noisy inputs at once
(plus what the inner method holds, itself bounded by ``batch_size``).

>>> import torch, deepscope as ds
>>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
>>> ds.explain.noise_tunnel("saliency", net, torch.ones(2, 3), n_samples=4).values.shape
(2, 3)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch

from deepscope.errors import InvalidArgumentError
from deepscope.explain._common import (
    batches,
    check_choice,
    check_positive_int,
    generator,
    gradient_task,
    image_baseline,
    resolve_seed,
    rows_of,
)
from deepscope.explain.attribution import Attribution

__all__ = ["noise_tunnel", "NOISE_TUNNEL_KINDS"]

NOISE_TUNNEL_KINDS = ("smoothgrad", "smoothgrad_sq", "vargrad")


def noise_tunnel(
    method: str | Callable[..., Attribution],
    model: Any,
    inputs: Any,
    *,
    kind: str = "smoothgrad",
    n_samples: int = 25,
    stdev: float = 0.15,
    target: Any = None,
    baseline: Any = None,
    batch_size: int | None = None,
    seed: int | None = None,
    progress: bool | None = None,
    feature_names: list[str] | None = None,
    **method_options: Any,
) -> Attribution:
    """``method`` (a gradient method, by name or function) averaged over noisy inputs.

    ``stdev`` is the standard deviation of the Gaussian noise in input units (0.15 suits images
    in [0, 1]; for text it is in embedding units). ``method_options`` go to the inner method (use
    ``integration=`` for integrated gradients' rule). The result's ``method`` is
    ``"noise_tunnel"``; ``options["over"]`` names the inner method.
    """
    from deepscope.explain.registry import gradient_core

    name, core, baseline_kind = gradient_core(method)
    check_choice(kind, "kind", NOISE_TUNNEL_KINDS)
    n_samples = check_positive_int(n_samples, "n_samples")
    if isinstance(stdev, bool) or not isinstance(stdev, (int, float)) or stdev < 0:
        raise InvalidArgumentError("stdev", "a non-negative number", stdev)
    gen = generator(resolve_seed(seed))
    with gradient_task(
        model,
        inputs,
        method="noise_tunnel",
        target=target,
        batch_size=batch_size,
        progress=progress,
        feature_names=feature_names,
    ) as task:
        if baseline_kind == "per_example":
            base = image_baseline(task, baseline)
        elif baseline_kind == "distribution":
            from deepscope.explain.gradient_shap import baseline_distribution

            base = baseline_distribution(task, baseline)
        else:
            base = None
        inner = replace(task, progress=False)
        x, n = task.x, task.n
        total = total_sq = None
        with task.bar(n * n_samples, f"noise_tunnel({name})") as bar:
            for part in batches(n * n_samples, task.batch_size):
                example = torch.arange(part.start, part.stop, device=x.device) // n_samples
                noise = torch.randn((len(example), *x.shape[1:]), generator=gen, dtype=x.dtype)
                noisy = noise.to(x.device).mul_(stdev).add_(x[example])
                inner_base = rows_of(base, example) if baseline_kind == "per_example" else base
                maps = core(inner, noisy, task.rows[example], inner_base, gen, **method_options)
                if total is None:
                    total = torch.zeros((n, *maps.shape[1:]), dtype=maps.dtype, device=maps.device)
                    total_sq = torch.zeros_like(total) if kind != "smoothgrad" else None
                total.index_add_(0, example, maps)
                if total_sq is not None:
                    total_sq.index_add_(0, example, maps * maps)
                bar.update(len(example))
        mean = total / n_samples
        if kind == "smoothgrad":
            values = mean
        elif kind == "smoothgrad_sq":
            values = total_sq / n_samples
        else:
            values = total_sq / n_samples - mean * mean
        options = {"over": name, "kind": kind, "n_samples": n_samples, "stdev": stdev}
        return task.finish(values, options={**options, **method_options})
