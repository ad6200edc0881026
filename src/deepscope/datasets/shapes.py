"""Synthetic images of coloured shapes on noisy backgrounds, each with its ground-truth mask.

The mask says exactly which pixels belong to the shape, so an attribution can be scored for
whether it points at the object.

>>> from deepscope.datasets import shapes
>>> data = shapes(n=10, seed=0)
>>> data.images.shape, data.masks.shape
((10, 3, 32, 32), (10, 32, 32))
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from deepscope.datasets.containers import ImageDataset, check_count, check_seed
from deepscope.validation import check_int

__all__ = ["shapes", "SHAPE_NAMES"]

SHAPE_NAMES = ["circle", "square", "triangle", "cross", "ring", "diamond"]

_NOISE = 0.06  # std of the per-pixel Gaussian noise over the whole image
_MIN_CONTRAST = 0.6  # least Euclidean RGB distance between shape and background colours


_RULES = {
    "circle": lambda dx, dy, r: dx**2 + dy**2 <= r**2,
    "square": lambda dx, dy, r: np.maximum(np.abs(dx), np.abs(dy)) <= 0.8 * r,
    # apex at the top (dy = -r), widening down to the base at dy = 0.7 r
    "triangle": lambda dx, dy, r: (dy >= -r) & (dy <= 0.7 * r) & (np.abs(dx) <= 0.6 * (dy + r)),
    "cross": lambda dx, dy, r: (
        ((np.abs(dx) <= 0.3 * r) & (np.abs(dy) <= r)) | ((np.abs(dy) <= 0.3 * r) & (np.abs(dx) <= r))
    ),
    "ring": lambda dx, dy, r: (dx**2 + dy**2 <= r**2) & (dx**2 + dy**2 >= (0.55 * r) ** 2),
    "diamond": lambda dx, dy, r: np.abs(dx) + np.abs(dy) <= r,
}


def _shape_masks(label: np.ndarray, dx: np.ndarray, dy: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Masks ``[N, H, W]`` of shapes at offsets dx ``[N, 1, W]``, dy ``[N, H, 1]``, radius ``[N, 1, 1]``."""
    masks = np.zeros((len(label), dy.shape[1], dx.shape[2]), dtype=bool)
    for index, name in enumerate(SHAPE_NAMES):
        chosen = label == index
        masks[chosen] = _RULES[name](dx[chosen], dy[chosen], r[chosen])
    return masks


def _contrasting_colours(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Background and foreground RGB colours ``[N, 3]`` at least ``_MIN_CONTRAST`` apart."""
    background = rng.uniform(0.0, 1.0, (n, 3))
    foreground = rng.uniform(0.0, 1.0, (n, 3))
    for _ in range(100):
        close = np.linalg.norm(foreground - background, axis=1) < _MIN_CONTRAST
        if not close.any():
            break
        foreground[close] = rng.uniform(0.0, 1.0, (int(close.sum()), 3))
    # the rare leftovers (practically never) get the complementary colour, which is far enough
    close = np.linalg.norm(foreground - background, axis=1) < _MIN_CONTRAST
    foreground[close] = np.where(background[close] > 0.5, 0.0, 1.0)
    return background, foreground


def shapes(n: int = 2000, seed: int = 0, size: int = 32) -> ImageDataset:
    """``n`` RGB images of shapes (circle, square, triangle, cross, ring, diamond), balanced classes.

    Each image has one shape of a random colour, position and radius (between 15% and 34% of the
    image side) on a background of another colour (at least 0.6 apart in RGB) with Gaussian
    noise (std 0.06), clipped to [0, 1]. ``masks[i]`` is True exactly on the shape's pixels.
    ``attributes`` holds ``center_x``, ``center_y``, ``radius``, ``area`` (mask pixels) and
    ``contrast`` (RGB distance of shape and background colour), for slicing errors.

    >>> data = shapes(n=6, seed=1)
    >>> sorted(data.class_names) == sorted(SHAPE_NAMES)
    True
    """
    n = check_count("n", n)
    seed = check_seed(seed)
    size = check_int(size, "size", low=8, hint="an image side in pixels")
    rng = np.random.default_rng(seed)

    labels = rng.permutation(np.arange(n) % len(SHAPE_NAMES)).astype(np.int64)
    radius = rng.uniform(0.15, 0.34, n) * size
    center_x = rng.uniform(radius, size - 1 - radius)
    center_y = rng.uniform(radius, size - 1 - radius)
    background, foreground = _contrasting_colours(rng, n)

    grid = np.arange(size, dtype=np.float32)
    dx = grid[None, None, :] - center_x[:, None, None]
    dy = grid[None, :, None] - center_y[:, None, None]
    masks = _shape_masks(labels, dx, dy, radius[:, None, None].astype(np.float32))

    images = rng.standard_normal((n, 3, size, size), dtype=np.float32) * np.float32(_NOISE)
    images += np.where(masks[:, None], foreground[:, :, None, None], background[:, :, None, None]).astype(np.float32)
    np.clip(images, 0.0, 1.0, out=images)

    attributes = pd.DataFrame(
        {
            "center_x": center_x,
            "center_y": center_y,
            "radius": radius,
            "area": masks.sum(axis=(1, 2)),
            "contrast": np.linalg.norm(foreground - background, axis=1),
        }
    )
    return ImageDataset(images, labels, masks, list(SHAPE_NAMES), attributes)
