"""Profiles on Dask: accumulate each partition where it lives, then merge states in a tree.

Workers send back only accumulator states (JSON-able dicts of counts, moments and sketch bytes),
never rows. With a ``dask.distributed`` client active the work runs on its cluster.
"""

from __future__ import annotations

import os
from typing import Any

from deepscope.data.accumulators import TableAccumulator, merge_states
from deepscope.errors import MissingDependencyError

__all__ = ["accumulate_dask", "partition_state"]

_FAN_IN = 8


def partition_state(frame: Any, batch_size: int) -> dict[str, Any]:
    """The accumulator state of one pandas partition (runs on a worker)."""
    from deepscope.data.profile import _accumulate_frame

    return _accumulate_frame(frame, batch_size).to_state()


def _merge_many(*states: dict[str, Any]) -> dict[str, Any]:
    result = states[0]
    for state in states[1:]:
        result = merge_states(result, state)
    return result


def accumulate_dask(source: Any, *, batch_size: int) -> tuple[TableAccumulator, str]:
    """Profile a Dask DataFrame (or a Parquet/CSV path read with Dask) partition by partition."""
    try:
        import dask
        import dask.dataframe as dd
    except ImportError:
        raise MissingDependencyError("dask", "dask", "profile(engine='dask')") from None
    label = "dask"
    if isinstance(source, (str, os.PathLike)):
        from deepscope.data.sources import resolve_paths

        paths = [str(p) for p in resolve_paths(source)]
        label = os.path.basename(paths[0]) if len(paths) == 1 else "files"
        if all(p.lower().endswith((".csv", ".tsv")) for p in paths):
            source = dd.read_csv(paths)
        else:
            source = dd.read_parquet(paths)
    elif not hasattr(source, "to_delayed"):
        from deepscope.data.sources import open_source

        stream = open_source(source, batch_size=batch_size)
        if stream.table is None:
            from deepscope.errors import ArgumentTypeError

            raise ArgumentTypeError("source", "a Dask DataFrame, a path or an in-memory table for engine='dask'", source)
        source = dd.from_pandas(stream.table.to_pandas(), npartitions=max(1, os.cpu_count() or 1))
        label = stream.name
    if not hasattr(source, "columns"):  # a Dask Series
        source = source.to_frame()
    delayed = dask.delayed
    states = [delayed(partition_state)(part, batch_size) for part in source.to_delayed()]
    while len(states) > 1:
        states = [delayed(_merge_many)(*states[i:i + _FAN_IN]) for i in range(0, len(states), _FAN_IN)]
    (state,) = dask.compute(states[0])
    return TableAccumulator.from_state(state), label
