"""The one PNG codec: 8-bit greyscale, RGB and RGBA images to PNG bytes and data URIs, and back.

Pure numpy and zlib (no Pillow): lossless, so what the store holds is what the page shows.
:func:`decode` reads what :func:`encode` writes and any other 8-bit, non-interlaced greyscale,
RGB or RGBA PNG (all five row filters); anything else (palettes, 16 bits, interlacing) gives
None, for the caller to show without pixels.

>>> pixels = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
>>> np.array_equal(decode_data_uri(data_uri(pixels)), pixels)
True
"""

from __future__ import annotations

import base64
import math
import re
import struct
import zlib

import numpy as np

from deepscope.errors import ShapeError

__all__ = ["encode", "decode", "data_uri", "decode_data_uri", "thumbnail_data_uri"]

SIGNATURE = b"\x89PNG\r\n\x1a\n"
PREFIX = "data:image/png;base64,"
_COLOR_TYPES = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type
_CHANNELS = {v: k for k, v in _COLOR_TYPES.items()}
_DATA_URI = re.compile(r"^data:image/png;base64,(?P<data>[A-Za-z0-9+/=]+)$")


def _pixels(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in _COLOR_TYPES or 0 in array.shape:
        raise ShapeError("image", "a non-empty uint8 image [H, W], [H, W, 1], [H, W, 3] or [H, W, 4]", array)
    if array.dtype != np.uint8:
        raise ShapeError("image", "uint8 pixels (convert floats first)", array.dtype)
    return array


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode(image: np.ndarray, *, level: int = 6) -> bytes:
    """PNG bytes of a uint8 image [H, W] or [H, W, C] with C in 1, 3, 4 (rows unfiltered)."""
    array = _pixels(image)
    height, width, channels = array.shape
    rows = array.reshape(height, width * channels)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPES[channels], 0, 0, 0)
    return (
        SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw.tobytes(), level))
        + _chunk(b"IEND", b"")
    )


def data_uri(image: np.ndarray) -> str:
    """A ``data:image/png;base64,...`` URI of a uint8 image (see :func:`encode`)."""
    return PREFIX + base64.b64encode(encode(image)).decode("ascii")


def _unfilter(rows: np.ndarray, bpp: int) -> np.ndarray:
    """Undo the per-row filters of 8-bit PNG scanlines [H, 1 + W*C] -> [H, W*C]."""
    filters, data = rows[:, 0], rows[:, 1:].astype(np.int64)
    out = np.zeros_like(data)
    previous = np.zeros(data.shape[1], np.int64)
    for y, kind in enumerate(filters):
        line = data[y]
        if kind == 0:
            current = line
        elif kind == 1:  # Sub: a running sum per byte position modulo bpp
            current = np.empty_like(line)
            for start in range(bpp):
                current[start::bpp] = np.cumsum(line[start::bpp]) % 256
        elif kind == 2:  # Up
            current = (line + previous) % 256
        elif kind in (3, 4):  # Average, Paeth: each byte needs the one before it
            current = line.copy()
            for x in range(len(line)):
                left = current[x - bpp] if x >= bpp else 0
                up = previous[x]
                if kind == 3:
                    current[x] = (line[x] + (left + up) // 2) % 256
                else:
                    corner = previous[x - bpp] if x >= bpp else 0
                    guess = left + up - corner
                    pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                    best = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                    current[x] = (line[x] + best) % 256
        else:
            raise ValueError(f"unknown PNG filter {kind}")
        out[y] = current
        previous = current
    return out.astype(np.uint8)


def decode(data: bytes) -> np.ndarray | None:
    """Pixels [H, W, C] (uint8) of an 8-bit, non-interlaced grey/RGB/RGBA PNG; None otherwise."""
    if data[:8] != SIGNATURE:
        return None
    chunks: dict[bytes, list[bytes]] = {}
    at = 8
    while at + 8 <= len(data):
        (length,), kind = struct.unpack(">I", data[at : at + 4]), data[at + 4 : at + 8]
        chunks.setdefault(kind, []).append(data[at + 8 : at + 8 + length])
        at += 12 + length
    header = chunks.get(b"IHDR", [b""])[0]
    if len(header) != 13:
        return None
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    channels = _CHANNELS.get(color)
    if depth != 8 or channels is None or interlace or not width or not height:
        return None
    try:
        raw = zlib.decompress(b"".join(chunks.get(b"IDAT", [])))
    except zlib.error:
        return None
    if len(raw) != height * (1 + width * channels):
        return None
    rows = np.frombuffer(raw, np.uint8).reshape(height, 1 + width * channels)
    if rows[:, 0].max() > 4:
        return None
    if rows[:, 0].any():
        return _unfilter(rows, channels).reshape(height, width, channels)
    return rows[:, 1:].reshape(height, width, channels).copy()


def decode_data_uri(uri: str) -> np.ndarray | None:
    """Pixels of a PNG data URI (see :func:`decode`); None for anything else."""
    match = _DATA_URI.match(uri) if isinstance(uri, str) else None
    if match is None:
        return None
    try:
        data = base64.b64decode(match["data"], validate=True)
    except ValueError:
        return None
    return decode(data)


def thumbnail_data_uri(image: np.ndarray, *, size: int = 64) -> str:
    """A PNG data URI of one image at most ``size`` pixels a side (every n-th pixel kept).

    ``image``: [H, W], [C, H, W] or [H, W, C] with 1, 3 or 4 channels; floats are read as
    [0, 1] (clipped, NaN as 0), uint8 as they are.
    """
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
        array = np.moveaxis(array, 0, -1)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4):
        raise ShapeError("image", "an image [H, W], [C, H, W] or [H, W, C] with 1, 3 or 4 channels", array)
    step = max(1, math.ceil(max(array.shape[:2]) / size))
    array = array[::step, ::step]
    if array.dtype != np.uint8:
        array = (np.clip(np.nan_to_num(array.astype(float)), 0.0, 1.0) * 255).round().astype(np.uint8)
    return data_uri(array)
