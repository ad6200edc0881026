"""Deletion / insertion curves, infidelity and max-sensitivity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import deepscope as ds
from deepscope.errors import ArgumentTypeError, InvalidArgumentError, UnsupportedModelError

from .conftest import own_options


def test_infidelity_of_the_gradient_of_a_linear_model_is_zero(linear):
    net, _ = linear
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    np.testing.assert_allclose(ds.explain.infidelity(net, ds.explain.saliency(net, x)), 0.0, atol=1e-8)
    # gradient x input is not the output change under random perturbations
    assert ds.explain.infidelity(net, ds.explain.gradient_x_input(net, x)).min() > 1e-3


def test_infidelity_by_hand(mlp, table):
    attribution = ds.explain.saliency(mlp, table, target=1)
    ours = ds.explain.infidelity(mlp, attribution, n_samples=6, stdev=0.2, seed=4, batch_size=1000)
    gen = torch.Generator().manual_seed(4)
    noise = (0.2 * torch.randn((len(table) * 6, 6), generator=gen, dtype=torch.float64)).float()
    repeated = table.repeat_interleave(6, dim=0)
    with torch.no_grad():
        drop = mlp(repeated)[:, 1] - mlp(repeated - noise)[:, 1]
    phi = torch.as_tensor(attribution.values).repeat_interleave(6, dim=0)
    expected = ((noise * phi).sum(1) - drop).double().pow(2).view(-1, 6).mean(1).numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-9)


def test_deletion_and_insertion_on_a_linear_model():
    """With positive contributions w * x, deleting the largest first is the fastest fall."""
    w = np.array([5.0, 1.0, 3.0, 0.5, 2.0])
    x = np.ones((1, 5))
    good = ds.explain.occlusion(lambda d: d @ w, x)  # = w * x
    result = ds.explain.deletion_insertion(lambda d: d @ w, good, n_steps=5)
    np.testing.assert_allclose(result.deletion[0], [11.5, 6.5, 3.5, 1.5, 0.5, 0.0])
    np.testing.assert_allclose(result.insertion[0], [0.0, 5.0, 8.0, 10.0, 11.0, 11.5])
    reversed_ = ds.explain.Attribution(
        values=-good.values,
        method="reversed",
        target=good.target,
        inputs=good.inputs,
        kind="tabular",
    )
    worse = ds.explain.deletion_insertion(lambda d: d @ w, reversed_, n_steps=5)
    assert result.deletion_area[0] < worse.deletion_area[0]
    assert result.insertion_area[0] > worse.insertion_area[0]
    assert result.output == "raw"


def test_deletion_on_images_uses_probabilities(trained_cnn):
    net, x, _ = trained_cnn
    ig = ds.explain.integrated_gradients(net, x[:8], n_steps=16)
    result = ds.explain.deletion_insertion(net, ig, n_steps=8)
    assert result.output == "probability" and result.deletion.shape == (8, 9)
    assert np.all((result.deletion >= 0) & (result.deletion <= 1))
    rng = np.random.default_rng(0)
    noise = ds.explain.Attribution(
        values=rng.normal(size=ig.values.shape),
        method="random",
        target=ig.target,
        inputs=ig.inputs,
        kind="image",
    )
    random = ds.explain.deletion_insertion(net, noise, n_steps=8)
    assert result.deletion_area.mean() < random.deletion_area.mean()
    assert len(result.figure().data) == 2


def test_max_sensitivity(linear, cnn, images):
    net, _ = linear
    x = np.random.default_rng(1).normal(size=(3, 5)).astype(np.float32)
    np.testing.assert_allclose(ds.explain.max_sensitivity("saliency", net, x), 0.0, atol=1e-7)
    gxi = ds.explain.max_sensitivity("gradient_x_input", net, x, radius=0.1, n_samples=5)
    assert np.all(gxi > 0)
    cnn_scores = ds.explain.max_sensitivity("saliency", cnn, images, n_samples=3)
    assert cnn_scores.shape == (5,) and np.all(cnn_scores >= 0)


def test_max_sensitivity_gives_the_method_its_options_even_named_like_its_own(linear):
    net, _ = linear
    x = np.random.default_rng(1).normal(size=(3, 5)).astype(np.float32)
    options = own_options(ds.explain.max_sensitivity)
    assert {"radius", "n_samples", "seed"} <= set(options)
    seen = []

    def recording(model, inputs, *, target=None, **given):
        seen.append(given)
        return ds.explain.saliency(model, inputs, target=target)

    scores = ds.explain.max_sensitivity(recording, net, x, radius=0.1, n_samples=2, seed=0, method_options=options)
    assert seen == [options] * 3  # the unperturbed maps, then n_samples=2 perturbed ones
    np.testing.assert_allclose(scores, 0.0, atol=1e-7)
    with pytest.raises(InvalidArgumentError, match=r"method_options\['target'\].*give target="):
        ds.explain.max_sensitivity("saliency", net, x, method_options={"target": 0})
    with pytest.raises(ArgumentTypeError, match="method_options"):
        ds.explain.max_sensitivity("saliency", net, x, method_options=[("n_samples", 3)])


def test_checks(text_model, linear):
    model, texts = text_model
    with pytest.raises(UnsupportedModelError, match="attribution"):
        ds.explain.deletion_insertion(model, ds.explain.saliency(model, texts))
    with pytest.raises(ArgumentTypeError, match="attribution"):
        ds.explain.infidelity(linear[0], np.zeros((1, 5)))
