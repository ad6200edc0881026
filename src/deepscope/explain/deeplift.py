"""DeepLift (Shrikumar et al. 2017, Rescale rule) and DeepLiftShap (SHAP's DeepExplainer).

DeepLift compares each input with a reference (the ``baseline``): the inputs and their
references run through the model together, and on the way back every nonlinearity passes
the gradient times its *secant* slope, delta output / delta input between input and reference,
instead of its local slope (where the input equals the reference to within ``eps``, the
local slope). Linear layers (``Linear``, convolutions, batch norm in eval mode, average
pooling) keep their gradients. The rules are those of Captum's ``DeepLift``:

- elementwise modules (``ReLU``, ``ELU``, ``LeakyReLU``, ``Sigmoid``, ``Tanh``, ``Softplus``;
  here also ``GELU``, ``SiLU``, ``ReLU6``, ``Hardtanh``, ``Mish``, which Captum leaves to the
  plain gradient): the Rescale rule;
- ``MaxPool1d/2d/3d``: the secant slope through each window's maximum, as Captum computes it;
- ``Softmax``: the Rescale rule, then, as Captum, the mean of the multipliers over the whole pass
  (every example and reference in it) subtracted; this couples the examples of a pass, so
  Captum's numbers are matched when one pass holds them all (``batch_size`` >= 2 N).

Only modules are seen: functional calls (``F.relu``) take their plain gradient, as in Captum.
Where an input of a max-pool equals its reference, the local gradient of that example is
used (Captum uses the first example's), and overlapping pooling windows add up their shares.

The values are multiplier x (input - baseline) (``multiply_by_inputs=False``: the multipliers
alone, Captum's global attributions); ``delta`` is sum(multipliers x (input - baseline)) -
(f(x) - f(baseline)) per example, zero up to rounding for networks of the supported modules
(the summation-to-delta property).

>>> import torch, deepscope as ds
>>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
>>> a = ds.explain.deeplift(net, torch.ones(2, 3), target=0)
>>> bool(abs(a.delta).max() < 1e-5)
True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from deepscope.explain._inputs import as_2d_outputs, selected
from deepscope.explain._task import Task, batches, gradient_task, image_baseline
from deepscope.explain.attribution import Attribution
from deepscope.explain.gradient_shap import baseline_distribution
from deepscope.explain.registry import attribution_core, attribution_method
from deepscope.model.hooks import this_thread_only
from deepscope.validation import check_bool, check_number

__all__ = ["deeplift", "deeplift_shap", "deeplift_modules", "ELEMENTWISE", "DEFAULT_EPS"]

DEFAULT_EPS = 1e-10  # Captum's: below this |input - reference|, the local gradient is used

#: elementwise modules the Rescale rule applies to (Captum's first six, then more)
ELEMENTWISE: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.ELU,
    nn.LeakyReLU,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softplus,
    nn.GELU,
    nn.SiLU,
    nn.ReLU6,
    nn.Hardtanh,
    nn.Mish,
)
_MAXPOOL = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)


def _halves(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    half = t.shape[0] // 2
    return t[:half], t[half:]


def _secant(z: torch.Tensor, y: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(dy / dz between each input and its reference where |dz| >= eps, else 0; where |dz| >= eps),
    both of one half's shape."""
    (zx, zr), (yx, yr) = _halves(z.detach()), _halves(y.detach())
    dz = zx - zr
    far = dz.abs() >= eps
    slope = (yx - yr).div_(dz).masked_fill_(~far, 0.0)
    return slope, far


class _Rescale(torch.autograd.Function):
    """Identity on the module's output ``y``; backward: gradient x (dy / dz) between each input
    and its reference where they differ by ``eps`` or more, the module's own gradient elsewhere."""

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
        slope, far = _secant(z, y, eps)
        ctx.save_for_backward(slope, far)
        return y.view_as(y)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None]:
        slope, far = ctx.saved_tensors
        pairs = grad.view(2, *slope.shape)  # both halves share the multipliers, as in Captum
        return (pairs * slope).view_as(grad), pairs.masked_fill(far, 0.0).view_as(grad), None


class _SoftmaxRescale(torch.autograd.Function):
    """Captum's softmax rule: the Rescale multipliers minus their mean over the whole pass."""

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor, y: torch.Tensor, eps: float, dim: int) -> torch.Tensor:
        slope, far = _secant(z, y, eps)
        ctx.save_for_backward(slope, far, y.detach())
        ctx.dim = dim
        return y.view_as(y)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        slope, far, y = ctx.saved_tensors
        local = y * (grad - (grad * y).sum(dim=ctx.dim, keepdim=True))
        pairs = grad.view(2, *slope.shape)
        rescaled = torch.where(far, pairs * slope, local.view_as(pairs)).view_as(grad)
        return rescaled - rescaled.sum() / rescaled.numel(), None, None, None


class _MaxPoolRescale(torch.autograd.Function):
    """Captum's max-pool rule: the change of each window's output, split between the input's
    and the reference's maximum, over the change of the input (the local gradient where the
    input equals its reference)."""

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor, y: torch.Tensor, module: nn.Module, eps: float) -> torch.Tensor:
        dims = 1 if isinstance(module, nn.MaxPool1d) else 2 if isinstance(module, nn.MaxPool2d) else 3
        pool: Any = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[dims - 1]
        settings: Any = module  # a MaxPoolNd: its settings are sizes and flags
        with torch.no_grad():
            _, indices = pool(
                z,
                settings.kernel_size,
                settings.stride,
                settings.padding,
                settings.dilation,
                ceil_mode=settings.ceil_mode,
                return_indices=True,
            )
            zx, zr = _halves(z)
            dz = zx - zr
        ctx.save_for_backward(indices, y.detach(), dz)
        ctx.eps = eps
        return y.view_as(y)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        indices, y, dz = ctx.saved_tensors
        index = indices.flatten(2)
        ix, ir = _halves(index)
        (gx, gr), (yx, yr) = _halves(grad.flatten(2)), _halves(y.flatten(2))
        top = torch.max(yx, yr)
        plane = (dz.shape[0], dz.shape[1], dz[0, 0].numel())
        # each window's change, its input's share at the input's maximum, its reference's at theirs
        moved = torch.zeros(plane, dtype=grad.dtype, device=grad.device)
        moved.scatter_add_(2, ix, gx * (top - yr)).scatter_add_(2, ir, gr * (yx - top))
        far = (dz.abs() >= ctx.eps).flatten(2)
        flat_dz = dz.flatten(2)
        secant = moved.div_(torch.where(far, flat_dz, torch.ones_like(flat_dz)))
        if bool(far.all()):
            return torch.cat([secant, secant]).view(2 * dz.shape[0], *dz.shape[1:]), None, None, None
        local = torch.zeros((2 * plane[0], *plane[1:]), dtype=grad.dtype, device=grad.device)
        local.scatter_add_(2, index, grad.flatten(2))
        out = torch.where(far, secant, local.view(2, *plane))
        return out.view(2 * dz.shape[0], *dz.shape[1:]), None, None, None


@contextmanager
def deeplift_modules(module: nn.Module, eps: float = DEFAULT_EPS) -> Iterator[int]:
    """Within the block, the DeepLift rules replace the gradients of ``module``'s nonlinear
    modules for passes of [inputs; references] (the two halves of the batch). In-place
    activations run out of place meanwhile. Yields the number of modules hooked."""

    def hook(mod: nn.Module, args: Any, output: Any) -> Any:
        if not (args and isinstance(args[0], torch.Tensor) and isinstance(output, torch.Tensor)):
            return None
        z = args[0]
        if z.ndim == 0 or z.shape[0] % 2 or (z.shape != output.shape and not isinstance(mod, _MAXPOOL)):
            return None
        if isinstance(mod, nn.Softmax):
            dim = mod.dim if mod.dim is not None else (0 if z.ndim in (0, 1, 3) else 1)
            return _SoftmaxRescale.apply(z, output, eps, dim)
        if isinstance(mod, _MAXPOOL):
            return _MaxPoolRescale.apply(z, output, mod, eps)
        return _Rescale.apply(z, output, eps)

    hooked = [m for m in module.modules() if isinstance(m, (*ELEMENTWISE, nn.Softmax, *_MAXPOOL))]
    inplace = [m for m in hooked if getattr(m, "inplace", False)]
    for m in inplace:
        m.inplace = False  # type: ignore[union-attr]
    handles = [m.register_forward_hook(this_thread_only(hook)) for m in hooked]
    try:
        yield len(handles)
    finally:
        for handle in handles:
            handle.remove()
        for m in inplace:
            m.inplace = True  # type: ignore[union-attr]


def _pairs(
    task: Task,
    x: torch.Tensor,
    rows: torch.Tensor,
    reference: torch.Tensor,
    *,
    multiply_by_inputs: bool,
    bar: Any = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(values, sum(multipliers x (x - reference)) per pair, f(reference)[target]) for pairs of
    inputs ``x`` [P, ...] and their references [P, ...], ``rows_for`` rows per pass (call
    within ``deeplift_modules``)."""
    values = torch.empty_like(x)
    total = torch.empty(len(x), dtype=x.dtype, device=x.device)
    start = torch.empty(len(x), dtype=x.dtype, device=x.device)
    reduce = tuple(range(1, x.ndim))
    for part in batches(len(x), max(1, task.rows_for(2 * len(x)) // 2)):
        xb, rb, r = x[part], reference[part], rows[part]
        both = torch.cat([xb, rb]).detach().requires_grad_(True)
        with torch.enable_grad():
            logits = as_2d_outputs(task.forward(both, torch.cat([r, r])))
            target = task.target_rows(r, logits[: len(xb)].detach())
            out = selected(logits, torch.cat([target, target])).sum()
            (grad,) = torch.autograd.grad(out, both, allow_unused=True)
        grad = torch.zeros_like(xb) if grad is None else grad[: len(xb)]
        contribution = grad * (xb - rb)
        values[part] = contribution if multiply_by_inputs else grad
        total[part] = contribution.sum(dim=reduce)
        start[part] = selected(logits[len(xb) :].detach(), target)
        if bar is not None:
            bar.update(len(xb))
    return values, total, start


@attribution_method("deeplift")
def deeplift(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    baseline: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    multiply_by_inputs: bool = True,
    eps: float = DEFAULT_EPS,
    feature_names: list[str] | None = None,
) -> Attribution:
    """DeepLift's Rescale rule against ``baseline`` (Captum's ``DeepLift``).

    ``baseline``: None (zeros; for text the zero embedding), a number, one example's shape, one
    per example, or ``"pad"`` for text. ``batch_size`` counts rows per pass: half inputs, half
    their references. ``base_value`` is f(baseline)[target].
    """
    multiply_by_inputs = check_bool(multiply_by_inputs, "multiply_by_inputs")
    eps = check_number(eps, "eps", low=0)
    with gradient_task(
        model,
        inputs,
        method="deeplift",
        target=target,
        batch_size=batch_size,
        progress=progress,
        feature_names=feature_names,
        defer_targets=True,
    ) as task:
        base = image_baseline(task, baseline)
        with deeplift_modules(task.model.module, eps), task.bar(task.n) as bar:
            values, total, start = _pairs(
                task, task.x, task.rows, base.expand_as(task.x), multiply_by_inputs=multiply_by_inputs, bar=bar
            )
        return task.finish(
            values,
            options={"multiply_by_inputs": multiply_by_inputs, "eps": eps},
            delta=total - (task.score - start),
            base_value=start,
        )


@attribution_core("deeplift", baseline_kind="per_example")
def _deeplift_core(
    task: Task,
    x: torch.Tensor,
    rows: torch.Tensor,
    baseline: torch.Tensor | None,
    gen: Any,
    *,
    multiply_by_inputs: bool = True,
    eps: float = DEFAULT_EPS,
) -> torch.Tensor:
    multiply_by_inputs, eps = check_bool(multiply_by_inputs, "multiply_by_inputs"), check_number(eps, "eps", low=0)
    reference = torch.zeros_like(x) if baseline is None else baseline.expand_as(x)
    with deeplift_modules(task.model.module, eps):
        return _pairs(task, x, rows, reference, multiply_by_inputs=multiply_by_inputs)[0]


@attribution_method("deeplift_shap")
def deeplift_shap(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    baseline: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    multiply_by_inputs: bool = True,
    eps: float = DEFAULT_EPS,
    feature_names: list[str] | None = None,
) -> Attribution:
    """DeepLift averaged over reference examples ``baseline`` [K, ...] (a background sample;
    Captum's ``DeepLiftShap``, SHAP's ``DeepExplainer``).

    Every (example, reference) pair is one DeepLift; the pairs are walked ``batch_size`` rows at
    a time, so memory does not grow with K. ``base_value`` is E_k f(reference_k)[target] and
    ``delta`` sum(values) - (f(x) - E_k f(reference_k)) (Captum's deltas, one per pair,
    averaged over the references).
    """
    multiply_by_inputs = check_bool(multiply_by_inputs, "multiply_by_inputs")
    eps = check_number(eps, "eps", low=0)
    with gradient_task(
        model,
        inputs,
        method="deeplift_shap",
        target=target,
        batch_size=batch_size,
        progress=progress,
        feature_names=feature_names,
    ) as task:
        references = baseline_distribution(task, baseline)
        values, total, start = _shap_pairs(task, task.x, task.rows, references, multiply_by_inputs, eps)
        return task.finish(
            values,
            options={"multiply_by_inputs": multiply_by_inputs, "eps": eps, "n_references": len(references)},
            delta=total - (task.score - start),
            base_value=start,
        )


def _shap_pairs(
    task: Task,
    x: torch.Tensor,
    rows: torch.Tensor,
    references: torch.Tensor,
    multiply_by_inputs: bool,
    eps: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per example: (mean values over the references, mean contribution sum, mean f(reference))."""
    n, k = len(x), len(references)
    values = torch.zeros_like(x)
    total = torch.zeros(n, dtype=x.dtype, device=x.device)
    start = torch.zeros(n, dtype=x.dtype, device=x.device)
    chunk = max(1, task.rows_for(2 * n * k) // 2)  # one pass of pairs at a time
    with deeplift_modules(task.model.module, eps), task.bar(n * k) as bar:
        for part in batches(n * k, chunk):
            pair = torch.arange(part.start, part.stop, device=x.device)
            example = pair // k
            v, t, s = _pairs(
                task,
                x[example],
                rows[example],
                references[pair % k],
                multiply_by_inputs=multiply_by_inputs,
            )
            values.index_add_(0, example, v)
            total.index_add_(0, example, t)
            start.index_add_(0, example, s)
            bar.update(len(pair))
    return values / k, total / k, start / k


@attribution_core("deeplift_shap", baseline_kind="distribution")
def _deeplift_shap_core(
    task: Task,
    x: torch.Tensor,
    rows: torch.Tensor,
    references: torch.Tensor | None,
    gen: Any,
    *,
    multiply_by_inputs: bool = True,
    eps: float = DEFAULT_EPS,
) -> torch.Tensor:
    multiply_by_inputs, eps = check_bool(multiply_by_inputs, "multiply_by_inputs"), check_number(eps, "eps", low=0)
    references = torch.zeros_like(x[:1]) if references is None else references
    return _shap_pairs(task, x, rows, references, multiply_by_inputs, eps)[0]
