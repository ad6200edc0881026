"""Profiles on Dask: accumulate each partition where it lives, then merge states in a tree.

Workers send back only accumulator states (JSON-able dicts of counts, moments and sketch bytes),
never rows. With a ``dask.distributed`` client active the work runs on its cluster.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from deepscope.data.accumulators import ColumnAccumulator, TableAccumulator, merge_states
from deepscope.data.sources import open_source, resolve_paths
from deepscope.errors import ArgumentTypeError, MissingDependencyError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["accumulate_dask", "accumulate_frame", "partition_state"]

_FAN_IN = 8


def accumulate_frame(frame: pd.DataFrame, batch_size: int) -> TableAccumulator:
    """The accumulator of one in-memory pandas partition (empty partitions keep their columns)."""
    stream = open_source(frame, batch_size=batch_size)
    acc = TableAccumulator(stream.notes)
    if not frame.shape[1]:
        return acc
    for batch in stream.batches:
        acc.update(batch)
    if frame.shape[0] == 0:  # keep the columns of an empty partition so they merge
        for name in frame.columns:
            acc.columns.setdefault(str(name), ColumnAccumulator(str(name)))
    return acc


def partition_state(frame: Any, batch_size: int) -> dict[str, Any]:
    """The accumulator state of one pandas partition (runs on a worker)."""
    return accumulate_frame(frame, batch_size).to_state()


def _merge_many(*states: dict[str, Any]) -> dict[str, Any]:
    result = states[0]
    for state in states[1:]:
        result = merge_states(result, state)
    return result


def accumulate_dask(source: Any, *, batch_size: int) -> tuple[TableAccumulator, str]:
    """Profile a Dask DataFrame (or a Parquet/CSV path read with Dask) partition by partition."""
    try:
        import dask.dataframe as dd
        from dask.base import compute
        from dask.delayed import delayed
    except ImportError:
        raise MissingDependencyError("dask", "dask", "profile(engine='dask')") from None
    label = "dask"
    if isinstance(source, (str, os.PathLike)):
        paths = [str(p) for p in resolve_paths(source)]
        label = os.path.basename(paths[0]) if len(paths) == 1 else "files"
        if all(p.lower().endswith((".csv", ".tsv")) for p in paths):
            source = dd.read_csv(paths)
        else:
            source = dd.read_parquet(paths)
    elif not hasattr(source, "to_delayed"):
        stream = open_source(source, batch_size=batch_size)
        if stream.table is None:
            raise ArgumentTypeError(
                "source", "a Dask DataFrame, a path or an in-memory table for engine='dask'", source
            )
        source = dd.from_pandas(stream.table.to_pandas(), npartitions=max(1, os.cpu_count() or 1))
        label = stream.name
    if not hasattr(source, "columns"):  # a Dask Series
        source = source.to_frame()
    states = [delayed(partition_state)(part, batch_size) for part in source.to_delayed()]
    while len(states) > 1:
        states = [delayed(_merge_many)(*states[i : i + _FAN_IN]) for i in range(0, len(states), _FAN_IN)]
    (state,) = compute(states[0])
    return TableAccumulator.from_state(state), label
