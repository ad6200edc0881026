"""The dataset containers every embedded dataset returns: images, tables and texts.

Each container is a frozen dataclass of plain data (numpy arrays, DataFrames, lists) with
``split(fraction, seed)`` into two containers of the same type and ``to_frame()``.

>>> import numpy as np
>>> data = ImageDataset(np.zeros((4, 1, 2, 2), np.float32), np.array([0, 1, 0, 1]), None, ["a", "b"])
>>> train, test = data.split(0.5, seed=0)
>>> len(train), len(test)
(2, 2)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import InvalidArgumentError
from deepscope.validation import check_int, check_number

__all__ = ["ImageDataset", "TabularDataset", "TextDataset"]


def check_count(name: str, value: Any, *, maximum: int | None = None) -> int:
    """Return ``value`` as an int after checking it is a positive integer (at most ``maximum``)."""
    return check_int(value, name, low=1, high=maximum)


def check_seed(seed: Any) -> int:
    return check_int(seed, "seed", low=0)


def check_fraction(name: str, value: Any) -> float:
    return check_number(value, name, low=0.0, high=1.0, closed="neither")


def split_indices(labels: np.ndarray | None, n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled (first, second) index arrays; stratified by ``labels`` when given.

    The first part gets ``round(fraction * n)`` items, shared out over the classes in proportion
    to their sizes (largest remainders first), so class balance carries over to both parts.
    """
    fraction = check_fraction("fraction", fraction)
    seed = check_seed(seed)
    if n < 2:
        raise InvalidArgumentError("fraction", "a dataset of at least two items to split", f"{n} item(s)")
    rng = np.random.default_rng(seed)
    groups = [np.arange(n)] if labels is None else [np.flatnonzero(labels == c) for c in np.unique(labels)]
    quotas = np.array([fraction * len(members) for members in groups])
    takes = np.floor(quotas).astype(int)
    short = int(round(fraction * n)) - int(takes.sum())
    takes[np.argsort(-(quotas - takes), kind="stable")[:short]] += 1
    first, second = [], []
    for members, k in zip(groups, takes, strict=True):
        members = rng.permutation(members)
        first.append(members[:k])
        second.append(members[k:])
    first_idx, second_idx = np.concatenate(first), np.concatenate(second)
    if len(first_idx) == 0 or len(second_idx) == 0:
        raise InvalidArgumentError("fraction", f"a fraction leaving items on both sides of {n}", fraction)
    return rng.permutation(first_idx), rng.permutation(second_idx)


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """Images with integer labels and, where known, a ground-truth mask of the labelled object.

    Attributes:
        images: float32 ``[N, C, H, W]`` in ``[0, 1]``.
        labels: int64 ``[N]`` indices into ``class_names``.
        masks: bool ``[N, H, W]`` (True on the object's pixels) or None.
        class_names: one name per class.
        attributes: per-image facts (one row per image, e.g. object size and position) or None.
    """

    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray | None
    class_names: list[str]
    attributes: pd.DataFrame | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: np.ndarray) -> ImageDataset:
        """The images at ``indices``, in that order."""
        indices = np.asarray(indices)
        return replace(
            self,
            images=self.images[indices],
            labels=self.labels[indices],
            masks=None if self.masks is None else self.masks[indices],
            attributes=None if self.attributes is None else self.attributes.iloc[indices].reset_index(drop=True),
        )

    def split(self, fraction: float = 0.8, seed: int = 0) -> tuple[ImageDataset, ImageDataset]:
        """(train, test): a stratified random split with ``fraction`` of each class in train."""
        first, second = split_indices(self.labels, len(self), fraction, seed)
        return self.subset(first), self.subset(second)

    def to_frame(self) -> pd.DataFrame:
        """One row per image: ``label``, ``class_name`` and the per-image attributes."""
        frame = pd.DataFrame(
            {
                "label": self.labels,
                "class_name": np.asarray(self.class_names, dtype=object)[self.labels],
            }
        )
        if self.attributes is not None:
            frame = pd.concat([frame, self.attributes.reset_index(drop=True)], axis=1)
        return frame


@dataclass(frozen=True, eq=False)
class TabularDataset:
    """A table already split into a training part and a later "serving" part.

    Attributes:
        train: the rows a model is fitted on (features, sensitive attribute and label).
        serving: rows seen later in production (same columns; may drift and hold missing values).
        features: the columns a model takes as input.
        categorical: the subset of ``features`` holding categories (strings).
        label: the name of the 0/1 target column.
        sensitive: the name of the sensitive-attribute column.
        class_names: names of label 0 and label 1.
    """

    train: pd.DataFrame
    serving: pd.DataFrame
    features: list[str]
    categorical: list[str]
    label: str = "approved"
    sensitive: str = "group"
    class_names: tuple[str, ...] = ("denied", "approved")

    def __len__(self) -> int:
        return len(self.train)

    @property
    def numeric(self) -> list[str]:
        """The features that are not categorical."""
        return [f for f in self.features if f not in self.categorical]

    def split(self, fraction: float = 0.8, seed: int = 0) -> tuple[TabularDataset, TabularDataset]:
        """(train, test) splitting ``train`` by ``fraction`` (stratified by label); both keep ``serving``."""
        first, second = split_indices(self.train[self.label].to_numpy(), len(self.train), fraction, seed)
        pick = lambda idx: self.train.iloc[idx].reset_index(drop=True)  # noqa: E731
        return replace(self, train=pick(first)), replace(self, train=pick(second))

    def to_frame(self) -> pd.DataFrame:
        """Train and serving rows stacked, with a ``split`` column saying which part each came from."""
        return pd.concat(
            [self.train.assign(split="train"), self.serving.assign(split="serving")],
            ignore_index=True,
        )


@dataclass(frozen=True, eq=False)
class TextDataset:
    """Short texts with integer labels and a frame describing each text.

    Attributes:
        texts: the sentences.
        labels: int64 ``[N]`` indices into ``class_names``.
        frame: one row per text with at least ``text`` and ``label`` columns.
        class_names: one name per class.
    """

    texts: list[str]
    labels: np.ndarray
    frame: pd.DataFrame
    class_names: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: np.ndarray) -> TextDataset:
        """The texts at ``indices``, in that order."""
        indices = np.asarray(indices, dtype=np.int64)
        return replace(
            self,
            texts=[self.texts[i] for i in indices],
            labels=self.labels[indices],
            frame=self.frame.iloc[indices].reset_index(drop=True),
        )

    def split(self, fraction: float = 0.8, seed: int = 0) -> tuple[TextDataset, TextDataset]:
        """(train, test): a stratified random split with ``fraction`` of each class in train."""
        first, second = split_indices(self.labels, len(self), fraction, seed)
        return self.subset(first), self.subset(second)

    def to_frame(self) -> pd.DataFrame:
        """A copy of ``frame``."""
        return self.frame.copy()
