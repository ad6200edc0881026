"""Thumbnails of embedded points kept as one sprite sheet PNG, the layout TensorBoard's projector uses.

Thumbnails fill a square grid row by row (``ceil(sqrt(N))`` columns), each cell ``h x w`` pixels,
the unused cells of the last row black.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from deepscope.errors import MissingDependencyError, ShapeError
from deepscope.track import _values


def thumbnails(images: Any, rows: int, argument: str = "images") -> np.ndarray:
    """``images`` [N, H, W, C] or [N, C, H, W] (C = 1, 3, 4) or [N, H, W] as uint8 [N, H, W, C]."""
    array = _values.to_numpy(images, argument)
    if array.ndim == 4 and array.shape[-1] not in (1, 3, 4) and array.shape[1] in (1, 3, 4):
        array = np.moveaxis(array, 1, -1)
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or len(array) != rows or array.shape[-1] not in (1, 3, 4):
        raise ShapeError(argument, f"{rows} images, one per vector: [N, H, W, C] or [N, C, H, W]", images)
    # one image made of all thumbnails side by side: the same pixel checks as log_image
    flat = _values.image(array.reshape(rows * array.shape[1], array.shape[2], -1), argument)
    return flat.reshape(array.shape)


def grid_columns(count: int) -> int:
    return max(1, math.ceil(math.sqrt(count)))


def sprite(thumbs: np.ndarray) -> np.ndarray:
    """Tile [N, h, w, C] thumbnails into one image [rows * h, columns * w, C]."""
    count, height, width, channels = thumbs.shape
    columns = grid_columns(count)
    rows = math.ceil(count / columns)
    padded = np.zeros((rows * columns, height, width, channels), dtype=np.uint8)
    padded[:count] = thumbs
    return (
        padded.reshape(rows, columns, height, width, channels)
        .transpose(0, 2, 1, 3, 4)
        .reshape(rows * height, columns * width, channels)
    )


def split(sheet: np.ndarray, count: int, height: int, width: int) -> np.ndarray:
    """The first ``count`` thumbnails [count, h, w, C] of a sprite sheet (inverse of :func:`sprite`)."""
    if sheet.ndim == 2:
        sheet = sheet[..., None]
    columns = sheet.shape[1] // width
    rows = sheet.shape[0] // height
    if columns * rows < count:
        raise ShapeError("sprite", f"room for {count} thumbnails of {height}x{width}", f"shape {sheet.shape}")
    cells = (
        sheet[: rows * height, : columns * width]
        .reshape(rows, height, columns, width, sheet.shape[2])
        .transpose(0, 2, 1, 3, 4)
        .reshape(rows * columns, height, width, sheet.shape[2])
    )
    return np.ascontiguousarray(cells[:count])


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError as exc:
        raise MissingDependencyError("Pillow", "all", "embedding thumbnails") from exc
    return Image


def write_sprite(thumbs: np.ndarray, file: Any) -> None:
    sheet = sprite(thumbs)
    image = _pil().fromarray(sheet[..., 0] if sheet.shape[2] == 1 else sheet)
    image.save(file, format="PNG")


def read_sprite(path: Any) -> np.ndarray:
    with _pil().open(path) as image:
        if image.mode not in ("L", "RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.mode else "RGB")
        return np.asarray(image)
