"""Occlusion on plain callables, batch independence, and its checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import deepscope as ds
from deepscope.errors import InvalidArgumentError, ShapeError, UnsupportedModelError


def test_callable_and_frame_with_feature_names():
    w = np.array([1.0, -2.0, 0.5])
    frame = pd.DataFrame({"age": [1.0, 2.0], "debt": [3.0, 1.0], "income": [0.0, 4.0]})
    result = ds.explain.occlusion(lambda x: x @ w, frame, baseline=1.0)
    assert result.feature_names == ["age", "debt", "income"]
    np.testing.assert_allclose(result.values, w * (frame.to_numpy() - 1.0))
    assert list(result.to_frame().columns) == ["age", "debt", "income"]


def test_does_not_depend_on_batch_size(cnn, images):
    a = ds.explain.occlusion(cnn, images, window=3, stride=2, batch_size=5).values
    b = ds.explain.occlusion(cnn, images, window=3, stride=2, batch_size=1000).values
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_per_example_baseline(linear):
    net, w = linear
    x = np.ones((2, 5), dtype=np.float32)
    baseline = np.stack([np.zeros(5), np.full(5, 3.0)]).astype(np.float32)
    values = ds.explain.occlusion(net, x, baseline=baseline).values
    np.testing.assert_allclose(values, w * (x - baseline), atol=1e-6)


def test_checks(cnn, images):
    with pytest.raises(InvalidArgumentError, match="stride"):
        ds.explain.occlusion(cnn, images, window=2, stride=3)
    with pytest.raises(ShapeError, match="window"):
        ds.explain.occlusion(cnn, images, window=11)
    with pytest.raises(ShapeError, match="baseline"):
        ds.explain.occlusion(cnn, images, baseline=np.zeros((3, 4, 4)))
    with pytest.raises(UnsupportedModelError, match="inputs"):
        ds.explain.occlusion(lambda texts: np.zeros((len(texts), 2)), ["a text"])
