"""Activation atlases (Carter et al. 2019): a layer's activations over a dataset laid out in 2-D,
averaged per grid cell, each cell's mean activation visualized and labelled by the class its
direction favours.

>>> import deepscope as ds
>>> shapes = ds.datasets.shapes(n=200)
>>> result = ds.features.atlas(ds.zoo.get("shapes_cnn"), shapes, "relu3", grid=6,
...                            method="pca", steps=8, progress=False)  # doctest: +SKIP
>>> int(result.counts.sum() + result.dropped)  # doctest: +SKIP
2000
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import torch

from deepscope.embed import project
from deepscope.errors import InvalidArgumentError, NotFoundError
from deepscope.features import objectives as _objectives
from deepscope.features import param as _param
from deepscope.features import transforms as _transforms
from deepscope.features._common import (
    as_images,
    check_layer,
    image_model,
    in_channels,
    torch_module,
)
from deepscope.features.visualize import optimize
from deepscope.model import Model
from deepscope.model.hooks import first_tensor, this_thread_only
from deepscope.result import Result
from deepscope.validation import check_int

__all__ = ["atlas", "Atlas", "AtlasCell"]

METHODS = ("umap", "pca")


@dataclass(frozen=True)
class AtlasCell:
    """One cell of an atlas: its grid position, how many points fell in it, its label and image."""

    x: int
    y: int
    count: int
    label: int
    label_name: str
    image: np.ndarray


@dataclass(frozen=True)
class Atlas(Result):
    """An activation atlas of ``layer``.

    points: ``[n, 2]`` layout in [0, 1]; point_cell: each point's cell index into the cell arrays
    (-1 when its grid square had fewer than ``min_count`` points); point_labels: the class of the
    image each point came from. Per kept cell: cell_x/cell_y (grid column/row), counts, labels
    (class its mean activation favours), images ``[M, C, h, w]``; dropped: points in squares
    below ``min_count``.
    """

    layer: str
    grid: int
    method: str
    points: np.ndarray
    point_cell: np.ndarray
    point_labels: np.ndarray
    cell_x: np.ndarray
    cell_y: np.ndarray
    counts: np.ndarray
    labels: np.ndarray
    images: np.ndarray
    dropped: int
    class_names: list[str]

    default_tag = "features/atlas"
    figure_function = "deepscope.viz.atlas:atlas_figure"

    @property
    def cells(self) -> list[AtlasCell]:
        return [
            AtlasCell(
                int(self.cell_x[i]),
                int(self.cell_y[i]),
                int(self.counts[i]),
                int(self.labels[i]),
                self._name(int(self.labels[i])),
                self.images[i],
            )
            for i in range(len(self.counts))
        ]

    def _name(self, label: int) -> str:
        return self.class_names[label] if 0 <= label < len(self.class_names) else str(label)

    def filter(self, label: int | str) -> Atlas:
        """A class atlas: only the cells whose direction favours ``label`` (index or name)."""
        if isinstance(label, str):
            if label not in self.class_names:
                raise NotFoundError("class", label, self.class_names)
            label = self.class_names.index(label)
        keep = np.flatnonzero(self.labels == int(label))
        remap = np.full(len(self.counts) + 1, -1)
        remap[keep] = np.arange(len(keep))
        return replace(
            self,
            point_cell=remap[self.point_cell],
            cell_x=self.cell_x[keep],
            cell_y=self.cell_y[keep],
            counts=self.counts[keep],
            labels=self.labels[keep],
            images=self.images[keep],
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per cell: x, y, count, label."""
        return pd.DataFrame(
            {
                "x": self.cell_x,
                "y": self.cell_y,
                "count": self.counts,
                "label": self.labels,
                "label_name": [self._name(int(v)) for v in self.labels],
            }
        )


def _layout(vectors: np.ndarray, method: str, seed: int) -> np.ndarray:
    """2-D positions in [0, 1] of ``vectors``, by the embedding projector's projection code."""
    options = {"n_neighbors": min(15, len(vectors) - 1), "metric": "cosine"} if method == "umap" else {}
    xy = project(vectors, method, dims=2, seed=seed, **options).coords
    # the 1st-99th percentiles span the grid (outliers sit on its border, still counted), so a
    # few far points do not squeeze the rest into a handful of cells
    low, high = np.percentile(xy, 1, axis=0), np.percentile(xy, 99, axis=0)
    span = np.where(high > low, high - low, 1.0)
    return np.clip((xy - low) / span, 0.0, 1.0)


def _class_gradients(model: Model, layer: str, images: np.ndarray, n_classes: int) -> np.ndarray:
    """Mean gradient of each class logit w.r.t. the layer's channels ``[classes, C]``: a linear
    read-out of which class a direction at the layer favours (Lucid's class attribution)."""
    x = torch.from_numpy(images).to(model.device)
    seen: list[torch.Tensor] = []
    module = dict(torch_module(model).named_modules())[layer]

    def keep(_module: torch.nn.Module, _args: Any, out: Any) -> None:
        tensor = first_tensor(out)
        if tensor is not None:
            seen.append(tensor)

    handle = module.register_forward_hook(this_thread_only(keep))
    rows = []
    with model.eval_mode():
        try:
            logits = model.forward(x)
        finally:
            handle.remove()
        act = seen[-1]
        for k in range(n_classes):
            (grad,) = torch.autograd.grad(logits[:, k].sum(), act, retain_graph=True)
            rows.append(grad.transpose(0, 1).reshape(grad.shape[1], -1).mean(1))
    return torch.stack(rows).detach().cpu().numpy().astype(np.float64)


def atlas(
    model: Any,
    dataset: Any,
    layer: str,
    *,
    n: int = 2000,
    grid: int = 20,
    method: str = "umap",
    min_count: int = 3,
    seed: int = 0,
    progress: bool = True,
    size: int = 32,
    steps: int = 128,
    lr: float = 0.05,
    classes: list[int] | None = None,
    batch_size: int = 256,
) -> Atlas:
    """An activation atlas of ``layer`` over ``dataset`` (an ``ImageDataset`` or images).

    ``n`` activation vectors are sampled at random (image, position) pairs, laid out with
    ``method`` ("umap" or "pca"), binned on a ``grid`` x ``grid`` grid; squares with at least
    ``min_count`` points are averaged and visualized (``size`` px, ``steps`` steps, batched) with
    the ``direction`` objective. ``classes``: keep only points from images of these classes.
    """
    wrapped = image_model(model, "atlas")
    layer = check_layer(wrapped, layer)
    n, grid = check_int(n, "n", low=2), check_int(grid, "grid", low=1)
    min_count, seed = check_int(min_count, "min_count", low=1), check_int(seed, "seed", low=0)
    if method not in METHODS:
        raise InvalidArgumentError("method", f"one of {list(METHODS)}", method)
    channels = in_channels(wrapped)
    images = as_images(dataset, "dataset", channels)
    labels = getattr(dataset, "labels", None)
    labels = np.asarray(labels, dtype=np.int64) if labels is not None else np.full(len(images), -1)
    if classes is not None:
        keep = np.isin(labels, np.asarray(classes))
        if not keep.any():
            raise InvalidArgumentError("classes", "classes present in the dataset's labels", classes)
        images, labels = images[keep], labels[keep]
    rng = np.random.default_rng(seed)

    acts = []
    with wrapped.eval_mode(), torch.no_grad():
        for start in range(0, len(images), batch_size):
            with wrapped.capture([layer]) as cap:
                wrapped.forward(torch.from_numpy(images[start : start + batch_size]).to(wrapped.device))
            acts.append(cap.calls[layer][-1].float().cpu().numpy())
    act = np.concatenate(acts)
    if act.ndim == 4:
        per_image = act.shape[2] * act.shape[3]
        vectors_all = act.transpose(0, 2, 3, 1).reshape(-1, act.shape[1])
    elif act.ndim == 2:
        per_image, vectors_all = 1, act
    else:
        raise InvalidArgumentError("layer", "a layer with [N, C] or [N, C, H, W] outputs", layer)
    n = min(n, len(vectors_all))
    chosen = np.sort(rng.choice(len(vectors_all), size=n, replace=False))
    vectors = vectors_all[chosen].astype(np.float64)
    point_labels = labels[chosen // per_image]

    points = _layout(vectors, method, seed)
    square = np.minimum((points * grid).astype(np.int64), grid - 1)
    flat = square[:, 1] * grid + square[:, 0]
    counts_all = np.bincount(flat, minlength=grid * grid)
    kept = np.flatnonzero(counts_all >= min_count)
    cell_of_square = np.full(grid * grid, -1)
    cell_of_square[kept] = np.arange(len(kept))
    point_cell = cell_of_square[flat]
    means = np.stack([vectors[flat == s].mean(0) for s in kept]) if len(kept) else np.zeros((0, 1))

    names = [str(c) for c in getattr(dataset, "class_names", None) or (wrapped.labels or [])]
    n_classes = wrapped.num_outputs
    names = names if len(names) == n_classes else [str(i) for i in range(n_classes)]
    sample = images[rng.choice(len(images), size=min(256, len(images)), replace=False)]
    readout = _class_gradients(wrapped, layer, sample, n_classes)
    cell_labels = (means @ readout.T).argmax(1).astype(np.int64) if len(kept) else np.zeros(0, int)

    cell_images = _cell_images(wrapped, layer, means, channels, size, steps, lr, seed, progress, images)
    return Atlas(
        layer=layer,
        grid=grid,
        method=method,
        points=points.astype(np.float32),
        point_cell=point_cell.astype(np.int64),
        point_labels=point_labels,
        cell_x=(kept % grid).astype(np.int64),
        cell_y=(kept // grid).astype(np.int64),
        counts=counts_all[kept].astype(np.int64),
        labels=cell_labels,
        images=cell_images,
        dropped=int(counts_all[counts_all < min_count].sum()),
        class_names=names,
    )


def _cell_images(
    model: Model,
    layer: str,
    means: np.ndarray,
    channels: int,
    size: int,
    steps: int,
    lr: float,
    seed: int,
    progress: bool,
    data: np.ndarray,
) -> np.ndarray:
    if len(means) == 0:
        return np.zeros((0, channels, size, size), dtype=np.float32)
    # a cell of all-zero activations has no direction: any small vector stands in for it
    safe = np.where(np.linalg.norm(means, axis=1, keepdims=True) > 0, means, 1e-6)
    objective = _objectives.direction(layer, safe)
    generator = torch.Generator().manual_seed(seed)
    image = _param.make_param(
        "fft",
        len(means),
        channels,
        size,
        size,
        generator=generator,
        decorrelated=True,
        matrix=_param.colour_matrix(data[:512], channels),
        squash="sigmoid",
        device=model.device,
    )
    transform = _transforms.resolve("standard", size)
    final, _, _ = optimize(
        model,
        objective,
        image,
        transform,
        steps=steps,
        lr=lr,
        generator=generator,
        progress=progress,
        label="atlas cells",
    )
    return final.float().cpu().numpy().astype(np.float32)
