"""Images for the page: an array from the run store as a PNG data URL, and the size to show it at.

>>> import numpy as np
>>> image_src(np.zeros((2, 2), dtype=np.uint8)).startswith("data:image/png;base64,")
True
>>> display_size((28, 28))
(252, 252, 9)
"""

from __future__ import annotations

import numpy as np

from deepscope import png
from deepscope.errors import ShapeError

__all__ = ["image_src", "display_size"]

MIN_SIDE = 240  # small images are scaled up by a whole factor until their short side reaches this
MAX_SIDE = 720


def image_src(image: np.ndarray) -> str:
    """A ``data:image/png`` URL of a uint8 image (HxW, HxWx1, HxWx3 or HxWx4), lossless."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ShapeError("image", "HxW, HxWx1, HxWx3 or HxWx4", array)
    if array.dtype != np.uint8:
        array = np.clip(np.nan_to_num(array.astype(np.float64)), 0, 255).astype(np.uint8)
    return png.data_uri(array)


def display_size(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """``(width, height, factor)`` in CSS pixels: a whole-number scale, so pixels stay square
    and sharp, that brings the short side to at least ``MIN_SIDE`` without the long side passing
    ``MAX_SIDE``; large images are shown at their own size (factor 1) or scaled down to fit."""
    height, width = int(shape[0]), int(shape[1])
    if height <= 0 or width <= 0:
        return 0, 0, 1
    factor = max(
        1, min(MIN_SIDE // min(height, width) + (MIN_SIDE % min(height, width) > 0), MAX_SIDE // max(height, width))
    )
    if max(height, width) * factor > MAX_SIDE:
        ratio = MAX_SIDE / max(height, width)
        return round(width * ratio), round(height * ratio), 1
    return width * factor, height * factor, factor
