"""Eval-mode batch norms folded into the convolution before them, or run as one addcmul: the
same outputs and gradients as PyTorch's own kernels, and never where a difference could show."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import Saliency
from torch import nn

import deepscope as ds
from deepscope.model import Model
from deepscope.model.fast_ops import _foldable_pairs, fast_eval_norms


class ConvNorm(nn.Module):
    """A conv and a norm called in forward (not a Sequential): the norm runs as an addcmul."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(6, 4, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.norm(self.conv(x)))


def _randomize_norms(net: nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    for module in net.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=gen))
            module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            with torch.no_grad():
                module.weight.copy_(torch.randn(n, generator=gen))
                module.bias.copy_(torch.randn(n, generator=gen))


def bn_cnn(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        ConvNorm(),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, 8),
        nn.BatchNorm1d(8),
        nn.ReLU(),
        nn.Linear(8, 3),
    )
    _randomize_norms(net, seed)
    return net.eval()


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(1))


def _outputs_and_gradients(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    x = x.clone().requires_grad_(True)
    out = net(x)
    params = [p for p in net.parameters() if p.requires_grad]
    grads = torch.autograd.grad((out * torch.arange(1.0, 4.0)).sum(), [x, *params])
    return [out.detach(), *grads]


def test_folded_and_affine_norms_give_the_same_outputs_and_gradients(images):
    net = bn_cnn()
    # the Sequential's conv + norm is folded; the custom module's and the 1-d norm are not paired
    assert [(pair.conv, pair.norm) for pair in _foldable_pairs(net)] == [(net[0], net[1])]
    expected = _outputs_and_gradients(net, images)
    with fast_eval_norms(net):
        fast = _outputs_and_gradients(net, images)
    for ours, theirs in zip(fast, expected, strict=True):  # outputs, input, every weight
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-4)


def test_training_mode_norms_run_unchanged(images):
    net, twin = bn_cnn().train(), bn_cnn().train()
    with fast_eval_norms(net):
        out = net(images)
    torch.testing.assert_close(out, twin(images))
    torch.testing.assert_close(net[1].running_mean, twin[1].running_mean)  # statistics moved alike


def test_a_hooked_or_shared_convolution_is_not_folded(images):
    net = bn_cnn()
    model = Model(net)
    with torch.no_grad():
        raw = net[0](images)  # the convolution's own output, before its norm
    with model.capture(["0", "1"]) as cap:
        model.predict(images)
    torch.testing.assert_close(cap.activations["0"], raw)
    torch.testing.assert_close(cap.activations["1"], net[1](raw))
    shared = nn.Sequential(net[0], net[1], nn.ReLU(), net[0])  # one conv used twice
    assert _foldable_pairs(shared) == []

    class Custom(nn.Sequential):
        def forward(self, x: torch.Tensor) -> torch.Tensor:  # not Sequential's forward
            return self[1](self[0](x)) + self[0](x)

    assert _foldable_pairs(Custom(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3)).eval()) == []


def test_changed_weights_give_new_attributions(images):
    net = bn_cnn()
    first = ds.explain.saliency(net, images, target=1, abs=True).values
    np.testing.assert_allclose(first, Saliency(net).attribute(images, target=1).numpy(), atol=1e-5)
    _randomize_norms(net, seed=5)
    with torch.no_grad():
        net[0].weight.mul_(-2.0)
    second = ds.explain.saliency(net, images, target=1, abs=True).values
    np.testing.assert_allclose(second, Saliency(net).attribute(images, target=1).numpy(), atol=1e-5)
    assert np.abs(second - first).max() > 1e-3


def test_the_layout_is_probed_once_per_module_not_once_per_call(images):
    net = bn_cnn()
    passes: list[int] = []
    net[0].register_forward_pre_hook(lambda module, args: passes.append(len(args[0])))
    ds.explain.saliency(net, images, target=0)
    assert passes == [1, 4]  # the one-example probe, then the pass
    ds.explain.gradient_x_input(net, images, target=0)
    assert passes == [1, 4, 4]  # a new Model of the same module: no second probe


def test_a_sequential_of_torch_layers_takes_channels_last_without_a_probe(images):
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(144, 2)).eval()
    layouts: list[tuple[int, bool]] = []
    net[0].register_forward_pre_hook(
        lambda module, args: layouts.append((len(args[0]), args[0].is_contiguous(memory_format=torch.channels_last)))
    )
    ds.explain.saliency(net, images, target=0)
    assert layouts == [(4, True)]  # the pass only, channels-last
