"""Checking and converting what users log: scalars, steps, arrays, images, histograms, JSON."""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, ShapeError

_INT64 = np.iinfo(np.int64)
_IMAGE_TOLERANCE = 1e-3


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def to_numpy(value: Any, argument: str) -> np.ndarray:
    """An array from a numpy array, a torch tensor (any device), a PIL image or a nested list."""
    if isinstance(value, np.ndarray):
        return value
    if _is_tensor(value):
        return value.detach().cpu().numpy()
    if isinstance(value, (list, tuple)) or hasattr(value, "__array_interface__"):
        try:
            return np.asarray(value)
        except ValueError as exc:
            raise InvalidArgumentError(argument, "a rectangular array", value, hint=str(exc)) from exc
    raise ArgumentTypeError(argument, "a numpy array or torch tensor", value)


def check_tag(tag: Any, argument: str = "tag") -> str:
    if not isinstance(tag, str):
        raise ArgumentTypeError(argument, "a string tag such as 'train/loss'", tag)
    if not tag or "\x00" in tag:
        raise InvalidArgumentError(argument, "a non-empty tag without NUL characters", tag)
    return tag


def check_step(step: Any, argument: str = "step") -> int:
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
        raise ArgumentTypeError(argument, "an integer step or None", step)
    step = int(step)
    if not _INT64.min <= step <= _INT64.max:
        raise InvalidArgumentError(argument, "a step that fits in 64 bits", step)
    return step


def scalar(value: Any, argument: str) -> float:
    """A logged value as a float: ints, floats, bools, numpy scalars and one-element arrays/tensors."""
    if isinstance(value, numbers.Real):  # int, float, bool, numpy scalars, Fraction, Decimal
        try:
            return float(value)
        except (OverflowError, ValueError) as exc:
            raise InvalidArgumentError(argument, "a number that fits in a float", value) from exc
    if isinstance(value, np.ndarray) or _is_tensor(value):
        array = to_numpy(value, argument)
        if array.size == 1 and array.dtype.kind in "biuf":
            return float(array.reshape(-1)[0])
        if array.size != 1:
            raise ShapeError(argument, "a single number (an array or tensor with one element)", value)
    raise ArgumentTypeError(argument, "a real number (int, float, numpy scalar or one-element tensor)", value)


def json_value(value: Any, argument: str) -> Any:
    """``value`` made JSON-able (numpy scalars and arrays become Python values) or a typed error."""

    def convert(item: Any) -> Any:
        if isinstance(item, np.generic):
            return item.item()
        if isinstance(item, np.ndarray):
            return item.tolist()
        raise TypeError(type(item).__name__)

    try:
        return json.loads(json.dumps(value, default=convert))
    except (TypeError, ValueError) as exc:
        raise ArgumentTypeError(
            argument,
            "a JSON-able value (numbers, strings, bools, None, lists, dicts)",
            value,
            hint=f"cannot store a {exc}",
        ) from exc


def json_mapping(value: Any, argument: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ArgumentTypeError(argument, "a dict with string keys or None", value)
    for key in value:
        if not isinstance(key, str):
            raise ArgumentTypeError(f"{argument} key", "a string", key)
    return {key: json_value(item, f"{argument}[{key!r}]") for key, item in value.items()}


def image(value: Any, argument: str = "image") -> np.ndarray:
    """An image as uint8 ``HxW`` (one channel) or ``HxWxC`` (C = 3 or 4).

    Accepts ``HxW``, ``HxWxC`` or ``CxHxW`` with C in 1, 3, 4; floats in [0, 1], uint8, bools, or
    integers within 0..255.
    """
    array = to_numpy(value, argument)
    if array.ndim == 3 and array.shape[-1] not in (1, 3, 4) and array.shape[0] in (1, 3, 4):
        array = np.moveaxis(array, 0, -1)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ShapeError(argument, "an image of shape HxW, HxWxC or CxHxW with C in 1, 3, 4", value)
    if 0 in array.shape:
        raise ShapeError(argument, "a non-empty image", value)
    kind = array.dtype.kind
    if kind == "b":
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if kind in "iu":
        if array.min() < 0 or array.max() > 255:
            raise InvalidArgumentError(
                argument,
                "integer pixel values within 0..255",
                value,
                hint=f"values span {array.min()}..{array.max()}",
            )
        return array.astype(np.uint8)
    if kind == "f":
        if not np.isfinite(array).all():
            raise InvalidArgumentError(argument, "finite pixel values", value, hint="it holds NaN or Inf")
        low, high = float(array.min()), float(array.max())
        if low < -_IMAGE_TOLERANCE or high > 1 + _IMAGE_TOLERANCE:
            raise InvalidArgumentError(
                argument,
                "float pixel values within [0, 1]",
                value,
                hint=f"values span {low:.4g}..{high:.4g}; rescale or pass uint8",
            )
        return np.round(np.clip(array, 0.0, 1.0) * 255).astype(np.uint8)
    raise ArgumentTypeError(argument, "an image of floats, integers or bools", value)


def histogram(values: Any, bins: Any, argument: str = "values") -> dict[str, Any]:
    """Bucket edges, counts and summary statistics of the finite entries of ``values``."""
    array = to_numpy(values, argument)
    if array.dtype.kind not in "biuf":
        raise ArgumentTypeError(argument, "numeric values", values)
    array = array.reshape(-1).astype(np.float64, copy=False)
    if array.size == 0:
        raise ShapeError(argument, "at least one value", values)
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer, Sequence, np.ndarray)):
        raise ArgumentTypeError("bins", "a number of buckets or a sequence of edges", bins)
    if isinstance(bins, (int, np.integer)) and bins < 1:
        raise InvalidArgumentError("bins", "a positive number of buckets", bins)
    finite_mask = np.isfinite(array)
    finite = array[finite_mask] if not finite_mask.all() else array
    nan_count = int(np.isnan(array).sum()) if finite.size != array.size else 0
    inf_count = array.size - finite.size - nan_count
    if finite.size:
        try:
            counts, edges = np.histogram(finite, bins=bins)
        except ValueError as exc:
            raise InvalidArgumentError("bins", "increasing bucket edges", bins, hint=str(exc)) from exc
        stats = (
            float(finite.min()),
            float(finite.max()),
            float(finite.sum()),
            float(finite @ finite),
        )
    else:
        counts, edges = np.zeros(0), np.zeros(0)
        stats = (math.nan,) * 4
    return {
        "edges": edges.astype(np.float64),
        "counts": counts.astype(np.float64),
        "count": int(finite.size),
        "min": stats[0],
        "max": stats[1],
        "sum": stats[2],
        "sum_squares": stats[3],
        "nan_count": nan_count,
        "inf_count": int(inf_count),
    }


def embedding_vectors(value: Any, argument: str = "vectors") -> np.ndarray:
    array = to_numpy(value, argument)
    if array.ndim != 2 or 0 in array.shape:
        raise ShapeError(argument, "a non-empty 2-D array [N, D]", value)
    if array.dtype.kind not in "iuf":
        raise ArgumentTypeError(argument, "numeric vectors", value)
    return np.ascontiguousarray(array)


def metadata_frame(metadata: Any, rows: int, argument: str = "metadata") -> pd.DataFrame | None:
    """Per-point metadata as a DataFrame: a DataFrame, a dict of columns, or one label per point."""
    if metadata is None:
        return None
    if isinstance(metadata, pd.DataFrame):
        frame = metadata
    elif isinstance(metadata, Mapping):
        try:
            frame = pd.DataFrame({str(key): column for key, column in metadata.items()})
        except ValueError as exc:
            raise ShapeError(argument, f"columns of {rows} values, one per vector", metadata) from exc
    elif isinstance(metadata, (list, tuple, np.ndarray, pd.Series)) or _is_tensor(metadata):
        labels = metadata.to_numpy() if isinstance(metadata, pd.Series) else to_numpy(metadata, argument)
        if labels.ndim != 1:
            raise ShapeError(argument, "one label per vector (a 1-D sequence)", metadata)
        frame = pd.DataFrame({"label": labels})
    else:
        raise ArgumentTypeError(argument, "a DataFrame, a dict of columns or a list of labels", metadata)
    if len(frame) != rows:
        raise ShapeError(argument, f"{rows} rows, one per vector", f"{len(frame)} rows")
    return frame
