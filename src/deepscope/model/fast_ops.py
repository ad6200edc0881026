"""Faster, equal forms of the batch norms a model runs in eval mode.

In eval mode a batch norm is a per-channel affine map, ``x * scale + shift``. PyTorch's CPU
kernel computes its forward in that form, but its backward (``native_batch_norm_backward``) is a
general kernel costing about as much as the convolution before it. Inside
:func:`fast_eval_norms`:

- a convolution followed by a batch norm in an ``nn.Sequential`` runs as one convolution with
  the norm folded into its weight and bias (``w * scale``, ``(b - mean) * scale + beta``), and
  the norm passes its input through: one kernel instead of two, forward and backward;
- every other ``F.batch_norm`` call in eval mode (running statistics given, ``training=False``)
  runs as one ``addcmul``, whose backward is one multiplication.

Values are equal up to float rounding, and gradients flow to the inputs and to the weights,
biases and norm parameters as before (the folded weights are computed from them on each pass,
never stored). Calls in training mode run unchanged. A pair is folded only where nothing can
observe the difference: both modules unhooked (a hook on the convolution would see the folded
output), neither shared nor overriding ``forward``, in a ``Sequential`` that feeds one into the
other.

>>> import torch
>>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)).eval()
>>> net[1].running_mean += 1.0
>>> x = torch.rand(2, 3, 8, 8)
>>> with fast_eval_norms(net):
...     fast = net(x)
>>> bool(torch.allclose(fast, net(x), atol=1e-6))
True
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd
from torch.overrides import TorchFunctionMode

__all__ = ["fast_eval_norms", "has_eval_norms"]

_CONVS = {nn.Conv1d: F.conv1d, nn.Conv2d: F.conv2d, nn.Conv3d: F.conv3d}
_NORM_PARAMETERS = ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps")
_NORM_DEFAULTS: dict[str, Any] = {"weight": None, "bias": None, "training": False, "momentum": 0.1, "eps": 1e-5}
_HOOKS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
_GLOBAL_HOOKS = ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks")


def has_eval_norms(module: nn.Module) -> bool:
    """Whether ``module`` has a batch norm in eval mode with running statistics (what
    :func:`fast_eval_norms` rewrites); compiled and scripted modules are left alone."""
    if hasattr(module, "_orig_mod") or isinstance(module, torch.jit.ScriptModule):
        return False
    return any(_is_eval_norm(m) for m in module.modules())


def _is_eval_norm(module: nn.Module) -> bool:
    return isinstance(module, _BatchNorm) and not module.training and module.running_mean is not None


@dataclass(frozen=True)
class _Pair:
    """A convolution whose only consumer is the eval-mode batch norm after it."""

    conv: _ConvNd
    norm: _BatchNorm
    function: Callable[..., torch.Tensor]

    def folded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(weight, bias) of the convolution with the norm folded in, differentiable in both."""
        norm, weight = self.norm, self.conv.weight
        # Both statistics are tensors: only norms with running statistics are paired.
        running_mean, running_var = cast(torch.Tensor, norm.running_mean), cast(torch.Tensor, norm.running_var)
        scale = torch.rsqrt(running_var + norm.eps)
        if norm.weight is not None:
            scale = scale * norm.weight
        shift = -running_mean if self.conv.bias is None else self.conv.bias - running_mean
        shift = shift * scale
        if norm.bias is not None:
            shift = shift + norm.bias
        return weight * scale.view((-1,) + (1,) * (weight.ndim - 1)), shift


def _unhooked(module: nn.Module) -> bool:
    return not any(getattr(module, name, None) for name in _HOOKS)


def _foldable_pairs(module: nn.Module) -> list[_Pair]:
    """The (convolution, batch norm) neighbours of plain ``Sequential`` containers that can be
    folded: both plain, unhooked, not shared, the norm in eval mode with running statistics."""
    import torch.nn.modules.module as torch_module

    if any(getattr(torch_module, name, None) for name in _GLOBAL_HOOKS):
        return []
    uses: dict[int, int] = {}
    for _, sub in module.named_modules(remove_duplicate=False):
        uses[id(sub)] = uses.get(id(sub), 0) + 1
    weights: dict[int, int] = {}
    for _, parameter in module.named_parameters(remove_duplicate=False):
        weights[id(parameter)] = weights.get(id(parameter), 0) + 1
    pairs = []
    for seq in module.modules():
        if type(seq).forward is not nn.Sequential.forward or not isinstance(seq, nn.Sequential):
            continue
        children = list(seq)
        for conv, norm in zip(children, children[1:], strict=False):
            function = _CONVS.get(type(conv))
            if (
                function is not None
                and isinstance(conv, _ConvNd)
                and isinstance(norm, _BatchNorm)
                and type(norm).forward is _BatchNorm.forward
                and _is_eval_norm(norm)
                and norm.num_features == conv.out_channels
                and uses.get(id(conv)) == 1
                and uses.get(id(norm)) == 1
                and weights.get(id(conv.weight)) == 1
                and _unhooked(conv)
                and _unhooked(norm)
            ):
                pairs.append(_Pair(conv, norm, function))
    return pairs


def _affine_norm(
    input: torch.Tensor,
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    eps: float,
) -> torch.Tensor:
    # As PyTorch's CPU kernel forms it: scale = weight / sqrt(var + eps), shift = bias - mean * scale.
    scale = torch.rsqrt(running_var + eps)
    if weight is not None:
        scale = scale * weight
    shift = -running_mean * scale
    if bias is not None:
        shift = shift + bias
    view = (1, -1) + (1,) * (input.ndim - 2)
    return torch.addcmul(shift.view(view), input, scale.view(view))


class _FastEvalNorms(TorchFunctionMode):
    def __init__(self, pairs: list[_Pair]) -> None:
        super().__init__()
        self.convs = {id(pair.conv.weight): pair for pair in pairs}
        self.pending: dict[int, torch.Tensor] = {}  # id(norm's running_mean) -> folded output

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if func is F.batch_norm:
            return self._norm(args, kwargs)
        if self.convs and len(args) >= 2:
            pair = self.convs.get(id(args[1]))
            if pair is not None and func is pair.function and args[1] is pair.conv.weight:
                weight, bias = pair.folded()
                output = func(args[0], weight, bias, *args[3:], **kwargs)
                self.pending[id(pair.norm.running_mean)] = output
                return output
        return func(*args, **kwargs)

    def _norm(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        bound: dict[str, Any] = dict(zip(_NORM_PARAMETERS, args, strict=False))
        bound.update(kwargs)
        for key, value in _NORM_DEFAULTS.items():
            bound.setdefault(key, value)
        input, mean, var = bound.get("input"), bound.get("running_mean"), bound.get("running_var")
        if (
            bound["training"]
            or not isinstance(input, torch.Tensor)
            or not isinstance(mean, torch.Tensor)
            or not isinstance(var, torch.Tensor)
            or input.ndim < 2
            or not input.is_floating_point()
        ):
            return F.batch_norm(*args, **kwargs)
        folded = self.pending.pop(id(mean), None)
        if folded is not None and input is folded:
            return input  # the convolution before applied this norm already
        return _affine_norm(input, mean, var, bound["weight"], bound["bias"], float(bound["eps"]))


@contextlib.contextmanager
def fast_eval_norms(module: nn.Module) -> Iterator[None]:
    """Eval-mode batch norms of ``module`` run folded or as one ``addcmul`` inside the block
    (on this thread; see the module's docstring). A no-op for modules without them."""
    if not has_eval_norms(module):
        yield
        return
    with _FastEvalNorms(_foldable_pairs(module)):
        yield
