"""LRP against Captum's LRP with its epsilon, gamma and identity rules, and its typed errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import LRP
from captum.attr._utils.lrp_rules import EpsilonRule, GammaRule, IdentityRule
from torch import nn

import deepscope as ds
from deepscope.errors import InvalidArgumentError, NotFoundError, ShapeError, UnsupportedModelError

TOL = 1e-5


def close(ours, theirs) -> float:
    return float(np.abs(np.asarray(ours) - theirs.detach().numpy()).max())


class ConvNet(nn.Module):
    """Conv, batch norm, ReLU, max-pool, conv, ReLU, adaptive average pool, linear, Tanh,
    dropout, linear: every layer type Captum's LRP has a rule for, flattened functionally (Captum
    has no rule for nn.Flatten)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(4, 4, 3)
        self.relu2 = nn.ReLU()
        self.avg = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(16, 8)
        self.tanh = nn.Tanh()
        self.drop = nn.Dropout()
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.relu(self.bn(self.conv1(x))))
        x = self.avg(self.relu2(self.conv2(x)))
        return self.fc2(self.drop(self.tanh(self.fc(x.flatten(1)))))


@pytest.fixture
def net() -> ConvNet:
    torch.manual_seed(0)
    model = ConvNet().eval()
    assert model.bn.running_mean is not None and model.bn.running_var is not None
    with torch.no_grad():
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
        model.bn.weight.uniform_(-1.0, 1.5)  # negative scales too: the gamma rule changes them
    return model


@pytest.fixture
def x() -> torch.Tensor:
    return torch.rand(3, 3, 10, 10, generator=torch.Generator().manual_seed(5))


def test_lrp_epsilon_matches_captum(net, x):
    ours = ds.explain.lrp(net, x, target=2)
    theirs, delta = LRP(net).attribute(x, target=2, return_convergence_delta=True)
    assert close(ours.values, theirs) <= TOL
    assert close(-ours.delta, delta) <= TOL  # ours: sum(values) - f(x); Captum's: f(x) - sum
    with torch.no_grad():
        np.testing.assert_allclose(ours.score, net(x)[:, 2].numpy(), atol=1e-6)


def test_lrp_rules_by_type_and_by_name_match_captum(net, x):
    weights = {k: v.clone() for k, v in net.state_dict().items()}
    ours = ds.explain.lrp(net, x, target=1, rules={"Conv2d": "gamma", "fc": ("epsilon", 0.1), "bn": ("gamma", 0.5)})
    for name, value in net.state_dict().items():  # the rules never touch the model
        assert torch.equal(value, weights[name])
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in net.modules())
    net.conv1.rule, net.conv2.rule = GammaRule(), GammaRule()
    net.fc.rule, net.bn.rule = EpsilonRule(0.1), GammaRule(0.5)
    theirs, delta = LRP(net).attribute(x, target=1, return_convergence_delta=True)
    assert close(ours.values, theirs) <= TOL and close(-ours.delta, delta) <= TOL


def test_lrp_gamma_everywhere_and_identity_batch_norm_match_captum(net, x):
    ours = ds.explain.lrp(net, x, target=0, rule=("gamma", 0.3), rules={"BatchNorm2d": "identity"})
    for layer in (net.conv1, net.conv2, net.fc, net.fc2, net.pool, net.avg):
        layer.rule = GammaRule(0.3)
    net.bn.rule = IdentityRule()
    theirs = LRP(net).attribute(x, target=0)
    assert close(ours.values, theirs) <= TOL
    other = ds.explain.lrp(net, x, target=0, rule="gamma", gamma=0.3, rules={"bn": "identity"})
    np.testing.assert_array_equal(other.values, ours.values)  # the same rule said another way


def test_lrp_conserves_relevance_without_biases():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 3, 3, bias=False), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(27, 2, bias=False)
    )
    x = torch.rand(4, 1, 8, 8)
    a = ds.explain.lrp(net, x, target=1, batch_size=3)
    assert np.abs(a.delta).max() < 1e-5 * max(1.0, float(np.abs(a.score).max()))
    assert a.values.shape == (4, 1, 8, 8)


def test_lrp_errors_name_the_layer_and_the_rule(net, x):
    odd = nn.Sequential(nn.Linear(4, 4), nn.Sigmoid(), nn.Linear(4, 2))
    with pytest.raises(UnsupportedModelError, match=r"'1'.*Sigmoid"):
        ds.explain.lrp(odd, torch.rand(2, 4))
    with pytest.raises(InvalidArgumentError, match=r"rules\['fc'\]"):
        ds.explain.lrp(net, x, rules={"fc": "alpha_beta"})
    with pytest.raises(InvalidArgumentError, match="rule"):
        ds.explain.lrp(net, x, rule=("gamma", -1.0))
    with pytest.raises(NotFoundError, match="fc9"):
        ds.explain.lrp(net, x, rules={"fc9": "gamma"})
    with pytest.raises(InvalidArgumentError, match=r"rules\['relu'\].*ReLU"):
        ds.explain.lrp(net, x, rules={"relu": "epsilon"})
    with pytest.raises(ShapeError, match=r"rules\['fc'\]"):
        ds.explain.lrp(net, x, rules={"fc": "identity"})
    with pytest.raises(InvalidArgumentError, match="baseline"):
        ds.explain.lrp(net, x, baseline=0.5)
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in net.modules())
