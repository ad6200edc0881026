"""Grad-CAM++ against its formula, layer choice, and what Grad-CAM refuses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import deepscope as ds
from deepscope.errors import NotFoundError, UnsupportedModelError


def grad_cam_pp_by_hand(cnn, images, target):
    store = {}
    handle = cnn.conv2.register_forward_hook(lambda m, a, out: store.update(act=out))
    out = cnn(images)
    handle.remove()
    act = store["act"]
    (grads,) = torch.autograd.grad(out[torch.arange(len(images)), target].sum(), act)
    act, g = act.detach().double(), grads.double()
    alpha = g**2 / (2 * g**2 + act.sum(dim=(2, 3), keepdim=True) * g**3)
    alpha = torch.where(g != 0, alpha, torch.zeros_like(alpha))
    weights = (alpha * F.relu(g)).sum(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * act).sum(dim=1, keepdim=True))
    return F.interpolate(cam, size=images.shape[2:], mode="bilinear").numpy()


def test_grad_cam_pp_matches_its_formula(cnn, images):
    target = torch.tensor([0, 1, 2, 0, 1])
    ours = ds.explain.grad_cam_pp(cnn, images, target=target).values
    np.testing.assert_allclose(ours, grad_cam_pp_by_hand(cnn, images, target), atol=1e-5)


def test_last_conv_is_the_default(cnn, images):
    assert ds.explain.grad_cam(cnn, images).options["layer"] == "conv2"
    assert ds.explain.grad_cam_pp(cnn, images, layer="conv1").options["layer"] == "conv1"


def test_no_conv_layer_is_a_typed_error_naming_the_model(mlp, table):
    with pytest.raises(UnsupportedModelError) as err:
        ds.explain.grad_cam(mlp, table)
    assert err.value.argument == "model"
    with pytest.raises(UnsupportedModelError):
        ds.explain.guided_grad_cam(mlp, table)


def test_unknown_layer(cnn, images):
    with pytest.raises(NotFoundError, match="conv9"):
        ds.explain.grad_cam(cnn, images, layer="conv9")


def test_model_left_unhooked(cnn, images):
    ds.explain.grad_cam(cnn, images)
    ds.explain.guided_grad_cam(cnn, images)
    assert all(not m._forward_hooks and not m._backward_hooks for m in cnn.modules())
