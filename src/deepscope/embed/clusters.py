"""Clusters of a projection (HDBSCAN), each named by its most distinctive metadata, and density contours.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> coords = np.concatenate([rng.normal(0, 0.1, (50, 2)), rng.normal(5, 0.1, (50, 2))])
>>> clusters(coords, metadata={"kind": ["a"] * 50 + ["b"] * 50}).names
('kind=a', 'kind=b')
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from deepscope.embed.projection import Projection, as_vectors
from deepscope.errors import InvalidArgumentError
from deepscope.result import Result
from deepscope.track._values import metadata_frame
from deepscope.validation import check_int

__all__ = ["Clusters", "clusters", "density_grid", "name_groups"]

#: a column with at most this many distinct values (or this share of the rows) names clusters by value
_CATEGORICAL_MAX = 50
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "was",
        "are",
        "but",
        "not",
        "you",
        "have",
        "had",
        "has",
        "his",
        "her",
        "its",
        "our",
        "they",
        "them",
        "from",
        "very",
        "just",
        "all",
        "one",
        "out",
        "about",
        "what",
        "when",
        "were",
        "there",
        "their",
        "would",
        "could",
        "been",
        "into",
        "than",
        "then",
    ]
)


@dataclasses.dataclass(frozen=True)
class Clusters(Result):
    """HDBSCAN clusters of 2-D (or 3-D) coordinates, with names and a density grid.

    ``labels`` [N] is each point's cluster (-1 for noise); ``names[c]`` the automatic name of
    cluster ``c``, ``centers`` [K, dims] where to print it, ``sizes`` [K] its point counts.
    ``density`` [G, G] is a smoothed 2-D histogram of the first two coordinates over the cells
    ``x_edges`` x ``y_edges`` (density[i, j] covers x_edges[i:i+2], y_edges[j:j+2]), for contours.
    """

    coords: np.ndarray
    labels: np.ndarray
    names: tuple[str, ...]
    centers: np.ndarray
    sizes: np.ndarray
    density: np.ndarray
    x_edges: np.ndarray
    y_edges: np.ndarray

    default_tag: ClassVar[str] = "clusters"
    figure_function: ClassVar[str] = "deepscope.viz.embedding:clusters_figure"

    def to_frame(self) -> pd.DataFrame:
        """One row per cluster: cluster, name, size, and the centre's coordinates."""
        frame = pd.DataFrame({"cluster": np.arange(len(self.names)), "name": list(self.names), "size": self.sizes})
        for axis, name in enumerate("xyz"[: self.centers.shape[1] if len(self.centers) else 0]):
            frame[name] = self.centers[:, axis]
        return frame


def clusters(
    coords: Any,
    *,
    metadata: Any = None,
    min_cluster_size: int | None = None,
    grid: int = 100,
    seed: int = 0,
) -> Clusters:
    """Cluster ``coords`` (a :class:`Projection` or an array [N, 2|3]) with scikit-learn's HDBSCAN.

    Each cluster is named by the metadata value most over-represented in it (``label=cat``), or,
    for free-text columns, by its most distinctive words; without metadata, ``cluster 3``.
    ``min_cluster_size`` defaults to 1% of the points (at least 5). HDBSCAN runs on a sample of
    20,000 points at most; the other points join the cluster of their nearest sampled point.
    """
    points = as_vectors(coords.coords if isinstance(coords, Projection) else coords, "coords")
    if points.shape[1] not in (2, 3):
        raise InvalidArgumentError("coords", "2-D or 3-D coordinates [N, 2|3]", points.shape)
    frame = metadata_frame(metadata, len(points)) if metadata is not None else None
    if min_cluster_size is None:
        min_cluster_size = max(5, len(points) // 100)
    min_cluster_size = check_int(min_cluster_size, "min_cluster_size", low=2)
    labels = _hdbscan(points, min_cluster_size, seed)
    count = int(labels.max()) + 1 if len(labels) else 0
    sizes = np.bincount(labels[labels >= 0], minlength=count).astype(np.int64)
    centers = np.zeros((count, points.shape[1]), dtype=np.float32)
    for cluster in range(count):
        centers[cluster] = np.median(points[labels == cluster], axis=0)
    names = name_groups(labels, frame)
    density, x_edges, y_edges = density_grid(points[:, :2], grid)
    return Clusters(points, labels, names, centers, sizes, density, x_edges, y_edges)


def _hdbscan(points: np.ndarray, min_cluster_size: int, seed: int) -> np.ndarray:
    from sklearn.cluster import HDBSCAN
    from sklearn.neighbors import NearestNeighbors

    limit = 20_000
    if len(points) <= limit:
        return HDBSCAN(min_cluster_size=min_cluster_size, copy=True).fit_predict(points).astype(np.int64)  # pyright: ignore[reportArgumentType]
    sample = np.random.default_rng(seed).choice(len(points), size=limit, replace=False)
    scaled = max(5, min_cluster_size * limit // len(points))
    sample_labels = HDBSCAN(min_cluster_size=scaled, copy=True).fit_predict(points[sample])  # pyright: ignore[reportArgumentType]
    nearest = NearestNeighbors(n_neighbors=1).fit(points[sample]).kneighbors(points)[1][:, 0]
    return sample_labels[nearest].astype(np.int64)


def name_groups(labels: np.ndarray, metadata: pd.DataFrame | None) -> tuple[str, ...]:
    """A name per group ``0..max(labels)``: its most distinctive metadata value or words."""
    count = int(labels.max()) + 1 if len(labels) else 0
    if metadata is None or metadata.empty:
        return tuple(f"cluster {c}" for c in range(count))
    names = []
    for cluster in range(count):
        inside = labels == cluster
        best: tuple[float, str] = (-np.inf, f"cluster {cluster}")
        for column in metadata.columns:
            candidate = _distinctive(metadata[column], inside, str(column))
            if candidate is not None and candidate[0] > best[0]:
                best = candidate
        names.append(best[1])
    return tuple(names)


def _distinctive(series: pd.Series, inside: np.ndarray, column: str) -> tuple[float, str] | None:
    """(score, name) of the value or words of ``series`` most over-represented where ``inside``."""
    values = series.astype(str).to_numpy()
    distinct = pd.unique(values)
    if len(distinct) <= max(_CATEGORICAL_MAX, 0) and len(distinct) < max(len(values) // 2, 2):
        share_in = pd.Series(values[inside]).value_counts(normalize=True)
        share_out = pd.Series(values[~inside]).value_counts(normalize=True)
        lift = share_in - share_out.reindex(share_in.index, fill_value=0.0)
        value = str(lift.idxmax())
        return float(lift.max()), f"{column}={value}"
    if series.dtype.kind in "biuf":
        return None
    return _distinctive_words(values, inside)


def _distinctive_words(texts: np.ndarray, inside: np.ndarray) -> tuple[float, str] | None:
    def document_frequency(rows: np.ndarray) -> Counter[str]:
        counts: Counter[str] = Counter()
        for text in rows:
            counts.update({w.lower() for w in _WORD.findall(text)} - _STOP)
        return counts

    inner, outer = document_frequency(texts[inside]), document_frequency(texts[~inside])
    n_in, n_out = max(int(inside.sum()), 1), max(int((~inside).sum()), 1)
    scores = {w: c / n_in - outer.get(w, 0) / n_out for w, c in inner.items()}
    if not scores:
        return None
    top = sorted(scores, key=lambda w: (-scores[w], w))[:2]
    # words are weaker evidence than a labelled value with the same lift
    return 0.5 * float(np.mean([scores[w] for w in top])), " ".join(top)


def density_grid(points: np.ndarray, grid: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A smoothed 2-D histogram [grid, grid] of ``points`` [N, 2] and its x and y edges."""
    from scipy.ndimage import gaussian_filter

    grid = check_int(grid, "grid", low=4)
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    low, high = low - 0.05 * span, high + 0.05 * span
    counts, x_edges, y_edges = np.histogram2d(
        points[:, 0], points[:, 1], bins=grid, range=[[low[0], high[0]], [low[1], high[1]]]
    )
    density = gaussian_filter(counts, sigma=max(grid / 60, 1.0))
    total = density.sum()
    return (density / total if total else density), x_edges, y_edges
