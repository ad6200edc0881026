"""GradientSHAP: expected gradients add up to f(x) - E[f(baseline)] on average."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import deepscope as ds
from deepscope.errors import ShapeError


def test_linear_model_with_a_background(linear):
    """Gradient w everywhere: values = w * (x - mean of the drawn baselines), whose mean is the
    background's up to Monte Carlo error (|w| <= 3, unit variance, 4000 draws: sd < 0.05)."""
    net, w = linear
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5)).astype(np.float32)
    background = rng.normal(size=(30, 5)).astype(np.float32)
    result = ds.explain.gradient_shap(net, x, baseline=background, n_samples=4000, seed=0)
    np.testing.assert_allclose(result.values, w * (x - background.mean(axis=0)), atol=0.2)
    np.testing.assert_allclose(result.base_value, background.mean(axis=0) @ w, atol=1e-5)


def test_completeness_on_average(mlp, table):
    background = torch.randn(20, 6, generator=torch.Generator().manual_seed(0))
    result = ds.explain.gradient_shap(mlp, table, baseline=background, n_samples=400, seed=1)
    gap = np.abs(result.delta) / (np.abs(result.score - result.base_value) + 1e-3)
    assert np.median(gap) < 0.1


def test_seeded(cnn, images):
    a = ds.explain.gradient_shap(cnn, images, baseline=torch.rand(4, 3, 10, 10), seed=3, n_samples=5)
    b = ds.explain.gradient_shap(cnn, images, baseline=torch.rand(4, 3, 10, 10), seed=3, n_samples=5)
    assert a.values.shape == images.shape
    assert not np.allclose(a.values, 0)
    c = ds.explain.gradient_shap(cnn, images, baseline=0.0, seed=3, n_samples=5)
    d = ds.explain.gradient_shap(cnn, images, baseline=0.0, seed=3, n_samples=5)
    np.testing.assert_array_equal(c.values, d.values)
    assert b.values.shape == a.values.shape


def test_bad_background(cnn, images):
    with pytest.raises(ShapeError, match="baseline"):
        ds.explain.gradient_shap(cnn, images, baseline=torch.zeros(4, 3, 5, 5))


@pytest.mark.parametrize("batch_size", [None, 8, 6, 5])  # one pass; whole examples; passes splitting examples
def test_each_examples_draws_are_summed_into_its_own_row_in_any_passes(linear, batch_size):
    """One reference and a linear model: every draw of example i gives w * (x_i - reference)
    exactly, so the mean over draws is that whatever rows a pass holds."""
    net, w = linear
    x = np.random.default_rng(1).normal(size=(5, 5)).astype(np.float32)
    reference = np.full((1, 5), 0.5, dtype=np.float32)
    result = ds.explain.gradient_shap(net, x, baseline=reference, n_samples=4, batch_size=batch_size)
    np.testing.assert_allclose(result.values, w * (x - reference), rtol=1e-5, atol=1e-6)
