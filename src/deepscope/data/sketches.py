"""Mergeable sketches: quantiles (exact counts, then DataSketches' KLL), distinct counts
(HyperLogLog) and top values (a Misra-Gries summary).

Quantiles stay exact (value counts) while a feature has at most ``EXACT_LIMIT`` distinct values
and switch to KLL beyond. Distinct counts and top values work on vectorised 64-bit hashes of the
values (``hash_numbers``, ``hash_strings``), so no Python loop runs per value.

Each sketch takes whole numpy or Arrow arrays (never one row at a time from the caller's loop),
merges with another of its kind, and serialises to base64 text so a profile can be saved as JSON
and rebuilt on another machine.

>>> import numpy as np
>>> q = Quantiles()
>>> q.update(np.arange(10_000, dtype=float))
>>> q.is_exact, 4950 <= q.quantiles([0.5])[0] <= 5050
(False, True)
"""

from __future__ import annotations

import base64
import math
import zlib
from collections.abc import Sequence
from typing import Any, Protocol, cast

import datasketches
import numpy as np
import pyarrow as pa
import pyarrow._compute as _kernels  # pyright: ignore[reportMissingModuleSource]

from deepscope.errors import InvalidArgumentError

__all__ = [
    "Quantiles",
    "Distinct",
    "TopValues",
    "KLL_K",
    "HLL_P",
    "TOP_CAPACITY",
    "EXACT_LIMIT",
    "hash_numbers",
    "hash_strings",
]

# k=400 keeps the KLL single-quantile rank error under 0.7% and PMF error under 0.9% (99%
# confidence), inside the 1% the issue promises, for about 10 KB per numeric feature.
KLL_K = 400
# Numeric values are counted exactly up to this many distinct values (16 bytes each).
EXACT_LIMIT = 2048


# The datasketches binding ships no type stubs: the module is used untyped and the Protocols below
# type the sketch methods this module calls.
dsk: Any = datasketches


class _KllSketch(Protocol):
    n: int

    def update(self, values: np.ndarray) -> None: ...
    def merge(self, other: _KllSketch) -> None: ...
    def normalized_rank_error(self, pmf: bool) -> float: ...
    def get_quantiles(self, ranks: list[float]) -> Sequence[float]: ...
    def get_cdf(self, points: list[float]) -> Sequence[float]: ...
    def serialize(self) -> bytes: ...


def _encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _decode(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


class Quantiles:
    """Quantiles of float64 values: exact value counts while there are few distinct values, then KLL.

    Up to ``EXACT_LIMIT`` distinct values (common for integers, codes, rounded measurements) the
    counts are kept exactly, so quantiles, ranks and histograms are exact and updating costs one
    vectorised ``unique`` per batch. Beyond that the counts are poured into a KLL sketch, whose
    normalised rank error is ``rank_error`` (under 1%).
    """

    def __init__(self, sketch: _KllSketch | None = None, exact: tuple[np.ndarray, np.ndarray] | None = None):
        self._sketch = sketch
        if sketch is None and exact is None:
            exact = (np.zeros(0), np.zeros(0, dtype=np.int64))
        self._exact = exact  # (sorted unique values, counts) or None once in sketch mode

    @property
    def is_exact(self) -> bool:
        return self._exact is not None

    @property
    def _kll(self) -> _KllSketch:
        """The KLL sketch: set whenever the counts are not exact, which is when this is used."""
        return cast(_KllSketch, self._sketch)

    def update(self, values: np.ndarray | None, unique: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Add finite values (the caller drops NaN and infinities).

        ``unique``: the batch's sorted distinct values and their counts when the caller has them;
        then ``values`` may be None (rebuilt from the counts when the sketch needs them).
        """
        if values is None and unique is None:
            raise InvalidArgumentError("values", "an array, or unique counts with values=None", None)
        if not (values.size if values is not None else cast(tuple, unique)[1].size):
            return
        if self._exact is not None:
            if unique is None:
                unique = np.unique(cast(np.ndarray, values), return_counts=True)
            merged = _merge_counts(self._exact, (unique[0].astype(np.float64), unique[1].astype(np.int64)))
            if merged[0].size <= EXACT_LIMIT:
                self._exact = merged
                return
            self._to_sketch()
        if values is None:
            unique = cast(tuple[np.ndarray, np.ndarray], unique)
            self._kll.update(np.repeat(unique[0].astype(np.float64), unique[1]))  # ascending already
            return
        self._kll.update(_in_sorted_runs(values))

    def update_sorted(self, ordered: np.ndarray) -> None:
        """Add finite values given in ascending order (counted without another sort)."""
        if not ordered.size:
            return
        if self._exact is not None and _surely_many(ordered):
            self._to_sketch()
        if self._exact is not None:
            change = np.flatnonzero(ordered[1:] != ordered[:-1])
            if change.size < EXACT_LIMIT:
                starts = np.concatenate([[0], change + 1])
                self.update(None, (ordered[starts], np.diff(np.append(starts, ordered.size))))
                return
            self._to_sketch()
        self._kll.update(np.require(ordered, np.float64, ["C_CONTIGUOUS", "WRITEABLE"]))

    def takes_unsorted(self, values: np.ndarray) -> bool:
        """Whether ``values`` go into the KLL sketch, where their order does not matter: the
        sketch is in use, or every k-th value already holds more distinct values than the exact
        counts keep (then the sketch starts here). A caller then skips sorting a batch of
        continuous values (a sort costs three times KLL's unsorted update)."""
        if self._exact is None:
            return True
        if not _surely_many(values, ordered=False):
            return False
        self._to_sketch()
        return True

    def _to_sketch(self) -> None:
        sketch = dsk.kll_doubles_sketch(KLL_K)
        if self._exact is not None:
            _pour(sketch, *self._exact)
        self._sketch, self._exact = sketch, None

    def merge(self, other: Quantiles) -> None:
        if self._exact is not None and other._exact is not None:
            merged = _merge_counts(self._exact, other._exact)
            if merged[0].size <= EXACT_LIMIT:
                self._exact = merged
                return
            self._to_sketch()
            _pour(self._kll, *other._exact)
            return
        if self._exact is not None:
            self._to_sketch()
        if other._exact is not None:
            _pour(self._kll, *other._exact)
        else:
            self._kll.merge(other._kll)

    @property
    def exact_distinct(self) -> int | None:
        """The number of distinct values while counts are exact, else None."""
        return None if self._exact is None else int(self._exact[0].size)

    @property
    def n(self) -> int:
        return int(self._exact[1].sum()) if self._exact is not None else int(self._kll.n)

    @property
    def is_empty(self) -> bool:
        return self.n == 0

    @property
    def rank_error(self) -> float:
        """Normalised rank error of one quantile at 99% confidence (0 while exact)."""
        return 0.0 if self._exact is not None else float(self._kll.normalized_rank_error(False))

    def quantiles(self, qs: Sequence[float] | np.ndarray) -> list[float]:
        """The smallest value whose rank reaches each q (the lower quantile)."""
        if self.is_empty:
            return [float("nan")] * len(qs)
        if self._exact is not None:
            values, counts = self._exact
            cumulative = np.cumsum(counts)
            # Rounding first keeps 0.3 * 10 at 3, not 3.0000000000000004 (which would ceil to 4).
            targets = np.ceil(np.round(np.asarray(qs, float) * cumulative[-1], 9))
            index = np.searchsorted(cumulative, np.maximum(targets, 1), side="left")
            return values[np.minimum(index, values.size - 1)].tolist()
        return [float(v) for v in self._kll.get_quantiles([float(q) for q in qs])]

    def cdf(self, points: Sequence[float] | np.ndarray) -> np.ndarray:
        """Fraction of values strictly below each point (points increasing and unique)."""
        if self.is_empty or not len(points):
            return np.zeros(len(points))
        if self._exact is not None:
            values, counts = self._exact
            below = np.concatenate([[0], np.cumsum(counts)])[np.searchsorted(values, np.asarray(points, float))]
            return below / counts.sum()
        return np.asarray(self._kll.get_cdf([float(p) for p in points]))[:-1]

    def pmf(self, edges: Sequence[float] | np.ndarray) -> np.ndarray:
        """Mass in each bucket [edges[i], edges[i+1]); the first and last buckets are open-ended,
        so together they hold everything."""
        bounds = np.asarray(edges, float)
        if self.is_empty or bounds.size < 2:
            return np.zeros(max(bounds.size - 1, 0))
        inner = self.cdf(bounds[1:-1])
        return np.diff(np.concatenate([[0.0], inner, [1.0]]))

    def to_state(self) -> dict[str, str]:
        if self._exact is not None:
            values, counts = self._exact
            return {
                "values": _encode(zlib.compress(values.astype("<f8").tobytes(), _ZLIB_LEVEL)),
                "counts": _encode(zlib.compress(counts.astype("<i8").tobytes(), _ZLIB_LEVEL)),
            }
        return {"kll": _encode(self._kll.serialize())}

    @classmethod
    def from_state(cls, state: dict[str, str]) -> Quantiles:
        if "kll" in state:
            return cls(dsk.kll_doubles_sketch.deserialize(_decode(state["kll"])))
        values = np.frombuffer(zlib.decompress(_decode(state["values"])), dtype="<f8").astype(np.float64)
        counts = np.frombuffer(zlib.decompress(_decode(state["counts"])), dtype="<i8").astype(np.int64)
        return cls(exact=(values, counts))

    def __reduce__(self):
        return (Quantiles.from_state, (self.to_state(),))


def _surely_many(values: np.ndarray, ordered: bool = True) -> bool:
    """Whether values hold more than ``EXACT_LIMIT`` distinct ones, told from every k-th value (a
    subset has no more distinct values than the whole): continuous values skip the full count.
    ``ordered``: the values are ascending (else the sample is sorted). False means "not known",
    not "few"."""
    step = values.size // (4 * EXACT_LIMIT)
    if step < 2:
        return False
    sample = values[::step] if ordered else np.sort(values[::step])
    return int(np.count_nonzero(sample[1:] != sample[:-1])) >= EXACT_LIMIT


_RUN = 256  # values numpy sorts with its vectorised sorting networks (longer rows cost 5x more)


def _in_sorted_runs(values: np.ndarray) -> np.ndarray:
    """A writable float64 copy of ``values`` with each run of ``_RUN`` values sorted, for KLL.

    KLL's guarantee holds in any input order, but its update (which holds the GIL) sorts the
    items of its lowest level at every compaction: on sorted runs it takes half the time. numpy
    sorts rows of 256 values in a twentieth of that, without the GIL. (The binding also takes
    only writable arrays, and Arrow's zero-copy views are read-only: this copy is needed anyway.)
    """
    runs = np.array(values, np.float64)
    whole = runs.size - runs.size % _RUN
    runs[:whole].reshape(-1, _RUN).sort(axis=1)
    runs[whole:].sort()
    return runs


def _merge_counts(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if not a[0].size:
        order = np.argsort(b[0], kind="stable")
        return b[0][order], b[1][order]
    values, inverse = np.unique(np.concatenate([a[0], b[0]]), return_inverse=True)
    counts = np.bincount(inverse, weights=np.concatenate([a[1], b[1]]), minlength=values.size)
    return values, counts.astype(np.int64)


def _pour(sketch: _KllSketch, values: np.ndarray, counts: np.ndarray, chunk: int = 1 << 20) -> None:
    """Feed value counts into a KLL sketch, at most ``chunk`` values in memory at a time."""
    start = 0
    while start < values.size:
        stop = start + 1
        total = int(counts[start])
        while stop < values.size and total + counts[stop] <= chunk:
            total += int(counts[stop])
            stop += 1
        if total <= chunk:
            sketch.update(np.repeat(values[start:stop], counts[start:stop]).astype(np.float64))
        else:  # one value repeated more than a chunk
            for size in [chunk] * (total // chunk) + [total % chunk]:
                if size:
                    sketch.update(np.full(size, values[start]))
        start = stop


class Distinct:
    """HyperLogLog distinct count over 64-bit hashes: 2**14 one-byte registers, updated vectorised.

    Relative standard error 1.04 / 128 (about 0.8%), so within 2% at two sigma at any count;
    Ertl's improved estimator (2017) keeps small and medium counts unbiased. Registers merge by
    maximum, so the count of a union is the count of merged sketches. Values are fed as whole
    arrays (``update_numbers``, ``update_strings``); a value seen before changes nothing.
    """

    def __init__(self, registers: np.ndarray | None = None):
        self.registers = registers if registers is not None else np.zeros(HLL_REGISTERS, np.uint8)

    def update_hashes(self, hashes: np.ndarray) -> None:
        """Add values by their 64-bit hashes (uint64)."""
        registers = self.registers
        for start in range(0, hashes.size, _HLL_CHUNK):
            chunk = hashes[start : start + _HLL_CHUNK]
            index = (chunk >> _INDEX_SHIFT).astype(np.intp)
            # Rank = leading zeros of the remaining 50 bits + 1, from the exponent of their float
            # value (exact below 2**53).
            _, exponent = np.frexp((chunk & _LOW_MASK).astype(np.float64))
            rank = (_RANK_BASE - exponent).astype(np.uint8)
            higher = rank > registers[index]  # most hashes raise nothing once registers fill
            if higher.any():
                np.maximum.at(registers, index[higher], rank[higher])

    def update_numbers(self, values: np.ndarray) -> None:
        """Add numbers (integral floats count as the equal int), hashed ``_HASH_ROWS`` at a time
        (temporaries the allocator reuses: a 262k-value batch in a third of the time)."""
        for start in range(0, values.size, _HASH_ROWS):
            self.update_hashes(hash_numbers(values[start : start + _HASH_ROWS]))

    def update_strings(self, values: Any) -> None:
        """Add the values of an Arrow string array without nulls."""
        self.update_hashes(hash_strings(values))

    def update_many(self, values: list) -> None:
        """Add Python values (int, float or str), a few at a time."""
        strings = [v for v in values if isinstance(v, str)]
        numbers = [v for v in values if not isinstance(v, str)]
        if strings:
            self.update_strings(_strings(strings))
        if numbers:
            self.update_numbers(np.asarray(numbers, dtype=np.float64))

    def merge(self, other: Distinct) -> None:
        np.maximum(self.registers, other.registers, out=self.registers)

    @property
    def estimate(self) -> float:
        return _ertl_estimate(self.registers)

    def bounds(self, sigmas: int = 2) -> tuple[float, float]:
        error = sigmas * 1.04 / math.sqrt(HLL_REGISTERS)
        estimate = self.estimate
        return estimate * (1 - error), estimate * (1 + error)

    def to_text(self) -> str:
        return _HLL_PREFIX + _encode(zlib.compress(self.registers.tobytes(), _ZLIB_LEVEL))

    @classmethod
    def from_text(cls, text: str) -> Distinct:
        if not text.startswith(_HLL_PREFIX):
            raise InvalidArgumentError(
                "profile", "distinct-count sketches of this deepscope version", text[:16] + "...", hint=_REPROFILE
            )
        registers = np.frombuffer(zlib.decompress(_decode(text[len(_HLL_PREFIX) :])), dtype=np.uint8).copy()
        if registers.size != HLL_REGISTERS:
            raise InvalidArgumentError("profile", f"{HLL_REGISTERS} HyperLogLog registers", registers.size)
        return cls(registers)

    def __reduce__(self):
        return (Distinct.from_text, (self.to_text(),))


HLL_P = 14
HLL_REGISTERS = 1 << HLL_P
_HLL_CHUNK = 1 << 14
_INDEX_SHIFT = np.uint64(64 - HLL_P)
_LOW_MASK = np.uint64((1 << (64 - HLL_P)) - 1)
_RANK_BASE = 65 - HLL_P  # rank of the remaining bits: their count (50) + 1 - bit length
_HLL_PREFIX = "hll14:"
_REPROFILE = "this profile was saved by an older deepscope; profile the data again"


def _ertl_estimate(registers: np.ndarray) -> float:
    """Ertl's improved raw estimator for HyperLogLog ("New cardinality estimation algorithms for
    HyperLogLog sketches", 2017), unbiased from a few values to billions."""
    m = registers.size
    q = 64 - HLL_P
    counts = np.bincount(registers, minlength=q + 2).astype(np.float64)
    z = m * _tau(1.0 - counts[q + 1] / m)
    for k in range(q, 0, -1):
        z = 0.5 * (z + counts[k])
    z += m * _sigma(counts[0] / m)
    return m * m / (2.0 * math.log(2.0) * z) if z > 0 else float("inf")


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if z == previous:
            return z


def _tau(x: float) -> float:
    if x in (0.0, 1.0):
        return 0.0
    y, z = 1.0, 1.0 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= (1.0 - x) ** 2 * y
        if z == previous:
            return z / 3.0


class TopValues:
    """Most frequent strings with counts: a mergeable Misra-Gries summary of ``TOP_CAPACITY`` items.

    While no more than ``TOP_CAPACITY`` distinct values were seen every count is exact. Beyond,
    the least frequent are dropped and ``offset`` grows by the largest dropped count: every kept
    count is then a lower bound within ``offset`` of the truth, and any value not kept occurred at
    most ``offset`` times (Agarwal et al., "Mergeable summaries", 2012). Batches and merges are
    vectorised on 64-bit hashes of the strings.
    """

    def __init__(self, values: Any = None, counts: np.ndarray | None = None, offset: int = 0, total: int = 0):
        self.values: Any = values if values is not None else pa.nulls(0, pa.large_string())
        self.counts = counts if counts is not None else np.zeros(0, np.int64)
        self.hashes = hash_strings(self.values)
        self.offset = int(offset)
        self.total = int(total)

    def update_counts(self, values: Any, counts: np.ndarray | list[int], hashes: np.ndarray | None = None) -> None:
        """Add distinct values (an Arrow string array without nulls, or a list of str) with their
        counts in the batch; ``hashes``: their ``hash_strings`` when the caller has them."""
        if not isinstance(values, (pa.Array, pa.ChunkedArray)):
            values = _strings(list(values))
        counts = np.asarray(counts, dtype=np.int64)
        if hashes is None:
            hashes = hash_strings(values)
        self._combine(values, counts, hashes, 0, int(counts.sum()))

    def update_rows(
        self,
        array: Any,
        rows: np.ndarray,
        counts: np.ndarray,
        hashes: np.ndarray,
        others: int = 0,
        total: int | None = None,
    ) -> None:
        """Add distinct values given as positions in an Arrow string ``array``: ``rows[i]`` is a row
        holding the value of hash ``hashes[i]``, seen ``counts[i]`` times. Only the values that stay
        in the summary are taken out of the array. ``others``: a bound on the count of any value of
        the batch not given (0: every value is given); ``total``: the batch's values, those included
        (default: the sum of ``counts``)."""
        counts = np.asarray(counts, dtype=np.int64)
        self._combine(array, counts, hashes, int(others), int(counts.sum()) if total is None else int(total), rows)

    def _combine(
        self, values: Any, counts: np.ndarray, hashes: np.ndarray, offset: int, total: int, rows: Any = None
    ) -> None:
        offset += self.offset
        if counts.size > TOP_CAPACITY:  # only the batch's most frequent can stay
            keep, largest_dropped = _largest(counts, TOP_CAPACITY)
            offset += largest_dropped
            counts, hashes = counts[keep], hashes[keep]
            if rows is None:
                values = arrow("take", values, indices(keep))
            else:
                rows = rows[keep]
        if rows is not None:
            values = arrow("take", values, indices(rows))
        if values.type != pa.large_string():
            values = cast_to(values, pa.large_string())
        keys = np.concatenate([self.hashes, hashes])
        unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        summed = np.zeros(unique.size, np.int64)
        np.add.at(summed, inverse, np.concatenate([self.counts, counts]))
        if unique.size > TOP_CAPACITY:
            order = np.argpartition(summed, unique.size - TOP_CAPACITY)
            offset += int(summed[order[: unique.size - TOP_CAPACITY]].max())
            kept = order[unique.size - TOP_CAPACITY :]
            unique, first, summed = unique[kept], first[kept], summed[kept]
        self.values = arrow("take", pa.concat_arrays([self.values, values]), indices(first))
        self.counts, self.hashes = summed, unique
        self.offset = offset
        self.total += total

    def merge(self, other: TopValues) -> None:
        self._combine(other.values, other.counts, other.hashes, other.offset, other.total)

    def items(self, limit: int | None = None) -> list[tuple[str, int, int, int]]:
        """(value, estimate, lower bound, upper bound), most frequent first (ties by value)."""
        values = self.values.to_pylist()
        rows = sorted(zip(values, self.counts.tolist(), strict=True), key=lambda r: (-r[1], r[0]))
        return [(v, c, c, c + self.offset) for v, c in rows[:limit]]

    @property
    def is_exact(self) -> bool:
        """True when no value was ever dropped, so every count is exact."""
        return self.offset == 0

    @property
    def num_items(self) -> int:
        return int(self.counts.size)

    def to_text(self) -> str:
        # Header (items, offset, total), counts, string offsets, then the UTF-8 bytes: Arrow's own
        # layout, so reading it back builds the array from buffers without a Python string each.
        values = self.values
        n = len(values)
        buffers = values.buffers()
        offsets = (
            np.frombuffer(buffers[1], np.int64)[values.offset : values.offset + n + 1] if n else np.zeros(1, np.int64)
        )
        data = buffers[2].to_pybytes()[int(offsets[0]) : int(offsets[-1])] if n and buffers[2] is not None else b""
        parts = [
            np.array([n, self.offset, self.total], "<i8").tobytes(),
            self.counts.astype("<i8").tobytes(),
            (offsets - offsets[0]).astype("<i8").tobytes(),
            data,
        ]
        return _TOP_PREFIX + _encode(zlib.compress(b"".join(parts), _ZLIB_LEVEL))

    @classmethod
    def from_text(cls, text: str) -> TopValues:
        if not text.startswith(_TOP_PREFIX):
            raise InvalidArgumentError(
                "profile", "top-value summaries of this deepscope version", text[:16] + "...", hint=_REPROFILE
            )
        raw = zlib.decompress(_decode(text[len(_TOP_PREFIX) :]))
        n, offset, total = (int(v) for v in np.frombuffer(raw[:24], "<i8"))
        counts = np.frombuffer(raw[24 : 24 + 8 * n], "<i8").astype(np.int64)
        offsets = np.frombuffer(raw[24 + 8 * n : 32 + 16 * n], "<i8").astype(np.int64)
        data = raw[32 + 16 * n :]
        values = pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
        return cls(values, counts, offset, total)

    def __reduce__(self):
        return (TopValues.from_text, (self.to_text(),))


TOP_CAPACITY = 3072


def _largest(counts: np.ndarray, k: int) -> tuple[np.ndarray, int]:
    """(positions of the ``k`` largest counts, the largest count left out), for more than ``k``
    counts; among equal counts at the boundary the first are kept.

    Counts of a batch are small integers: a histogram of them finds the boundary in linear time
    (``argpartition`` took 4 ms for 230,000 counts); large counts fall back to ``argpartition``.
    """
    if int(counts.min()) < 0 or int(counts.max()) > 4 * counts.size:
        keep = np.argpartition(counts, counts.size - k)[counts.size - k :]
        dropped = np.ones(counts.size, bool)
        dropped[keep] = False
        return keep, int(counts[dropped].max())
    histogram = np.bincount(counts)
    at_least = np.cumsum(histogram[::-1])[::-1]  # at_least[c]: how many counts are c or more
    above = np.append(at_least[1:], 0)  # above[c]: how many are more than c
    boundary = int(np.argmax(above <= k))  # every count above it stays, and some equal to it
    keep = np.flatnonzero(counts > boundary)
    # More counts equal the boundary than places are left (else a lower boundary would do), so
    # some are left out and the boundary is the largest count dropped.
    ties = np.flatnonzero(counts == boundary)[: k - keep.size]
    return np.concatenate([keep, ties]), boundary


_TOP_PREFIX = "top1:"
_ZLIB_LEVEL = 1  # the fastest: a profile's text is written once per profile, at most tens of KB a feature


def arrow(function: str, *args: Any, options: Any = None) -> Any:
    """Call an Arrow compute kernel by name.

    ``pyarrow.compute`` builds a Python wrapper for each of its hundreds of functions when imported
    (about a tenth of a second, a third of a first profile's imports); the kernels themselves need
    none of that. Arrow's array methods (``take``, ``filter``, ``cast``...) import it, so the
    profile path calls kernels through this instead.
    """
    return _kernels.call_function(function, list(args), options)


def cast_to(values: Any, target: pa.DataType) -> Any:
    """``values.cast(target)`` through ``arrow``."""
    return arrow("cast", values, options=_kernels.CastOptions(target))


def indices(positions: np.ndarray) -> pa.Array:
    """An Arrow int64 array of positions for ``take``, built from the numpy buffer.

    (``pa.array`` imports pandas on its first call, a quarter second that profiling a file
    otherwise never pays.)
    """
    positions = np.ascontiguousarray(positions, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), positions.size, [None, pa.py_buffer(positions)])


def _strings(values: list[str]) -> pa.Array:
    """A large_string Arrow array of Python strings, without ``pa.array`` (see ``indices``)."""
    encoded = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return pa.Array.from_buffers(
        pa.large_string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    )


# Vectorised 64-bit hashes: numbers (integral floats hash as ints) and Arrow strings.

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_FLOAT_TAG = np.uint64(0x9E3779B97F4A7C15)  # keeps a float's bits from colliding with an int's hash
_INT64_LIMIT = float(2**63)
_HASH_CHUNK = 1 << 14  # string bytes hashed at a time (each costs 8-byte temporaries: 128 KiB)
_HASH_ROWS = 1 << 14  # rows hashed at a time (128 KiB per temporary array)
_FEW_LENGTHS = 16
_SHORT = 64


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, in place on a uint64 array (wrapping arithmetic)."""
    h ^= h >> _S33
    h *= _M1
    h ^= h >> _S33
    h *= _M2
    h ^= h >> _S33
    return h


def hash_numbers(values: np.ndarray) -> np.ndarray:
    """64-bit hashes of numbers; integral floats hash as the equal int (3.0 as 3)."""
    if values.dtype.kind in "iub":
        return _fmix64(values.astype(np.int64).view(np.uint64))
    values = values.astype(np.float64, copy=False)
    whole = (values == np.trunc(values)) & (np.abs(values) < _INT64_LIMIT)
    if whole.all():
        return _fmix64(values.astype(np.int64).view(np.uint64))
    bits = (values + 0.0).view(np.uint64) ^ _FLOAT_TAG  # + 0.0 makes -0.0 into 0.0
    if whole.any():
        bits[whole] = values[whole].astype(np.int64).view(np.uint64)
    return _fmix64(bits)


def hash_strings(values: Any) -> np.ndarray:
    """64-bit hashes of an Arrow string array without nulls.

    The UTF-8 bytes, zero-padded to whole 8-byte little-endian words w_j, give
    ``length * C + sum((w_j + 1) * M**j)`` (wrapping at 2**64), then MurmurHash3's finaliser.
    Short strings of a few lengths (ids, codes, labels) are hashed a word at a time, others a
    byte at a time with per-position weights; both give the same hash.
    """
    n = len(values)
    if n == 0:
        return np.zeros(0, np.uint64)
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = cast_to(values, pa.large_string())  # string views
    if n > _HASH_ROWS:
        # In slices of rows: their temporaries are small enough for the allocator to hand the
        # same memory back each time, where arrays of a whole batch cost fresh pages (faulting
        # them in took 3x as long as hashing on the machine measured).
        hashes = np.empty(n, np.uint64)
        for start in range(0, n, _HASH_ROWS):
            hashes[start : start + _HASH_ROWS] = _hash_slice(values.slice(start, _HASH_ROWS))
        return hashes
    return _hash_slice(values)


def string_buffers(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of a string or large_string Arrow array, as numpy views of its buffers:
    string i is ``bytes[offsets[i]:offsets[i + 1]]`` (offsets int32 or int64, as stored)."""
    n, start = len(values), values.offset
    buffers = values.buffers()
    kind = np.int64 if pa.types.is_large_string(values.type) else np.int32
    offsets = np.frombuffer(buffers[1], dtype=kind)[start : start + n + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    return offsets, data


def _hash_slice(values: Any) -> np.ndarray:
    """``hash_strings`` of a string or large_string array of at most a few thousand rows."""
    n = len(values)
    offsets, data = string_buffers(values)
    offsets = offsets.astype(np.int64)
    lengths = np.diff(offsets)
    words = (lengths + 7) >> 3
    _powers(int(words.max()) + 1)
    hashes = lengths.astype(np.uint64) * _FLOAT_TAG + _word_terms()[words]
    shortest, longest = int(lengths.min()), int(lengths.max())
    if longest <= _SHORT and (shortest == longest or np.count_nonzero(np.bincount(lengths)) <= _FEW_LENGTHS):
        for size in range(shortest, longest + 1) if shortest < longest else [longest]:
            if not size:
                continue
            rows = np.flatnonzero(lengths == size) if shortest < longest else None
            count = n if rows is None else rows.size
            if not count:
                continue
            width = (size + 7) >> 3
            padded = np.zeros((count, width * 8), np.uint8)
            if rows is None and offsets[-1] - offsets[0] == n * size:
                padded[:, :size] = data[offsets[0] : offsets[-1]].reshape(n, size)
            else:
                starts = offsets[:-1] if rows is None else offsets[rows]
                padded[:, :size] = data[starts[:, None] + np.arange(size)]
            words_of = padded.view("<u8")
            powers = _powers(width)
            # Word by word: numpy's integer matrix product has no vectorised kernel (5x slower).
            sums = words_of[:, 0] * powers[0]
            for j in range(1, width):
                sums += words_of[:, j] * powers[j]
            if rows is None:
                hashes += sums
            else:
                hashes[rows] += sums
        return _fmix64(hashes)
    start = 0
    while start < n:  # strings in chunks of about _HASH_CHUNK bytes
        stop = int(np.searchsorted(offsets, offsets[start] + _HASH_CHUNK, side="right")) - 1
        stop = min(max(stop, start + 1), n)
        first, last = int(offsets[start]), int(offsets[stop])
        if last > first:
            chunk_lengths = lengths[start:stop]
            starts = offsets[start:stop] - first
            position = np.arange(last - first, dtype=np.int64) - np.repeat(starts, chunk_lengths)
            weights = _byte_weights(int(chunk_lengths.max()))[position]
            terms = data[first:last].astype(np.uint64) * weights
            present = chunk_lengths > 0
            hashes[start:stop][present] += np.add.reduceat(terms, starts[present])
        start = stop
    return _fmix64(hashes)


_POWERS = np.ones(1, np.uint64)


def _word_terms() -> np.ndarray:
    """sum(M**j for j < k) for k words, so each word w_j contributes (w_j + 1) * M**j."""
    global _WORD_TERMS
    if _WORD_TERMS.size < _POWERS.size + 1:
        _WORD_TERMS = np.concatenate([np.zeros(1, np.uint64), np.cumsum(_POWERS, dtype=np.uint64)])
    return _WORD_TERMS


_WORD_TERMS = np.zeros(1, np.uint64)


def _byte_weights(length: int) -> np.ndarray:
    """The weight of byte i of a string: 256**(i % 8) * M**(i // 8), wrapping."""
    powers = _powers((length + 7) >> 3)
    shifts = (np.arange(length, dtype=np.uint64) % np.uint64(8)) * np.uint64(8)
    return (np.uint64(1) << shifts) * powers[np.arange(length) >> 3]


def _powers(length: int) -> np.ndarray:
    """_M1 ** i for i < length, wrapping at 2**64 (grown as longer strings arrive)."""
    global _POWERS
    if _POWERS.size < length:
        size = max(length, 2 * _POWERS.size, 64)
        powers = np.empty(size, np.uint64)
        powers[0] = 1
        filled = 1
        while filled < size:  # doubling: powers[k:2k] = powers[:k] * M1**k (wrapping)
            step = min(filled, size - filled)
            powers[filled : filled + step] = powers[:step] * np.uint64(pow(int(_M1), filled, 1 << 64))
            filled += step
        _POWERS = powers
    return _POWERS
