"""The Projector page's reads and computations, cached per (run, tag, step) and run signature.

PCA is computed at once; t-SNE and UMAP run in one background thread (first reduced by PCA
inside ``deepscope.embed.project``), with their progress kept here for the page to poll.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError  # not the builtin before 3.11
from typing import Any

import numpy as np

from deepscope.embed import Projection, density_image, project
from deepscope.track.logdir import EmbeddingRecord

__all__ = ["ProjectorStore", "Job", "ID_COLUMNS"]

_MAX_JOBS = 8
#: metadata columns that may hold the example ids of a predictions table (its index labels)
ID_COLUMNS = ("example_id", "example", "id")


class _LRU:
    """The last ``size`` values made, each made once even when asked for by two threads at a time."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[Hashable, Future[Any]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        with self._lock:
            future = self._items.get(key)
            mine = future is None
            if future is None:
                future = self._items[key] = Future()
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
            else:
                self._items.move_to_end(key)
        if mine:
            try:
                future.set_result(make())
            except BaseException as err:
                with self._lock:  # a failure is not kept: the next request tries again
                    if self._items.get(key) is future:
                        del self._items[key]
                future.set_exception(err)
        return future.result()


class Job:
    """A background projection: its future and the fraction done."""

    def __init__(self) -> None:
        self.progress = 0.0
        self.future: Future[Projection] | None = None

    @property
    def done(self) -> bool:
        return self.future is not None and self.future.done()


class ProjectorStore:
    """Embeddings, projections, neighbours and jobs of one logdir, shared by the page's callbacks."""

    def __init__(self, logdir: Any) -> None:
        self.logdir = logdir
        self._records = _LRU(3)
        self._projections = _LRU(12)
        self._links = _LRU(16)
        self._jobs: dict[Hashable, Job] = {}
        self._jobs_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deepscope-projector")
        self._warm = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deepscope-projector-warm")

    def _key(self, run: str, tag: str, step: int | None) -> tuple[Any, ...]:
        # A logged embedding never changes, so the run's other writes (scalars every half second
        # while it trains) must not evict it: it is known by its steps, not the run's signature.
        return (run, tag, step, tuple(self.logdir.embedding_steps(run, tag)))

    def record(self, run: str, tag: str, step: int | None) -> EmbeddingRecord:
        return self._records.get(self._key(run, tag, step), lambda: self.logdir.embedding(run, tag, step=step))

    def record_within(self, run: str, tag: str, step: int | None, seconds: float) -> EmbeddingRecord | None:
        """The embedding when it is read within ``seconds`` (it goes on reading in the
        background if not: the next :meth:`record` waits for that same read)."""
        future = self._warm.submit(self.record, run, tag, step)
        try:
            return future.result(timeout=seconds)
        except FutureTimeoutError:
            return None

    def pca(self, run: str, tag: str, step: int | None, dims: int) -> Projection:
        key = (*self._key(run, tag, step), "pca", dims)
        return self._projections.get(key, lambda: project(self.record(run, tag, step).vectors, "pca", dims=dims))

    def prefetch(self, run: str, tag: str, step: int | None, density_above: int | None = None) -> None:
        """Start reading the embedding and its 2-D PCA in the background (the page's first view),
        while the browser is still asking for the controls' values; with more than
        ``density_above`` points, also the density renderer's first call (datashader compiles
        its numba code then, tens of seconds on a busy machine)."""

        def warm() -> None:
            projection = self.pca(run, tag, step, 2)
            if density_above is not None and len(projection.coords) > density_above:
                density_image(projection.coords[:1000], width=8, height=8)

        self._warm.submit(warm)

    def job(self, run: str, tag: str, step: int | None, method: str, dims: int) -> Job:
        """The background t-SNE or UMAP of this embedding, started on first request."""
        key = (*self._key(run, tag, step), method, dims)
        with self._jobs_lock:
            job = self._jobs.get(key)
            if job is None:
                job = self._jobs[key] = Job()
                vectors = self.record(run, tag, step).vectors

                def work() -> Projection:
                    def advance(fraction: float) -> None:
                        job.progress = fraction

                    return project(vectors, method, dims=dims, progress=advance)

                job.future = self._pool.submit(work)
                while len(self._jobs) > _MAX_JOBS:  # forget the oldest finished ones
                    oldest = next((k for k, j in self._jobs.items() if j.done), None)
                    if oldest is None:
                        break
                    del self._jobs[oldest]
        return job

    def linked_table(self, run: str, tag: str, step: int | None) -> tuple[str, str, str] | None:
        """``(id column, run, tag)``: the predictions table whose examples the embedding's metadata
        names in one of :data:`ID_COLUMNS` (every id among the table's index labels), looked for in
        the embedding's own run first, then in the others; None when there is none."""
        runs = self.logdir.run_names()
        tables = tuple(
            (name, table)
            for name in sorted(runs, key=lambda r: r != run)
            for table in self.logdir.tables(name)
            if "prediction" in table.lower()
        )
        key = (*self._key(run, tag, step), tables)
        return self._links.get(key, lambda: self._find_linked(run, tag, step, tables))

    def _find_linked(self, run: str, tag: str, step: int | None, tables: tuple) -> tuple[str, str, str] | None:
        metadata = self.record(run, tag, step).metadata
        if metadata is None or not tables:
            return None
        columns = [c for c in metadata.columns if str(c) in ID_COLUMNS]
        if not columns:
            return None
        ids = set(metadata[columns[0]].astype(str))
        for table_run, table_tag in tables:
            index = set(self.logdir.table(table_run, table_tag).index.astype(str))
            if ids <= index:
                return str(columns[0]), table_run, table_tag
        return None

    def sample(self, count: int, limit: int, seed: int = 0) -> np.ndarray | None:
        """Sorted indices of a random sample of ``limit`` of ``count`` points (None: take all)."""
        if count <= limit:
            return None
        return np.sort(np.random.default_rng(seed).choice(count, size=limit, replace=False))
