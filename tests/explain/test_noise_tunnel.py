"""Noise tunnel: SmoothGrad, SmoothGrad squared and VarGrad over any gradient method."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import deepscope as ds
from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.explain._rows import _MEASURED


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
    square = ds.explain.noise_tunnel("saliency", net, x, kind="smoothgrad_sq", n_samples=7, stdev=1.0)
    var = ds.explain.noise_tunnel("saliency", net, x, kind="vargrad", n_samples=7, stdev=1.0)
    np.testing.assert_allclose(mean.values, np.tile(w, (3, 1)), atol=1e-6)
    np.testing.assert_allclose(square.values, np.tile(w**2, (3, 1)), atol=1e-5)
    np.testing.assert_allclose(var.values, 0.0, atol=1e-5)


def test_smoothgrad_is_the_mean_of_noisy_gradients(mlp, table):
    """Against an independent loop: the same noise (same generator, same order) by hand."""
    import torch

    result = ds.explain.noise_tunnel("saliency", mlp, table, n_samples=4, stdev=0.3, seed=3, batch_size=1000, target=0)
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
        a = ds.explain.noise_tunnel("integrated_gradients", cnn, images, n_samples=5, seed=1, batch_size=8, n_steps=6)
    finally:
        handle.remove()
    b = ds.explain.noise_tunnel("integrated_gradients", cnn, images, n_samples=5, seed=1, batch_size=8, n_steps=6)
    c = ds.explain.noise_tunnel("integrated_gradients", cnn, images, n_samples=5, seed=2, batch_size=8, n_steps=6)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.allclose(a.values, c.values)
    assert max(seen) <= 8
    assert a.options["over"] == "integrated_gradients"
    assert a.options["method_options"] == {"n_steps": 6} and a.options["n_samples"] == 5


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


def test_method_options_named_like_the_tunnels_own_reach_the_inner_method(monkeypatch, mlp, table):
    from deepscope.explain import registry

    seen = []

    def recording(task, x, rows, baseline, gen, *, kind="", n_samples=0, stdev=0.0, method=""):
        seen.append({"kind": kind, "n_samples": n_samples, "stdev": stdev, "method": method})
        return torch.zeros_like(x)

    monkeypatch.setattr(registry, "gradient_core", lambda method: ("recording", recording, None))
    inner = {"kind": "inner", "n_samples": 11, "stdev": 0.5, "method": "inner"}
    result = ds.explain.noise_tunnel(
        "saliency", mlp, table, kind="vargrad", n_samples=3, stdev=0.1, batch_size=6, method_options=inner
    )
    assert seen == [inner] * 4  # 8 examples x 3 noisy copies, in chunks of 6
    assert result.options == {
        "over": "recording",
        "kind": "vargrad",
        "n_samples": 3,
        "stdev": 0.1,
        "method_options": inner,
    }


def test_gradient_shap_draws_come_from_method_options(mlp, table):
    """Each noisy input gets the inner n_samples draws: 8 examples x 2 copies x 5 draws."""
    rows: list[int] = []
    handle = mlp.register_forward_pre_hook(lambda m, a: rows.append(a[0].shape[0]))
    _MEASURED.pop(mlp, None)  # what a row of the mlp holds is measured on its first long call
    try:
        result = ds.explain.noise_tunnel(
            "gradient_shap", mlp, table, n_samples=2, stdev=0.1, seed=0, target=0, method_options={"n_samples": 5}
        )
    finally:
        handle.remove()
    # the targets' forward pass, E[f(reference)] (one zero reference), the draws (what a row of
    # an MLP holds is bounded without a one-row pass), and each noisy input's output for the
    # convergence delta
    assert rows == [len(table), 1, len(table) * 2 * 5, len(table) * 2]
    assert result.options["n_samples"] == 2
    assert result.options["method_options"] == {"n_samples": 5}


def test_method_options_and_keywords_are_the_same_options(cnn, images):
    kw = ds.explain.noise_tunnel(
        "integrated_gradients", cnn, images, n_samples=2, seed=0, n_steps=4, integration="riemann_left"
    )
    mapped = ds.explain.noise_tunnel(
        "integrated_gradients",
        cnn,
        images,
        n_samples=2,
        seed=0,
        method_options={"n_steps": 4, "integration": "riemann_left"},
    )
    mixed = ds.explain.noise_tunnel(
        "integrated_gradients",
        cnn,
        images,
        n_samples=2,
        seed=0,
        n_steps=4,
        method_options={"integration": "riemann_left"},
    )
    np.testing.assert_array_equal(kw.values, mapped.values)
    np.testing.assert_array_equal(kw.values, mixed.values)
    via = ds.explain.attribute(
        cnn,
        images,
        "smoothgrad",
        over="integrated_gradients",
        n_samples=2,
        seed=0,
        method_options={"n_steps": 4, "integration": "riemann_left"},
    )
    np.testing.assert_array_equal(via.values, mapped.values)


def test_bad_method_options_are_typed_errors_naming_the_option(mlp, table):
    tunnel = ds.explain.noise_tunnel
    with pytest.raises(InvalidArgumentError, match=r"^n_steps: .*n_steps=4 and method_options"):
        tunnel("integrated_gradients", mlp, table, n_steps=4, method_options={"n_steps": 8})
    with pytest.raises(InvalidArgumentError, match=r"method_options\['seed'\].*give seed= to noise"):
        tunnel("gradient_shap", mlp, table, method_options={"seed": 1})
    with pytest.raises(InvalidArgumentError, match=r"method_options\['n_stepz'\].*n_steps"):
        tunnel("integrated_gradients", mlp, table, method_options={"n_stepz": 8})
    with pytest.raises(InvalidArgumentError, match=r"^n_steps: expected no option"):
        tunnel("gradient_x_input", mlp, table, n_steps=8)
    with pytest.raises(InvalidArgumentError, match="n_samples"):
        tunnel("gradient_shap", mlp, table, method_options={"n_samples": 0})
    with pytest.raises(ArgumentTypeError, match="method_options"):
        tunnel("saliency", mlp, table, method_options=["abs"])
