"""Guided backprop restores the model, and equals the gradient where no ReLU blocks anything."""

from __future__ import annotations

import numpy as np
import torch

import deepscope as ds


def test_hooks_removed_and_gradient_unchanged_afterwards(cnn, images):
    before = ds.explain.saliency(cnn, images).values
    guided = ds.explain.guided_backprop(cnn, images).values
    after = ds.explain.saliency(cnn, images).values
    assert all(not m._forward_hooks for m in cnn.modules())
    np.testing.assert_array_equal(before, after)
    assert not np.allclose(guided, before)


def test_no_negative_gradient_passes_a_relu():
    """x -> relu(x) -> -1 * (.) : the gradient at x > 0 is -1, guided backprop stops it."""
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.eye(2))
        net[0].bias.zero_()
        net[2].weight.copy_(torch.tensor([[-1.0, 2.0]]))
        net[2].bias.zero_()
    x = torch.tensor([[1.0, 1.0]])
    np.testing.assert_allclose(ds.explain.saliency(net, x).values, [[-1.0, 2.0]])
    np.testing.assert_allclose(ds.explain.guided_backprop(net, x).values, [[0.0, 2.0]])


def test_guided_grad_cam_is_the_product(cnn, images):
    gb = ds.explain.guided_backprop(cnn, images, target=2).values
    cam = ds.explain.grad_cam(cnn, images, target=2).values
    both = ds.explain.guided_grad_cam(cnn, images, target=2).values
    np.testing.assert_allclose(both, gb * cam, atol=1e-6)


def test_in_place_relus():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        torch.nn.ReLU(inplace=True),
        torch.nn.Flatten(),
        torch.nn.Linear(64, 2),
    ).eval()
    x = torch.rand(3, 1, 6, 6)
    reference = torch.nn.Sequential(net[0], torch.nn.ReLU(), net[2], net[3]).eval()
    np.testing.assert_allclose(
        ds.explain.guided_backprop(net, x, target=1).values,
        ds.explain.guided_backprop(reference, x, target=1).values,
        atol=1e-7,
    )
    assert all(not m._forward_hooks for m in net.modules())
