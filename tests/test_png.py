"""The one PNG codec: lossless round trips, Pillow's filtered PNGs decode, thumbnails, bad input."""

from __future__ import annotations

import base64
import io
import zlib

import numpy as np
import pytest

from deepscope import png
from deepscope.errors import ShapeError

Image = pytest.importorskip("PIL.Image")  # Pillow: an independent encoder and decoder


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 1), (6, 4, 3), (3, 9, 4)])
def test_round_trip_is_lossless_and_pillow_reads_it(shape):
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    data = png.encode(pixels)
    expected = pixels if pixels.ndim == 3 else pixels[..., None]
    np.testing.assert_array_equal(png.decode(data), expected)
    with Image.open(io.BytesIO(data)) as picture:
        np.testing.assert_array_equal(np.asarray(picture).reshape(expected.shape), expected)
    np.testing.assert_array_equal(png.decode_data_uri(png.data_uri(pixels)), expected)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
def test_decodes_pillow_pngs_with_every_row_filter(mode):
    rng = np.random.default_rng(1)
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    # smooth gradients plus noise: Pillow's adaptive filtering picks Sub, Up, Average and Paeth
    ramp = np.add.outer(np.arange(24), np.arange(20))[..., None] * 5 % 256
    pixels = (ramp + rng.integers(0, 12, (24, 20, channels))).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode).save(buffer, "PNG", optimize=True)
    np.testing.assert_array_equal(png.decode(buffer.getvalue()), pixels)


def test_other_pngs_and_garbage_give_none():
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((4, 4), np.uint8)).convert("P").save(buffer, "PNG")  # palette
    assert png.decode(buffer.getvalue()) is None
    assert png.decode(b"not a png") is None
    assert png.decode_data_uri("data:image/png;base64,AAAA") is None
    assert png.decode_data_uri("https://example.com/x.png") is None
    assert png.decode_data_uri("data:image/png;base64," + base64.b64encode(b"x").decode()) is None


def test_thumbnails_keep_every_nth_pixel_and_scale_floats():
    rng = np.random.default_rng(0)
    chw = rng.random((3, 12, 10)).astype(np.float32)
    decoded = png.decode_data_uri(png.thumbnail_data_uri(chw, size=64))
    np.testing.assert_array_equal(decoded, (np.moveaxis(chw, 0, -1) * 255).round().astype(np.uint8))
    small = png.decode_data_uri(png.thumbnail_data_uri(np.zeros((100, 50), np.uint8), size=25))
    assert small.shape == (25, 13, 1)


def test_bad_images_are_shape_errors():
    with pytest.raises(ShapeError, match="image"):
        png.encode(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ShapeError, match="uint8"):
        png.encode(np.zeros((4, 4), np.float32))
    with pytest.raises(ShapeError, match="image"):
        png.thumbnail_data_uri(np.zeros((2, 3, 4, 5)))


def _filtered_png(pixels: np.ndarray, kind: int) -> bytes:
    """A PNG whose every row uses filter ``kind``, written by the spec's forward transform."""
    height, width, bpp = pixels.shape
    rows = pixels.reshape(height, width * bpp).astype(int)
    out = []
    for y in range(height):
        line, up = rows[y], rows[y - 1] if y else np.zeros(width * bpp, int)
        filtered = []
        for x in range(width * bpp):
            left = line[x - bpp] if x >= bpp else 0
            corner = up[x - bpp] if x >= bpp else 0
            guess = left + up[x] - corner
            pa, pb, pc = abs(guess - left), abs(guess - up[x]), abs(guess - corner)
            paeth = left if pa <= pb and pa <= pc else (up[x] if pb <= pc else corner)
            predictor = [0, left, up[x], (left + up[x]) // 2, paeth][kind]
            filtered.append((line[x] - predictor) % 256)
        out.append(bytes([kind, *filtered]))
    encoded = png.encode(pixels)  # reuse its header; swap in the filtered image data
    start = encoded.index(b"IDAT") - 4
    end = encoded.index(b"IEND") - 4
    return encoded[:start] + png._chunk(b"IDAT", zlib.compress(b"".join(out))) + encoded[end:]


@pytest.mark.parametrize("kind", [0, 1, 2, 3, 4])
def test_each_row_filter_by_the_spec(kind):
    pixels = np.random.default_rng(kind).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    data = _filtered_png(pixels, kind)
    with Image.open(io.BytesIO(data)) as picture:  # the test's encoder agrees with Pillow
        np.testing.assert_array_equal(np.asarray(picture), pixels)
    np.testing.assert_array_equal(png.decode(data), pixels)
