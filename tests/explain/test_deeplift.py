"""DeepLift and DeepLiftShap against Captum, on models of every module kind they have rules for."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import DeepLift, DeepLiftShap
from torch import nn

import deepscope as ds
from deepscope.errors import ArgumentTypeError, InvalidArgumentError, ShapeError

TOL = 1e-5
pytestmark = pytest.mark.filterwarnings("ignore:Setting forward, backward hooks:UserWarning")


def close(ours, theirs) -> float:
    return float(np.abs(np.asarray(ours) - theirs.detach().numpy()).max())


class ConvNet(nn.Module):
    """Conv, batch norm (eval), ReLU, max-pool, Sigmoid, conv, Tanh, linear.

    ``separate`` copies the tensor between adjacent hooked modules: the same function, but
    Captum then reads each module's own output gradient (without it, Captum's ReLU reads the
    gradient the max-pool's rule has not rewritten yet: captum issue 1104, fixed upstream in
    pull request 1843 after the 0.9 release installed here).
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.sigmoid = nn.Sigmoid()
        self.conv2 = nn.Conv2d(4, 4, 3)
        self.tanh = nn.Tanh()
        self.fc = nn.Linear(36, 3)
        self.separate = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        copy = (lambda t: t.clone()) if self.separate else (lambda t: t)
        x = copy(self.relu(self.bn(self.conv1(x))))
        x = copy(self.pool(x))
        return self.fc(self.tanh(self.conv2(self.sigmoid(x))).flatten(1))


@pytest.fixture
def convnet() -> ConvNet:
    torch.manual_seed(0)
    net = ConvNet().eval()
    assert net.bn.running_mean is not None and net.bn.running_var is not None
    with torch.no_grad():
        net.bn.running_mean.uniform_(-0.5, 0.5)
        net.bn.running_var.uniform_(0.5, 2.0)
        net.bn.weight.uniform_(0.5, 1.5)
    return net


@pytest.fixture
def pictures() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(4)
    return torch.rand(3, 3, 10, 10, generator=gen) - 0.5, 0.2 * torch.rand(3, 3, 10, 10, generator=gen)


MLPS = {
    "relu": lambda: nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)),
    "sigmoid_tanh": lambda: nn.Sequential(nn.Linear(5, 8), nn.Sigmoid(), nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 3)),
    "softmax": lambda: nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3), nn.Softmax(dim=1)),
}


@pytest.mark.parametrize("kind", sorted(MLPS))
@pytest.mark.parametrize("multiply", [True, False])
def test_deeplift_matches_captum_on_mlps(kind, multiply):
    torch.manual_seed(0)
    net = MLPS[kind]().eval()
    x = torch.randn(4, 5, generator=torch.Generator().manual_seed(1))
    base = torch.full_like(x, 0.1)
    ours = ds.explain.deeplift(net, x, target=1, baseline=0.1, multiply_by_inputs=multiply)
    theirs, delta = DeepLift(net, multiply_by_inputs=multiply).attribute(
        x, baselines=base, target=1, return_convergence_delta=True
    )
    assert close(ours.values, theirs) <= TOL
    if multiply:  # Captum's delta is of the values it returns; ours always of multipliers x (x - baseline)
        assert close(ours.delta, delta) <= TOL
    if kind != "softmax":  # Captum's softmax rule subtracts the pass's mean: no summation to delta
        assert np.abs(ours.delta).max() < 1e-5
    with torch.no_grad():
        np.testing.assert_allclose(ours.base_value, net(base)[:, 1].numpy(), atol=1e-6)


def test_deeplift_matches_captum_on_a_convnet_and_sums_to_delta(convnet, pictures):
    x, base = pictures
    ours = ds.explain.deeplift(convnet, x, target=2, baseline=base)
    assert np.abs(ours.delta).max() < 1e-5
    _, captum_delta = DeepLift(convnet).attribute(x, baselines=base, target=2, return_convergence_delta=True)
    assert captum_delta.abs().max() > 1e-3  # the adjacent-module bug: Captum's values miss f(x) - f(baseline)
    convnet.separate = True
    theirs, delta = DeepLift(convnet).attribute(x, baselines=base, target=2, return_convergence_delta=True)
    assert close(ours.values, theirs) <= TOL and close(ours.delta, delta) <= TOL
    convnet.separate = False
    one_pass = ds.explain.deeplift(convnet, x, target=2, baseline=base, batch_size=2)  # one example a pass
    np.testing.assert_allclose(one_pass.values, ours.values, atol=1e-6)


def test_deeplift_inplace_relu_runs_out_of_place_and_is_restored():
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2)).eval()
    inplace = nn.Sequential(nn.Linear(5, 8), nn.ReLU(inplace=True), nn.Linear(8, 2)).eval()
    inplace.load_state_dict(plain.state_dict())
    x = torch.randn(3, 5)
    a = ds.explain.deeplift(plain, x, target=0, baseline=0.3)
    b = ds.explain.deeplift(inplace, x, target=0, baseline=0.3)
    np.testing.assert_allclose(a.values, b.values, atol=1e-7)
    assert inplace[1].inplace and not inplace[1]._forward_hooks


def test_deeplift_shap_matches_captum_in_bounded_passes(convnet, pictures):
    x, _ = pictures
    references = torch.rand(4, 3, 10, 10, generator=torch.Generator().manual_seed(7))
    convnet.separate = True
    theirs, delta = DeepLiftShap(convnet).attribute(x, baselines=references, target=1, return_convergence_delta=True)
    convnet.separate = False
    rows: list[int] = []
    handle = convnet.conv1.register_forward_hook(lambda m, a, o: rows.append(len(a[0])))
    try:
        ours = ds.explain.deeplift_shap(convnet, x, target=1, baseline=references, batch_size=6)
    finally:
        handle.remove()
    assert close(ours.values, theirs) <= TOL
    assert close(ours.delta, delta.view(3, 4).mean(dim=1)) <= TOL
    assert max(rows) <= 6 and sum(rows) >= 2 * 3 * 4  # every pair, 6 rows a pass at most
    with torch.no_grad():
        np.testing.assert_allclose(ours.base_value, convnet(references)[:, 1].mean().repeat(3).numpy(), atol=1e-6)


def test_deeplift_by_name_and_in_the_noise_tunnel(convnet, pictures):
    x, base = pictures
    assert {"deeplift", "deeplift_shap"} <= set(ds.explain.methods())
    direct = ds.explain.deeplift(convnet, x, target=0, baseline=base)
    by_name = ds.explain.attribute(convnet, x, "deeplift", target=0, baseline=base)
    np.testing.assert_array_equal(direct.values, by_name.values)
    tunnel = ds.explain.noise_tunnel("deeplift", convnet, x, target=0, baseline=base, n_samples=2, stdev=0.0)
    np.testing.assert_allclose(tunnel.values, direct.values, atol=1e-6)


def test_deeplift_errors_name_the_argument(convnet, pictures):
    x, _ = pictures
    with pytest.raises(ArgumentTypeError, match="multiply_by_inputs"):
        ds.explain.deeplift(convnet, x, multiply_by_inputs="yes")
    with pytest.raises(InvalidArgumentError, match="eps"):
        ds.explain.deeplift(convnet, x, eps=-1.0)
    with pytest.raises(ShapeError, match="baseline"):
        ds.explain.deeplift(convnet, x, baseline=torch.zeros(3, 5))
    with pytest.raises(ShapeError, match="baseline"):
        ds.explain.deeplift_shap(convnet, x, baseline=torch.zeros(2, 3, 4, 4))
    with pytest.raises(InvalidArgumentError, match="seed"):
        ds.explain.deeplift(convnet, x, seed=1)


def test_deeplift_with_a_module_used_twice_sums_to_delta():
    class Reused(nn.Module):  # one ReLU applied twice (Captum's DeepLift needs one module per use)
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b, self.c, self.act = nn.Linear(4, 6), nn.Linear(6, 6), nn.Linear(6, 2), nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.c(self.act(self.b(self.act(self.a(x)))))

    torch.manual_seed(0)
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(2))
    a = ds.explain.deeplift(Reused().eval(), x, target=1, baseline=0.2)
    assert np.abs(a.delta).max() < 1e-5
    shap = ds.explain.deeplift_shap(Reused().eval(), x, target=0, baseline=torch.randn(3, 4))
    assert np.abs(shap.delta).max() < 1e-5
