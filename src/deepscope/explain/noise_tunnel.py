"""Noise tunnel: average a gradient method over noisy copies of the input (Smilkov et al. 2017).

``kind="smoothgrad"`` averages the maps, ``"smoothgrad_sq"`` averages their squares and
``"vargrad"`` takes their variance (Adebayo et al. 2018). The (example, noise sample) pairs are
walked in chunks (``batch_size``, ``nt_samples_batch_size`` noisy copies of each example, or by
default all of them within the memory budget of ``deepscope.explain._rows``, as Captum's default
takes them all at once); the inner method sizes its own passes the same way.

>>> import torch, deepscope as ds
>>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
>>> ds.explain.noise_tunnel("saliency", net, torch.ones(2, 3), n_samples=4).values.shape
(2, 3)
>>> ds.explain.noise_tunnel("gradient_shap", net, torch.ones(2, 3), n_samples=4,
...                         method_options={"n_samples": 2}).options["method_options"]
{'n_samples': 2}
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, cast

import torch

from deepscope.errors import InvalidArgumentError
from deepscope.explain import registry
from deepscope.explain._inputs import rows_of
from deepscope.explain._multi import any_inputs
from deepscope.explain._task import batches, generator, gradient_task, image_baseline
from deepscope.explain._validate import check_choice, check_method_options, check_positive_int, resolve_seed
from deepscope.explain.attribution import Attribution
from deepscope.explain.gradient_shap import _expected_output, baseline_distribution
from deepscope.validation import check_number

__all__ = ["noise_tunnel", "NOISE_TUNNEL_KINDS"]

NOISE_TUNNEL_KINDS = ("smoothgrad", "smoothgrad_sq", "vargrad")

# The inner method runs on the tunnel's inputs, targets, baseline, batches, generator and
# progress bar: these are the tunnel's to set, not options of the inner method.
# Methods whose maps add up to f(x) - f(baseline): the tunnel reports their convergence delta.
_COMPLETE = ("integrated_gradients", "gradient_shap")

_PASSED = ("model", "inputs", "target", "baseline", "batch_size", "seed", "progress", "feature_names")


@any_inputs
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
    method_options: Mapping[str, Any] | None = None,
    nt_samples_batch_size: int | None = None,
    **options: Any,
) -> Attribution:
    """``method`` (a gradient method, by name or function) averaged over noisy inputs.

    ``stdev`` is the standard deviation of the Gaussian noise in input units (0.15 suits images
    in [0, 1]; for text it is in embedding units). ``method_options``: the inner method's own
    options, kept apart from this function's arguments, so ``method_options={"n_samples": 8}``
    sets gradient SHAP's draws per noisy input while ``n_samples`` counts the noisy inputs.
    Options named unlike this function's arguments may be given as keywords instead
    (``n_steps=16``); one given both ways is an error. The inner method runs with this call's
    target, baseline, batch_size, seed and progress. The result's ``method`` is
    ``"noise_tunnel"``; ``options["over"]`` names the inner method and
    ``options["method_options"]`` holds its options. Any method registered with a core
    (``registry.attribution_core``) can be wrapped.

    ``nt_samples_batch_size``: noisy copies of each example per chunk (Captum's option; default:
    ``batch_size`` noisy inputs per chunk). Over a method with a completeness property
    (integrated gradients; gradient SHAP unless ``multiply_by_inputs=False``), ``delta`` holds
    the convergence delta of each noisy input [N, n_samples], as Captum's NoiseTunnel returns
    with ``return_convergence_delta=True``: sum(map) - (f(noisy x) - f(baseline)), with
    E[f(baseline)] for gradient SHAP.
    """
    name, core, baseline_kind = registry.gradient_core(method)
    method_options = _inner_options(name, core, method_options, options)
    check_choice(kind, "kind", NOISE_TUNNEL_KINDS)
    n_samples = check_positive_int(n_samples, "n_samples")
    if nt_samples_batch_size is not None:
        nt_samples_batch_size = check_positive_int(nt_samples_batch_size, "nt_samples_batch_size")
    stdev = check_number(stdev, "stdev", low=0)
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
            base = baseline_distribution(task, baseline)
        else:
            base = None
        x, n = task.x, task.n
        chunk = task.rows_for(n * n_samples) if nt_samples_batch_size is None else nt_samples_batch_size * n
        inner = replace(task, progress=False)  # after rows_for: the copy keeps its measurement
        total = total_sq = None
        complete = name in _COMPLETE and method_options.get("multiply_by_inputs", True) is True
        deltas = torch.zeros(n * n_samples, dtype=task.score.dtype, device=x.device) if complete else None
        start_score = None
        if complete and baseline_kind == "distribution":
            start_score = _expected_output(task, cast(torch.Tensor, base))
        elif complete:
            start_score = task.scores(cast(torch.Tensor, base).expand_as(x), task.rows)
        with task.bar(n * n_samples, f"noise_tunnel({name})") as bar:
            for part in batches(n * n_samples, chunk):
                example = torch.arange(part.start, part.stop, device=x.device) // n_samples
                noise = torch.randn((len(example), *x.shape[1:]), generator=gen, dtype=x.dtype)
                noisy = noise.to(x.device).mul_(stdev).add_(x[example])
                inner_base = rows_of(base, example) if baseline_kind == "per_example" and base is not None else base
                maps = core(inner, noisy, task.rows[example], inner_base, gen, **method_options)
                if total is None:
                    total = torch.zeros((n, *maps.shape[1:]), dtype=maps.dtype, device=maps.device)
                    total_sq = torch.zeros_like(total) if kind != "smoothgrad" else None
                total.index_add_(0, example, maps)
                if deltas is not None:
                    reached = task.scores(noisy, task.rows[example]) - cast(torch.Tensor, start_score)[example]
                    deltas[part] = maps.sum(dim=tuple(range(1, maps.ndim))).to(deltas.dtype) - reached
                if total_sq is not None:
                    total_sq.index_add_(0, example, maps * maps)
                bar.update(len(example))
        mean = cast(torch.Tensor, total) / n_samples  # n * n_samples >= 1: a batch ran
        if kind == "smoothgrad":
            values = mean
        else:
            mean_sq = cast(torch.Tensor, total_sq) / n_samples  # kept for every kind but smoothgrad
            values = mean_sq if kind == "smoothgrad_sq" else mean_sq - mean * mean
        own: dict[str, Any] = {"over": name, "kind": kind, "n_samples": n_samples, "stdev": stdev}
        if nt_samples_batch_size is not None:
            own["nt_samples_batch_size"] = nt_samples_batch_size
        delta = None if deltas is None else deltas.view(n, n_samples)
        return task.finish(values, options={**own, "method_options": method_options}, delta=delta)


def _inner_options(
    name: str, core: Callable[..., Any], method_options: Any, keywords: dict[str, Any]
) -> dict[str, Any]:
    """The inner method's options: ``method_options`` and the extra keywords, each checked."""
    inner = check_method_options(method_options, caller="noise_tunnel", passed=_PASSED)
    for key, value in keywords.items():
        if key in inner:
            raise InvalidArgumentError(
                key,
                "an option given once, as a keyword or in method_options",
                f"{key}={value!r} and method_options[{key!r}]={inner[key]!r}",
                hint="give it one way",
            )
    accepted = [p.name for p in inspect.signature(core).parameters.values() if p.kind is p.KEYWORD_ONLY]
    for key in [*inner, *keywords]:
        if key not in accepted:
            raise InvalidArgumentError(
                f"method_options[{key!r}]" if key in inner else key,
                (f"an option of {name}: " + ", ".join(accepted)) if accepted else f"no option ({name} takes none)",
                key,
            )
    return {**inner, **keywords}


def _tunnel_of(kind: str | None) -> Callable[..., Attribution]:
    """``noise_tunnel`` with the inner method as ``over=`` (and ``kind`` fixed unless None)."""

    def run(model: Any, inputs: Any, *, over: str = "saliency", **options: Any) -> Attribution:
        if kind is not None:
            options["kind"] = kind
        return noise_tunnel(over, model, inputs, **options)

    run.__name__ = kind or "noise_tunnel"
    run.__doc__ = (
        f"noise_tunnel(over, ..., kind={kind!r}); ``over`` names the gradient method."
        if kind
        else "noise_tunnel(over, ...); ``over`` names the gradient method."
    )
    return run


for _kind in (None, *NOISE_TUNNEL_KINDS):
    registry.attribution_method(_kind or "noise_tunnel")(_tunnel_of(_kind))
