"""The names of the attribution methods, and ``attribute()`` to call any of them by name.

>>> from deepscope.explain import methods
>>> "integrated_gradients" in methods() and "smoothgrad" in methods()
True
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

from deepscope.errors import InvalidArgumentError, NotFoundError
from deepscope.explain.attribution import Attribution

__all__ = ["attribute", "methods", "get_method", "register_method", "gradient_core"]

# name -> (module, function)
_BUILTIN: dict[str, tuple[str, str]] = {
    "saliency": ("deepscope.explain.saliency", "saliency"),
    "gradient_x_input": ("deepscope.explain.gradient_x_input", "gradient_x_input"),
    "integrated_gradients": ("deepscope.explain.integrated_gradients", "integrated_gradients"),
    "noise_tunnel": ("deepscope.explain.noise_tunnel", "noise_tunnel"),
    "grad_cam": ("deepscope.explain.grad_cam", "grad_cam"),
    "grad_cam_pp": ("deepscope.explain.grad_cam", "grad_cam_pp"),
    "guided_backprop": ("deepscope.explain.guided", "guided_backprop"),
    "guided_grad_cam": ("deepscope.explain.guided", "guided_grad_cam"),
    "occlusion": ("deepscope.explain.occlusion", "occlusion"),
    "lime": ("deepscope.explain.lime", "lime"),
    "kernel_shap": ("deepscope.explain.kernel_shap", "kernel_shap"),
    "gradient_shap": ("deepscope.explain.gradient_shap", "gradient_shap"),
}

# gradient methods a noise tunnel can wrap: name -> (module, core function, baseline kind)
_CORES: dict[str, tuple[str, str, str | None]] = {
    "saliency": ("deepscope.explain.saliency", "_core", None),
    "gradient_x_input": ("deepscope.explain.gradient_x_input", "_core", None),
    "integrated_gradients": ("deepscope.explain.integrated_gradients", "_core", "per_example"),
    "guided_backprop": ("deepscope.explain.guided", "_guided_backprop_core", None),
    "guided_grad_cam": ("deepscope.explain.guided", "_guided_grad_cam_core", None),
    "grad_cam": ("deepscope.explain.grad_cam", "_grad_cam_core", None),
    "grad_cam_pp": ("deepscope.explain.grad_cam", "_grad_cam_pp_core", None),
    "gradient_shap": ("deepscope.explain.gradient_shap", "_core", "distribution"),
}

_ALIASES = {"ig": "integrated_gradients", "gradcam": "grad_cam", "shap": "kernel_shap"}

_CUSTOM: dict[str, Callable[..., Attribution]] = {}


def _noise_tunnel_of(kind: str) -> Callable[..., Attribution]:
    def run(model: Any, inputs: Any, *, over: str = "saliency", **options: Any) -> Attribution:
        from deepscope.explain.noise_tunnel import noise_tunnel

        return noise_tunnel(over, model, inputs, kind=kind, **options)

    run.__name__ = kind
    run.__doc__ = f"noise_tunnel(over, ..., kind={kind!r}); ``over`` names the gradient method."
    return run


_SHORTCUTS = {kind: _noise_tunnel_of(kind) for kind in ("smoothgrad", "smoothgrad_sq", "vargrad")}


def methods() -> list[str]:
    """Names ``attribute()`` accepts (aliases not included)."""
    return sorted({*_BUILTIN, *_SHORTCUTS, *_CUSTOM})


def register_method(name: str, method: Callable[..., Attribution]) -> None:
    """Make ``method(model, inputs, *, target=None, ...) -> Attribution`` callable by name."""
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError("name", "a non-empty string", name)
    if name in _BUILTIN:
        raise InvalidArgumentError("name", "a name not taken by a built-in method", name)
    if not callable(method):
        raise InvalidArgumentError("method", "a callable returning an Attribution", method)
    _CUSTOM[name] = method


def get_method(name: str) -> Callable[..., Attribution]:
    """The attribution function called ``name`` (or an alias: ig, gradcam, shap)."""
    name = _ALIASES.get(name, name)
    if name in _CUSTOM:
        return _CUSTOM[name]
    if name in _SHORTCUTS:
        return _SHORTCUTS[name]
    if name == "noise_tunnel":
        return _noise_tunnel_of_any
    if name not in _BUILTIN:
        raise NotFoundError("attribution method", str(name), methods())
    module, function = _BUILTIN[name]
    return getattr(importlib.import_module(module), function)


def _noise_tunnel_of_any(
    model: Any, inputs: Any, *, over: str = "saliency", **options: Any
) -> Attribution:
    from deepscope.explain.noise_tunnel import noise_tunnel

    return noise_tunnel(over, model, inputs, **options)


@functools.cache
def _core(name: str) -> tuple[Callable[..., Any], str | None]:
    module, function, baseline_kind = _CORES[name]
    return getattr(importlib.import_module(module), function), baseline_kind


def gradient_core(method: str | Callable[..., Any]) -> tuple[str, Callable[..., Any], str | None]:
    """(name, core, baseline kind) of a gradient method given by name or by its public function."""
    name = getattr(method, "__name__", method) if callable(method) else method
    name = _ALIASES.get(name, name) if isinstance(name, str) else name
    if not isinstance(name, str) or name not in _CORES:
        raise InvalidArgumentError(
            "method", "a gradient method: " + ", ".join(sorted(_CORES)), method
        )
    core, baseline_kind = _core(name)
    return name, core, baseline_kind


def attribute(
    model: Any,
    inputs: Any,
    method: str = "integrated_gradients",
    *,
    target: Any = None,
    baseline: Any = None,
    batch_size: int | None = None,
    seed: int | None = None,
    progress: bool | None = None,
    **options: Any,
) -> Attribution:
    """Run the attribution method called ``method`` (see ``methods()``) with the shared options.

    Method options pass through (``n_steps=``, ``window=``, ...). Where a method has its own
    ``method`` option (integrated gradients' rule) pass it as ``integration=``; noise tunnels
    take the wrapped method as ``over=``.

    >>> import torch, deepscope as ds
    >>> net = torch.nn.Linear(3, 2)
    >>> ds.explain.attribute(net, torch.ones(1, 3), "ig", n_steps=4).method
    'integrated_gradients'
    """
    function = get_method(method)
    return function(
        model,
        inputs,
        target=target,
        baseline=baseline,
        batch_size=batch_size,
        seed=seed,
        progress=progress,
        **options,
    )
