"""Layer and neuron methods on their fast paths (one pass, backward stopped at the layer) agree
with Captum, also after in-place operations and on models with batch norms."""

from __future__ import annotations

import numpy as np
import torch
from captum.attr import LayerActivation, LayerGradientXActivation, NeuronGradient
from torch import nn

import deepscope as ds
from deepscope.explain.callback import ExplainCallback
from deepscope.model import Model
from deepscope.track import open_logdir


def bn_cnn() -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(inplace=True),  # modifies the norm's output in place
        nn.Conv2d(4, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )
    for norm in (net[1], net[4]):
        norm.running_mean.uniform_(-1, 1)
        norm.running_var.uniform_(0.5, 2)
    return net.eval()


def test_layer_gradients_stop_at_the_layer_and_match_captum_after_in_place_ops():
    net, x = bn_cnn(), torch.rand(5, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    for layer in ("1", "3"):  # "1" is followed by an in-place ReLU
        ours = ds.explain.layer_gradient_x_activation(net, x, target=2, layer=layer)
        theirs = LayerGradientXActivation(net, net[int(layer)]).attribute(x, target=2)
        np.testing.assert_allclose(ours.values, theirs.detach().numpy(), atol=1e-5)
        acts = ds.explain.layer_activation(net, x, layer=layer).values
        np.testing.assert_allclose(acts, LayerActivation(net, net[int(layer)]).attribute(x).numpy(), atol=1e-5)
    # the recorded output is the norm's own, not what the in-place ReLU made of it
    assert (ds.explain.layer_activation(net, x, layer="1").values < 0).any()


def test_cut_capture_records_the_layer_output_and_its_gradient():
    net, x = bn_cnn(), torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(4))
    model = Model(net)
    with model.capture(["1"], grads=True) as full, torch.enable_grad():
        xb = x.clone().requires_grad_(True)
        torch.autograd.grad(model.forward(xb)[:, 0].sum(), xb)
    with model.capture(["1"], grads=True, cut=True) as cut, torch.enable_grad():
        out = model.forward(x)[:, 0].sum()
        (leaf,) = cut.calls["1"]
        assert leaf.is_leaf and leaf.requires_grad
        torch.autograd.grad(out, [leaf])
    torch.testing.assert_close(cut.activations["1"], full.activations["1"])
    torch.testing.assert_close(cut.gradients["1"], full.gradients["1"])


def test_neuron_gradient_and_layer_activation_record_the_predicted_class_from_their_one_pass():
    net, x = bn_cnn(), torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    passes: list[int] = []
    net[8].register_forward_hook(lambda module, args, out: passes.append(len(out)))
    ours = ds.explain.neuron_gradient(net, x, layer="3", neuron=(1, 2, 3))
    theirs = NeuronGradient(net, net[3]).attribute(x, neuron_selector=(1, 2, 3))
    np.testing.assert_allclose(ours.values, theirs.numpy(), atol=1e-5)
    predicted = net(x).argmax(1).numpy()
    np.testing.assert_array_equal(ours.target, predicted)
    np.testing.assert_allclose(ours.score, net(x).detach().numpy()[np.arange(4), predicted], atol=1e-5)
    passes.clear()
    activation = ds.explain.layer_activation(net, x, layer="3")
    np.testing.assert_array_equal(activation.target, predicted)
    assert passes == [4]  # one pass: no separate forward for the targets


def test_the_callback_logs_and_scores_layer_and_neuron_methods(tmp_path):
    net, x = bn_cnn(), torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(6))
    with ds.Run(tmp_path, name="layers") as run:
        callback = ExplainCallback(
            run,
            x,
            methods=["layer_activation", "neuron_gradient", "layer_gradient_x_activation"],
            labels=[0, 1, 2],  # a target for the methods that explain one; the others take none
            layer_activation={"layer": "3"},
            neuron_gradient={"layer": "3", "neuron": (1, 2, 2)},
            layer_gradient_x_activation={"layer": "3"},
        )
        maps = callback(1, net)
        scores = callback.log_scores(net, perturbations=2)
    expected = NeuronGradient(net, net[3]).attribute(x, neuron_selector=(1, 2, 2)).numpy()
    np.testing.assert_allclose(maps["neuron_gradient"].values, expected, atol=1e-5)
    np.testing.assert_array_equal(maps["layer_gradient_x_activation"].target, [0, 1, 2])
    logged = open_logdir(tmp_path).load("layers", "explain/neuron_gradient/step0001")
    np.testing.assert_allclose(logged.values, expected, atol=1e-5)
    assert set(scores) == set(maps)
    assert np.isfinite(scores["layer_activation"].sanity.per_example[-1]).all()


def test_neuron_gradient_runs_the_layers_after_its_layer_without_a_graph():
    net, x = bn_cnn(), torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(7))
    later: list[bool] = []  # whether each later layer's output carries an autograd graph
    for index in (5, 8):
        net[index].register_forward_hook(lambda module, args, out: later.append(out.requires_grad))
    for layer in ("1", "3"):  # "1" is followed by an in-place ReLU, which must not reach the recorded output
        later.clear()
        ours = ds.explain.neuron_gradient(net, x, layer=layer, neuron=(2, 3, 4))
        assert later == [False, False]  # they ran (for the targets and scores), but kept nothing for a backward
        theirs = NeuronGradient(net, net[int(layer)]).attribute(x, neuron_selector=(2, 3, 4))
        np.testing.assert_allclose(ours.values, theirs.numpy(), atol=1e-5)
        np.testing.assert_array_equal(ours.target, net(x).argmax(1).numpy())
    with torch.enable_grad():  # the mode the caller had is back
        assert torch.is_grad_enabled() and net(x).requires_grad
