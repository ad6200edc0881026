"""Mergeable per-column accumulators: one Arrow array at a time in, a JSON-able state out.

Counts and moments are exact and merge exactly (Chan, Golub and LeVeque's parallel update of
mean and sum of squared deviations); quantiles, distinct counts and top values are DataSketches
sketches that merge within their stated error. Work per batch is vectorised (numpy,
``pyarrow.compute``); Python loops run over distinct values of a batch, never over rows.

>>> import pyarrow as pa
>>> acc = ColumnAccumulator("x")
>>> acc.update(pa.array([1.0, 2.0, None, 4.0]))
>>> state = acc.to_state()
>>> state["rows"], state["nulls"], state["values"]["count"]
(4, 1, 3)
"""

from __future__ import annotations

import math
from concurrent.futures import Executor
from typing import Any, cast

import numpy as np
import pyarrow as pa

from deepscope.data import sketches
from deepscope.data.sketches import (
    Distinct,
    Quantiles,
    TopValues,
    arrow,
    cast_to,
    hash_strings,
    indices,
    string_buffers,
)

__all__ = [
    "ColumnAccumulator",
    "NumericValues",
    "StringValues",
    "BoolValues",
    "TableAccumulator",
    "classify",
    "merge_states",
]


def classify(arrow_type: pa.DataType) -> tuple[str, str, str | None]:
    """(kind, type label, reason if unsupported) for an Arrow type.

    Kinds: ``numeric``, ``string``, ``bool``, ``list``, ``null`` (no values seen yet) and
    ``unsupported``. Labels are what users read: ``int``, ``float``, ``datetime``, ``string``,
    ``categorical``, ``list<float>``...
    """
    t = arrow_type
    if pa.types.is_null(t):
        return "null", "null", None
    if pa.types.is_boolean(t):
        return "bool", "bool", None
    if pa.types.is_integer(t):
        return "numeric", "int", None
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "numeric", "float", None
    if pa.types.is_timestamp(t):
        return "numeric", "datetime", None
    if pa.types.is_date(t):
        return "numeric", "date", None
    if pa.types.is_duration(t) or pa.types.is_time(t):
        return "numeric", "duration", None
    if pa.types.is_string(t) or pa.types.is_large_string(t) or _is_string_view(t):
        return "string", "string", None
    if pa.types.is_dictionary(t):
        kind, label, reason = classify(t.value_type)
        if kind == "string":
            return "string", "categorical", None
        return kind, label, reason
    if _is_list(t):
        inner_kind, inner_label, _ = classify(t.value_type)
        if inner_kind in ("numeric", "string", "bool", "null"):
            return "list", f"list<{inner_label}>", None
        return (
            "unsupported",
            "unsupported",
            (f"{t}: lists of {t.value_type} are nested too deeply to profile; flatten them first"),
        )
    if pa.types.is_struct(t):
        return (
            "unsupported",
            "unsupported",
            (f"{t}: a struct is not profiled as one feature; profile its fields as columns (pyarrow Table.flatten())"),
        )
    if pa.types.is_map(t):
        return "unsupported", "unsupported", f"{t}: maps are not profiled; split keys and values into columns"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return (
            "unsupported",
            "unsupported",
            (f"{t}: binary values are not profiled; profile derived features (sizes, image statistics)"),
        )
    return "unsupported", "unsupported", f"{t}: this Arrow type is not profiled"


def _is_string_view(t: pa.DataType) -> bool:
    check = getattr(pa.types, "is_string_view", None)
    return bool(check and check(t))


def _is_list(t: pa.DataType) -> bool:
    checks = ("is_list", "is_large_list", "is_fixed_size_list", "is_list_view", "is_large_list_view")
    return any(getattr(pa.types, c, lambda _t: False)(t) for c in checks)


def _to_numpy(array: pa.Array, label: str) -> np.ndarray:
    """A null-free Arrow array as int64 or float64 numpy; temporal values in seconds."""
    t = array.type
    if label in ("datetime", "date", "duration"):
        if pa.types.is_date32(t):
            return numpy_values(array).astype(np.float64) * 86400.0
        if pa.types.is_date64(t):
            return numpy_values(array).astype(np.float64) / 1e3
        unit = getattr(t, "unit", "s")
        per_second = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[unit]
        return numpy_values(array).astype(np.float64) / per_second
    if pa.types.is_decimal(t) or pa.types.is_float16(t):
        array = cast_to(array, pa.float64())
    values = numpy_values(array)
    if values.dtype.kind == "u":
        values = values.astype(np.int64) if values.dtype.itemsize < 8 else values.astype(np.float64)
    elif values.dtype.kind == "i" and values.dtype != np.int64:
        values = values.astype(np.int64)
    elif values.dtype.kind == "f" and values.dtype != np.float64:
        values = values.astype(np.float64)
    return values


def numpy_values(array: pa.Array) -> np.ndarray:
    """The values of a null-free Arrow array of fixed-width numbers, times or booleans, as a
    read-only numpy view of its buffer (booleans unpacked).

    ``Array.to_numpy`` imports pandas on first use (a quarter second on a first profile).
    """
    t = array.type
    n, offset = len(array), array.offset
    data = array.buffers()[1]
    if pa.types.is_boolean(t):
        if data is None or n == 0:
            return np.zeros(0, bool)
        start = offset // 8
        bits = np.unpackbits(np.frombuffer(data, np.uint8)[start : (offset + n + 7) // 8 + 1], bitorder="little")
        return bits[offset - 8 * start : offset - 8 * start + n].astype(bool)
    if pa.types.is_floating(t):
        kind = "f"
    elif pa.types.is_unsigned_integer(t):
        kind = "u"
    else:  # signed integers and the temporal types stored as them
        kind = "i"
    dtype = np.dtype(f"{kind}{t.bit_width // 8}")
    if data is None or n == 0:
        return np.zeros(0, dtype)
    return np.frombuffer(data, dtype)[offset : offset + n]


class NumericValues:
    """Count, non-finite counts, mean, M2, min, max, zeros, integrality, KLL and CPC."""

    kind = "numeric"

    def __init__(self) -> None:
        self.count = 0  # values that are not null and not NaN (infinities included)
        self.nan = 0
        self.posinf = 0
        self.neginf = 0
        self.finite = 0
        self.mean = 0.0
        # The sum of squared deviations is m2 * 4**m2_shift: values near +-1e308 have squares
        # (and a spread) beyond float64, so their moments are kept in units of 2**m2_shift.
        self.m2 = 0.0
        self.m2_shift = 0
        self.min: float | None = None
        self.max: float | None = None
        self.zeros = 0
        self.integral = True
        self.quantiles = Quantiles()
        self.distinct = Distinct()

    def update_array(self, array: pa.Array, label: str) -> None:
        self.update(_to_numpy(array, label))

    def update(self, values: np.ndarray) -> None:
        if values.dtype.kind == "f":
            finite = np.isfinite(values)
            if not finite.all():
                nan = int(np.count_nonzero(np.isnan(values)))
                posinf = int(np.count_nonzero(values == np.inf))
                self.nan += nan
                self.posinf += posinf
                self.neginf += int(values.size - finite.sum()) - nan - posinf
                self.count += int(values.size) - nan
                values = values[finite]
            else:
                self.count += int(values.size)
        else:
            self.count += int(values.size)
        n = int(values.size)
        if n == 0:
            return
        counted = _count_integers(values)
        if counted is None:
            if self.quantiles.takes_unsorted(values):
                self._update_values(values, ordered=False)
            else:
                self._update_values(np.sort(values), ordered=True)
            return
        # Few distinct integers: the moments, extremes and zeros come from the counts.
        unique, counts = counted
        points = unique.astype(np.float64)
        weights = counts.astype(np.float64)
        shift = _SHIFT if max(abs(float(points[0])), abs(float(points[-1]))) > _BIG else 0
        if shift:
            points = np.ldexp(points, -shift)
        mean = float(_dot(points, weights)) / n
        deviations = points - mean
        self._merge_moments(n, math.ldexp(mean, shift), float(_dot(deviations * deviations, weights)), shift)
        self._extremes(unique[0].item(), unique[-1].item())
        at_zero = int(np.searchsorted(unique, 0))
        if at_zero < unique.size and unique[at_zero] == 0:
            self.zeros += int(counts[at_zero])
        self.quantiles.update(None, (unique, counts))
        self.distinct.update_numbers(unique)

    def _update_values(self, values: np.ndarray, ordered: bool) -> None:
        """Add finite values, ``ordered`` when ascending (then the extremes and zeros are read off
        them, and exact counts or KLL take them without another sort)."""
        n = int(values.size)
        low, high = (values[0].item(), values[-1].item()) if ordered else (values.min().item(), values.max().item())
        shift = _SHIFT if max(abs(float(low)), abs(float(high))) > _BIG else 0
        if shift and not ordered:
            # Values near the float limits: summed in order, those of one size meet one another
            # before the small ones (in any order a rounding error of the huge ones swamps the rest).
            self._update_values(np.sort(values), ordered=True)
            return
        points = values.astype(np.float64, copy=False)
        if shift:
            points = np.ldexp(points, -shift)
        mean = float(points.sum()) / n
        deviations = points - mean
        self._merge_moments(n, math.ldexp(mean, shift), float(_dot(deviations, deviations)), shift)
        self._extremes(low, high)
        if low <= 0 <= high:
            if ordered:
                self.zeros += int(np.searchsorted(values, 0, "right") - np.searchsorted(values, 0, "left"))
            else:
                self.zeros += int(np.count_nonzero(values == 0))
        if values.dtype.kind == "f" and self.integral:
            self.integral = bool(np.array_equal(values, np.trunc(values)))
        if ordered:
            # KLL takes sorted input twice as fast as shuffled, and its error bound holds for any order.
            self.quantiles.update_sorted(values)
        else:
            self.quantiles.update(values)
        self.distinct.update_numbers(values)

    def _extremes(self, low: float, high: float) -> None:
        self.min = low if self.min is None else min(self.min, low)
        self.max = high if self.max is None else max(self.max, high)

    def _merge_moments(self, n: int, mean: float, m2: float, m2_shift: int = 0) -> None:
        """Chan et al.'s parallel update, in units of 2**shift when the values are huge."""
        total = self.finite + n
        shift = max(self.m2_shift, m2_shift)
        if shift == 0 and max(abs(mean), abs(self.mean)) > _BIG:
            shift = _SHIFT
        ours, theirs = math.ldexp(self.mean, -shift), math.ldexp(mean, -shift)
        delta = theirs - ours
        merged = ours + delta * n / total
        self.m2 = (
            math.ldexp(self.m2, 2 * (self.m2_shift - shift))
            + math.ldexp(m2, 2 * (m2_shift - shift))
            + delta * delta * self.finite * n / total
        )
        self.m2_shift = shift
        self.mean = _unscaled(merged, shift)
        self.finite = total

    @property
    def std(self) -> float:
        """The sample standard deviation of the finite values (0 for one value, NaN for none)."""
        if self.finite < 2:
            return 0.0 if self.finite else math.nan
        return math.ldexp(math.sqrt(self.m2 / (self.finite - 1)), self.m2_shift)

    def merge(self, other: NumericValues) -> None:
        self.count += other.count
        self.nan += other.nan
        self.posinf += other.posinf
        self.neginf += other.neginf
        if other.finite:
            self._merge_moments(other.finite, other.mean, other.m2, other.m2_shift)
            low, high = cast(float, other.min), cast(float, other.max)  # set whenever finite values were seen
            self.min = low if self.min is None else min(self.min, low)
            self.max = high if self.max is None else max(self.max, high)
        self.zeros += other.zeros
        self.integral = self.integral and other.integral
        self.quantiles.merge(other.quantiles)
        self.distinct.merge(other.distinct)

    def to_state(self) -> dict[str, Any]:
        return {
            "kind": "numeric",
            "count": self.count,
            "nan": self.nan,
            "posinf": self.posinf,
            "neginf": self.neginf,
            "finite": self.finite,
            "mean": self.mean,
            "m2": self.m2,
            "m2_shift": self.m2_shift,
            "min": self.min,
            "max": self.max,
            "zeros": self.zeros,
            "integral": self.integral,
            "quantiles": self.quantiles.to_state(),
            "distinct": self.distinct.to_text(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> NumericValues:
        acc = cls()
        for key in ("count", "nan", "posinf", "neginf", "finite", "mean", "m2", "min", "max", "zeros", "integral"):
            setattr(acc, key, state[key])
        acc.m2_shift = int(state.get("m2_shift", 0))
        acc.quantiles = Quantiles.from_state(state["quantiles"])
        acc.distinct = Distinct.from_text(state["distinct"])
        return acc


def _dot(a: np.ndarray, b: np.ndarray) -> Any:
    """The dot product of two vectors without BLAS: OpenBLAS threads its dot products and its
    waiting threads spin, which on a busy machine made one product of 100k floats take 25 ms."""
    return np.einsum("i,i->", a, b)


_BIG = 2.0**500  # beyond this, squares and spreads of values can overflow float64
_SHIFT = 600  # then the moments are taken of the values times 2**-600


def _unscaled(value: float, shift: int) -> float:
    """``value * 2**shift``, the largest float rather than an overflow at the very edge."""
    try:
        return math.ldexp(value, shift)
    except OverflowError:
        return math.copysign(np.finfo(np.float64).max, value)


def _count_integers(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Sorted distinct values and their counts for integers spanning a range no wider than a few
    times their number (``bincount``, linear time); None for other values (they are sorted)."""
    if values.dtype.kind not in "iu":
        return None
    low, high = values.min(), values.max()
    if int(high) - int(low) >= 4 * values.size:
        return None
    counts = np.bincount(values - low)
    present = np.flatnonzero(counts)
    return present.astype(values.dtype) + low, counts[present]


class StringValues:
    """Count, lengths, distinct count (CPC) and top values (frequent strings)."""

    kind = "string"

    def __init__(self) -> None:
        self.count = 0
        self.total_length = 0
        self.min_length: int | None = None
        self.max_length: int | None = None
        self.distinct = Distinct()
        self.top = TopValues()

    def update_array(self, array: pa.Array, label: str) -> None:
        if not pa.types.is_dictionary(array.type):
            self._update_plain(array)
            return
        values, frequency = _dictionary_counts(array)
        if values.null_count:  # counting on the array with its nulls saves a copy of it
            keep = arrow("is_valid", values)
            values, frequency = arrow("filter", values, keep), frequency[numpy_values(keep)]
        if not len(values):
            return
        lengths = numpy_values(arrow("utf8_length", values))
        self.count += int(frequency.sum())
        self.total_length += int(_dot(lengths, frequency))
        low, high = int(lengths.min()), int(lengths.max())
        self.min_length = low if self.min_length is None else min(self.min_length, low)
        self.max_length = high if self.max_length is None else max(self.max_length, high)
        hashes = hash_strings(values)
        self.top.update_counts(values, frequency, hashes)
        self.distinct.update_hashes(hashes)

    def _update_plain(self, array: pa.Array) -> None:
        """Plain strings are grouped by their 64-bit hashes (vectorised) rather than by Arrow's
        ``value_counts``, whose hash table of strings is 3-4x slower when most values are
        distinct; only the values that can stay among the top values are grouped (see
        ``_frequent_groups``) and taken out of the array."""
        if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
            array = cast_to(array, pa.large_string())  # string views
        rows = np.flatnonzero(numpy_values(arrow("is_valid", array))) if array.null_count else None
        if not len(array) or (rows is not None and not rows.size):
            return
        present = hash_strings(array)
        if rows is not None:
            present = present[rows]
        hashes, counts, first, bound = _frequent_groups(present, rows, sketches.TOP_CAPACITY)
        lengths = _char_lengths(array)
        if rows is not None:
            lengths = lengths[rows]
        self.count += int(lengths.size)
        self.total_length += int(lengths.sum())
        low, high = int(lengths.min()), int(lengths.max())
        self.min_length = low if self.min_length is None else min(self.min_length, low)
        self.max_length = high if self.max_length is None else max(self.max_length, high)
        self.top.update_rows(array, first, counts, hashes, others=bound, total=int(present.size))
        self.distinct.update_hashes(present)  # every row's hash: a repeat changes no register

    def merge(self, other: StringValues) -> None:
        self.count += other.count
        self.total_length += other.total_length
        if other.min_length is not None:
            self.min_length = other.min_length if self.min_length is None else min(self.min_length, other.min_length)
            high = cast(int, other.max_length)  # set together with min_length
            self.max_length = high if self.max_length is None else max(self.max_length, high)
        self.distinct.merge(other.distinct)
        self.top.merge(other.top)

    def to_state(self) -> dict[str, Any]:
        return {
            "kind": "string",
            "count": self.count,
            "total_length": self.total_length,
            "min_length": self.min_length,
            "max_length": self.max_length,
            "distinct": self.distinct.to_text(),
            "top": self.top.to_text(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> StringValues:
        acc = cls()
        for key in ("count", "total_length", "min_length", "max_length"):
            setattr(acc, key, state[key])
        acc.distinct = Distinct.from_text(state["distinct"])
        acc.top = TopValues.from_text(state["top"])
        return acc


def _char_lengths(array: pa.Array) -> np.ndarray:
    """Each string's length in characters (UTF-8 code points) of a string or large_string array:
    its length in bytes when all its bytes are ASCII (one max over them, a tenth of the cost of
    counting code points), else Arrow's ``utf8_length``."""
    offsets, data = string_buffers(array)
    first, last = int(offsets[0]), int(offsets[-1])
    if last == first or data[first:last].max() < 0x80:
        return np.diff(offsets)
    return numpy_values(arrow("utf8_length", array))


def _frequent_groups(
    present: np.ndarray, rows: np.ndarray | None, capacity: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(distinct hashes, their counts, a row holding each, bound) of the values that can be
    among a batch's ``capacity`` most frequent; every value left out occurs at most ``bound``
    times in the batch (0: none left out, every count exact).

    ``present``: the hashes of the rows to count, ``rows``: those rows of the array (None: all of
    them), which the rows returned are. A batch of mostly distinct values (ids) is not grouped whole: its hashes are
    first counted in about as many buckets as rows (a ``bincount``), and only the rows of the
    ``capacity`` fullest buckets are grouped exactly. A value in any other bucket occurs at most
    as often as its bucket holds rows, which bounds it; the top values' Misra-Gries summary takes
    that bound as the batch's offset (grouping every hash cost 5x as much at 230,000 distinct
    values in 262,144 rows).
    """
    n = int(present.size)
    if n > 4 * capacity:
        bits = max(12, min(20, (n - 1).bit_length()))
        buckets = (present >> np.uint64(64 - bits)).astype(np.intp)
        sizes = np.bincount(buckets, minlength=1 << bits)
        fuller = np.cumsum(np.bincount(sizes)[::-1])[::-1]  # fuller[s]: buckets holding >= s rows
        if fuller[1] > capacity:  # more distinct values than the summary keeps
            # the least bound for which at most `capacity` buckets hold more rows than it
            bound = int(np.argmax(fuller[1:] <= capacity))
            distinct, counts, first = _hash_groups(present, np.flatnonzero(sizes[buckets] > bound))
            return distinct, counts, first if rows is None else rows[first], bound
    distinct, counts, first = _hash_groups(present, None)
    return distinct, counts, first if rows is None else rows[first], 0


def _hash_groups(hashes: np.ndarray, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct hashes, their counts, a row holding each) of the rows' hashes, in first-seen order.

    ``hashes`` has one hash per row of the array; ``rows``: the rows to count (None: all).
    Grouped in Arrow's hash table of integers (3-4x faster than sorting the hashes when values
    repeat, still faster when all are distinct). Its codes number the distinct hashes in the
    order they are first seen, so a row where the running maximum of the codes grows is the
    first row of its group.
    """
    if rows is not None:
        hashes = hashes[rows]
    hashes = np.ascontiguousarray(hashes, np.uint64)
    # from the buffer: pa.array() imports pandas on its first call (0.3 s of a first profile)
    encoded = arrow("dictionary_encode", pa.Array.from_buffers(pa.uint64(), hashes.size, [None, pa.py_buffer(hashes)]))
    codes = numpy_values(encoded.indices)
    counts = np.bincount(codes)
    first = np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)
    distinct = numpy_values(encoded.dictionary)
    return distinct, counts, first if rows is None else rows[first]


def _dictionary_counts(array: pa.DictionaryArray) -> tuple[pa.Array, np.ndarray]:
    """(dictionary entries used, their counts) of a dictionary array, nulls left out.

    Counted with ``bincount`` on the integer codes (twice as fast as hashing them); only the
    entries that occur are decoded.
    """
    codes = array.indices
    values = numpy_values(codes)  # the raw buffer, nulls' slots included
    if codes.null_count:  # the code under a null is unspecified: count it as 0, then take it back
        values = np.where(numpy_values(arrow("is_valid", codes)), values, 0)
    counts = np.bincount(values, minlength=len(array.dictionary))
    if codes.null_count:
        counts[0] -= codes.null_count
    used = np.flatnonzero(counts)
    return arrow("take", array.dictionary, indices(used)), counts[used]


class BoolValues:
    """Exact counts of true and false."""

    kind = "bool"

    def __init__(self) -> None:
        self.count = 0
        self.true = 0

    def update_array(self, array: pa.Array, label: str) -> None:
        """Add booleans; nulls among them are left out."""
        self.count += len(array) - array.null_count
        self.true += int(arrow("sum", array).as_py() or 0)

    def merge(self, other: BoolValues) -> None:
        self.count += other.count
        self.true += other.true

    def to_state(self) -> dict[str, Any]:
        return {"kind": "bool", "count": self.count, "true": self.true}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> BoolValues:
        acc = cls()
        acc.count, acc.true = state["count"], state["true"]
        return acc


_VALUES = {"numeric": NumericValues, "string": StringValues, "bool": BoolValues}


def _values_from_state(state: dict[str, Any] | None):
    return None if state is None else _VALUES[state["kind"]].from_state(state)


def _merge_labels(a: str, b: str) -> str:
    if a == b:
        return a
    if {a, b} == {"int", "float"}:
        return "float"
    if {a, b} == {"string", "categorical"}:
        return "string"
    if a.startswith("list<") and b.startswith("list<"):
        return f"list<{_merge_labels(a[5:-1], b[5:-1])}>"
    return a


def _compatible(kind_a: str, label_a: str, kind_b: str, label_b: str) -> bool:
    if kind_a != kind_b:
        return False
    if kind_a == "numeric":  # int and float mix; datetimes only with datetimes
        temporal = {"datetime", "date", "duration"}
        return (label_a in temporal) == (label_b in temporal)
    if kind_a == "list":
        inner_a, inner_b = label_a[5:-1], label_b[5:-1]
        kinds = {"int": "numeric", "float": "numeric", "string": "string", "categorical": "string", "bool": "bool"}
        return "null" in (inner_a, inner_b) or kinds.get(inner_a) == kinds.get(inner_b)
    return True


class ColumnAccumulator:
    """Everything profiled about one column: rows, nulls, type and the value accumulators."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows = 0
        self.nulls = 0
        self.kind = "null"
        self.type = "null"
        self.arrow_type = "null"
        self.reason: str | None = None
        self.notes: list[str] = []
        self.values: NumericValues | StringValues | BoolValues | None = None
        self.per_example: NumericValues | None = None  # list lengths, for list features
        self.plain_string = False  # dictionary-encoded only by the reader: label it "string"

    def update(self, array: pa.Array | pa.ChunkedArray) -> None:
        if isinstance(array, pa.ChunkedArray):
            for chunk in array.chunks:
                self.update(chunk)
            return
        self.rows += len(array)
        self.nulls += array.null_count
        kind, label, reason = classify(array.type)
        arrow_type = str(array.type)
        if self.plain_string and label == "categorical":
            label, arrow_type = "string", str(array.type.value_type)
        self._adopt(kind, label, arrow_type, reason)
        if self.kind in ("null", "unsupported") or kind == "null" or array.null_count == len(array):
            return  # no values (rows and nulls are counted above)
        if self.kind == "string":
            cast(StringValues, self.values).update_array(array, label)  # made by _adopt
            return
        if self.kind == "bool":  # counted with the nulls in place: no copy without them
            cast(BoolValues, self.values).update_array(array, label)  # made by _adopt
            return
        present = arrow("drop_null", array) if array.null_count else array
        if self.kind == "list":
            lengths = numpy_values(arrow("list_value_length", present)).astype(np.int64)
            cast(NumericValues, self.per_example).update(lengths)  # made by _adopt
            flat = arrow("list_flatten", present)
            flat = arrow("drop_null", flat) if flat.null_count else flat
            inner_kind, inner_label, _ = classify(flat.type)
            if inner_kind == "null":
                return
            values = self.values
            if values is None:
                values = self.values = _VALUES[inner_kind]()
            values.update_array(flat, inner_label)
        else:
            cast(NumericValues | BoolValues, self.values).update_array(present, label)  # made by _adopt

    def _adopt(self, kind: str, label: str, arrow_type: str, reason: str | None) -> None:
        if kind == "null":
            return
        if self.kind == "null":
            self.kind, self.type, self.arrow_type, self.reason = kind, label, arrow_type, reason
            if kind in _VALUES:
                self.values = _VALUES[kind]()
            elif kind == "list":
                self.per_example = NumericValues()
            return
        if self.kind == "unsupported":
            return
        if _compatible(self.kind, self.type, kind, label):
            self.type = _merge_labels(self.type, label)
            if self.arrow_type != arrow_type and label == "float":
                self.arrow_type = arrow_type
            return
        self._become_mixed(f"{self.type} ({self.arrow_type})", f"{label} ({arrow_type})")

    def _become_mixed(self, first: str, second: str) -> None:
        self.kind = self.type = "unsupported"
        self.arrow_type = "mixed"
        self.reason = f"the type changes between parts of the data: {first} and {second}"
        self.values = None
        self.per_example = None

    def merge(self, other: ColumnAccumulator) -> None:
        self.rows += other.rows
        self.nulls += other.nulls
        self.notes = list(dict.fromkeys(self.notes + other.notes))
        if other.kind == "null":
            return
        if self.kind == "null":
            self.kind, self.type, self.arrow_type, self.reason = other.kind, other.type, other.arrow_type, other.reason
            self.values, self.per_example = other.values, other.per_example
            return
        if self.kind == "unsupported":
            return
        if other.kind == "unsupported":
            self.kind, self.type, self.arrow_type, self.reason = other.kind, other.type, other.arrow_type, other.reason
            self.values = self.per_example = None
            return
        if not _compatible(self.kind, self.type, other.kind, other.type):
            self._become_mixed(f"{self.type} ({self.arrow_type})", f"{other.type} ({other.arrow_type})")
            return
        self.type = _merge_labels(self.type, other.type)
        if other.values is not None:
            if self.values is None:
                self.values = other.values
            elif self.values.kind == other.values.kind:
                self.values.merge(cast(Any, other.values))  # same kind, so the same class
        if other.per_example is not None:
            if self.per_example is None:
                self.per_example = other.per_example
            else:
                self.per_example.merge(other.per_example)

    def to_state(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "nulls": self.nulls,
            "kind": self.kind,
            "type": self.type,
            "arrow_type": self.arrow_type,
            "reason": self.reason,
            "notes": list(self.notes),
            "values": None if self.values is None else self.values.to_state(),
            "per_example": None if self.per_example is None else self.per_example.to_state(),
        }

    @classmethod
    def from_state(cls, name: str, state: dict[str, Any]) -> ColumnAccumulator:
        acc = cls(name)
        for key in ("rows", "nulls", "kind", "type", "arrow_type", "reason"):
            setattr(acc, key, state[key])
        acc.notes = list(state.get("notes", []))
        acc.values = _values_from_state(state.get("values"))
        acc.per_example = _values_from_state(state.get("per_example"))
        return acc


class TableAccumulator:
    """Column accumulators for a whole table, fed record batch by record batch."""

    def __init__(self, notes: dict[str, list[str]] | None = None, plain_strings: set[str] | None = None) -> None:
        self.rows = 0
        self.columns: dict[str, ColumnAccumulator] = {}
        self._notes = notes or {}
        self._plain_strings = plain_strings or set()

    def update(self, batch: pa.RecordBatch | pa.Table, pool: Executor | None = None) -> None:
        """Add a batch; with a thread ``pool`` columns are accumulated side by side (numpy and
        Arrow release the GIL for the heavy parts)."""
        rows = batch.num_rows
        for name in batch.schema.names:
            if name not in self.columns:
                column = ColumnAccumulator(name)
                column.notes = list(self._notes.get(name, []))
                column.plain_string = name in self._plain_strings
                # A column absent from earlier batches (another file) was missing there.
                column.rows = column.nulls = self.rows
                self.columns[name] = column
        present = set(batch.schema.names)
        for name, column in self.columns.items():
            if name not in present:
                column.rows += rows
                column.nulls += rows
        work = [(column, batch.column(name)) for name, column in self.columns.items() if name in present]
        if pool is None:
            for column, array in work:
                column.update(array)
        else:
            for future in [pool.submit(column.update, array) for column, array in work]:
                future.result()
        self.rows += rows

    def merge(self, other: TableAccumulator) -> None:
        for name, column in self.columns.items():
            if name not in other.columns:
                column.rows += other.rows
                column.nulls += other.rows
        for name, column in other.columns.items():
            if name in self.columns:
                self.columns[name].merge(column)
            else:
                padded = ColumnAccumulator(name)
                padded.rows = padded.nulls = self.rows
                padded.merge(column)
                self.columns[name] = padded
        self.rows += other.rows

    def to_state(self) -> dict[str, Any]:
        return {"rows": self.rows, "columns": {n: c.to_state() for n, c in self.columns.items()}}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TableAccumulator:
        acc = cls()
        acc.rows = state["rows"]
        acc.columns = {n: ColumnAccumulator.from_state(n, s) for n, s in state["columns"].items()}
        return acc


def merge_states(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Merge two ``TableAccumulator`` states (as Dask's tree reduction does)."""
    left = TableAccumulator.from_state(a)
    left.merge(TableAccumulator.from_state(b))
    return left.to_state()
