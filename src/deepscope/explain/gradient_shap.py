"""GradientSHAP (expected gradients, Erion et al. 2019; Lundberg and Lee 2017).

Each sample draws a baseline from a reference distribution and a point uniformly on the path
from it to the (optionally noised) input, and takes gradient x (input - baseline) there; the
average over samples approximates SHAP values, which add up to f(x) - E[f(baseline)].

>>> import torch, deepscope as ds
>>> net = torch.nn.Linear(3, 1)
>>> a = ds.explain.gradient_shap(net, torch.ones(2, 3), baseline=torch.zeros(4, 3), n_samples=8)
>>> a.values.shape
(2, 3)
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch

from deepscope.errors import ShapeError, describe
from deepscope.explain._inputs import broadcast_value
from deepscope.explain._task import Task, generator, gradient_task, image_baseline
from deepscope.explain._validate import check_positive_int, resolve_seed
from deepscope.explain.attribution import Attribution
from deepscope.explain.registry import attribution_core, attribution_method
from deepscope.validation import check_bool, check_number

__all__ = ["gradient_shap", "baseline_distribution"]


def baseline_distribution(task: Task, baseline: Any) -> torch.Tensor:
    """Reference examples [K, *x.shape[1:]]: None is one zero example, a number one constant one."""
    if baseline is None or isinstance(baseline, (str, int, float, np.integer, np.floating)):
        return image_baseline(task, baseline)[:1]
    example = tuple(task.x.shape[1:])
    array = baseline.to_numpy(dtype=np.float64) if hasattr(baseline, "iloc") else baseline
    tensor = torch.as_tensor(array if isinstance(array, torch.Tensor) else np.asarray(array))
    if tuple(tensor.shape) == example:
        return broadcast_value(tensor, task.x, "baseline")
    if tensor.ndim == len(example) + 1 and tuple(tensor.shape[1:]) == example and len(tensor) > 0:
        return tensor.detach().to(device=task.x.device, dtype=task.x.dtype)
    raise ShapeError(
        "baseline",
        f"reference examples shaped [K, {', '.join(map(str, example))}] (or one example)",
        describe(baseline),
    )


@attribution_method("gradient_shap")
def gradient_shap(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    baseline: Any = None,
    batch_size: int | None = None,
    seed: int | None = None,
    progress: bool | None = None,
    n_samples: int = 20,
    stdev: float = 0.0,
    multiply_by_inputs: bool = True,
    feature_names: list[str] | None = None,
) -> Attribution:
    """Expected gradients over ``baseline``: reference examples [K, ...] (a background sample).

    ``n_samples`` draws per example; ``stdev`` adds Gaussian noise to the input of each draw.
    ``base_value`` is E[f(baseline)] for each example's target and ``delta`` the completeness gap
    sum(values) - (f(x) - E[f(baseline)]), which shrinks as ``n_samples`` grows.
    ``multiply_by_inputs=False`` gives global attributions (Captum's option): the mean gradient
    at the drawn points, not multiplied by (input - baseline); ``delta`` is then None (global
    attributions promise no completeness).
    """
    n_samples = _check_options(n_samples, stdev)
    multiply_by_inputs = check_bool(multiply_by_inputs, "multiply_by_inputs")
    gen = generator(resolve_seed(seed))
    with gradient_task(
        model,
        inputs,
        method="gradient_shap",
        target=target,
        batch_size=batch_size,
        progress=progress,
        feature_names=feature_names,
        defer_targets=True,  # resolved with E[f(baseline)] in one pass, before the draws
    ) as task:
        references = baseline_distribution(task, baseline)
        expected = _outputs_and_expected(task, references)
        values = _core(
            task,
            task.x,
            task.rows,
            references,
            gen,
            n_samples=n_samples,
            stdev=stdev,
            multiply_by_inputs=multiply_by_inputs,
        )
        delta = values.sum(dim=tuple(range(1, values.ndim))) - (task.score - expected) if multiply_by_inputs else None
        options: dict[str, Any] = {"n_samples": n_samples, "stdev": stdev}
        if not multiply_by_inputs:
            options["multiply_by_inputs"] = False
        return task.finish(
            values,
            options=options,
            delta=delta,
            base_value=expected,
        )


def _outputs_and_expected(task: Task, references: torch.Tensor) -> torch.Tensor:
    """Resolve the task's (deferred) targets from its outputs at x, and return E_k f(reference_k)
    for each example's target: one model call for the inputs and the references together where
    the references do not depend on the example."""
    if task.kind != "text" and not task.rows_matter:
        both = torch.cat([task.x, references])
        outputs = task.predict(both, torch.zeros(len(both), dtype=torch.long, device=both.device))
        target = task.target_rows(task.rows, outputs[: task.n])
        return outputs[task.n :, target].mean(dim=0)
    task.target_rows(task.rows, task.predict(task.x, task.rows))
    return _expected_output(task, references)


def _expected_output(task: Task, references: torch.Tensor) -> torch.Tensor:
    """E_k f(reference_k)[target_i] for each example i."""
    if task.kind != "text" and not task.rows_matter:
        outputs = task.predict(references, torch.zeros(len(references), dtype=torch.long))
        return outputs[:, task.target].mean(dim=0)
    # text: the reference embeddings are read under each example's attention mask (and each
    # example's own other inputs and forward arguments)
    total = torch.zeros(task.n, dtype=task.x.dtype, device=task.x.device)
    k = len(references)
    for part in task.passes(task.n * k):
        pair = torch.arange(part.start, part.stop, device=task.x.device)
        example = pair // k
        total.index_add_(0, example, task.scores(references[pair % k], example))
    return total / k


def _check_options(n_samples: Any, stdev: Any) -> int:
    n_samples = check_positive_int(n_samples, "n_samples")
    check_number(stdev, "stdev", low=0)
    return n_samples


@attribution_core("gradient_shap", baseline_kind="distribution")
def _core(
    task: Task,
    x: torch.Tensor,
    rows: torch.Tensor,
    references: torch.Tensor | None,
    gen: torch.Generator | None,
    *,
    n_samples: int = 20,
    stdev: float = 0.0,
    multiply_by_inputs: bool = True,
) -> torch.Tensor:
    n_samples = _check_options(n_samples, stdev)  # noise_tunnel passes its method_options here
    multiply_by_inputs = check_bool(multiply_by_inputs, "multiply_by_inputs")
    if references is None:
        references = torch.zeros_like(x[:1])
    gen = gen if gen is not None else generator(0)
    n = len(x)
    total: torch.Tensor | None = None
    shape = (-1,) + (1,) * (x.ndim - 1)
    with task.bar(n * n_samples) as bar:
        for part in task.passes(n * n_samples):
            example = torch.arange(part.start, part.stop, device=x.device) // n_samples
            m = len(example)
            pick = torch.randint(len(references), (m,), generator=gen).to(x.device)
            alpha = torch.rand(m, generator=gen, dtype=x.dtype).to(x.device).view(shape)
            point = x[example]  # a copy: the in-place steps below leave x alone
            if stdev:
                noise = torch.randn((m, *x.shape[1:]), generator=gen, dtype=x.dtype)
                point.add_(noise.to(x.device), alpha=stdev)
            start = references[pick]
            difference = point.sub_(start)  # in place: as few pass-sized copies as the pass needs
            scaled = torch.addcmul(start, alpha, difference)
            del start
            grads = task.gradient(scaled, rows[example])
            contribution = difference.mul_(grads) if multiply_by_inputs else grads
            total = _add_draws(total, contribution, part, n, n_samples)
            bar.update(m)
    return cast(torch.Tensor, total).div_(n_samples)


def _add_draws(total: torch.Tensor | None, contribution: torch.Tensor, part: slice, n: int, k: int) -> torch.Tensor:
    """``total`` [n, ...] (None: zeros) plus the pass's draws [rows of ``part``, ...] summed per
    example (row r is a draw of example r // k). A pass of whole examples (the usual case) sums
    its rows in groups of k, much cheaper than ``index_add_`` on CPU; one pass of every example
    is the total itself."""
    whole = part.start % k == 0 and part.stop % k == 0
    summed = contribution.view(-1, k, *contribution.shape[1:]).sum(dim=1) if whole else None
    if total is None and summed is not None and len(summed) == n:
        return summed
    total = contribution.new_zeros((n, *contribution.shape[1:])) if total is None else total
    if summed is not None:
        first = part.start // k
        total[first : first + len(summed)] += summed
        return total
    example = torch.arange(part.start, part.stop, device=contribution.device) // k
    return total.index_add_(0, example, contribution)
