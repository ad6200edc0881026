"""Layer-wise relevance propagation (Bach et al. 2015; Montavon et al. 2019), as Captum's ``LRP``.

The target output is the relevance at the top; each layer hands the relevance R of its
outputs back to its inputs a in proportion to their contributions, R_in = a * W'^T (R /
(z' + eps * sign(z'))), where z' = W' a + b and the *rule* of the layer sets W' and eps:

- ``"epsilon"`` (default; ``("epsilon", eps)``): W' = W, eps = ``epsilon`` (1e-9 by default);
- ``"gamma"`` (``("gamma", g)``): W' = W + g * max(W, 0), favouring positive contributions
  (eps 1e-9, the bias kept; Captum's ``GammaRule``);
- ``"identity"``: the relevance passes on unchanged (for batch norm; Captum's ``IdentityRule``).

Rules apply to ``Linear``, convolutions, batch norm (eval mode) and pooling layers (max, average
and adaptive; they have no weights, so ``gamma`` is ``epsilon`` there). ``ReLU``, ``Tanh`` and
dropout pass the relevance on unchanged, and ``Flatten``, ``Unflatten`` and ``Identity`` only
reshape it; any other module that runs is an :class:`~deepscope.errors.UnsupportedModelError`
naming it (functional calls in ``forward`` act on the relevance as on a gradient, as in Captum).
Choose the rule per layer type (``rules={"Conv2d": "gamma"}``) or per layer name
(``rules={"features.0": ("gamma", 0.5)}``; a name wins over a type); ``rule`` is the rest's.

The values add up to the target output where no bias or stabiliser absorbs relevance: ``delta``
is sum(values) - f(x)[target] (Captum's delta with the sign of deepscope's other methods).

>>> import torch, deepscope as ds
>>> net = torch.nn.Sequential(torch.nn.Linear(3, 4, bias=False), torch.nn.ReLU(), torch.nn.Linear(4, 2, bias=False))
>>> a = ds.explain.lrp(net, torch.ones(2, 3), target=0)
>>> bool(abs(a.delta).max() < 1e-5)
True
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, NotFoundError, ShapeError, UnsupportedModelError
from deepscope.explain._inputs import as_2d_outputs, selected
from deepscope.explain._task import Task, gradient_task
from deepscope.explain.attribution import Attribution
from deepscope.explain.registry import attribution_core, attribution_method
from deepscope.model.hooks import this_thread_only
from deepscope.validation import check_number

__all__ = ["lrp", "LRP_RULES", "lrp_rules"]

LRP_RULES = ("epsilon", "gamma", "identity")
STABILISER = 1e-9  # Captum's default epsilon, and its gamma rule's stabiliser

_WEIGHTED: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
)
_POOLING: tuple[type[nn.Module], ...] = (
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.MaxPool3d,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AvgPool3d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveMaxPool3d,
)
_PASS: tuple[type[nn.Module], ...] = (nn.ReLU, nn.Tanh, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)
_RESHAPE: tuple[type[nn.Module], ...] = (nn.Flatten, nn.Unflatten, nn.Identity)
_RULE_TYPES = {t.__name__: t for t in (*_WEIGHTED, *_POOLING)}


@dataclass(frozen=True)
class _Rule:
    kind: str  # "epsilon" | "gamma" | "identity"
    epsilon: float = STABILISER
    gamma: float = 0.25


def _parse_rule(value: Any, argument: str, epsilon: float, gamma: float) -> _Rule:
    expected = "'epsilon', 'gamma', 'identity', ('epsilon', eps) or ('gamma', gamma)"
    if isinstance(value, str):
        name, parameter = value, None
    elif isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        name, parameter = value
    else:
        raise InvalidArgumentError(argument, expected, value)
    if name not in LRP_RULES or (name == "identity" and parameter is not None):
        raise InvalidArgumentError(argument, expected, value)
    if name == "epsilon":
        return _Rule("epsilon", epsilon=epsilon if parameter is None else check_number(parameter, argument, low=0))
    if name == "gamma":
        return _Rule("gamma", gamma=gamma if parameter is None else check_number(parameter, argument, low=0))
    return _Rule("identity")


def lrp_rules(
    module: nn.Module,
    rule: Any = "epsilon",
    rules: Mapping[str, Any] | None = None,
    *,
    epsilon: float = STABILISER,
    gamma: float = 0.25,
) -> dict[str, _Rule]:
    """The rule of every rule layer of ``module`` by name (checked: a typed error names a bad
    rule, an unknown layer or type, or a rule given to a layer that takes none)."""
    epsilon, gamma = check_number(epsilon, "epsilon", low=0), check_number(gamma, "gamma", low=0)
    default = _parse_rule(rule, "rule", epsilon, gamma)
    if rules is None:
        rules = {}
    if not isinstance(rules, Mapping) or not all(isinstance(k, str) for k in rules):
        raise ArgumentTypeError("rules", "a dict of rules by layer name or layer type name", rules)
    named = dict(module.named_modules())
    for key, value in rules.items():
        where = f"rules[{key!r}]"
        _parse_rule(value, where, epsilon, gamma)
        layer = named.get(key)
        if layer is None and key not in _RULE_TYPES:
            raise NotFoundError("layer or layer type", key, [n for n in named if n] + sorted(_RULE_TYPES))
        if layer is not None and not isinstance(layer, (*_WEIGHTED, *_POOLING)):
            raise InvalidArgumentError(
                where,
                "a rule for a Linear, convolution, batch-norm or pooling layer",
                f"layer {key!r} of type {type(layer).__name__}",
                hint="ReLU, Tanh and dropout pass relevance on unchanged; they take no rule",
            )
    chosen = {}
    for name, layer in named.items():
        if isinstance(layer, (*_WEIGHTED, *_POOLING)):
            value = rules.get(name, rules.get(type(layer).__name__))
            chosen[name] = default if value is None else _parse_rule(value, f"rules[{name!r}]", epsilon, gamma)
    return chosen


def _sign(z: torch.Tensor) -> torch.Tensor:
    return torch.where(z >= 0, torch.ones_like(z), -torch.ones_like(z))


class _TimesInput(torch.autograd.Function):
    """Identity; backward multiplies the incoming value by the input (R_in = a * c)."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a)
        return a.view_as(a)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (a,) = ctx.saved_tensors
        return grad * a


class _Divide(torch.autograd.Function):
    """The output ``y`` as it is; backward divides the relevance by the stabilised ``z``, and
    sends it through ``z``'s graph (the layer with the rule's weights)."""

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
        ctx.save_for_backward(z.detach())
        ctx.eps = eps
        return y.view_as(y)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (z,) = ctx.saved_tensors
        return grad / (z + ctx.eps * _sign(z)), None, None


class _Pass(torch.autograd.Function):
    """The output ``y`` as it is; backward hands the relevance to the input ``a`` unchanged."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return y.view_as(y)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad, None


def _with_rule_weights(module: nn.Module, a: torch.Tensor, gamma: float) -> torch.Tensor:
    """The layer's output at ``a`` with weights W + gamma * max(W, 0) (Captum's GammaRule)."""
    weight: Any = getattr(module, "weight", None)
    if weight is None:
        return module(a)
    changed = weight + gamma * weight.clamp(min=0)
    if isinstance(module, nn.Linear):
        return F.linear(a, changed, module.bias)
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        return module._conv_forward(a, changed, module.bias)
    assert isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d))
    use_batch = module.training or module.running_mean is None
    return F.batch_norm(
        a,
        module.running_mean,
        module.running_var,
        changed,
        module.bias,
        use_batch,
        0.0,
        module.eps,
    )


@contextmanager
def _relevance_hooks(module: nn.Module, rules: dict[str, _Rule]) -> Iterator[None]:
    """Within the block, gradients of ``module`` carry relevance (see the module docstring)."""
    handles = []

    def pre(mod: nn.Module, args: Any) -> Any:
        if args and isinstance(args[0], torch.Tensor):
            return (_TimesInput.apply(args[0]), *args[1:])
        return None

    def rule_hook(rule: _Rule, name: str) -> Any:
        def hook(mod: nn.Module, args: Any, output: Any) -> Any:
            a = args[0]
            if rule.kind == "identity":
                if a.shape != output.shape:
                    raise ShapeError(
                        f"rules[{name!r}]",
                        "the identity rule on a layer whose output has its input's shape",
                        f"input {list(a.shape)}, output {list(output.shape)}",
                    )
                return _Pass.apply(a, output)
            if rule.kind == "gamma" and isinstance(mod, _WEIGHTED):
                return _Divide.apply(_with_rule_weights(mod, a, rule.gamma), output, STABILISER)
            eps = rule.epsilon if rule.kind == "epsilon" else STABILISER
            return _Divide.apply(output, output, eps)

        return hook

    def pass_hook(mod: nn.Module, args: Any, output: Any) -> Any:
        return _Pass.apply(args[0], output)

    def refuse(name: str) -> Any:
        def hook(mod: nn.Module, args: Any) -> None:
            raise UnsupportedModelError(
                "model",
                "layers LRP has rules for: Linear, convolutions, batch norm, pooling, ReLU, Tanh, dropout, Flatten",
                f"layer {name!r} of type {type(mod).__name__}",
                hint="use deeplift or integrated_gradients for this model",
            )

        return hook

    try:
        for name, layer in module.named_modules():
            if name in rules:
                rule = rules[name]
                if rule.kind != "identity":
                    handles.append(layer.register_forward_pre_hook(this_thread_only(pre)))
                handles.append(layer.register_forward_hook(this_thread_only(rule_hook(rule, name))))
            elif isinstance(layer, _PASS):
                handles.append(layer.register_forward_hook(this_thread_only(pass_hook)))
            elif not isinstance(layer, _RESHAPE) and not any(True for _ in layer.children()):
                handles.append(layer.register_forward_pre_hook(this_thread_only(refuse(name or type(layer).__name__))))
        yield
    finally:
        for handle in handles:
            handle.remove()


def _relevance(task: Task, x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Relevance of each input for its target output, ``batch_size`` rows per pass (within
    ``_relevance_hooks``)."""
    values = torch.empty_like(x)
    shape = (-1,) + (1,) * (x.ndim - 1)
    with task.bar(len(x)) as bar:
        for part in task.passes(len(x)):
            xb = x[part].detach().requires_grad_(True)
            r = rows[part]
            with torch.enable_grad():
                logits = as_2d_outputs(task.forward(xb, r))
                score = selected(logits, task.target_rows(r, logits.detach()))
                (grad,) = torch.autograd.grad(score.sum(), xb, allow_unused=True)
            grad = torch.zeros_like(xb) if grad is None else grad
            values[part] = grad * score.detach().view(shape)
            bar.update(len(xb))
    return values


@attribution_method("lrp")
def lrp(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    rule: Any = "epsilon",
    rules: Mapping[str, Any] | None = None,
    epsilon: float = STABILISER,
    gamma: float = 0.25,
    feature_names: list[str] | None = None,
) -> Attribution:
    """Layer-wise relevance propagation of the target output (Captum's ``LRP``).

    ``rule``: every rule layer's rule unless ``rules`` (by layer name or layer type name) says
    otherwise; ``"epsilon"`` and ``"gamma"`` take ``epsilon`` and ``gamma``, a tuple its own.
    """
    with gradient_task(
        model,
        inputs,
        method="lrp",
        target=target,
        batch_size=batch_size,
        progress=progress,
        feature_names=feature_names,
        defer_targets=True,
    ) as task:
        chosen = lrp_rules(task.model.module, rule, rules, epsilon=epsilon, gamma=gamma)
        with _relevance_hooks(task.model.module, chosen):
            values = _relevance(task, task.x, task.rows)
        delta = values.sum(dim=tuple(range(1, values.ndim))) - task.score
        options = {"rule": rule, "epsilon": epsilon, "gamma": gamma}
        if rules:
            options["rules"] = {k: v for k, v in rules.items()}
        return task.finish(values, options=options, delta=delta)


@attribution_core("lrp")
def _lrp_core(
    task: Task,
    x: torch.Tensor,
    rows: torch.Tensor,
    baseline: Any,
    gen: Any,
    *,
    rule: Any = "epsilon",
    rules: Mapping[str, Any] | None = None,
    epsilon: float = STABILISER,
    gamma: float = 0.25,
) -> torch.Tensor:
    chosen = lrp_rules(task.model.module, rule, rules, epsilon=epsilon, gamma=gamma)
    with _relevance_hooks(task.model.module, chosen):
        return _relevance(task, x, rows)
