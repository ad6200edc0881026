"""Closed forms on a linear model f(x) = w . x, and integrated gradients' completeness on a CNN."""

from __future__ import annotations

import numpy as np
import torch

import deepscope as ds


def test_saliency_is_w(linear):
    net, w = linear
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    values = ds.explain.saliency(net, x).values
    np.testing.assert_allclose(values, np.tile(w, (4, 1)), atol=1e-7)


def test_gradient_x_input_is_w_times_x(linear):
    net, w = linear
    x = np.random.default_rng(1).normal(size=(4, 5)).astype(np.float32)
    np.testing.assert_allclose(ds.explain.gradient_x_input(net, x).values, w * x, atol=1e-6)


def test_integrated_gradients_from_zero_is_w_times_x(linear):
    net, w = linear
    x = np.random.default_rng(2).normal(size=(4, 5)).astype(np.float32)
    for method in ("gausslegendre", "riemann_middle", "riemann_right", "riemann_left"):
        result = ds.explain.integrated_gradients(net, x, n_steps=7, integration=method)
        np.testing.assert_allclose(result.values, w * x, atol=1e-5)
        np.testing.assert_allclose(result.delta, 0.0, atol=1e-5)


def test_integrated_gradients_baseline_is_w_times_difference(linear):
    net, w = linear
    x = np.ones((2, 5), dtype=np.float32)
    baseline = np.arange(5, dtype=np.float32)
    values = ds.explain.integrated_gradients(net, x, baseline=baseline).values
    np.testing.assert_allclose(values, w * (x - baseline), atol=1e-5)


def test_occlusion_is_w_times_x(linear):
    net, w = linear
    x = np.random.default_rng(3).normal(size=(3, 5)).astype(np.float32)
    np.testing.assert_allclose(ds.explain.occlusion(net, x).values, w * x, atol=1e-6)


def test_gradient_shap_with_one_baseline_is_w_times_difference(linear):
    net, w = linear
    x = np.random.default_rng(4).normal(size=(3, 5)).astype(np.float32)
    baseline = np.full(5, 0.5, dtype=np.float32)
    result = ds.explain.gradient_shap(net, x, baseline=baseline, n_samples=5)
    np.testing.assert_allclose(result.values, w * (x - baseline), atol=1e-5)
    np.testing.assert_allclose(result.delta, 0.0, atol=1e-5)


def test_kernel_shap_independent_features_is_w_times_centered_x(linear):
    net, w = linear
    rng = np.random.default_rng(5)
    background = rng.normal(size=(200, 5))  # summarized by k-means (10 rows)
    x = rng.normal(size=(3, 5)).astype(np.float32)
    result = ds.explain.kernel_shap(net, x, background=background, n_samples=40)
    expected = w * (x - background.mean(axis=0))
    np.testing.assert_allclose(result.values, expected, atol=1e-4)
    np.testing.assert_allclose(result.base_value, background.mean(axis=0) @ w, atol=1e-4)


def test_integrated_gradients_completeness_on_cnn(cnn, images):
    """sum(values) - (f(x) - f(baseline)) equals the returned delta, and the delta is small."""
    result = ds.explain.integrated_gradients(cnn, images, n_steps=64, batch_size=50)
    model = ds.Model(cnn)
    with torch.no_grad():
        fx = model.predict(images)[np.arange(len(images)), result.target]
        f0 = model.predict(torch.zeros_like(images))[np.arange(len(images)), result.target]
    gap = result.values.reshape(len(images), -1).sum(axis=1) - (fx - f0)
    np.testing.assert_allclose(gap, result.delta, atol=1e-5)
    assert np.abs(result.delta).max() <= 0.01 * np.abs(fx - f0).max()
