"""Grad-CAM on any layer (linear, 1-D convolution, token outputs, layer inputs), against
Captum's LayerGradCam."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import LayerGradCam
from torch import nn

import deepscope as ds
from deepscope.errors import ArgumentTypeError, InvalidArgumentError

from .conftest import SmallCNN


class Tokens(nn.Module):
    """[N, D*T] -> tokens [N, T, D] -> a linear layer per token -> channels-first view -> logits."""

    def __init__(self, tokens: int = 5, dim: int = 4, classes: int = 3):
        super().__init__()
        self.tokens, self.dim = tokens, dim
        self.mix = nn.Linear(dim, dim)
        self.act = nn.Tanh()
        self.swap = Swap()
        self.head = nn.Linear(tokens * dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.mix(x.view(-1, self.tokens, self.dim)))  # [N, T, D]
        return self.head(self.swap(h).flatten(1))


class Swap(nn.Module):
    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h.transpose(1, 2)  # [N, D, T]: Captum's channels-first layout of the same values


@pytest.fixture
def mlp3() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 5), nn.Tanh(), nn.Linear(5, 3)).eval()


@pytest.mark.parametrize("summation", [True, False])
@pytest.mark.parametrize("to_input", [False, True])
def test_linear_layer_agrees_with_captum(mlp3, table, summation, to_input):
    ours = ds.explain.grad_cam(
        mlp3,
        table,
        target=2,
        layer="2",
        relu=False,
        attribute_to_layer_input=to_input,
        attr_dim_summation=summation,
    )
    theirs = LayerGradCam(mlp3, mlp3[2]).attribute(
        table, target=2, attribute_to_layer_input=to_input, attr_dim_summation=summation
    )
    assert ours.values.shape == tuple(theirs.shape) == ((8, 1) if summation else (8, 8 if to_input else 5))
    np.testing.assert_allclose(ours.values, theirs.detach().numpy(), atol=1e-5)
    assert ours.kind == "array"


def test_conv_layer_input_and_per_channel_maps_agree_with_captum(images):
    torch.manual_seed(0)
    cnn = SmallCNN()
    ours = ds.explain.grad_cam(
        cnn, images, target=1, layer="conv2", interpolate=None, attribute_to_layer_input=True, relu=False
    )
    theirs = LayerGradCam(cnn, cnn.conv2).attribute(images, target=1, attribute_to_layer_input=True)
    np.testing.assert_allclose(ours.values, theirs.detach().numpy(), atol=1e-5)
    per_channel = ds.explain.grad_cam(
        cnn, images, target=1, layer="conv2", interpolate=None, attr_dim_summation=False, relu=True
    )
    theirs = LayerGradCam(cnn, cnn.conv2).attribute(images, target=1, attr_dim_summation=False, relu_attributions=True)
    assert per_channel.values.shape == (5, 6, 10, 10)
    np.testing.assert_allclose(per_channel.values, theirs.detach().numpy(), atol=1e-5)


def test_conv1d_outputs_are_channels_first_as_captum():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 7, 2)).eval()
    x = torch.randn(3, 2, 7)
    ours = ds.explain.grad_cam(net, x, target=0, layer="0", relu=False)
    theirs = LayerGradCam(net, net[0]).attribute(x, target=0)
    assert ours.values.shape == (3, 1, 7)
    np.testing.assert_allclose(ours.values, theirs.detach().numpy(), atol=1e-5)


def test_token_outputs_give_one_value_per_token_as_captum_on_the_transposed_layer():
    torch.manual_seed(0)
    net = Tokens().eval()
    x = torch.randn(4, 20)
    ours = ds.explain.grad_cam(net, x, target=1, layer="act", relu=False, channel_dim=-1)
    theirs = LayerGradCam(net, net.swap).attribute(x, target=1)  # the same values as [N, D, T]
    assert ours.values.shape == (4, 5)
    np.testing.assert_allclose(ours.values, theirs[:, 0].detach().numpy(), atol=1e-5)
    per_channel = ds.explain.grad_cam(
        net, x, target=1, layer="act", relu=False, channel_dim=-1, attr_dim_summation=False
    )
    theirs = LayerGradCam(net, net.swap).attribute(x, target=1, attr_dim_summation=False)
    np.testing.assert_allclose(per_channel.values, theirs.transpose(1, 2).detach().numpy(), atol=1e-5)


def test_text_model_token_layer_per_token_and_batch_independent(text_model):
    model, texts = text_model
    together = ds.explain.grad_cam(model, texts, target=1, layer="hidden", relu=False)
    assert together.kind == "text" and together.values.shape[0] == len(texts)
    encoded = model.encode(texts)
    for i, text in enumerate(texts):
        alone = ds.explain.grad_cam(model, [text], target=1, layer="hidden", relu=False)
        n = int(encoded["attention_mask"][i].sum())
        np.testing.assert_allclose(together.values[i, :n], alone.values[0, :n], atol=1e-6)
    # by hand: weights are the mean gradient over the text's tokens, summed against the activations
    ids, mask = encoded["input_ids"][:1], encoded["attention_mask"][:1]
    n = int(mask.sum())
    module = model.module
    with torch.enable_grad():
        acts = module.hidden(module.embed(ids[:, :n]))
        acts.retain_grad()
        h = torch.tanh(acts)
        module.out(h.mean(1))[0, 1].backward()
    weights = acts.grad[0].mean(0)
    by_hand = (acts[0] * weights).sum(-1).detach().numpy()
    np.testing.assert_allclose(together.values[0, :n], by_hand, atol=1e-6)


def test_checks(mlp3, table):
    with pytest.raises(ArgumentTypeError, match="attr_dim_summation"):
        ds.explain.grad_cam(mlp3, table, layer="2", attr_dim_summation="no")
    with pytest.raises(InvalidArgumentError, match="channel_dim"):
        ds.explain.grad_cam(mlp3, table, layer="2", channel_dim=2)
    with pytest.raises(KeyError, match="layer"):
        ds.explain.grad_cam(mlp3, table, layer="nope")
