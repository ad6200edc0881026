"""The attribution methods by name, and ``attribute()`` to call any of them.

Every method has one call shape, written here once::

    method(model, inputs, *, target=None, baseline=None, batch_size=None, seed=None,
           progress=None, **options) -> Attribution

- ``target``: the output each example is explained for (None: the predicted class).
- ``baseline``: the reference input of methods that compare with one.
- ``batch_size``: rows per forward/backward pass (None: the ``deepscope.Model``'s own when it
  was given one, otherwise the method's default, as Captum's: gradient methods run all their
  work in one pass unless it would hold more than a memory budget, perturbation methods one
  perturbed copy of every example per pass; see ``deepscope.explain._rows`` and
  ``set_memory_budget``). The inner work of some methods has its own size, named as in Captum:
  ``internal_batch_size`` (integrated gradients' (example, step) pairs per pass),
  ``perturbations_per_eval`` (perturbed copies of each example per model call: occlusion,
  feature ablation, Shapley values, KernelSHAP, LIME) and ``nt_samples_batch_size`` (a noise
  tunnel's noisy copies of each example per chunk); unset, ``batch_size`` sizes that work too.
- ``seed``: the random draws of sampling methods.
- ``progress``: a tqdm bar (None: only for long work).
- ``additional_forward_args``: passed to the model after the inputs on every forward pass.

``inputs`` may be a tuple of inputs (one attribution per input: ``Attribution.per_input()``),
each with its own baselines and feature masks given as tuples; see ``deepscope.explain._multi``.

A method declares which of these it uses by its own keyword parameters and registers itself
where it is defined, with ``@attribution_method(name)``; its core, where composable, with
``@attribution_core(name)``. A shared option it does not
use may be passed as None (calls by name pass all of them); any other value is an
:class:`~deepscope.errors.InvalidArgumentError` naming the option, never a silent no-op. The
``core`` (``core(task, x, rows, baseline, generator, **options) -> maps``) is what
``noise_tunnel`` composes.

>>> from deepscope.explain import methods
>>> "integrated_gradients" in methods() and "smoothgrad" in methods()
True
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast

from deepscope.errors import InvalidArgumentError, NotFoundError
from deepscope.explain._multi import prepare_call
from deepscope.explain.attribution import Attribution

__all__ = [
    "SHARED_OPTIONS",
    "MethodSpec",
    "attribute",
    "attribution_method",
    "attribution_core",
    "accepted_options",
    "methods",
    "get_method",
    "register_method",
    "gradient_core",
    "targeted",
]

SHARED_OPTIONS = ("target", "baseline", "batch_size", "seed", "progress")

F = TypeVar("F", bound=Callable[..., Attribution])


@dataclass(frozen=True)
class MethodSpec:
    """A registered method: its public function, its core (if composable) and its options."""

    name: str
    function: Callable[..., Attribution]
    core: Callable[..., Any] | None
    baseline_kind: str | None  # None, "per_example" or "distribution"
    options: tuple[str, ...]  # the keyword options the function takes


_METHODS: dict[str, MethodSpec] = {}
_ALIASES: dict[str, str] = {}
_CUSTOM: dict[str, Callable[..., Attribution]] = {}


def _keyword_options(function: Callable[..., Any]) -> tuple[str, ...] | None:
    """Keyword parameter names of ``function`` (None when it takes ``**kwargs``)."""
    parameters = inspect.signature(function).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return tuple(p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))


def attribution_method(
    name: str,
    *,
    core: Callable[..., Any] | None = None,
    baseline_kind: str | None = None,
    aliases: tuple[str, ...] = (),
) -> Callable[[F], F]:
    """Register the decorated function as the built-in method ``name``.

    The returned function checks its keywords: a shared option (``SHARED_OPTIONS``) that the
    method does not take is dropped when None and an error otherwise; ``core`` makes the method
    composable by ``noise_tunnel`` (``baseline_kind``: how the tunnel prepares its baseline).
    It also takes inputs of any shape Captum takes (a tuple of inputs, ``additional_forward_args``,
    scalar examples, integer inputs, tuple targets, callable baselines: ``explain._multi``).
    """

    def register(function: F) -> F:
        own = _keyword_options(function)
        windows = own is not None and "window" in own
        spatial = own is not None and "interpolate" in own

        @functools.wraps(function)
        def checked(model: Any, inputs: Any, *args: Any, **options: Any) -> Attribution:
            if own is not None:
                for key in [k for k in options if k not in own and k != "additional_forward_args"]:
                    if key in SHARED_OPTIONS and options[key] is None:
                        del options[key]
                    else:
                        raise InvalidArgumentError(
                            key,
                            f"an option of {name}: " + ", ".join(own[2:]),
                            options[key],
                            hint=f"{name} does not use {key}",
                        )
            if args:
                return function(model, inputs, *args, **options)
            return prepare_call(function, model, inputs, options, windows=windows, spatial=spatial)

        options = (*own[2:], "additional_forward_args") if own is not None else ()
        _METHODS[name] = MethodSpec(name, checked, core, baseline_kind, options)
        for alias in aliases:
            _ALIASES[alias] = name
        return cast(F, checked)  # functools.wraps keeps the signature F describes

    return register


C = TypeVar("C", bound=Callable[..., Any])


def attribution_core(name: str, *, baseline_kind: str | None = None) -> Callable[[C], C]:
    """Register the decorated function as the core of the method ``name`` (registered above).

    ``core(task, x, rows, baseline, generator, **options) -> maps`` on a batch of inputs;
    ``baseline_kind``: None (no baseline), ``"per_example"`` (one reference per input, as
    integrated gradients) or ``"distribution"`` (references drawn from, as gradient SHAP).
    """

    def register(core: C) -> C:
        _METHODS[name] = replace(_METHODS[name], core=core, baseline_kind=baseline_kind)
        return core

    return register


def methods() -> list[str]:
    """Names ``attribute()`` accepts (aliases not included)."""
    return sorted({*_METHODS, *_CUSTOM})


def register_method(name: str, method: Callable[..., Attribution]) -> None:
    """Make ``method(model, inputs, *, target=None, ...) -> Attribution`` callable by name."""
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError("name", "a non-empty string", name)
    if name in _METHODS:
        raise InvalidArgumentError("name", "a name not taken by a built-in method", name)
    if not callable(method):
        raise InvalidArgumentError("method", "a callable returning an Attribution", method)
    _CUSTOM[name] = method


def get_method(name: str) -> Callable[..., Attribution]:
    """The attribution function called ``name`` (or an alias: ig, gradcam, shap)."""
    name = _ALIASES.get(name, name)
    if name in _CUSTOM:
        return _CUSTOM[name]
    if name not in _METHODS:
        raise NotFoundError("attribution method", str(name), methods())
    return _METHODS[name].function


def accepted_options(method: str | Callable[..., Any]) -> tuple[str, ...] | None:
    """The keyword options ``method`` takes besides model and inputs (None: any)."""
    function = get_method(method) if isinstance(method, str) else method
    spec = next((s for s in _METHODS.values() if s.function is function), None)
    if spec is not None:
        return spec.options
    own = _keyword_options(function)
    return None if own is None else own[2:]


def targeted(method: str | Callable[..., Any], target: Any) -> dict[str, Any]:
    """``{"target": target}`` for a method that explains a target, ``{}`` for one that does not
    (layer activations, neuron attributions), so callers that pass every method a target can
    call both."""
    options = accepted_options(method)
    return {"target": target} if options is None or "target" in options else {}


def gradient_core(method: str | Callable[..., Any]) -> tuple[str, Callable[..., Any], str | None]:
    """(name, core, baseline kind) of a composable method given by name or by its function."""
    if callable(method):
        spec = next((s for s in _METHODS.values() if s.function is method), None)
        name: Any = spec.name if spec is not None else getattr(method, "__name__", method)
    else:
        name = _ALIASES.get(method, method) if isinstance(method, str) else method
    cores = sorted(n for n, s in _METHODS.items() if s.core is not None)
    if not isinstance(name, str) or name not in cores:
        raise InvalidArgumentError("method", "a gradient method: " + ", ".join(cores), method)
    spec = _METHODS[name]
    return name, spec.core, spec.baseline_kind  # type: ignore[return-value]


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

    Method options pass through (``n_steps=``, ``window=``, ``integration=``, ...); noise
    tunnels take the wrapped method as ``over=``. A shared option the method does not use is an
    error unless None.

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
