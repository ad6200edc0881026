"""Noise tunnel: SmoothGrad, SmoothGrad squared and VarGrad over any gradient method."""

from __future__ import annotations

import numpy as np
import pytest

import deepscope as ds
from deepscope.errors import InvalidArgumentError


def test_zero_noise_is_the_inner_method(cnn, images):
    for inner in ("saliency", "gradient_x_input", "guided_backprop", "grad_cam"):
        tunnel = ds.explain.noise_tunnel(inner, cnn, images, stdev=0.0, n_samples=3, target=1)
        plain = ds.explain.attribute(cnn, images, inner, target=1)
        np.testing.assert_allclose(tunnel.values, plain.values, atol=1e-6)


def test_kinds_on_a_linear_model(linear):
    """The gradient of w . x is w at every noisy point: mean w, mean square w^2, variance 0."""
    net, w = linear
    x = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    mean = ds.explain.noise_tunnel("saliency", net, x, kind="smoothgrad", n_samples=7, stdev=1.0)
    square = ds.explain.noise_tunnel(
        "saliency", net, x, kind="smoothgrad_sq", n_samples=7, stdev=1.0
    )
    var = ds.explain.noise_tunnel("saliency", net, x, kind="vargrad", n_samples=7, stdev=1.0)
    np.testing.assert_allclose(mean.values, np.tile(w, (3, 1)), atol=1e-6)
    np.testing.assert_allclose(square.values, np.tile(w**2, (3, 1)), atol=1e-5)
    np.testing.assert_allclose(var.values, 0.0, atol=1e-5)


def test_smoothgrad_is_the_mean_of_noisy_gradients(mlp, table):
    """Against an independent loop: the same noise (same generator, same order) by hand."""
    import torch

    result = ds.explain.noise_tunnel(
        "saliency", mlp, table, n_samples=4, stdev=0.3, seed=3, batch_size=1000, target=0
    )
    gen = torch.Generator().manual_seed(3)
    noise = torch.randn((len(table) * 4, table.shape[1]), generator=gen)
    noisy = table.repeat_interleave(4, dim=0) + 0.3 * noise
    noisy.requires_grad_(True)
    mlp(noisy)[:, 0].sum().backward()
    expected = noisy.grad.view(len(table), 4, -1).mean(dim=1).numpy()
    np.testing.assert_allclose(result.values, expected, atol=1e-6)


def test_seeded_and_bounded(cnn, images):
    seen: list[int] = []
    handle = cnn.register_forward_pre_hook(lambda m, a: seen.append(a[0].shape[0]))
    try:
        a = ds.explain.noise_tunnel(
            "integrated_gradients", cnn, images, n_samples=5, seed=1, batch_size=8, n_steps=6
        )
    finally:
        handle.remove()
    b = ds.explain.noise_tunnel(
        "integrated_gradients", cnn, images, n_samples=5, seed=1, batch_size=8, n_steps=6
    )
    c = ds.explain.noise_tunnel(
        "integrated_gradients", cnn, images, n_samples=5, seed=2, batch_size=8, n_steps=6
    )
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.allclose(a.values, c.values)
    assert max(seen) <= 8
    assert a.options["over"] == "integrated_gradients" and a.options["n_steps"] == 6


def test_shortcuts_and_bad_options(cnn, images):
    via = ds.explain.attribute(cnn, images, "smoothgrad", n_samples=3, seed=0)
    direct = ds.explain.noise_tunnel("saliency", cnn, images, n_samples=3, seed=0)
    np.testing.assert_array_equal(via.values, direct.values)
    with pytest.raises(InvalidArgumentError, match="kind"):
        ds.explain.noise_tunnel("saliency", cnn, images, kind="smooth")
    with pytest.raises(InvalidArgumentError, match="method"):
        ds.explain.noise_tunnel("occlusion", cnn, images)
    with pytest.raises(InvalidArgumentError, match="stdev"):
        ds.explain.noise_tunnel("saliency", cnn, images, stdev=-1.0)
