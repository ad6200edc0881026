"""Projections of vectors to 2-D or 3-D: PCA, t-SNE, UMAP and custom axes between metadata queries.

>>> import numpy as np
>>> points = np.random.default_rng(0).normal(size=(200, 8))
>>> project(points, "pca").coords.shape
(200, 2)
"""

from __future__ import annotations

import dataclasses
import logging
import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from deepscope.embed import _numba
from deepscope.embed.search import match
from deepscope.errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    MissingDependencyError,
    ShapeError,
)
from deepscope.result import Result
from deepscope.track._values import metadata_frame, to_numpy
from deepscope.validation import check_int

__all__ = ["Projection", "project", "METHODS", "as_vectors"]

logger = logging.getLogger(__name__)

METHODS = ("pca", "tsne", "umap", "custom")
#: above this many points (and 1,000 dimensions) PCA uses the randomized solver
RANDOMIZED_ABOVE = 10_000
#: t-SNE and UMAP first reduce wider vectors to this many principal components
PRE_PCA_DIMS = 50
#: UMAP finds the neighbours of fewer points exactly itself; from here deepscope finds them (Annoy)
UMAP_EXACT_BELOW = 4096
#: PCA of vectors at most this wide runs its BLAS on one thread (see ``_pca_fit``)
ONE_THREAD_WIDTH = 1000

Progress = Callable[[float], None]


@dataclasses.dataclass(frozen=True)
class Projection(Result):
    """Coordinates of N points in ``dims`` dimensions and how they were made.

    ``explained_variance`` is PCA's explained-variance ratio per axis (None for other methods);
    ``axis_labels`` names each axis (``"PC1 (23.1%)"``, ``"t-SNE 1"``, ``"cat → dog"``).
    """

    coords: np.ndarray
    method: str
    dims: int
    seed: int
    axis_labels: tuple[str, ...]
    explained_variance: np.ndarray | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    default_tag: ClassVar[str] = "projection"
    figure_function: ClassVar[str] = "deepscope.viz.embedding:projection_figure"

    def to_frame(self) -> pd.DataFrame:
        """One row per point: columns ``x``, ``y`` (and ``z`` in 3-D)."""
        names = ["x", "y", "z"][: self.dims]
        return pd.DataFrame(self.coords, columns=names)


def as_vectors(vectors: Any, argument: str = "vectors") -> np.ndarray:
    """``vectors`` as a finite float32 array [N, D]."""
    array = to_numpy(vectors, argument)
    if array.ndim != 2 or 0 in array.shape:
        raise ShapeError(argument, "a non-empty 2-D array [N, D]", vectors)
    if array.dtype.kind not in "biuf":
        raise ArgumentTypeError(argument, "numeric vectors", vectors)
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(array).all():
        raise InvalidArgumentError(argument, "finite values", vectors, hint="it holds NaN or Inf")
    return array


def project(
    vectors: Any,
    method: str = "pca",
    *,
    dims: int = 2,
    seed: int = 0,
    progress: Progress | None = None,
    **options: Any,
) -> Projection:
    """Project ``vectors`` [N, D] to ``dims`` (2 or 3) dimensions.

    Methods and their options:

    - ``"pca"``: scikit-learn's PCA (covariance eigenvectors for tall data, randomized for more
      than 10,000 points of over 1,000 dimensions).
    - ``"tsne"``: openTSNE (FFT-accelerated in 2-D from 10,000 points, Barnes-Hut below and in
      3-D); ``perplexity`` (30),
      ``n_iter`` (500), ``n_jobs`` (all cores). Wider vectors are first reduced by PCA to 50.
    - ``"umap"``: umap-learn; ``n_neighbors`` (15), ``min_dist`` (0.1), ``metric``
      ("euclidean"). numba's compiled code is cached on disk (see ``deepscope.embed.numba_cache_dir``).
    - ``"custom"``: one axis per pair of metadata queries, the direction from the centroid of the
      points matching the first to the centroid of those matching the second, as TensorBoard's
      projector does: ``metadata`` (a DataFrame) and ``axes=[("label=cat", "label=dog"), ...]``
      (queries as in :func:`deepscope.embed.match`, or boolean masks).

    ``progress(fraction)`` is called as the work advances (t-SNE and UMAP).

    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(100, 5))
    >>> p = project(x, "pca", dims=3)
    >>> p.coords.shape, round(float(p.explained_variance.sum()), 2) <= 1
    ((100, 3), True)
    """
    if method not in METHODS:
        raise InvalidArgumentError("method", f"one of {', '.join(METHODS)}", method)
    dims = check_int(dims, "dims", low=2, high=3)
    seed = check_int(seed, "seed")
    array = as_vectors(vectors)
    if method == "custom":
        return _custom(array, dims, int(seed), options)
    if len(array) <= dims:
        raise ShapeError("vectors", f"more than {dims} points to project", array)
    if method == "pca":
        _no_options(options, ())
        return _pca(array, dims, int(seed))
    if method == "tsne":
        return _tsne(array, dims, int(seed), progress, options)
    return _umap(array, dims, int(seed), progress, options)


def _no_options(options: dict[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise InvalidArgumentError(unknown[0], f"an option of this method ({', '.join(allowed) or 'none'})", "given")


def _pca_fit(array: np.ndarray, dims: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.decomposition import PCA

    components = min(dims, array.shape[1], len(array))
    # scikit-learn's own choice: the covariance's eigenvectors for tall, narrow data (100k x 128
    # in a fraction of a second), exact SVD for small data; randomized SVD for big, wide data
    solver = "auto"
    if len(array) > RANDOMIZED_ABOVE and array.shape[1] > 1000:
        solver = "randomized"
    pca = PCA(n_components=components, svd_solver=solver, random_state=seed)
    # The covariance of narrow vectors is one small matrix product (0.06 s for 100k x 128 on one
    # core); OpenBLAS's threads spin-wait on each other, so on a busy machine two of them took
    # 1-2 s for it. Wide vectors (the randomized solver's passes) keep every thread.
    threads = 1 if array.shape[1] <= ONE_THREAD_WIDTH else None
    with threadpool_limits(limits=threads, user_api="blas"):
        coords = pca.fit_transform(array)
    ratio = pca.explained_variance_ratio_
    if components < dims:  # fewer features than axes: the missing axes are flat
        coords = np.pad(coords, ((0, 0), (0, dims - components)))
        ratio = np.pad(ratio, (0, dims - components))
    return coords.astype(np.float32), np.asarray(ratio, dtype=np.float64)


def _pca(array: np.ndarray, dims: int, seed: int) -> Projection:
    coords, ratio = _pca_fit(array, dims, seed)
    labels = tuple(f"PC{i + 1} ({100 * r:.1f}%)" for i, r in enumerate(ratio))
    return Projection(coords, "pca", dims, seed, labels, ratio, {})


def _reduced(array: np.ndarray, seed: int) -> np.ndarray:
    if array.shape[1] <= PRE_PCA_DIMS or len(array) <= PRE_PCA_DIMS:
        return array
    return _pca_fit(array, PRE_PCA_DIMS, seed)[0]


def _tsne(array: np.ndarray, dims: int, seed: int, progress: Progress | None, options: dict[str, Any]) -> Projection:
    _no_options(options, ("perplexity", "n_iter", "n_jobs", "learning_rate"))
    try:
        import openTSNE
    except ImportError as exc:
        raise MissingDependencyError("openTSNE", "embed", "t-SNE projection") from exc
    n_iter = int(options.get("n_iter", 500))
    perplexity = float(options.get("perplexity", 30.0))
    perplexity = min(perplexity, max(1.0, (len(array) - 1) / 3))
    # threads pay off only on large inputs (and spin against each other on a busy machine)
    n_jobs = int(options.get("n_jobs", _cores() if len(array) > 20_000 else 1))
    callbacks = None
    if progress is not None:
        # openTSNE calls back every few iterations of each phase (250 early-exaggeration + n_iter)
        total = 250 + n_iter
        done = [0]

        def callback(iteration: int, error: float, embedding: Any) -> None:
            done[0] += 10
            progress(min(done[0] / total, 1.0))

        callbacks = callback
    tsne = openTSNE.TSNE(
        n_components=dims,
        perplexity=perplexity,  # pyright: ignore[reportArgumentType]  (openTSNE annotates int, takes float)
        n_iter=n_iter,
        learning_rate=options.get("learning_rate", "auto"),
        # openTSNE's choice in 2-D: FFT-accelerated from 10,000 points, Barnes-Hut below
        negative_gradient_method="auto" if dims == 2 else "bh",
        random_state=seed,
        n_jobs=n_jobs,
        callbacks=callbacks,
        callbacks_every_iters=10,
        verbose=False,
    )
    coords = np.asarray(tsne.fit(_reduced(array, seed)), dtype=np.float32)
    labels = tuple(f"t-SNE {i + 1}" for i in range(dims))
    used = {"perplexity": perplexity, "n_iter": n_iter}
    return Projection(coords, "tsne", dims, seed, labels, None, used)


def _umap(array: np.ndarray, dims: int, seed: int, progress: Progress | None, options: dict[str, Any]) -> Projection:
    _no_options(options, ("n_neighbors", "min_dist", "metric", "n_epochs"))
    umap = _numba.import_umap()
    n_neighbors = min(int(options.get("n_neighbors", 15)), len(array) - 1)
    metric = options.get("metric", "euclidean")
    reduced = _reduced(array, seed)
    if progress is not None:
        progress(0.05)
    knn = _umap_neighbours(reduced, n_neighbors, metric, seed)
    reducer = umap.UMAP(
        n_components=dims,
        n_neighbors=n_neighbors,
        min_dist=float(options.get("min_dist", 0.1)),
        metric=metric,
        n_epochs=options.get("n_epochs"),
        random_state=seed,
        n_jobs=1,
        precomputed_knn=knn if knn is not None else (None, None, None),
    )
    with warnings.catch_warnings():
        # "precomputed_knn[2] (knn_search_index) is not an NNDescent object": transform() is not used
        warnings.filterwarnings("ignore", message="precomputed_knn")
        coords = np.asarray(reducer.fit_transform(reduced), dtype=np.float32)
    if progress is not None:
        progress(1.0)
    labels = tuple(f"UMAP {i + 1}" for i in range(dims))
    used = {"n_neighbors": n_neighbors, "min_dist": float(options.get("min_dist", 0.1))}
    return Projection(coords, "umap", dims, seed, labels, None, used)


def _umap_neighbours(array: np.ndarray, k: int, metric: Any, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    """UMAP's k-nearest-neighbour graph (each point first, at distance 0) found by Annoy, compiled
    C++ that openTSNE ships; None where UMAP searches well by itself.

    From 4,096 points UMAP would search with pynndescent's ``nn_descent``, which takes its
    distance function as an argument: numba cannot cache such a function, so every new process
    compiled it again (one to two minutes on a busy machine). Below 4,096 points UMAP's exact
    search is cached like the rest; other metrics than these two are left to pynndescent.
    """
    if len(array) < UMAP_EXACT_BELOW or metric not in ("euclidean", "cosine") or k < 2:
        return None
    try:
        from openTSNE.nearest_neighbors import Annoy
    except ImportError:
        return None
    found, distances = Annoy(array, k - 1, metric=metric, n_jobs=1, random_state=seed).build()
    if metric == "cosine":  # Annoy's angular distance is sqrt(2 - 2 cos)
        distances = distances**2 / 2
    indices = np.column_stack([np.arange(len(array)), found]).astype(np.int32)
    distances = np.column_stack([np.zeros(len(array)), distances]).astype(np.float32)
    return indices, distances


def _custom(array: np.ndarray, dims: int, seed: int, options: dict[str, Any]) -> Projection:
    _no_options(options, ("axes", "metadata"))
    axes = options.get("axes")
    if not isinstance(axes, (list, tuple)) or len(axes) not in (1, dims):
        raise InvalidArgumentError(
            "axes",
            f"{dims} pairs (or 1) of metadata queries, e.g. [('label=cat', 'label=dog')]",
            axes,
        )
    metadata = options.get("metadata")
    columns, labels = [], []
    for number, pair in enumerate(axes):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise InvalidArgumentError(f"axes[{number}]", "a pair (from_query, to_query)", pair)
        ends = []
        for side, query in zip(("from", "to"), pair, strict=True):
            mask = _mask(query, metadata, len(array), f"axes[{number}] {side}")
            ends.append(array[mask].mean(axis=0, dtype=np.float64))
        direction = ends[1] - ends[0]
        norm = float(np.linalg.norm(direction))
        if norm == 0:
            raise InvalidArgumentError(f"axes[{number}]", "two queries whose centroids differ", pair)
        columns.append((array.astype(np.float64) - ends[0]) @ (direction / norm))
        labels.append(f"{_name(pair[0])} → {_name(pair[1])}")
    if len(columns) < dims:  # one custom axis; the rest from PCA of what it leaves
        rest = _pca_fit(array, dims - len(columns), seed)[0]
        columns.extend(rest.T.astype(np.float64))
        labels.extend(f"PC{i + 1}" for i in range(dims - 1))
    coords = np.stack(columns, axis=1).astype(np.float32)
    used = {"axes": [[_name(a), _name(b)] for a, b in axes]}
    return Projection(coords, "custom", dims, seed, tuple(labels), None, used)


def _mask(query: Any, metadata: Any, rows: int, argument: str) -> np.ndarray:
    if isinstance(query, str):
        frame = metadata_frame(metadata, rows) if metadata is not None else None
        if frame is None:
            raise ArgumentTypeError(
                "metadata",
                "per-point metadata (a DataFrame or dict of columns) for text queries",
                metadata,
            )
        mask = match(frame, query)
    else:
        mask = np.asarray(to_numpy(query, argument), dtype=bool)
        if mask.shape != (rows,):
            raise ShapeError(argument, f"a query string or a boolean mask of {rows} values", query)
    if not mask.any():
        raise InvalidArgumentError(argument, "a query matching at least one point", query)
    return mask


def _name(query: Any) -> str:
    return query if isinstance(query, str) else f"mask of {int(np.count_nonzero(query))}"


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
