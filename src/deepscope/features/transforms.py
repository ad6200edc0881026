"""Random image transforms for robust feature visualization, in pure torch (no torchvision).

Each transform is a callable ``(images [B, C, H, W], generator) -> images``; ``compose`` chains
them. ``standard(size)`` is Lucent's default set (pad 12, jitter 8, scale 0.9-1.1, rotate +-10
degrees, jitter 4), its pixel amounts scaled to the image size (Lucent's numbers hold at 128 px).

>>> import torch
>>> out = jitter(2)(torch.zeros(1, 3, 16, 16), torch.Generator().manual_seed(0))
>>> tuple(out.shape)
(1, 3, 15, 15)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.validation import check_int

__all__ = [
    "Transform",
    "pad",
    "jitter",
    "random_scale",
    "random_rotate",
    "compose",
    "standard",
    "resolve",
]

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def _pick(options: Sequence[float], generator: torch.Generator) -> float:
    return float(options[int(torch.randint(len(options), (1,), generator=generator))])


def pad(width: int, *, mode: str = "constant", value: float = 0.5) -> Transform:
    """Pad every side by ``width`` pixels (``mode`` "constant" with ``value``, or "reflect")."""
    width = check_int(width, "width", low=0, hint="a number of pixels")

    def apply(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if width == 0:
            return images
        if mode == "constant":
            return F.pad(images, (width,) * 4, mode="constant", value=value)
        return F.pad(images, (width,) * 4, mode=mode)

    return apply


def jitter(d: int) -> Transform:
    """Crop at a random offset of up to ``d - 1`` pixels (the image shrinks by ``d - 1``)."""
    d = check_int(d, "d", low=1, hint="a number of pixels")

    def apply(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if d == 1:
            return images
        dx, dy = (int(v) for v in torch.randint(d, (2,), generator=generator))
        h, w = images.shape[-2:]
        return images[..., dy : h - (d - 1) + dy, dx : w - (d - 1) + dx]

    return apply


def random_scale(scales: Sequence[float]) -> Transform:
    """Resize by a factor picked from ``scales`` (bilinear)."""
    if not scales or any(s <= 0 for s in scales):
        raise InvalidArgumentError("scales", "a non-empty list of positive factors", scales)

    def apply(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        s = _pick(scales, generator)
        h, w = images.shape[-2:]
        size = (max(1, round(h * s)), max(1, round(w * s)))
        return F.interpolate(images, size=size, mode="bilinear", align_corners=False)

    return apply


def random_rotate(angles: Sequence[float]) -> Transform:
    """Rotate about the centre by an angle (degrees) picked from ``angles`` (bilinear, zero fill
    outside replaced by the image's edge)."""
    if not angles:
        raise InvalidArgumentError("angles", "a non-empty list of angles in degrees", angles)

    def apply(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        theta = math.radians(_pick(angles, generator))
        if theta == 0:
            return images
        c, s = math.cos(theta), math.sin(theta)
        matrix = torch.tensor([[c, -s, 0.0], [s, c, 0.0]], dtype=images.dtype, device=images.device)
        grid = F.affine_grid(matrix.expand(images.shape[0], 2, 3), list(images.shape), align_corners=False)
        return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)

    return apply


def compose(transforms: Sequence[Transform]) -> Transform:
    """Apply ``transforms`` in order."""

    def apply(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for transform in transforms:
            images = transform(images, generator)
        return images

    return apply


def standard(size: int = 128) -> list[Transform]:
    """Lucent's default transforms, pixel amounts scaled from 128 px to ``size``."""
    k = size / 128
    return [
        pad(max(1, round(12 * k)), mode="constant", value=0.5),
        jitter(max(2, round(8 * k))),
        random_scale([1 + (i - 5) / 50.0 for i in range(11)]),
        random_rotate(list(range(-10, 11)) + 5 * [0]),
        jitter(max(2, round(4 * k))),
    ]


def resolve(transforms: str | Sequence[Transform] | None, size: int) -> Transform:
    """``"standard"``, ``"none"``/None, or a list of transforms -> one transform."""
    if transforms is None or transforms == "none":
        return compose([])
    if transforms == "standard":
        return compose(standard(size))
    if isinstance(transforms, str):
        raise InvalidArgumentError("transforms", "'standard', 'none' or a list of transforms", transforms)
    items = list(transforms)
    for item in items:
        if not callable(item):
            raise ArgumentTypeError("transforms", "callables (images, generator) -> images", item)
    return compose(items)
