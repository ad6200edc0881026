"""Dataset profiles: ``profile(source) -> Profile``, the statistics Facets Overview shows.

A ``Profile`` is plain, JSON-able data: per feature the exact counts and moments and the
serialised sketches (base64 text). Two profiles of parts of one dataset merge into the profile
of the whole, on another day or machine, exactly for counts and moments and within the
sketches' error bounds for quantiles, distinct counts and top values.

>>> import pandas as pd
>>> p = profile(pd.DataFrame({"age": [20, 30, None, 50], "city": ["a", "b", "a", None]}))
>>> row = p.to_frame().set_index("feature").loc["age"]
>>> int(row["count"]), float(row["missing"]), round(float(row["mean"]), 3)
(3, 0.25, 33.333)
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from deepscope.data._files import FileResult
from deepscope.data.accumulators import TableAccumulator
from deepscope.data.distributed import accumulate_dask, accumulate_frame
from deepscope.data.sketches import Distinct, Quantiles, TopValues
from deepscope.data.sources import DEFAULT_BATCH_SIZE, is_dask, open_source
from deepscope.errors import ArgumentTypeError, InvalidArgumentError, NotFoundError
from deepscope.validation import check_int

if TYPE_CHECKING:  # pandas loads only when a frame is asked for: profiling a file never needs it
    import pandas as pd

__all__ = ["Profile", "FeatureProfile", "profile", "DECILES", "FORMAT_VERSION"]

DECILES = tuple(round(0.1 * i, 1) for i in range(1, 10))
# 2: distinct counts are HyperLogLog registers and top values a Misra-Gries summary (deepscope's own).
FORMAT_VERSION = 2
_ENGINES = ("auto", "local", "dask")
_THREADS = max(1, min(8, os.cpu_count() or 1))


@dataclass(frozen=True)
class FeatureProfile:
    """Statistics of one feature, read from a profile's saved state.

    ``count`` is the number of examples with a value (not null, not NaN); ``missing`` and
    ``zeros`` here are counts (``Profile.to_frame`` gives fractions). Mean, std, quantiles and
    histograms are over finite values; ``infinite`` counts the rest. For list features the value
    statistics are over all list elements and ``values_per_example`` describes list lengths.
    """

    name: str
    type: str
    kind: str
    arrow_type: str
    rows: int
    count: int
    missing: int
    nan: int
    infinite: int
    mean: float
    std: float
    min: float | None
    max: float | None
    zeros: int
    unique: int | None
    avg_length: float
    top_values: tuple[tuple[str, int], ...]
    values_per_example: dict[str, float] | None
    reason: str | None
    notes: tuple[str, ...]
    state: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_state(cls, name: str, state: dict[str, Any]) -> FeatureProfile:
        values = state.get("values") or {}
        vkind = values.get("kind")
        nan = int(values.get("nan", 0)) if state["kind"] == "numeric" else 0
        missing = int(state["nulls"]) + nan
        count = int(state["rows"]) - missing
        mean = std = float("nan")
        low = high = None
        zeros = infinite = 0
        unique: int | None = None
        avg_length = float("nan")
        top: tuple[tuple[str, int], ...] = ()
        if vkind == "numeric":
            finite = values["finite"]
            if finite:
                mean = float(values["mean"])
                shift = int(values.get("m2_shift", 0))  # m2 is in units of 4**shift
                std = math.ldexp(math.sqrt(values["m2"] / (finite - 1)), shift) if finite > 1 else 0.0
                low, high = values["min"], values["max"]
            infinite = int(values["posinf"] + values["neginf"])
            zeros = int(values["zeros"])
            exact = Quantiles.from_state(values["quantiles"]).exact_distinct
            if exact is None:
                exact = round(Distinct.from_text(values["distinct"]).estimate)
            # Infinities are values too, though the quantile counts hold finite values only.
            unique = min(exact + int(values["posinf"] > 0) + int(values["neginf"] > 0), values["count"])
        elif vkind == "string":
            sketch = TopValues.from_text(values["top"])
            if sketch.is_exact:
                unique = sketch.num_items
            else:
                unique = min(round(Distinct.from_text(values["distinct"]).estimate), values["count"])
            if values["count"]:
                avg_length = values["total_length"] / values["count"]
            top = tuple((item, est) for item, est, _, _ in sketch.items(10))
        elif vkind == "bool":
            true, total = values["true"], values["count"]
            if total:
                mean = true / total
                std = math.sqrt(total * mean * (1 - mean) / (total - 1)) if total > 1 else 0.0
                low, high = (0 if true < total else 1), (1 if true else 0)
            zeros = total - true
            unique = int(true > 0) + int(total - true > 0)
            top = tuple(sorted((("true", true), ("false", total - true)), key=lambda t: -t[1]))
            top = tuple(t for t in top if t[1] > 0)
        per_example = None
        if state.get("per_example"):
            pe = state["per_example"]
            if pe["finite"]:
                per_example = {"min": pe["min"], "mean": pe["mean"], "max": pe["max"]}
        return cls(
            name=name,
            type=state["type"],
            kind=state["kind"],
            arrow_type=state["arrow_type"],
            rows=int(state["rows"]),
            count=count,
            missing=missing,
            nan=nan,
            infinite=infinite,
            mean=mean,
            std=std,
            min=low,
            max=high,
            zeros=zeros,
            unique=unique,
            avg_length=avg_length,
            top_values=top,
            values_per_example=per_example,
            reason=state.get("reason"),
            notes=tuple(state.get("notes", [])),
            state=state,
        )

    @property
    def is_numeric(self) -> bool:
        return (self.state.get("values") or {}).get("kind") == "numeric"

    @property
    def is_categorical(self) -> bool:
        return (self.state.get("values") or {}).get("kind") in ("string", "bool")

    def sketch(self) -> Quantiles:
        """The KLL quantile sketch of the finite values (numeric features only)."""
        if not self.is_numeric:
            raise InvalidArgumentError("feature", "a numeric feature", f"{self.name!r} of type {self.type}")
        return Quantiles.from_state(self.state["values"]["quantiles"])

    def quantiles(self, qs: Sequence[float] | np.ndarray) -> np.ndarray:
        """Approximate quantiles (rank error under 1%); exact min and max at 0 and 1."""
        levels = _check_qs(qs)
        values = np.asarray(self.sketch().quantiles(levels), dtype=float)
        if self.min is not None:
            values[levels == 0.0] = self.min
            values[levels == 1.0] = self.max
        return values

    @property
    def deciles(self) -> np.ndarray:
        """The quantiles at 0.1, 0.2, ... 0.9 (NaN for features that are not numeric)."""
        return self.quantiles(DECILES) if self.is_numeric else np.full(len(DECILES), np.nan)

    @property
    def median(self) -> float:
        return float(self.quantiles([0.5])[0]) if self.is_numeric else float("nan")

    def histogram(self, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(edges, counts): ``bins`` equal-width buckets between min and max of finite values.

        Counts come from the quantile sketch, so each is within about 1% of the finite count.
        """
        if self.min is None or not self.is_numeric:
            return np.zeros(0), np.zeros(0)
        finite = self.state["values"]["finite"]
        low, high = self.min, cast(float, self.max)  # both set once finite values were seen
        if high == low:
            return np.array([low, high], dtype=float), np.array([float(finite)])
        edges = np.linspace(low, high, bins + 1)
        return edges, self.sketch().pmf(edges) * finite

    def quantile_histogram(self, buckets: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(edges, counts) of equal-count buckets: edges are the quantiles at 0, 1/buckets, ... 1."""
        if self.min is None or not self.is_numeric:
            return np.zeros(0), np.zeros(0)
        edges = self.quantiles(np.linspace(0.0, 1.0, buckets + 1))
        finite = self.state["values"]["finite"]
        return edges, np.full(buckets, finite / buckets)

    def frequencies(self, limit: int | None = None) -> list[tuple[str, int]]:
        """Values with their (estimated) counts, most frequent first; categorical features."""
        values = self.state.get("values") or {}
        if values.get("kind") == "string":
            return [(v, est) for v, est, _, _ in TopValues.from_text(values["top"]).items(limit)]
        if values.get("kind") == "bool":
            return list(self.top_values[:limit])
        raise InvalidArgumentError(
            "feature", "a string, categorical or bool feature", f"{self.name!r} of type {self.type}"
        )

    def to_row(self) -> dict[str, Any]:
        rows = self.rows or 1
        values = self.state.get("values") or {}
        value_count = values.get("count", 0)
        # For lists, zeros are a share of all list elements; otherwise of examples with a value.
        count_base = value_count if self.kind == "list" else self.count
        top = self.top_values[0] if self.top_values else (None, 0)
        return {
            "feature": self.name,
            "type": self.type,
            "count": self.count,
            "missing": self.missing / rows if self.rows else float("nan"),
            "mean": self.mean,
            "std": self.std,
            "zeros": self.zeros / count_base if count_base else float("nan"),
            "min": _num(self.min),
            "median": self.median,
            "max": _num(self.max),
            "unique": self.unique if self.unique is not None else _pandas().NA,
            "infinite": self.infinite,
            "avg_length": self.avg_length,
            "top": top[0],
            "top_fraction": top[1] / value_count if value_count and top[0] is not None else float("nan"),
            "notes": "; ".join(([self.reason] if self.reason else []) + list(self.notes)),
        }


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _check_qs(qs: Sequence[float] | np.ndarray) -> np.ndarray:
    try:
        array = np.atleast_1d(np.asarray(qs, dtype=float))
    except (TypeError, ValueError):
        raise ArgumentTypeError("qs", "a sequence of numbers in [0, 1]", qs) from None
    if array.ndim != 1 or not np.all((array >= 0) & (array <= 1)):
        raise InvalidArgumentError("qs", "numbers in [0, 1]", qs)
    return array


@dataclass(frozen=True)
class Profile(FileResult):
    """Statistics of every feature of a dataset; mergeable, saved as JSON.

    ``columns`` maps each feature to its serialised accumulator state (JSON-able, sketches as
    base64 text). Read it through ``profile[feature]`` (a ``FeatureProfile``), ``to_frame()``
    and ``quantiles()``.
    """

    name: str
    rows: int
    columns: dict[str, dict[str, Any]]

    default_tag = "profile"
    #: small multiples of every feature's histogram
    figure_function = "deepscope.viz.data:profile_figure"

    @property
    def features(self) -> list[str]:
        return list(self.columns)

    def __getitem__(self, feature: str) -> FeatureProfile:
        if feature not in self.columns:
            raise NotFoundError("feature", feature, self.features)
        return FeatureProfile.from_state(feature, self.columns[feature])

    def __contains__(self, feature: object) -> bool:
        return feature in self.columns

    def __iter__(self):
        return (self[f] for f in self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def to_frame(self) -> pd.DataFrame:
        """One row per feature: ``feature, type, count, missing, mean, std, zeros, min, median,
        max, unique`` and more; ``missing`` is a fraction of rows, ``zeros`` of present values."""
        import pandas as pd

        rows = [self[f].to_row() for f in self.columns]
        columns = [
            "feature",
            "type",
            "count",
            "missing",
            "mean",
            "std",
            "zeros",
            "min",
            "median",
            "max",
            "unique",
            "infinite",
            "avg_length",
            "top",
            "top_fraction",
            "notes",
        ]
        frame = pd.DataFrame(rows, columns=columns)
        frame["unique"] = frame["unique"].astype("Int64")
        return frame

    def quantiles(self, feature: str, qs: Sequence[float]) -> np.ndarray:
        """Approximate quantiles of a numeric feature (normalised rank error under 1%)."""
        return self[feature].quantiles(qs)

    def histogram(self, feature: str, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
        return self[feature].histogram(bins)

    def merge(self, other: Profile, *, name: str | None = None) -> Profile:
        """The profile of both datasets together (rows appended)."""
        if not isinstance(other, Profile):
            raise ArgumentTypeError("other", "a Profile", other)
        left = _accumulator(self)
        left.merge(_accumulator(other))
        return _from_accumulator(left, name or self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "deepscope.profile",
            "version": FORMAT_VERSION,
            "name": self.name,
            "rows": self.rows,
            "columns": self.columns,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        if not isinstance(data, dict) or data.get("format") != "deepscope.profile":
            raise InvalidArgumentError("data", "a saved deepscope profile", data)
        if data.get("version", 0) > FORMAT_VERSION:
            raise InvalidArgumentError(
                "data",
                f"profile format version {FORMAT_VERSION} or older",
                data.get("version"),
                hint="upgrade deepscope to read it",
            )
        if data.get("version", 0) < FORMAT_VERSION:
            raise InvalidArgumentError(
                "data",
                f"profile format version {FORMAT_VERSION}",
                data.get("version"),
                hint="its sketches come from an older deepscope; profile the data again",
            )
        return cls(name=str(data["name"]), rows=int(data["rows"]), columns=dict(data["columns"]))

    def to_json(self) -> str:
        import json  # loaded when saving or reading, not for every profile

        return json.dumps(self.to_dict(), allow_nan=True)

    @classmethod
    def read(cls, path: str | os.PathLike) -> Profile:
        """Read a profile written by :meth:`to_file`."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise InvalidArgumentError("path", "a readable profile JSON file", str(path), hint=str(error)) from None
        import json

        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise InvalidArgumentError("path", "a profile JSON file", str(path), hint=str(error)) from None
        return cls.from_dict(data)


def _accumulator(p: Profile) -> TableAccumulator:
    return TableAccumulator.from_state({"rows": p.rows, "columns": p.columns})


def _from_accumulator(acc: TableAccumulator, name: str) -> Profile:
    state = acc.to_state()
    return Profile(name=name, rows=state["rows"], columns=state["columns"])


def profile(
    source: Any,
    *,
    name: str | None = None,
    batch_size: int | None = None,
    engine: str = "auto",
    progress: bool | None = None,
) -> Profile:
    """Profile a dataset in one streaming pass over Arrow record batches.

    ``source``: a pandas DataFrame, an Arrow table, a Parquet or CSV path, folder or glob (read
    batch by batch, never whole), a Dask DataFrame, an array of images [N, (C,) H, W] or a list
    of texts (derived features: image size and brightness; text length and token count).
    ``engine``: ``"local"`` streams in this process, ``"dask"`` accumulates each partition on the
    Dask scheduler (a ``distributed`` client if one is active) and tree-merges; ``"auto"`` picks
    Dask for Dask DataFrames. ``progress``: a progress bar (None: only on a terminal).

    >>> import numpy as np, pandas as pd
    >>> p = profile(pd.DataFrame({"x": np.arange(10.0)}))
    >>> float(p["x"].mean), p["x"].count
    (4.5, 10)
    """
    if engine not in _ENGINES:
        raise InvalidArgumentError("engine", f"one of {list(_ENGINES)}", engine)
    batch_size = check_int(batch_size, "batch_size", low=1, allow_none=True)
    if name is not None and not isinstance(name, str):
        raise ArgumentTypeError("name", "a string or None", name)
    size = batch_size or DEFAULT_BATCH_SIZE
    if engine == "dask" or (engine == "auto" and is_dask(source)):
        acc, label = accumulate_dask(source, batch_size=size)
    else:
        acc, label = _accumulate_local(source, size, progress)
    if acc.rows == 0:
        raise InvalidArgumentError(
            "source",
            "a dataset with at least one row",
            f"{label} with 0 rows",
            hint="check the filter or path that produced it" if acc.columns else None,
        )
    if not acc.columns:
        raise InvalidArgumentError("source", "a dataset with at least one column", f"{label} with no columns")
    return _from_accumulator(acc, name or label)


def _accumulate_local(source: Any, batch_size: int, progress: bool | None) -> tuple[TableAccumulator, str]:
    if is_dask(source):
        return _accumulate_dask_locally(source, batch_size), "dask"
    stream = open_source(source, batch_size=batch_size)
    acc = TableAccumulator(stream.notes, stream.plain_strings)
    bar = _progress(progress, stream.total_rows, stream.name)
    batches = iter(stream.batches)
    batch = next(batches, None)
    if batch is None:
        if bar is not None:
            bar.close()
        return acc, stream.name
    # One thread reads and decodes the next batch while others profile this one. Threads cost a
    # few milliseconds to start: none for a single batch. A table of fewer columns than threads is
    # split into lanes: batch i goes to lane i % lanes, each lane its own accumulator (so each
    # sees its batches in order), merged at the end; the columns of a batch share a pool.
    single = stream.total_rows is not None and stream.total_rows <= batch.num_rows
    columns = batch.num_columns
    lanes = 1 if single else max(1, _THREADS // max(columns, 1))
    order: dict[str, None] = dict.fromkeys(batch.schema.names)  # columns in order of appearance
    parts = [acc] + [TableAccumulator(stream.notes, stream.plain_strings) for _ in range(lanes - 1)]
    with (
        ThreadPoolExecutor(1) if not single else nullcontext() as reader,
        ThreadPoolExecutor(min(_THREADS, columns * lanes)) if columns > 1 else nullcontext() as workers,
        ThreadPoolExecutor(lanes) if lanes > 1 else nullcontext() as lane_pool,
    ):
        upcoming = reader.submit(next, batches, None) if reader is not None else None
        pending: list[Future | None] = [None] * lanes
        index = 0
        try:
            while batch is not None:
                order.update(dict.fromkeys(batch.schema.names))
                if lane_pool is None:
                    acc.update(batch, pool=workers)
                else:
                    lane = index % lanes
                    if pending[lane] is not None:
                        cast(Future, pending[lane]).result()
                    pending[lane] = lane_pool.submit(parts[lane].update, batch, workers)
                index += 1
                if bar is not None:
                    bar.update(batch.num_rows)
                if reader is None:
                    batch = next(batches, None)
                else:
                    batch = cast(Future, upcoming).result()  # submitted whenever there is a reader
                    upcoming = reader.submit(next, batches, None) if batch is not None else None
            for future in pending:
                if future is not None:
                    future.result()
        finally:
            if upcoming is not None:
                upcoming.cancel()
            if bar is not None:
                bar.close()
    for part in parts[1:]:
        acc.merge(part)
    if list(acc.columns) != list(order):
        acc.columns = {name: acc.columns[name] for name in order}
    return acc, stream.name


def _accumulate_dask_locally(source: Any, batch_size: int) -> TableAccumulator:
    acc = TableAccumulator()
    frame = source.to_frame() if hasattr(source, "to_frame") and not hasattr(source, "columns") else source
    for part in frame.to_delayed():  # one partition in memory at a time
        acc.merge(accumulate_frame(part.compute(), batch_size))
    return acc


def _progress(progress: bool | None, total: int | None, label: str):
    if progress is False or (progress is None and not _on_terminal()):
        return None
    from deepscope.progress import tqdm

    return tqdm(
        total=total,
        unit="rows",
        unit_scale=True,
        desc=f"profile {label}",
        disable=None if progress is None else not progress,
    )


def _pandas() -> Any:
    import pandas as pd

    return pd


def _on_terminal() -> bool:
    """Whether a progress bar would show (tqdm shows one only on a terminal when not told)."""
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())
