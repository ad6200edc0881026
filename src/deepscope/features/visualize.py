"""Feature visualization by optimization (Lucid/Lucent, and MACO): images that excite a unit,
with the dataset examples that excite it most beside them.

>>> import deepscope as ds
>>> from deepscope.features import objectives as obj
>>> result = ds.features.visualize(ds.zoo.get("shapes_cnn"), obj.channel("conv3", 0),
...                                steps=8, progress=False)  # doctest: +SKIP
>>> result.images.shape  # doctest: +SKIP
(1, 3, 64, 64)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.features import param as _param
from deepscope.features import transforms as _transforms
from deepscope.features._common import (
    as_images,
    check_layer,
    forward_check,
    image_box,
    image_model,
    in_channels,
    trace,
)
from deepscope.features.objectives import Objective
from deepscope.model import Capture, Model
from deepscope.progress import tqdm
from deepscope.result import Result
from deepscope.validation import check_int, check_number

__all__ = ["visualize", "FeatureVisualization", "TopExamples", "top_examples", "optimize"]

DEFAULT_SIZE = 64


@dataclass(frozen=True)
class TopExamples:
    """The dataset examples that score highest on an objective, per visualized image.

    indices/values: ``[batch, k]``; images: ``[batch, k, C, H, W]``; boxes: ``[batch, k, 4]``
    (top, left, bottom, right, inclusive) of the patch the unit sees at its most excited position
    (-1 where the objective has no single unit); labels: ``[batch, k]`` (-1 when unknown).
    """

    indices: np.ndarray
    values: np.ndarray
    images: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    class_names: list[str] | None = None

    def patches(self, image: int = 0) -> list[np.ndarray]:
        """The patches (crops ``[C, h, w]``) of image ``image``'s top examples."""
        out = []
        for pic, (t, left, b, r) in zip(self.images[image], self.boxes[image], strict=True):
            out.append(pic if t < 0 else pic[:, t : b + 1, left : r + 1])
        return out


@dataclass(frozen=True)
class FeatureVisualization(Result):
    """Images optimised to excite an objective.

    images: float32 ``[batch, C, H, W]`` in [0, 1]; trace: the objective (summed over the batch)
    per step; scores: each image's final objective; examples: the top dataset examples (or None).
    """

    images: np.ndarray
    trace: np.ndarray
    scores: np.ndarray
    objective: str
    layers: list[str]
    param: str
    decorrelate: bool
    steps: int
    seed: int
    examples: TopExamples | None = None

    default_tag = "features/visualization"
    figure_function = "deepscope.viz.features:visualization_figure"

    def to_frame(self) -> pd.DataFrame:
        """One row per step: the objective."""
        return pd.DataFrame({"step": np.arange(len(self.trace)), "objective": self.trace})


def _objective(objective: Any) -> Objective:
    if not isinstance(objective, Objective):
        raise ArgumentTypeError(
            "objective",
            "an objective from deepscope.features.objectives (e.g. channel(...))",
            objective,
        )
    if not objective.terms:
        raise InvalidArgumentError("objective", "at least one term", objective)
    return objective


def _layer_scores(model: Model, objective: Objective, batch: torch.Tensor, cap: Capture | None = None) -> torch.Tensor:
    """The objective's scores of ``batch``; ``cap``: a capture of the objective's layers already
    in place (an optimisation loop hooks the layers once, not once per step)."""
    if cap is None:
        with model.capture(list(objective.layers)) as cap:
            return _layer_scores(model, objective, batch, cap)
    cap.clear()
    model.forward(batch)
    acts = {name: calls[-1] for name, calls in cap.calls.items() if calls}
    return objective(acts, batch.shape[0])


def optimize(
    model: Model,
    objective: Objective,
    image: _param.ImageParam,
    transform: _transforms.Transform,
    *,
    steps: int,
    lr: float,
    generator: torch.Generator,
    progress: bool,
    label: str = "visualize",
) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Adam on the parametrization's tensors; (final images, trace, final per-image scores)."""
    optimizer = torch.optim.Adam(image.params, lr=lr)
    trace_values = np.zeros(steps, dtype=np.float64)
    with model.eval_mode(), model.capture(list(objective.layers)) as cap:
        for step in tqdm(range(steps), desc=label, disable=not progress, leave=False):
            optimizer.zero_grad()
            scores = _layer_scores(model, objective, transform(image.image(), generator), cap)
            total = scores.sum()
            grads = torch.autograd.grad(-total, image.params)
            for tensor, grad in zip(image.params, grads, strict=True):
                tensor.grad = grad
            optimizer.step()
            trace_values[step] = float(total.detach())
        with torch.no_grad():
            final = image.image().detach()
            scores = _layer_scores(model, objective, final, cap).detach().cpu().numpy()
    return final, trace_values, scores


def visualize(
    model: Any,
    objective: Objective,
    *,
    param: str = "fft",
    decorrelate: bool = True,
    transforms: str | Sequence[_transforms.Transform] | None = "standard",
    size: int | None = None,
    steps: int = 256,
    lr: float = 0.05,
    seed: int = 0,
    batch: int = 1,
    progress: bool = True,
    squash: str = "sigmoid",
    colors: Any = None,
    dataset: Any = None,
    top_k: int = 8,
) -> FeatureVisualization:
    """Optimise ``batch`` images to maximise ``objective``.

    Args:
        param: "fft" (1/f-scaled spectrum, Lucid's default), "pixel", or "maco" (the phase of a
            fixed natural magnitude spectrum, Fel et al. 2023).
        decorrelate: optimise in a decorrelated colour space (``colors``: None for ImageNet's
            matrix or identity, a ``[C, C]`` matrix, or images to estimate it from; defaults to
            ``dataset``'s images when one is given).
        transforms: "standard" (Lucent's pad/jitter/scale/rotate), "none", or a list of
            callables from ``deepscope.features.transforms``.
        size: image side in pixels (``dataset``'s image size, else 64).
        squash: "sigmoid" or "clamp" to map the parametrization to [0, 1].
        dataset: images ``[N, C, H, W]`` or an ``ImageDataset``; its top ``top_k`` examples for
            the objective are kept beside each visualization.
    """
    wrapped = image_model(model, "visualize")
    objective = _objective(objective)
    for name in objective.layers:
        check_layer(wrapped, name)
    steps = check_int(steps, "steps", low=1)
    batch = check_int(batch, "batch", low=1)
    seed = check_int(seed, "seed", low=0)
    lr = check_number(lr, "lr", low=0, closed="neither", hint="a learning rate")
    channels = in_channels(wrapped)
    data = as_images(dataset, "dataset", channels) if dataset is not None else None
    if size is None:
        size = int(data.shape[-1]) if data is not None else DEFAULT_SIZE
    size = check_int(size, "size", low=1)
    forward_check(wrapped, channels, size)
    if decorrelate:
        matrix = _param.colour_matrix(colors if colors is not None else data, channels)
    else:
        matrix = np.eye(channels, dtype=np.float32)
    magnitude = _param.natural_magnitude(size, size, data[:512]) if data is not None else None
    generator = torch.Generator().manual_seed(seed)
    image = _param.make_param(
        param,
        batch,
        channels,
        size,
        size,
        generator=generator,
        decorrelated=bool(decorrelate),
        matrix=matrix,
        squash=squash,
        magnitude=magnitude,
        device=wrapped.device,
    )
    transform = _transforms.resolve(transforms, size)
    # checks every term's layer and index on a real pass before the loop starts
    with torch.no_grad(), wrapped.eval_mode():
        _layer_scores(wrapped, objective, image.image())
    final, trace_values, scores = optimize(
        wrapped,
        objective,
        image,
        transform,
        steps=steps,
        lr=float(lr),
        generator=generator,
        progress=progress,
    )
    examples = None
    if dataset is not None:
        examples = top_examples(wrapped, objective, dataset, batch=batch, k=top_k)
    return FeatureVisualization(
        images=final.float().cpu().numpy().astype(np.float32),
        trace=trace_values,
        scores=scores.astype(np.float64),
        objective=objective.description,
        layers=list(objective.layers),
        param=param,
        decorrelate=bool(decorrelate),
        steps=steps,
        seed=seed,
        examples=examples,
    )


def top_examples(
    model: Any,
    objective: Objective,
    dataset: Any,
    *,
    batch: int = 1,
    k: int = 8,
    batch_size: int = 256,
) -> TopExamples:
    """The ``k`` dataset examples scoring highest on ``objective`` (its terms for each image of a
    batch of ``batch``), with the patch the objective's unit sees at its most excited position."""
    wrapped = image_model(model, "top_examples")
    objective = _objective(objective)
    k = check_int(k, "k", low=1)
    data = as_images(dataset, "dataset", in_channels(wrapped))
    labels = getattr(dataset, "labels", None)
    names = getattr(dataset, "class_names", None)
    per_image = [objective.for_image(b) for b in range(batch)]
    layers = list(dict.fromkeys(name for o in per_image for name in o.layers))
    scores = np.zeros((batch, len(data)))
    maps: dict[tuple[str, int], list[np.ndarray]] = {}
    units = [o.unit(0) for o in per_image]
    with wrapped.eval_mode(), torch.no_grad():
        for start in range(0, len(data), batch_size):
            x = torch.from_numpy(data[start : start + batch_size]).to(wrapped.device)
            with wrapped.capture(layers) as cap:
                wrapped.forward(x)
            acts = {name: calls[-1] for name, calls in cap.calls.items() if calls}
            for b, o in enumerate(per_image):
                if o.terms:
                    scores[b, start : start + len(x)] = o(acts, len(x)).cpu().numpy()
            for unit in filter(None, units):
                maps.setdefault(unit, []).append(acts[unit[0]][:, unit[1]].cpu().numpy())
    k = min(k, len(data))
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    boxes = np.full((batch, k, 4), -1, dtype=np.int64)
    steps = trace(wrapped, torch.from_numpy(data[:1]).to(wrapped.device))
    index = {step.name: i for i, step in enumerate(steps)}
    for b, unit in enumerate(units):
        if unit is None or unit[0] not in index:
            continue
        unit_maps = np.concatenate(maps[unit])
        if unit_maps.ndim != 3:
            continue
        for j, row in enumerate(order[b]):
            r, c = np.unravel_index(int(np.argmax(unit_maps[row])), unit_maps.shape[1:])
            boxes[b, j] = image_box(steps, index[unit[0]], int(r), int(c))
    label_array = (np.asarray(labels)[order] if labels is not None else np.full(order.shape, -1)).astype(np.int64)
    return TopExamples(
        indices=order.astype(np.int64),
        values=np.take_along_axis(scores, order, axis=1),
        images=data[order],
        boxes=boxes,
        labels=label_array,
        class_names=[str(n) for n in names] if names is not None else None,
    )
