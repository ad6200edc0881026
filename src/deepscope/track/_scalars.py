"""Scalars logged but not yet committed, and their conversion into columnar chunks.

``log()`` appends one record per call (its step, wall time and a copy of its ``{tag: float}``
dict) under one uncontended lock; checking the record is C-level work when the tags are known and
the values are floats. On flush the records are swapped out and turned into one chunk of numpy
columns per tag, with the per-point work done by C iterators.
"""

from __future__ import annotations

import itertools
import numbers
import threading
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from deepscope.errors import ArgumentTypeError
from deepscope.track._db import FLOAT_DTYPE, STEP_DTYPE
from deepscope.track._values import check_tag, scalar

CHUNK_POINTS = 1 << 18  # a stored chunk holds at most this many points (6 MiB of blobs)
_FLOAT_ONLY = frozenset({float})


class Chunk(NamedTuple):
    tag: str
    steps: np.ndarray
    wall_times: np.ndarray
    values: np.ndarray

    def split(self) -> Iterator[Chunk]:
        for start in range(0, len(self.steps), CHUNK_POINTS):
            end = start + CHUNK_POINTS
            yield Chunk(self.tag, self.steps[start:end], self.wall_times[start:end], self.values[start:end])


class ScalarBuffer:
    """Records of ``log()`` calls waiting to be written."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Three parallel lists rather than a tuple per call: ints, floats and dicts of floats are
        # not tracked by the cyclic garbage collector, so a full buffer costs it nothing.
        self._steps: list[int] = []
        self._walls: list[float] = []
        self._dicts: list[dict[str, float]] = []
        self._known_tags: set[str] = set()
        self.pending = 0  # points buffered

    def add(self, values: Mapping[str, Any], step: int, wall_time: float) -> int:
        """Buffer one point per tag; return how many points are pending.

        A bad tag or value raises before anything of this call is kept.
        """
        if (
            type(values) is dict
            and self._known_tags.issuperset(values)
            and _FLOAT_ONLY.issuperset(map(type, values.values()))
        ):
            values = values.copy()  # the caller may reuse and change its dict
        else:
            values = self._checked(values)
        with self._lock:
            self._steps.append(step)
            self._walls.append(wall_time)
            self._dicts.append(values)
            self.pending += len(values)
            return self.pending

    def _checked(self, values: Any) -> dict[str, float]:
        if not isinstance(values, Mapping):
            raise ArgumentTypeError("values", "a dict of tag -> number, such as {'loss': 0.3}", values)
        checked = {}
        for tag, value in values.items():
            if tag not in self._known_tags:
                check_tag(tag, "values key")
            checked[tag] = _to_float(value, tag)
        self._known_tags.update(checked)
        return checked

    def take(self) -> list[Chunk]:
        """Remove everything buffered and return it as one chunk per tag, in logging order."""
        with self._lock:
            step_list, wall_list, dicts = self._steps, self._walls, self._dicts
            self._steps, self._walls, self._dicts = [], [], []
            self.pending = 0
        if not dicts:
            return []
        # Flatten every point with map/chain/fromiter so the per-point work stays in C (the
        # flusher thread shares the GIL with the training loop), then sort by tag, stably.
        per_record = np.fromiter(map(len, dicts), dtype=np.intp, count=len(dicts))
        points = int(per_record.sum())
        tags = list(itertools.chain.from_iterable(dicts))
        values = np.fromiter(itertools.chain.from_iterable(map(dict.values, dicts)), dtype=FLOAT_DTYPE, count=points)
        steps = np.array(step_list, dtype=STEP_DTYPE)
        walls = np.array(wall_list, dtype=FLOAT_DTYPE)
        width = len(dicts[0])
        if width and tags == tags[:width] * len(dicts):  # the usual case: the same tags every call
            table = values.reshape(len(dicts), width)
            return [
                Chunk(tag, steps, walls, np.ascontiguousarray(table[:, column]))
                for column, tag in enumerate(tags[:width])
            ]

        code_of = {tag: code for code, tag in enumerate(dict.fromkeys(tags))}
        codes = np.fromiter(map(code_of.__getitem__, tags), dtype=np.intp, count=points)
        record_of_point = np.repeat(np.arange(len(dicts)), per_record)

        order = np.argsort(codes, kind="stable")
        bounds = np.cumsum(np.bincount(codes, minlength=len(code_of)))
        chunks = []
        for code, tag in enumerate(code_of):
            mine = order[(bounds[code - 1] if code else 0) : bounds[code]]
            rows = record_of_point[mine]
            chunks.append(Chunk(tag, steps[rows], walls[rows], values[mine]))
        return chunks


def _to_float(value: Any, tag: str) -> float:
    if type(value) is float:
        return value
    if isinstance(value, numbers.Real):
        try:
            return float(value)
        except (OverflowError, ValueError):
            pass
    return scalar(value, f"values[{tag!r}]")
