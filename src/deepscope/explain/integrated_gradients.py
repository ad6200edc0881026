"""Integrated gradients (Sundararajan et al. 2017), with the convergence delta of each example.

The path integral from the baseline to the input is approximated by a quadrature rule with the
same steps and weights as Captum's: ``riemann_left``, ``riemann_right``, ``riemann_middle``,
``riemann_trapezoid`` or ``gausslegendre``. The (example, step) pairs are walked in passes
(``batch_size``, ``internal_batch_size``, or by default all at once within the memory budget of
``deepscope.explain._rows``), whatever ``n_steps``.

>>> import torch, deepscope as ds
>>> net = torch.nn.Linear(3, 1)
>>> a = ds.explain.integrated_gradients(net, torch.ones(2, 3), n_steps=8)
>>> bool(abs(a.delta).max() < 1e-5)
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from deepscope.explain._inputs import rows_of
from deepscope.explain._task import Task, gradient_task, image_baseline
from deepscope.explain._validate import check_choice, check_positive_int, deprecated_alias
from deepscope.explain.attribution import Attribution
from deepscope.explain.registry import attribution_core, attribution_method
from deepscope.validation import check_bool

__all__ = ["integrated_gradients", "INTEGRATION_METHODS", "integration_steps", "path_integral"]

INTEGRATION_METHODS = (
    "riemann_left",
    "riemann_right",
    "riemann_middle",
    "riemann_trapezoid",
    "gausslegendre",
)


def integration_steps(n_steps: int, method: str) -> tuple[list[float], list[float]]:
    """(weights, alphas) of a quadrature rule on [0, 1], exactly as Captum defines them.

    Captum's Riemann rules all use weights 1/n (the trapezoid halves the two ends) and alphas
    from ``torch.linspace`` in float32; Gauss-Legendre rescales numpy's nodes and weights.

    >>> integration_steps(2, "riemann_right")
    ([0.5, 0.5], [0.5, 1.0])
    """
    check_choice(method, "integration", INTEGRATION_METHODS)
    minimum = 1 if method == "gausslegendre" else 2
    n_steps = check_positive_int(n_steps, "n_steps", minimum)
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)
        return (0.5 * weights).tolist(), (0.5 * (1 + nodes)).tolist()
    weights = [1 / n_steps] * n_steps
    if method == "riemann_trapezoid":
        weights[0] /= 2
        weights[-1] /= 2
        alphas = torch.linspace(0, 1, n_steps)
    elif method == "riemann_left":
        alphas = torch.linspace(0, 1 - 1 / n_steps, n_steps)
    elif method == "riemann_middle":
        alphas = torch.linspace(1 / (2 * n_steps), 1 - 1 / (2 * n_steps), n_steps)
    else:
        alphas = torch.linspace(1 / n_steps, 1, n_steps)
    return weights, alphas.tolist()


@attribution_method("integrated_gradients", aliases=("ig",))
def integrated_gradients(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    baseline: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    n_steps: int = 50,
    integration: str = "gausslegendre",
    multiply_by_inputs: bool = True,
    internal_batch_size: int | None = None,
    feature_names: list[str] | None = None,
    method: str | None = None,
) -> Attribution:
    """(x - baseline) * the integral of the gradient along the straight path from baseline to x.

    ``baseline``: None (zeros; for text the zero embedding), a number, one example's shape, one
    per example, or ``"pad"`` for text (the padding token's embedding at every position).
    ``integration``: the quadrature rule (Captum's ``method``; that name is a deprecated alias,
    as ``method`` names the attribution method in ``attribute()`` and ``noise_tunnel()``).
    ``delta`` of the result
    is sum(values) - (f(x) - f(baseline)) per example: the closer to zero, the better the
    approximation (raise ``n_steps`` when it is not).

    ``multiply_by_inputs=False`` gives global attributions (Captum's option): the path integral
    of the gradient alone, not multiplied by (x - baseline); ``delta`` is then that of the local
    attributions, sum(values * (x - baseline)) - (f(x) - f(baseline)). ``internal_batch_size``:
    (example, step) pairs per forward/backward pass (Captum's option; default ``batch_size``,
    which also sizes the passes at the inputs and the baseline).
    """
    integration = deprecated_alias(method, "method", integration, "integration", "gausslegendre")
    integration_steps(n_steps, integration)  # check the options before any work
    multiply_by_inputs = check_bool(multiply_by_inputs, "multiply_by_inputs")
    if internal_batch_size is not None:
        internal_batch_size = check_positive_int(internal_batch_size, "internal_batch_size")
    with gradient_task(
        model,
        inputs,
        method="integrated_gradients",
        target=target,
        batch_size=batch_size,
        progress=progress,
        feature_names=feature_names,
    ) as task:
        base = image_baseline(task, baseline)
        inner = task if internal_batch_size is None else replace(task, batch_size=internal_batch_size)
        values = _core(
            inner,
            task.x,
            task.rows,
            base,
            None,
            n_steps=n_steps,
            integration=integration,
            multiply_by_inputs=multiply_by_inputs,
        )
        local = values if multiply_by_inputs else values * (task.x - base)
        reduce = tuple(range(1, values.ndim))
        start = task.scores(base.expand_as(task.x), task.rows)
        delta = local.sum(dim=reduce) - (task.score - start)
        options: dict[str, Any] = {"n_steps": n_steps, "integration": integration}
        if not multiply_by_inputs:
            options["multiply_by_inputs"] = False
        if internal_batch_size is not None:
            options["internal_batch_size"] = internal_batch_size
        return task.finish(
            values,
            options=options,
            delta=delta,
            base_value=start,
        )


@attribution_core("integrated_gradients", baseline_kind="per_example")
def _core(
    task: Task,
    x: torch.Tensor,
    rows: torch.Tensor,
    baseline: torch.Tensor | None,
    gen: Any,
    *,
    n_steps: int = 50,
    integration: str = "gausslegendre",
    multiply_by_inputs: bool = True,
    method: str | None = None,
) -> torch.Tensor:
    integration = deprecated_alias(method, "method", integration, "integration", "gausslegendre")
    multiply_by_inputs = check_bool(multiply_by_inputs, "multiply_by_inputs")
    weights, alphas = integration_steps(n_steps, integration)
    if baseline is None:
        baseline = torch.zeros_like(x[:1])
    difference = x - baseline
    with task.bar(len(x) * n_steps) as bar:
        total = path_integral(
            task,
            baseline,
            difference,
            weights,
            alphas,
            lambda scaled, example: task.gradient(scaled, rows[example]),
            bar,
        )
    return total * difference if multiply_by_inputs else total


def path_integral(
    task: Task,
    start: torch.Tensor,
    difference: torch.Tensor,
    weights: list[float],
    alphas: list[float],
    gradient: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    bar: Any = None,
) -> torch.Tensor:
    """sum_k weights[k] * gradient(start + alphas[k] * difference) per example: [N, ...] of
    ``difference``'s shape. ``start`` is [1 or N, ...]; ``gradient(points, examples)`` gives the
    gradient at a pass of points and ``examples`` their example indices.
    The (example, step) pairs go ``task.rows_for`` at a time."""
    n, n_steps = len(difference), len(alphas)
    w = torch.tensor(weights, dtype=difference.dtype, device=difference.device)
    a = torch.tensor(alphas, dtype=difference.dtype, device=difference.device)
    shape = (-1,) + (1,) * (difference.ndim - 1)
    total = torch.zeros_like(difference)
    for part in task.passes(n * n_steps):
        pair = torch.arange(part.start, part.stop, device=difference.device)
        example, step = pair // n_steps, pair % n_steps
        points = torch.addcmul(rows_of(start, example), a[step].view(shape), difference[example])
        # not in place: a gradient may be a broadcast view (of a sum's ones, through linear maps)
        total.index_add_(0, example, gradient(points, example) * w[step].view(shape))
        if bar is not None:
            bar.update(len(pair))
    return total
