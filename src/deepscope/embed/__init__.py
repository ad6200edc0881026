"""The embedding projector's compute: project, neighbours, clusters, and vectors from a model.

Log vectors with ``run.log_embedding(tag, vectors, metadata=..., images=...)``; read them with
``open_logdir(path).embedding(run, tag)``; then

>>> import numpy as np, deepscope as ds
>>> x = np.random.default_rng(0).normal(size=(300, 16)).astype("float32")
>>> ds.embed.project(x, "pca").coords.shape
(300, 2)
>>> ds.embed.neighbors(x, 0, k=3).indices.shape
(1, 3)
"""

from __future__ import annotations

from deepscope.embed._numba import numba_cache_dir
from deepscope.embed.activations import activations
from deepscope.embed.clusters import Clusters, clusters, density_grid
from deepscope.embed.density import DensityImage, density_image, in_view
from deepscope.embed.neighbors import Neighbors, neighbors
from deepscope.embed.projection import METHODS, Projection, project
from deepscope.embed.search import match

__all__ = [
    "Projection",
    "Neighbors",
    "Clusters",
    "project",
    "neighbors",
    "clusters",
    "density_grid",
    "density_image",
    "DensityImage",
    "in_view",
    "activations",
    "match",
    "numba_cache_dir",
    "METHODS",
]
