"""Nearest neighbours in the original space: exact up to 100k points, approximate (pynndescent) beyond.

>>> import numpy as np
>>> points = np.eye(4)
>>> neighbors(points, [0], k=1, metric="euclidean").indices.tolist()
[[1]]
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, cast

import numpy as np
import pandas as pd

from deepscope.embed.projection import as_vectors
from deepscope.errors import ArgumentTypeError, InvalidArgumentError, MissingDependencyError
from deepscope.result import Result
from deepscope.track._values import to_numpy
from deepscope.validation import check_int

__all__ = ["Neighbors", "neighbors", "EXACT_UP_TO"]

#: above this many points the search is approximate (pynndescent)
EXACT_UP_TO = 100_000
METRICS = ("cosine", "euclidean")
_RECALL_SAMPLE = 200


@dataclasses.dataclass(frozen=True)
class Neighbors(Result):
    """The ``k`` nearest neighbours of each query point (the point itself excluded).

    ``indices`` and ``distances`` are [Q, k], nearest first. ``exact`` says how they were found;
    for an approximate search ``recall`` is the share of true k-nearest neighbours found, measured
    against an exact search on a sample of queries (1.0 for an exact search).
    """

    queries: np.ndarray
    indices: np.ndarray
    distances: np.ndarray
    metric: str
    exact: bool
    recall: float

    default_tag: ClassVar[str] = "neighbors"
    figure_function: ClassVar[str] = "deepscope.viz.embedding:neighbors_figure"

    def to_frame(self) -> pd.DataFrame:
        """One row per (query, neighbour): query, rank (1 = nearest), index, distance."""
        q, k = self.indices.shape
        return pd.DataFrame(
            {
                "query": np.repeat(self.queries, k),
                "rank": np.tile(np.arange(1, k + 1), q),
                "index": self.indices.reshape(-1),
                "distance": self.distances.reshape(-1),
            }
        )


def neighbors(
    vectors: Any,
    index: Any = None,
    *,
    k: int = 10,
    metric: str = "cosine",
    exact: bool | None = None,
    seed: int = 0,
) -> Neighbors:
    """The ``k`` nearest neighbours of the points ``index`` (one int, a list, or None for all).

    Exact (scikit-learn's ``NearestNeighbors``, brute force) up to 100,000 points unless
    ``exact=False``; approximate (pynndescent) beyond, with recall against exact search on a
    sample of up to 200 queries reported in ``.recall``.

    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(50, 4))
    >>> neighbors(x, 3, k=5).indices.shape
    (1, 5)
    """
    array = as_vectors(vectors)
    if metric not in METRICS:
        raise InvalidArgumentError("metric", "'cosine' or 'euclidean'", metric)
    k = check_int(k, "k", low=1, high=len(array) - 1, hint="fewer neighbours than points")
    queries = _queries(index, len(array))
    if exact is None:
        exact = len(array) <= EXACT_UP_TO
    if exact:
        found, distances = _exact(array, queries, int(k), metric)
        return Neighbors(queries, found, distances, metric, True, 1.0)
    found, distances = _approximate(array, queries, int(k), metric, seed)
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(queries), size=min(_RECALL_SAMPLE, len(queries)), replace=False)
    truth, _ = _exact(array, queries[sample], int(k), metric)
    hits = sum(len(np.intersect1d(a, b)) for a, b in zip(found[sample], truth, strict=True))
    recall = hits / truth.size
    return Neighbors(queries, found, distances, metric, False, float(recall))


def _queries(index: Any, rows: int) -> np.ndarray:
    if index is None:
        return np.arange(rows)
    if isinstance(index, bool):
        raise ArgumentTypeError("index", "a point index, a list of them, or None", index)
    queries = np.atleast_1d(to_numpy(index, "index") if not isinstance(index, int) else index)
    if queries.dtype.kind not in "iu" or queries.ndim != 1:
        raise ArgumentTypeError("index", "a point index, a list of them, or None", index)
    if len(queries) and (queries.min() < 0 or queries.max() >= rows):
        raise InvalidArgumentError("index", f"point indices in 0..{rows - 1}", index)
    return queries.astype(np.int64)


def _exact(array: np.ndarray, queries: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.neighbors import NearestNeighbors

    search = NearestNeighbors(n_neighbors=k + 1, metric=metric, algorithm="brute").fit(array)
    distances, found = search.kneighbors(array[queries])
    return _drop_self(queries, found, distances, k)


def _approximate(
    array: np.ndarray, queries: np.ndarray, k: int, metric: str, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    try:
        import pynndescent
    except ImportError as exc:
        raise MissingDependencyError("pynndescent", "embed", "approximate neighbours") from exc
    graph = pynndescent.NNDescent(array, metric=metric, n_neighbors=max(k + 1, 30), random_state=seed, n_jobs=-1)
    found, distances = cast(tuple[np.ndarray, np.ndarray], graph.neighbor_graph)  # built by the fit above
    return _drop_self(queries, found[queries, : k + 1], distances[queries, : k + 1], k)


def _drop_self(queries: np.ndarray, found: np.ndarray, distances: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Remove each query from its own list (ties can put a duplicate point first instead)."""
    keep = found != queries[:, None]
    # rows where the query itself was not returned: drop the farthest instead
    missing = keep.all(axis=1)
    keep[missing, -1] = False
    shape = (len(queries), k)
    return (
        found[keep].reshape(shape).astype(np.int64),
        distances[keep].reshape(shape).astype(np.float64),
    )
