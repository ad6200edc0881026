"""How a feature visualization's images are parametrized: pixels, an FFT spectrum with 1/f
scaling, MACO's phase with a fixed magnitude, a decorrelated colour space, and the squash to [0, 1].

Each parametrization is an :class:`ImageParam`: ``params`` (the tensors to optimise) and
``image()`` (the batch ``[B, C, H, W]`` in [0, 1]). The FFT and colour maps are linear and
invertible (``fft_inverse``, ``decorrelate_inverse``), so any image has a parameter that draws it.

>>> import torch
>>> image = torch.rand(1, 3, 8, 8)
>>> bool(torch.allclose(fft_image(fft_inverse(image, 8, 8), 8, 8), image, atol=1e-6))
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from deepscope.errors import InvalidArgumentError, ShapeError

__all__ = [
    "ImageParam",
    "make_param",
    "frequency_scale",
    "fft_image",
    "fft_inverse",
    "colour_matrix",
    "decorrelate",
    "decorrelate_inverse",
    "IMAGENET_COLOUR_SQRT",
    "PARAMS",
]

PARAMS = ("pixel", "fft", "maco")
SQUASHES = ("sigmoid", "clamp")
# Lucid's square root of ImageNet's colour covariance (its ``color_correlation_svd_sqrt``).
IMAGENET_COLOUR_SQRT = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=np.float32)
_FFT_GAIN = 4.0  # Lucid divides the spectrum's image by 4 so the initial image is near grey


@dataclass
class ImageParam:
    """Tensors to optimise and the function drawing the image batch from them."""

    params: list[torch.Tensor]
    image: Callable[[], torch.Tensor]


def frequency_scale(h: int, w: int, decay_power: float = 1.0) -> torch.Tensor:
    """1/f^decay_power per rfft2 frequency ``[h, w // 2 + 1]``, so all frequencies start equal in
    the image (Lucid's ``rfft2d_freqs`` scaling)."""
    fy = torch.fft.fftfreq(h).reshape(-1, 1)
    fx = torch.fft.rfftfreq(w).reshape(1, -1)
    freqs = torch.sqrt(fx * fx + fy * fy)
    return 1.0 / freqs.clamp_min(1.0 / max(h, w)) ** decay_power


def fft_image(spectrum: torch.Tensor, h: int, w: int, decay_power: float = 1.0) -> torch.Tensor:
    """The image of a (complex) spectrum ``[..., h, w // 2 + 1]`` after 1/f scaling."""
    scale = frequency_scale(h, w, decay_power).to(spectrum.device)
    return torch.fft.irfft2(spectrum * scale, s=(h, w), norm="ortho") / _FFT_GAIN


def fft_inverse(image: torch.Tensor, h: int, w: int, decay_power: float = 1.0) -> torch.Tensor:
    """The spectrum ``fft_image`` maps to ``image`` (exact up to float rounding)."""
    scale = frequency_scale(h, w, decay_power).to(image.device)
    return torch.fft.rfft2(image * _FFT_GAIN, s=(h, w), norm="ortho") / scale


def colour_matrix(source: object, channels: int) -> np.ndarray:
    """The colour decorrelation matrix ``[C, C]``: a square root of the colour covariance, with
    columns scaled so the largest has norm 1 (as Lucid does).

    ``source``: None (ImageNet's for 3 channels, identity otherwise), a ``[C, C]`` matrix, or
    images ``[N, C, H, W]`` (or a dataset with ``.images``) to estimate the covariance from.
    """
    if source is None and channels != 3:
        return np.eye(channels, dtype=np.float32)
    images = IMAGENET_COLOUR_SQRT if source is None else getattr(source, "images", source)
    array = np.asarray(images, dtype=np.float64)
    if array.shape == (channels, channels):
        matrix = array
    elif array.ndim == 4 and array.shape[1] == channels:
        pixels = array.transpose(0, 2, 3, 1).reshape(-1, channels)
        cov = np.atleast_2d(np.cov(pixels, rowvar=False))
        values, vectors = np.linalg.eigh(cov)
        matrix = vectors * np.sqrt(np.clip(values, 1e-8, None))
    else:
        raise ShapeError(
            "colors",
            f"a [{channels}, {channels}] matrix or images [N, {channels}, H, W]",
            array.shape,
        )
    norms = np.linalg.norm(matrix, axis=0)
    if not np.isfinite(matrix).all() or norms.max() == 0 or abs(np.linalg.det(matrix)) < 1e-12:
        raise InvalidArgumentError("colors", "an invertible colour matrix", matrix.tolist())
    return (matrix / norms.max()).astype(np.float32)


def decorrelate(image: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Decorrelated colours ``[B, C, H, W]`` -> correlated (natural) colours: ``x = M t``."""
    return torch.einsum("ij,bjhw->bihw", matrix.to(image.device, image.dtype), image)


def decorrelate_inverse(image: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`decorrelate`."""
    inverse = torch.linalg.inv(matrix.double()).to(image.device, image.dtype)
    return torch.einsum("ij,bjhw->bihw", inverse, image)


def _squash(x: torch.Tensor, squash: str) -> torch.Tensor:
    if squash == "sigmoid":
        return torch.sigmoid(x)
    # clamp to [0, 1] forward, identity backward, so pixels at the edge still move
    shifted = x + 0.5
    return shifted + (shifted.clamp(0.0, 1.0) - shifted).detach()


def make_param(
    kind: str,
    batch: int,
    channels: int,
    h: int,
    w: int,
    *,
    generator: torch.Generator,
    decorrelated: bool,
    matrix: np.ndarray,
    squash: str,
    magnitude: torch.Tensor | None = None,
    device: torch.device | str = "cpu",
) -> ImageParam:
    """Build the parametrization ``kind`` ("pixel", "fft" or "maco") of ``batch`` images."""
    if kind not in PARAMS:
        raise InvalidArgumentError("param", f"one of {list(PARAMS)}", kind)
    if squash not in SQUASHES:
        raise InvalidArgumentError("squash", f"one of {list(SQUASHES)}", squash)
    colours = torch.as_tensor(matrix, dtype=torch.float32, device=device)
    freq_w = w // 2 + 1
    if kind == "pixel":
        raw = (torch.randn(batch, channels, h, w, generator=generator) * 0.01).to(device)
        raw.requires_grad_(True)
        params = [raw]

        def linear() -> torch.Tensor:
            return raw
    elif kind == "fft":
        real = (torch.randn(batch, channels, h, freq_w, 2, generator=generator) * 0.01).to(device)
        real.requires_grad_(True)
        params = [real]

        def linear() -> torch.Tensor:
            return fft_image(torch.view_as_complex(real), h, w)
    else:
        mag = natural_magnitude(h, w) if magnitude is None else magnitude
        mag = mag.to(device).expand(batch, channels, h, freq_w)
        phase = torch.rand(batch, channels, h, freq_w, generator=generator) * 2 * torch.pi - torch.pi
        phase = phase.to(device).requires_grad_(True)
        params = [phase]

        def linear() -> torch.Tensor:
            spectrum = torch.polar(mag, phase)
            x = torch.fft.irfft2(spectrum, s=(h, w), norm="ortho")
            x = x - x.mean(dim=(2, 3), keepdim=True)
            return x / x.std(dim=(2, 3), keepdim=True).clamp_min(1e-6)

    def image() -> torch.Tensor:
        x = linear()
        if decorrelated:
            x = decorrelate(x, colours)
        return _squash(x, squash)

    return ImageParam(params, image)


def natural_magnitude(h: int, w: int, images: np.ndarray | None = None) -> torch.Tensor:
    """MACO's fixed magnitude spectrum ``[h, w // 2 + 1]``: the mean magnitude of ``images``'
    spectra (resized by cropping frequencies) when given, else a natural 1/f spectrum."""
    if images is None:
        return frequency_scale(h, w) / frequency_scale(h, w).max()
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    x = torch.nn.functional.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
    x = x - x.mean(dim=(2, 3), keepdim=True)
    magnitude = torch.fft.rfft2(x, norm="ortho").abs().mean(dim=(0, 1))
    return magnitude / magnitude.max().clamp_min(1e-12)
