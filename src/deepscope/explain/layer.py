"""Layer and neuron attributions: what a hidden layer holds, and what a hidden unit looks at.

``layer`` is one of deepscope's layer names (``Model.layers()``: the module's dotted name).
Layer methods give values of the layer output's shape ``[N, ...]``; neuron methods give values
of the input's shape for the unit ``neuron`` (an index into one example's layer output).

>>> import torch, deepscope as ds
>>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
>>> ds.explain.layer_activation(net, torch.ones(2, 3), layer="0").values.shape
(2, 4)
>>> ds.explain.neuron_gradient(net, torch.ones(2, 3), layer="0", neuron=1).values.shape
(2, 3)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from typing import Any, Literal, overload

import numpy as np
import torch
import torch.nn.functional as F

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, NotFoundError
from deepscope.explain._inputs import as_2d_outputs, rows_of, selected
from deepscope.explain._task import Task, batches, gradient_task, image_baseline
from deepscope.explain.attribution import Attribution
from deepscope.explain.integrated_gradients import integration_steps, path_integral
from deepscope.explain.registry import attribution_core, attribution_method
from deepscope.model.hooks import first_tensor, this_thread_only

__all__ = [
    "LAYER_METHODS",
    "NEURON_METHODS",
    "layer_map",
    "layer_activation",
    "layer_conductance",
    "layer_gradient_x_activation",
    "layer_integrated_gradients",
    "neuron_conductance",
    "neuron_gradient",
    "neuron_integrated_gradients",
]


LAYER_METHODS = (
    "layer_activation",
    "layer_gradient_x_activation",
    "layer_integrated_gradients",
    "layer_conductance",
)
NEURON_METHODS = ("neuron_gradient", "neuron_integrated_gradients", "neuron_conductance")


def layer_map(attribution: Attribution) -> Attribution:
    """A layer attribution of a convolutional layer ([N, C, h, w]) as a map over its input
    images: summed over channels and upsampled (bilinear) to the images' size, as Grad-CAM shows
    its maps, so it can be drawn over the images and scored by deletion and insertion.

    >>> import torch, deepscope as ds
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=2), torch.nn.Flatten(), torch.nn.LazyLinear(2))
    >>> a = ds.explain.layer_activation(net, torch.rand(2, 3, 9, 9), layer="0")
    >>> a.values.shape, layer_map(a).values.shape
    ((2, 4, 4, 4), (2, 1, 9, 9))
    """
    images = attribution.inputs
    values = attribution.values
    if images is None or images.ndim != 4 or values.ndim != 4:
        raise InvalidArgumentError(
            "attribution",
            "a layer attribution [N, C, h, w] of images [N, C, H, W]",
            f"values of shape {values.shape} of inputs of shape {None if images is None else images.shape}",
        )
    summed = torch.as_tensor(np.ascontiguousarray(values)).sum(dim=1, keepdim=True)
    upsampled = F.interpolate(summed.double(), size=tuple(images.shape[2:]), mode="bilinear", align_corners=False)
    return replace(attribution, values=upsampled.to(summed.dtype).numpy(), kind="image")


def check_layer(task: Task, layer: Any) -> str:
    """``layer`` as a name of the task's model, or a typed error listing the names."""
    if not isinstance(layer, str):
        raise ArgumentTypeError("layer", "a layer name (see Model.layers())", layer)
    names = [name for name, _ in task.model.module.named_modules() if name]
    if layer not in names:
        raise NotFoundError("layer", layer, names)
    return layer


@overload
def _layer_output(
    task: Task, x: torch.Tensor, rows: torch.Tensor, layer: str, grads: Literal[True]
) -> tuple[torch.Tensor, torch.Tensor]: ...
@overload
def _layer_output(
    task: Task, x: torch.Tensor, rows: torch.Tensor, layer: str, grads: Literal[False]
) -> tuple[torch.Tensor, None]: ...
def _layer_output(
    task: Task, x: torch.Tensor, rows: torch.Tensor, layer: str, grads: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(layer output, its gradient of the target output or None) for one batch. Deferred
    targets are resolved from this pass's outputs (see ``Task.target_rows``)."""
    xb = x.detach().requires_grad_(grads)
    # cut: the backward pass stops at the layer, as Captum's does
    with task.model.capture([layer], grads=grads, cut=True) as cap, torch.set_grad_enabled(grads):
        logits = as_2d_outputs(task.forward(xb, rows))
        targets = task.target_rows(rows, logits)
        if grads:
            out = selected(logits, targets).sum()
            leaves = cap.calls[layer]
            cut = bool(leaves) and all(t.is_leaf and t.requires_grad for t in leaves)
            torch.autograd.grad(out, leaves if cut else [xb], allow_unused=True)
        acts = cap.activations.get(layer)
        grad = cap.gradients.get(layer) if grads else None
    if acts is None or (grads and grad is None):
        raise InvalidArgumentError("layer", "a layer that runs on the way to the output", layer)
    return acts.detach(), None if grad is None else grad.detach()


def _joined(parts: list[torch.Tensor]) -> torch.Tensor:
    """The batches' results as one tensor (one batch as it is, without a copy)."""
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def _neuron_option(neuron: Any) -> list[int]:
    """The ``neuron`` index (already checked by the core) as a list of ints, for the options."""
    return [int(i) for i in (neuron if isinstance(neuron, (tuple, list)) else [neuron])]


def _layer_result(task: Task, values: torch.Tensor, layer: str, **options: Any) -> Attribution:
    result = task.finish(values.cpu().numpy(), options={"layer": layer, **options})
    return replace(result, kind="array", feature_names=None)


@attribution_method("layer_activation")
def layer_activation(
    model: Any,
    inputs: Any,
    *,
    batch_size: int | None = None,
    progress: bool | None = None,
    layer: str | None = None,
) -> Attribution:
    """The output of ``layer`` for each example (Captum's LayerActivation)."""
    with gradient_task(
        model,
        inputs,
        method="layer_activation",
        target=None,
        batch_size=batch_size,
        progress=progress,
        defer_targets=True,
    ) as task:
        layer = check_layer(task, layer)
        parts = []
        with task.bar(task.n) as bar:
            for part in task.passes(task.n):
                parts.append(_layer_output(task, task.x[part], task.rows[part], layer, False)[0])
                bar.update(part.stop - part.start)
        return _layer_result(task, _joined(parts), layer)


@attribution_method("layer_gradient_x_activation")
def layer_gradient_x_activation(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    layer: str | None = None,
    multiply_by_inputs: bool = True,
) -> Attribution:
    """d output[target] / d layer output, times the layer output (``multiply_by_inputs=False``:
    the gradient alone), of ``layer``'s output shape (Captum's LayerGradientXActivation)."""
    with gradient_task(
        model,
        inputs,
        method="layer_gradient_x_activation",
        target=target,
        batch_size=batch_size,
        progress=progress,
        defer_targets=True,
    ) as task:
        layer = check_layer(task, layer)
        parts = []
        with task.bar(task.n) as bar:
            for part in task.passes(task.n):
                acts, grads = _layer_output(task, task.x[part], task.rows[part], layer, True)
                parts.append(grads * acts if multiply_by_inputs else grads)
                bar.update(part.stop - part.start)
        return _layer_result(task, _joined(parts), layer, multiply_by_inputs=bool(multiply_by_inputs))


def check_neuron(neuron: Any, shape: Sequence[int]) -> tuple[int, ...]:
    """``neuron`` (an int or a tuple of ints) as an index into one example's layer output."""
    index = (neuron,) if isinstance(neuron, (int, np.integer)) else neuron
    if (
        not isinstance(index, (tuple, list))
        or not index
        or any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) for i in index)
    ):
        raise ArgumentTypeError("neuron", "an int or a tuple of ints", neuron)
    if len(index) != len(shape) or any(not -s <= i < s for i, s in zip(index, shape, strict=True)):
        raise InvalidArgumentError("neuron", f"an index into the layer's output shape {list(shape)}", neuron)
    return tuple(int(i) for i in index)


@attribution_method("neuron_gradient")
def neuron_gradient(
    model: Any,
    inputs: Any,
    *,
    batch_size: int | None = None,
    progress: bool | None = None,
    layer: str | None = None,
    neuron: int | tuple[int, ...] | None = None,
) -> Attribution:
    """d layer output[neuron] / d input (Captum's NeuronGradient), of the input's shape."""
    with gradient_task(
        model,
        inputs,
        method="neuron_gradient",
        target=None,
        batch_size=batch_size,
        progress=progress,
        defer_targets=True,
    ) as task:
        layer = check_layer(task, layer)
        values = _neuron_gradient_core(task, task.x, task.rows, None, None, layer=layer, neuron=neuron)
        index = _neuron_option(neuron)
        return task.finish(values, options={"layer": layer, "neuron": index})


@attribution_core("neuron_gradient")
def _neuron_gradient_core(
    task: Task,
    x: torch.Tensor,
    rows: torch.Tensor,
    baseline: Any,
    gen: Any,
    *,
    layer: str | None = None,
    neuron: Any = None,
) -> torch.Tensor:
    layer = check_layer(task, layer)
    result = torch.empty_like(x)
    module = task.model.module.get_submodule(layer)
    with task.bar(len(x)) as bar:
        for part in task.passes(len(x)):
            xb = x[part].detach().requires_grad_(True)
            with _rest_without_grad(module) as recorded:
                with torch.enable_grad():
                    logits = task.forward(xb, rows[part])
                if task.target is None:  # deferred: this pass is at the task's own inputs
                    task.target_rows(rows[part], as_2d_outputs(logits.detach()))
                del logits
            if not recorded or not recorded[0].requires_grad:
                raise InvalidArgumentError("layer", "a layer that runs on the way to the output", layer)
            acts = recorded.pop()
            index = check_neuron(neuron, acts.shape[1:])
            with torch.enable_grad():
                # d sum(acts[:, index]) / d x, with a one-hot gradient in the activations' own
                # memory layout (a channels-last backward fed a standard-layout gradient copies),
                # put in by a hook on a scalar's backward pass: a tensor grad_outputs makes torch
                # import sympy (seconds, on the first call of a process) to compare shapes, and a
                # product with the one-hot would hold another copy of the activations
                one_hot = torch.zeros_like(acts)
                one_hot[(slice(None), *index)] = 1.0
                acts.register_hook(lambda _, one_hot=one_hot: one_hot)
                (grad,) = torch.autograd.grad(acts.sum(), xb, allow_unused=True)
            del acts, one_hot
            result[part] = torch.zeros_like(xb) if grad is None else grad
            bar.update(part.stop - part.start)
    return result


@contextmanager
def _rest_without_grad(module: torch.nn.Module) -> Iterator[list[torch.Tensor]]:
    """Within the block, on this thread, the first tensor output of ``module`` in a pass is
    recorded (with its autograd graph) and the rest of the pass runs on a copy of it without
    gradients, as ``torch.no_grad`` would: a gradient taken at the layer then needs nothing of the
    rest of the model, whose activations would otherwise be kept for a backward pass (Captum's
    NeuronGradient keeps them through its forward). The rest still runs, so the pass's outputs
    give the targets and scores. The enclosing ``torch.enable_grad()`` block restores the mode."""
    recorded: list[torch.Tensor] = []

    def record(_module: torch.nn.Module, _args: Any, output: Any) -> Any:
        tensor = first_tensor(output)
        if recorded or tensor is None or not torch.is_grad_enabled():
            return None
        recorded.append(tensor)
        torch.set_grad_enabled(False)  # the rest of this pass: no graph (undone by the caller's block)
        # a copy goes on, so in-place operations after the layer leave the recorded output alone
        return tensor.detach().clone() if tensor is output else None

    handle = module.register_forward_hook(this_thread_only(record))
    try:
        yield recorded
    finally:
        handle.remove()


@contextmanager
def _output_changed(module: torch.nn.Module, change: Callable[[Any], Any]) -> Iterator[None]:
    """Within the block, ``module`` puts out ``change(output)`` on this thread (None: unchanged)."""
    handle = module.register_forward_hook(this_thread_only(lambda _module, _args, output: change(output)))
    try:
        yield
    finally:
        handle.remove()


def _replaced_output(module: torch.nn.Module, value: list[torch.Tensor | None]) -> AbstractContextManager[None]:
    """Within the block, ``module`` puts out ``value[0]`` (when set) instead of its output."""
    return _output_changed(module, lambda _output: value[0])


@attribution_method("layer_integrated_gradients")
def layer_integrated_gradients(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    baseline: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    layer: str | None = None,
    n_steps: int = 50,
    integration: str = "gausslegendre",
    multiply_by_inputs: bool = True,
) -> Attribution:
    """Integrated gradients at ``layer``'s output, along the straight path from its output at
    the baseline input to its output at x (Captum's LayerIntegratedGradients), of the layer
    output's shape. ``delta``: sum(values) - (f(x) - f(baseline)) per example."""
    weights, alphas = integration_steps(n_steps, integration)
    with gradient_task(
        model,
        inputs,
        method="layer_integrated_gradients",
        target=target,
        batch_size=batch_size,
        progress=progress,
    ) as task:
        layer = check_layer(task, layer)
        base_x = image_baseline(task, baseline).expand_as(task.x)
        acts = torch.cat([_layer_output(task, task.x[p], task.rows[p], layer, False)[0] for p in task.passes(task.n)])
        base_acts = torch.cat(
            [_layer_output(task, base_x[p], task.rows[p], layer, False)[0] for p in task.passes(task.n)]
        )
        module = task.model.module.get_submodule(layer)
        difference = acts - base_acts
        value: list[torch.Tensor | None] = [None]

        def gradient(scaled: torch.Tensor, example: torch.Tensor) -> torch.Tensor:
            """d output / d layer output, with the layer putting out ``scaled``."""
            value[0] = scaled.requires_grad_(True)
            with torch.enable_grad():
                logits = as_2d_outputs(task.forward(task.x[example], task.rows[example]))
                out = selected(logits, task.resolved_target[example]).sum()
                (grad,) = torch.autograd.grad(out, scaled)
            return grad

        with task.bar(task.n * n_steps) as bar, _replaced_output(module, value):
            total = path_integral(task, base_acts, difference, weights, alphas, gradient, bar)
            value[0] = None
        values = total * difference if multiply_by_inputs else total
        start = task.scores(base_x, task.rows)
        delta = (total * difference).flatten(1).sum(1) - (task.score - start)
        result = task.finish(
            values.cpu().numpy(),
            options={
                "layer": layer,
                "n_steps": n_steps,
                "integration": integration,
                "multiply_by_inputs": bool(multiply_by_inputs),
            },
            delta=delta,
            base_value=start,
        )
        return replace(result, kind="array", feature_names=None)


@attribution_method("neuron_integrated_gradients")
def neuron_integrated_gradients(
    model: Any,
    inputs: Any,
    *,
    baseline: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    layer: str | None = None,
    neuron: int | tuple[int, ...] | None = None,
    n_steps: int = 50,
    integration: str = "gausslegendre",
    multiply_by_inputs: bool = True,
) -> Attribution:
    """Integrated gradients of the unit ``neuron`` of ``layer`` with respect to the input
    (Captum's NeuronIntegratedGradients), of the input's shape."""
    weights, alphas = integration_steps(n_steps, integration)
    with gradient_task(
        model,
        inputs,
        method="neuron_integrated_gradients",
        target=None,
        batch_size=batch_size,
        progress=progress,
    ) as task:
        layer = check_layer(task, layer)
        x = task.x
        base = image_baseline(task, baseline)
        difference = x - base
        inner = replace(task, progress=False)

        def gradient(scaled: torch.Tensor, example: torch.Tensor) -> torch.Tensor:
            return _neuron_gradient_core(inner, scaled, task.rows[example], None, None, layer=layer, neuron=neuron)

        with task.bar(task.n * n_steps) as bar:
            total = path_integral(task, base, difference, weights, alphas, gradient, bar)
        values = total * difference if multiply_by_inputs else total
        index = _neuron_option(neuron)
        return task.finish(
            values,
            options={
                "layer": layer,
                "neuron": index,
                "n_steps": n_steps,
                "integration": integration,
                "multiply_by_inputs": bool(multiply_by_inputs),
            },
        )


def _path(x: torch.Tensor, base: torch.Tensor, alphas: list[float], examples: torch.Tensor) -> torch.Tensor:
    """Inputs along the straight path for ``examples``: [len(examples) * steps, ...], each
    example's steps together."""
    a = torch.tensor(alphas, dtype=x.dtype, device=x.device)
    shape = (1, -1) + (1,) * (x.ndim - 1)
    b = rows_of(base, examples).unsqueeze(1)
    return (b + a.view(shape) * (x[examples].unsqueeze(1) - b)).flatten(0, 1)


@attribution_method("layer_conductance")
def layer_conductance(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    baseline: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    layer: str | None = None,
    n_steps: int = 50,
    integration: str = "gausslegendre",
) -> Attribution:
    """The conductance of each unit of ``layer`` (Dhamdhere et al. 2018; Captum's
    LayerConductance): the sum over path steps of d output / d unit times the unit's change,
    of the layer output's shape. ``delta``: sum(values) - (f(x) - f(baseline))."""
    _, alphas = integration_steps(n_steps + 1, integration)
    with gradient_task(
        model,
        inputs,
        method="layer_conductance",
        target=target,
        batch_size=batch_size,
        progress=progress,
    ) as task:
        layer = check_layer(task, layer)
        base = image_baseline(task, baseline)
        steps = n_steps + 1
        per_chunk = max(1, task.rows_for(task.n * steps) // steps)
        parts = []
        with task.bar(task.n * steps) as bar:
            for part in batches(task.n, per_chunk):
                examples = task.rows[part]
                scaled = _path(task.x, base, alphas, examples)
                rows = examples.repeat_interleave(steps)
                acts, grads = _layer_output(task, scaled, rows, layer, True)
                acts = acts.view(len(examples), steps, *acts.shape[1:])
                grads = grads.view(len(examples), steps, *grads.shape[1:])
                parts.append((grads[:, :-1] * (acts[:, 1:] - acts[:, :-1])).sum(dim=1))
                bar.update(len(rows))
        values = torch.cat(parts)
        start = task.scores(base.expand_as(task.x), task.rows)
        delta = values.flatten(1).sum(1) - (task.score - start)
        result = task.finish(
            values.cpu().numpy(),
            options={"layer": layer, "n_steps": n_steps, "integration": integration},
            delta=delta,
            base_value=start,
        )
        return replace(result, kind="array", feature_names=None)


@attribution_method("neuron_conductance")
def neuron_conductance(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    baseline: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    layer: str | None = None,
    neuron: int | tuple[int, ...] | None = None,
    n_steps: int = 50,
    integration: str = "riemann_trapezoid",
    multiply_by_inputs: bool = True,
) -> Attribution:
    """The conductance through the unit ``neuron`` of ``layer`` of each input feature (Captum's
    NeuronConductance): the path integral of d output / d unit times d unit / d input. The
    default rule is Captum's for this method, ``riemann_trapezoid``."""
    weights, alphas = integration_steps(n_steps, integration)
    with gradient_task(
        model,
        inputs,
        method="neuron_conductance",
        target=target,
        batch_size=batch_size,
        progress=progress,
    ) as task:
        layer = check_layer(task, layer)
        x = task.x
        base = image_baseline(task, baseline)
        w = torch.tensor(weights, dtype=x.dtype, device=x.device)
        per_chunk = max(1, task.rows_for(task.n * n_steps) // n_steps)
        parts = []
        with task.bar(task.n * n_steps) as bar:
            for part in batches(task.n, per_chunk):
                examples = task.rows[part]
                scaled = _path(x, base, alphas, examples).requires_grad_(True)
                rows = examples.repeat_interleave(n_steps)
                with task.model.capture([layer], grads=True) as cap, torch.enable_grad():
                    logits = as_2d_outputs(task.forward(scaled, rows))
                    out = selected(logits, task.resolved_target[rows]).sum()
                    torch.autograd.grad(out, scaled, retain_graph=True)
                    acts, grads = cap.activations.get(layer), cap.gradients.get(layer)
                    if acts is None or grads is None:
                        raise InvalidArgumentError("layer", "a layer that runs on the way to the output", layer)
                    index = (slice(None), *check_neuron(neuron, acts.shape[1:]))
                    middle = grads[index].detach().clone()  # before the next backward pass
                    (inner,) = torch.autograd.grad(acts[index].sum(), scaled)
                through = inner * middle.view((-1,) + (1,) * (x.ndim - 1))
                through = through.view(len(examples), n_steps, *x.shape[1:])
                total = (through * w.view((1, -1) + (1,) * (x.ndim - 1))).sum(dim=1)
                parts.append(total)
                bar.update(len(rows))
        values = torch.cat(parts)
        if multiply_by_inputs:
            values = values * (x - base)
        index_list = _neuron_option(neuron)
        return task.finish(
            values,
            options={
                "layer": layer,
                "neuron": index_list,
                "n_steps": n_steps,
                "integration": integration,
                "multiply_by_inputs": bool(multiply_by_inputs),
            },
        )
