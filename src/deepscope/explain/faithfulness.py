"""Faithfulness of a map to the model: deletion / insertion curves, infidelity, max-sensitivity.

- Deletion (Petsiuk et al. 2018): remove the most important features first; a faithful map
  makes the target's probability fall fast (small area under the curve). Insertion: add them
  to a blank input first; it should rise fast (large area).
- Infidelity (Yeh et al. 2019): E[(I . phi - (f(x) - f(x - I)))^2] over random perturbations I:
  how well the map predicts the output change. Zero for the gradient of a linear model.
- Max-sensitivity (Yeh et al. 2019): the largest relative change of the map under small input
  perturbations: how stable it is.

>>> import torch, deepscope as ds
>>> net = torch.nn.Linear(4, 1)
>>> x = torch.rand(3, 4)
>>> ds.explain.infidelity(net, ds.explain.saliency(net, x)).round(6).tolist()
[0.0, 0.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, UnsupportedModelError
from deepscope.explain._inputs import broadcast_value, rows_of, selected
from deepscope.explain._task import generator, predict_task
from deepscope.explain._validate import check_choice, check_method_options, check_positive_int, resolve_seed
from deepscope.explain.attribution import Attribution
from deepscope.result import Result
from deepscope.validation import check_number

__all__ = ["Faithfulness", "deletion_insertion", "infidelity", "max_sensitivity"]


@dataclass(frozen=True, eq=False)
class Faithfulness(Result):
    """Deletion and insertion curves [N, S] over ``fractions`` [S] of features, and their areas."""

    method: str
    fractions: np.ndarray
    deletion: np.ndarray
    insertion: np.ndarray
    deletion_area: np.ndarray
    insertion_area: np.ndarray
    output: str

    default_tag = "explain/faithfulness"
    figure_function = "deepscope.viz.attribution:faithfulness_figure"

    def __repr__(self) -> str:
        return (
            f"Faithfulness(method={self.method!r}, {len(self.deletion)} examples, mean deletion "
            f"area {self.deletion_area.mean():.3f} (lower is better), mean insertion area "
            f"{self.insertion_area.mean():.3f} (higher is better))"
        )

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame({"deletion_area": self.deletion_area, "insertion_area": self.insertion_area})

    def tag_or_default(self, tag: str | None) -> str:
        return tag or f"explain/faithfulness/{self.method}"


def _check_attribution(attribution: Any, argument: str = "attribution") -> Attribution:
    if not isinstance(attribution, Attribution):
        raise ArgumentTypeError(argument, "an Attribution (from a deepscope.explain method)", attribution)
    if attribution.kind == "text" or attribution.inputs is None:
        raise UnsupportedModelError(
            argument,
            "an attribution of images, tables or arrays (with its inputs)",
            f"a {attribution.kind} attribution",
        )
    return attribution


def _unit_ranks(attribution: Attribution) -> np.ndarray:
    """For each example, the rank of each unit (pixel / feature) by decreasing attribution."""
    units = attribution.map().reshape(len(attribution), -1)
    order = np.argsort(-units, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(units.shape[1])[None].repeat(len(units), 0), axis=1)
    return ranks


def deletion_insertion(
    model: Any,
    attribution: Attribution,
    *,
    n_steps: int = 20,
    baseline: Any = 0.0,
    output: str | None = None,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> Faithfulness:
    """Deletion and insertion curves of ``attribution`` on ``model``, with their areas.

    Units are pixels for images (all channels at once, ranked by the channel-summed map) and
    features otherwise. Removed units take ``baseline`` (a number or an input-shaped array);
    insertion starts from the baseline. ``output``: ``"probability"`` (softmax of the outputs,
    the default for models with several outputs) or ``"raw"``.
    """
    attribution = _check_attribution(attribution)
    n_steps = check_positive_int(n_steps, "n_steps")
    with predict_task(
        model,
        attribution.inputs,
        method="deletion_insertion",
        target=attribution.target,
        batch_size=batch_size,
        progress=progress,
        policy="sampling",
    ) as task:
        if output is None:
            output = "probability" if task.resolved_outputs.shape[1] > 1 and task.model.module is not None else "raw"
        check_choice(output, "output", ("probability", "raw"))
        x = task.x
        base = broadcast_value(0.0 if baseline is None else baseline, x, "baseline")
        ranks = torch.as_tensor(_unit_ranks(attribution), device=x.device)
        n_units = ranks.shape[1]
        unit_shape = x.shape[2:] if task.kind == "image" else x.shape[1:]
        fractions = np.linspace(0.0, 1.0, n_steps + 1)
        counts = torch.as_tensor(np.round(fractions * n_units).astype(np.int64), device=x.device)
        curves = {
            "deletion": np.zeros((task.n, n_steps + 1)),
            "insertion": np.zeros((task.n, n_steps + 1)),
        }
        pairs = task.n * (n_steps + 1)
        with task.bar(2 * pairs) as bar:
            for curve in curves:
                for part in task.passes(pairs):
                    pair = torch.arange(part.start, part.stop, device=x.device)
                    example, step = pair // (n_steps + 1), pair % (n_steps + 1)
                    top = (ranks[example] < counts[step][:, None]).reshape(-1, *unit_shape)
                    if task.kind == "image":
                        top = top[:, None]
                    fill = rows_of(base, example).expand_as(x[example])
                    if curve == "deletion":
                        rows = torch.where(top, fill, x[example])
                    else:
                        rows = torch.where(top, x[example], fill)
                    out = task.predict(rows, task.rows[example])
                    if output == "probability":
                        out = out.softmax(dim=1)
                    value = selected(out, task.resolved_target[example]).double().cpu().numpy()
                    curves[curve][example.cpu().numpy(), step.cpu().numpy()] = value
                    bar.update(len(pair))
    # numpy < 2 has only trapz (the installed numpy 2 stubs lack it)
    trapezoid = getattr(np, "trapezoid", None) or np.trapz  # pyright: ignore[reportAttributeAccessIssue]
    return Faithfulness(
        method=attribution.method,
        fractions=fractions,
        deletion=curves["deletion"],
        insertion=curves["insertion"],
        deletion_area=trapezoid(curves["deletion"], fractions, axis=1),
        insertion_area=trapezoid(curves["insertion"], fractions, axis=1),
        output=output,
    )


def infidelity(
    model: Any,
    attribution: Attribution,
    *,
    n_samples: int = 10,
    stdev: float = 0.1,
    normalize: bool = False,
    seed: int | None = None,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> np.ndarray:
    """Per example, E[(I . phi - (f(x) - f(x - I)))^2] with I ~ N(0, stdev^2) (raw outputs).

    ``normalize=True`` first rescales the map by the best factor beta (as Captum's option), which
    makes the score insensitive to the map's scale.
    """
    attribution = _check_attribution(attribution)
    n_samples = check_positive_int(n_samples, "n_samples")
    stdev = check_number(stdev, "stdev", low=0, closed="neither")
    gen = generator(resolve_seed(seed))
    with predict_task(
        model,
        attribution.inputs,
        method="infidelity",
        target=attribution.target,
        batch_size=batch_size,
        progress=progress,
        policy="sampling",
    ) as task:
        x = task.x
        phi = torch.as_tensor(attribution.values, dtype=x.dtype, device=x.device)
        try:
            torch.broadcast_shapes(phi.shape, x.shape)
        except RuntimeError as err:
            raise UnsupportedModelError(
                "attribution",
                f"values broadcastable to the inputs {list(x.shape)}",
                f"values of shape {list(phi.shape)}",
            ) from err
        dots = torch.zeros((task.n, n_samples), dtype=torch.float64)
        drops = torch.zeros_like(dots)
        pairs = task.n * n_samples
        with task.bar(pairs) as bar:
            for part in task.passes(pairs):
                pair = torch.arange(part.start, part.stop)
                example, sample = pair // n_samples, pair % n_samples
                noise = stdev * torch.randn((len(pair), *x.shape[1:]), generator=gen, dtype=torch.float64)
                noise = noise.to(device=x.device, dtype=x.dtype)
                ex = example.to(x.device)
                dots[example, sample] = (noise * phi[ex]).flatten(1).sum(1).double().cpu()
                after = task.scores(x[ex] - noise, task.rows[ex]).double().cpu()
                drops[example, sample] = task.score[ex].double().cpu() - after
                bar.update(len(pair))
    if normalize:
        denominator = (dots**2).mean(dim=1, keepdim=True)
        beta = (dots * drops).mean(dim=1, keepdim=True) / torch.where(denominator > 0, denominator, 1.0)
        dots = beta * dots
    return ((dots - drops) ** 2).mean(dim=1).numpy()


def max_sensitivity(
    method: str | Callable[..., Any],
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    radius: float = 0.02,
    n_samples: int = 10,
    seed: int | None = None,
    method_options: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """Per example, max over perturbations d ~ U[-radius, radius] of |phi(x + d) - phi(x)| /
    |phi(x)| (Frobenius norms), with the target fixed to the unperturbed one's.

    ``method``: a registered name or a function returning an Attribution. ``method_options``:
    what the method is called with besides model, inputs and target; kept apart from this
    function's own arguments, so ``method_options={"n_samples": 16}`` reaches SmoothGrad while
    ``n_samples`` counts the perturbations.

    >>> import torch, deepscope as ds
    >>> net = torch.nn.Linear(4, 2)
    >>> scores = max_sensitivity("smoothgrad", net, torch.rand(3, 4), n_samples=2,
    ...                          method_options={"n_samples": 4})
    >>> scores.shape
    (3,)
    """
    from deepscope.explain.registry import get_method, targeted

    function = get_method(method) if isinstance(method, str) else method
    if not callable(function):
        raise InvalidArgumentError("method", "a method name or a callable", method)
    method_options = check_method_options(method_options)
    radius = check_number(radius, "radius", low=0, closed="neither")
    n_samples = check_positive_int(n_samples, "n_samples")
    rng = np.random.default_rng(resolve_seed(seed))
    first = function(model, inputs, **targeted(function, target), **method_options)
    original = _check_attribution(first, "method").values.reshape(len(first), -1).astype(np.float64)
    norm = np.linalg.norm(original, axis=1)
    x = first.inputs
    if x is None:
        raise UnsupportedModelError("inputs", "numeric inputs (max_sensitivity perturbs them)", "texts")
    worst = np.zeros(len(first))
    for _ in range(n_samples):
        moved = x + rng.uniform(-radius, radius, size=x.shape).astype(x.dtype)
        again = function(model, moved, **targeted(function, first.target), **method_options)
        change = np.linalg.norm(again.values.reshape(len(first), -1) - original, axis=1)
        worst = np.maximum(worst, np.where(norm > 0, change / np.where(norm > 0, norm, 1.0), change))
    return worst
