"""Feature ablation, Shapley values, layer and neuron attributions against Captum."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import (
    FeatureAblation,
    LayerActivation,
    LayerGradientXActivation,
    NeuronGradient,
    ShapleyValues,
)
from torch import nn

import deepscope as ds
from deepscope.errors import InvalidArgumentError, NotFoundError, ShapeError

TOL = 1e-5


def close(ours, theirs) -> float:
    return float(np.abs(np.asarray(ours) - theirs.detach().numpy()).max())


@pytest.fixture
def net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))


@pytest.fixture
def x() -> torch.Tensor:
    return torch.randn(4, 5, generator=torch.Generator().manual_seed(3))


def test_feature_ablation_matches_captum(net, x, cnn, images):
    ours = ds.explain.feature_ablation(net, x, target=2, baseline=0.5)
    theirs = FeatureAblation(net).attribute(x, target=2, baselines=0.5)
    assert close(ours.values, theirs) <= TOL
    mask = torch.arange(100).reshape(10, 10) // 25  # four horizontal bands, all channels
    mask3 = mask.expand(3, 10, 10)
    ours = ds.explain.feature_ablation(cnn, images, target=1, feature_mask=mask3)
    theirs = FeatureAblation(cnn).attribute(images, target=1, feature_mask=mask3.unsqueeze(0))
    assert close(ours.values, theirs) <= TOL


def test_shapley_exact_matches_captum_and_is_efficient(net, x):
    mask = torch.tensor([[0, 0, 1, 2, 2]])
    ours = ds.explain.shapley_exact(net, x, target=0, feature_mask=mask, baseline=0.1)
    theirs = ShapleyValues(net).attribute(x, target=0, feature_mask=mask, baselines=0.1)
    assert close(ours.values, theirs) <= TOL
    assert np.abs(ours.delta).max() < 1e-5
    plain = ds.explain.shapley_exact(net, x, target=1)
    assert close(plain.values, ShapleyValues(net).attribute(x, target=1)) <= TOL


def test_shapley_sampling_is_exact_for_additive_models_and_close_otherwise(net, x):
    linear = nn.Linear(5, 2)
    a = ds.explain.shapley_sampling(linear, x, target=1, n_samples=3, seed=0)
    expected = (x * linear.weight[1]).detach().numpy()
    np.testing.assert_allclose(a.values, expected, atol=1e-5)
    exact = ds.explain.shapley_exact(net, x, target=0).values
    few = ds.explain.shapley_sampling(net, x, target=0, n_samples=4, seed=1).values
    many = ds.explain.shapley_sampling(net, x, target=0, n_samples=400, seed=1)
    assert np.abs(many.delta).max() < 1e-5  # every ordering adds up
    assert np.abs(many.values - exact).max() < 0.35 * np.abs(few - exact).max() + 1e-6
    again = ds.explain.shapley_sampling(net, x, target=0, n_samples=4, seed=1).values
    np.testing.assert_array_equal(few, again)


def test_layer_activation_and_gradient_x_activation_match_captum(cnn, images):
    ours = ds.explain.layer_activation(cnn, images, layer="conv2")
    theirs = LayerActivation(cnn, cnn.conv2).attribute(images)
    assert ours.values.shape == (5, 6, 10, 10) and close(ours.values, theirs) <= TOL
    ours = ds.explain.layer_gradient_x_activation(cnn, images, target=2, layer="fc", batch_size=2)
    theirs = LayerGradientXActivation(cnn, cnn.fc).attribute(images, target=2)
    assert close(ours.values, theirs) <= TOL
    ours = ds.explain.layer_gradient_x_activation(cnn, images, target=0, layer="relu1", multiply_by_inputs=False)
    theirs = LayerGradientXActivation(cnn, cnn.relu1, multiply_by_inputs=False).attribute(images, target=0)
    assert close(ours.values, theirs) <= TOL


def test_neuron_gradient_matches_captum(cnn, images, net, x):
    ours = ds.explain.neuron_gradient(cnn, images, layer="conv1", neuron=(2, 4, 5))
    theirs = NeuronGradient(cnn, cnn.conv1).attribute(images, neuron_selector=(2, 4, 5))
    assert close(ours.values, theirs) <= TOL
    ours = ds.explain.neuron_gradient(net, x, layer="2", neuron=4)
    theirs = NeuronGradient(net, net[2]).attribute(x, neuron_selector=4)
    assert close(ours.values, theirs) <= TOL
    assert ours.options == {"layer": "2", "neuron": [4]}


def test_bad_inputs_get_typed_errors_naming_the_argument(cnn, images, net, x):
    with pytest.raises(NotFoundError, match="layer"):
        ds.explain.layer_activation(cnn, images, layer="conv9")
    with pytest.raises(InvalidArgumentError, match="^neuron:"):
        ds.explain.neuron_gradient(cnn, images, layer="conv1", neuron=(6, 0, 0))
    with pytest.raises(InvalidArgumentError, match="^neuron:"):
        ds.explain.neuron_gradient(net, x, layer="0", neuron=(1, 2))
    with pytest.raises(ShapeError, match="^feature_mask:"):
        ds.explain.feature_ablation(net, x, feature_mask=torch.zeros(4, dtype=torch.long))
    with pytest.raises(InvalidArgumentError, match="^feature_mask:.*at most 16"):
        ds.explain.shapley_exact(cnn, images)
    with pytest.raises(InvalidArgumentError, match="^target:"):
        ds.explain.layer_activation(cnn, images, layer="conv1", target=1)
    with pytest.raises(InvalidArgumentError, match="^seed:"):
        ds.explain.feature_ablation(net, x, seed=1)


def test_new_methods_run_by_name(net, x):
    for name in ("feature_ablation", "shapley_exact", "shapley_sampling"):
        via = ds.explain.attribute(net, x, name, target=1, seed=None)
        assert via.method == name and via.values.shape == (4, 5)
    assert ds.explain.attribute(net, x, "layer_activation", layer="1").values.shape == (4, 8)


def test_deconvolution_matches_captum_and_differs_from_guided_backprop(cnn, images):
    from captum.attr import Deconvolution

    ours = ds.explain.deconvolution(cnn, images, target=1, batch_size=2)
    theirs = Deconvolution(cnn).attribute(images, target=1)
    assert close(ours.values, theirs) <= TOL
    guided = ds.explain.guided_backprop(cnn, images, target=1).values
    assert np.abs(guided - ours.values).max() > 1e-3
    # the hooks are gone afterwards: the plain gradient again
    from captum.attr import Saliency

    plain = Saliency(cnn).attribute(images, target=1, abs=False)
    assert close(ds.explain.saliency(cnn, images, target=1).values, plain) <= TOL
    tunnel = ds.explain.noise_tunnel("deconvolution", cnn, images, n_samples=2, stdev=0.0)
    np.testing.assert_allclose(tunnel.values, ds.explain.deconvolution(cnn, images).values, rtol=1e-5, atol=1e-7)


def test_layer_integrated_gradients_matches_captum(cnn, images, net, x):
    from captum.attr import LayerIntegratedGradients

    base = torch.full_like(images, 0.1)
    ours = ds.explain.layer_integrated_gradients(
        cnn, images, target=2, layer="conv2", baseline=base, n_steps=12, batch_size=7
    )
    theirs, delta = LayerIntegratedGradients(cnn, cnn.conv2).attribute(
        images, baselines=base, target=2, n_steps=12, return_convergence_delta=True
    )
    assert close(ours.values, theirs) <= TOL
    assert close(ours.delta, delta) <= TOL
    ours = ds.explain.layer_integrated_gradients(
        net, x, target=0, layer="1", integration="riemann_trapezoid", multiply_by_inputs=False
    )
    theirs = LayerIntegratedGradients(net, net[1], multiply_by_inputs=False).attribute(
        x, target=0, method="riemann_trapezoid"
    )
    assert close(ours.values, theirs) <= TOL


def test_neuron_integrated_gradients_matches_captum(cnn, images):
    from captum.attr import NeuronIntegratedGradients

    ours = ds.explain.neuron_integrated_gradients(
        cnn, images, layer="conv2", neuron=(1, 3, 3), n_steps=10, batch_size=16
    )
    theirs = NeuronIntegratedGradients(cnn, cnn.conv2).attribute(images, neuron_selector=(1, 3, 3), n_steps=10)
    assert close(ours.values, theirs) <= TOL


def test_layer_conductance_matches_captum(cnn, images, net, x):
    from captum.attr import LayerConductance

    base = torch.full_like(images, 0.2)
    ours = ds.explain.layer_conductance(cnn, images, target=1, layer="relu1", baseline=base, n_steps=9, batch_size=25)
    theirs, delta = LayerConductance(cnn, cnn.relu1).attribute(
        images, baselines=base, target=1, n_steps=9, return_convergence_delta=True
    )
    assert close(ours.values, theirs) <= TOL
    assert close(ours.delta, delta) <= TOL
    ours = ds.explain.layer_conductance(net, x, target=2, layer="2", integration="riemann_left")
    theirs = LayerConductance(net, net[2]).attribute(x, target=2, method="riemann_left")
    assert close(ours.values, theirs) <= TOL


def test_neuron_conductance_matches_captum(cnn, images, net, x):
    from captum.attr import NeuronConductance

    ours = ds.explain.neuron_conductance(
        cnn, images, target=0, layer="conv2", neuron=(2, 5, 1), n_steps=8, batch_size=20
    )
    theirs = NeuronConductance(cnn, cnn.conv2).attribute(images, neuron_selector=(2, 5, 1), target=0, n_steps=8)
    assert close(ours.values, theirs) <= TOL
    ours = ds.explain.neuron_conductance(net, x, target=1, layer="1", neuron=3)
    theirs = NeuronConductance(net, net[1]).attribute(x, neuron_selector=3, target=1)
    assert close(ours.values, theirs) <= TOL


def test_a_one_element_target_applies_to_every_example(cnn, images):
    from captum.attr import IntegratedGradients

    ours = ds.explain.integrated_gradients(cnn, images, target=torch.tensor([2]), n_steps=8)
    theirs = IntegratedGradients(cnn).attribute(images, target=torch.tensor([2]), n_steps=8)
    assert close(ours.values, theirs) <= TOL
    assert ours.target.tolist() == [2] * 5
    assert ds.explain.saliency(cnn, images, target=[1]).target.tolist() == [1] * 5
