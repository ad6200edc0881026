"""scikit-learn's bundled 8x8 handwritten digits (shipped with scikit-learn, read offline).

>>> from deepscope.datasets import digits
>>> data = digits(n=100, seed=0)
>>> data.images.shape, float(data.images.max()) <= 1.0
((100, 1, 8, 8), True)
"""

from __future__ import annotations

import functools
from typing import cast

import numpy as np

from deepscope.datasets.containers import ImageDataset, check_count, check_seed

__all__ = ["digits"]

_TOTAL = 1797  # images in sklearn.datasets.load_digits


@functools.lru_cache(maxsize=1)
def _load() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.utils import Bunch

    bunch = cast(Bunch, load_digits())  # a Bunch, as return_X_y is False
    images = (bunch.images / 16.0).astype(np.float32)[:, None]
    images.setflags(write=False)
    labels = bunch.target.astype(np.int64)
    labels.setflags(write=False)
    return images, labels


def digits(n: int | None = None, seed: int = 0) -> ImageDataset:
    """``n`` of the 1,797 digits (all when None) in an order shuffled by ``seed``.

    Images are float32 ``[N, 1, 8, 8]`` scaled to ``[0, 1]``; labels are the digits 0-9; there
    are no masks.

    >>> digits(seed=0).class_names[:3]
    ['0', '1', '2']
    """
    n = _TOTAL if n is None else check_count("n", n, maximum=_TOTAL)
    seed = check_seed(seed)
    images, labels = _load()
    order = np.random.default_rng(seed).permutation(_TOTAL)[:n]
    return ImageDataset(images[order].copy(), labels[order].copy(), None, [str(d) for d in range(10)])
