"""Embedded demo datasets, made locally and deterministically from a seed (no downloads).

- ``shapes``: synthetic RGB images of shapes with ground-truth masks.
- ``digits``: scikit-learn's bundled 8x8 handwritten digits.
- ``loans``: tabular loan applications with a planted bias and planted train/serving drift.
- ``reviews``: templated sentiment sentences with negation, double negation and names.

>>> from deepscope import datasets
>>> train, test = datasets.shapes(n=100, seed=0).split(0.8, seed=0)
>>> len(train), len(test)
(80, 20)
"""

from __future__ import annotations

from deepscope.datasets.containers import ImageDataset, TabularDataset, TextDataset
from deepscope.datasets.digits import digits
from deepscope.datasets.loans import loans
from deepscope.datasets.reviews import reviews
from deepscope.datasets.shapes import shapes

__all__ = [
    "ImageDataset",
    "TabularDataset",
    "TextDataset",
    "digits",
    "loans",
    "reviews",
    "shapes",
]
