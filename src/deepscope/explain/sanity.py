"""The model-parameter randomization test (Adebayo et al. 2018): does a map depend on the model?

Layers are re-initialised one after another from the output down (cascading), the maps are
recomputed after each, and their Spearman rank correlation with the trained model's maps is
recorded. A method whose maps stay the same when the weights are random explains the input,
not the model: it is flagged.

>>> import torch, deepscope as ds
>>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
>>> check = ds.explain.sanity_check("saliency", net, torch.rand(6, 4))
>>> check.layers
['2', '0']
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from deepscope.errors import InvalidArgumentError, NotFoundError
from deepscope.explain._inputs import as_2d_outputs, as_model, is_texts, resolve_targets, to_numeric_array
from deepscope.explain._validate import check_method_options, jsonable, resolve_seed
from deepscope.explain.attribution import Attribution
from deepscope.result import Result
from deepscope.validation import check_number

__all__ = ["SanityCheck", "sanity_check", "spearman"]


@dataclass(frozen=True, eq=False)
class SanityCheck(Result):
    """Rank correlations of maps under cascading randomization, and whether the method passed.

    ``correlation[i]`` is the mean Spearman correlation (over examples) between the trained
    model's maps and the maps once ``layers[: i + 1]`` are random; ``per_example`` has one row
    per step. ``passed`` is True when the fully randomized correlation is below ``threshold``.
    """

    method: str
    layers: list[str]
    correlation: np.ndarray
    per_example: np.ndarray
    threshold: float
    passed: bool
    absolute: bool = True
    options: dict[str, Any] = field(default_factory=dict)

    default_tag = "explain/sanity"
    figure_function = "deepscope.viz.attribution:sanity_figure"

    @property
    def final(self) -> float:
        """The correlation once every layer is random."""
        return float(self.correlation[-1])

    def __repr__(self) -> str:
        verdict = "passed" if self.passed else "FLAGGED: maps do not depend on the model"
        return (
            f"SanityCheck(method={self.method!r}, {len(self.layers)} layers randomized, "
            f"final Spearman {self.final:.2f} vs threshold {self.threshold}: {verdict})"
        )

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(
            {
                "step": np.arange(1, len(self.layers) + 1),
                "layer": self.layers,
                "correlation": self.correlation,
            }
        )

    def tag_or_default(self, tag: str | None) -> str:
        return tag or f"explain/sanity/{self.method}"


def spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of each row of ``a`` [N, ...] with the same row of ``b``.

    A constant row against another gives 1 when both are constant, else 0.
    """
    from scipy.stats import rankdata

    a = a.reshape(len(a), -1)
    b = b.reshape(len(b), -1)
    ra = rankdata(a, axis=1)
    rb = rankdata(b, axis=1)
    ra = ra - ra.mean(axis=1, keepdims=True)
    rb = rb - rb.mean(axis=1, keepdims=True)
    norm = np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))
    both_flat = ((ra**2).sum(axis=1) == 0) & ((rb**2).sum(axis=1) == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(norm > 0, (ra * rb).sum(axis=1) / np.where(norm > 0, norm, 1.0), 0.0)
    return np.where(both_flat, 1.0, rho)


def _layers(module: torch.nn.Module) -> list[str]:
    """Layers with their own parameters, from the output end down (reverse registration order)."""
    names = [n for n, m in module.named_modules() if n and any(True for _ in m.parameters(recurse=False))]
    return names[::-1]


def _reinitialise(module: torch.nn.Module, seed: int) -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        reset = getattr(module, "reset_parameters", None)
        if callable(reset):
            reset()
        else:
            with torch.no_grad():
                for p in module.parameters(recurse=False):
                    torch.nn.init.normal_(p, std=float(p.std()) if p.numel() > 1 else 0.02)


def _maps(result: Any) -> np.ndarray:
    if isinstance(result, Attribution):
        return np.asarray(result.map(), dtype=np.float64)
    if isinstance(result, torch.Tensor):
        result = result.detach().cpu().numpy()
    array = np.asarray(result, dtype=np.float64)
    return array.sum(axis=1) if array.ndim == 4 else array


def sanity_check(
    method: str | Callable[..., Any],
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    layers: Sequence[str] | None = None,
    threshold: float = 0.5,
    absolute: bool = True,
    seed: int | None = None,
    batch_size: int | None = None,
    method_options: Mapping[str, Any] | None = None,
) -> SanityCheck:
    """Cascading randomization of ``model``'s layers, top down, scoring ``method``'s maps.

    ``method``: a registered name or any ``f(model, inputs, target=...)`` returning an
    Attribution or an array. Targets are fixed to the trained model's (its predictions when
    ``target`` is None). ``layers``: names to randomize in that order (default every layer with
    parameters, output end first). Maps are compared per example as rank correlations of their
    absolute values (``absolute=False``: signed). The model itself is not changed (a copy is).
    ``method_options``: what the method is called with besides model, inputs and target (and
    ``batch_size``, passed on unless given here); kept apart from this function's own
    arguments, so ``method_options={"seed": 3}`` reaches the method while ``seed`` seeds the
    re-initialisation.
    """
    from deepscope.explain.registry import get_method, targeted

    threshold = check_number(threshold, "threshold", low=-1, high=1)
    if isinstance(method, str):
        name, function = method, get_method(method)
    elif callable(method):
        name, function = getattr(method, "__name__", type(method).__name__), method
    else:
        raise InvalidArgumentError("method", "a method name or a callable", method)
    method_options = check_method_options(method_options)
    seed = resolve_seed(seed)
    model = as_model(model)
    if model.module is None:
        raise InvalidArgumentError(
            "model", "a PyTorch or Hugging Face model (its layers are re-initialised)", model.kind
        )
    order = _layers(model.module) if layers is None else list(layers)
    known = dict(model.module.named_modules())
    for name_ in order:
        if name_ not in known:
            raise NotFoundError("layer", name_, _layers(model.module))
    if not order:
        raise InvalidArgumentError("model", "a model with parameters to randomize", model.kind)

    targets = _fixed_targets(model, inputs, target, batch_size)
    options = {"batch_size": batch_size} if batch_size is not None else {}
    options.update(method_options)

    def run(m: Any) -> np.ndarray:
        return _maps(function(m, inputs, **targeted(function, targets), **options))

    original = run(model)
    if absolute:
        original = np.abs(original)
    copy_module = copy.deepcopy(model.module)
    randomized = _rewrap(model, copy_module)
    rows = []
    for step, layer in enumerate(order):
        _reinitialise(copy_module.get_submodule(layer), seed + step)
        maps = run(randomized)
        rows.append(spearman(original, np.abs(maps) if absolute else maps))
    per_example = np.array(rows)
    correlation = np.nanmean(per_example, axis=1)
    return SanityCheck(
        method=name,
        layers=order,
        correlation=correlation,
        per_example=per_example,
        threshold=float(threshold),
        passed=bool(correlation[-1] < threshold),
        absolute=absolute,
        options=jsonable(method_options),
    )


def _fixed_targets(model: Any, inputs: Any, target: Any, batch_size: int | None) -> np.ndarray:
    """The trained model's target for each example (its prediction when ``target`` is None)."""
    if is_texts(inputs):
        data = [inputs] if isinstance(inputs, str) else list(inputs)
    else:
        data, _ = to_numeric_array(inputs, floating=False)
    outputs = as_2d_outputs(model.predict(data, batch_size=batch_size))
    return resolve_targets(model, target, outputs).cpu().numpy()


def _rewrap(model: Any, module: torch.nn.Module) -> Any:
    from deepscope.model import Model

    return Model(
        module,
        getattr(model, "tokenizer", None),
        labels=getattr(model, "labels", None),
        name=f"{getattr(model, 'name', 'model')} (randomized)",
        device=getattr(model, "device", None),
        batch_size=getattr(model, "batch_size", 64),
        max_length=getattr(model, "max_length", 128),
    )
