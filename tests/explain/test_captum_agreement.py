"""Agreement with Captum (used only here) on the same model and inputs: max |difference| <= 1e-5."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import (
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    Occlusion,
    Saliency,
)

import deepscope as ds
from deepscope.explain.integrated_gradients import INTEGRATION_METHODS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

TOL = 1e-5
TARGET = [0, 2, 1, 1, 0]


def close(ours: np.ndarray, theirs: torch.Tensor) -> float:
    theirs = theirs.detach().numpy()
    assert ours.shape == theirs.shape
    return float(np.abs(ours - theirs).max())


@pytest.mark.parametrize("absolute", [False, True])
def test_saliency(cnn, images, absolute):
    ours = ds.explain.saliency(cnn, images, target=TARGET, abs=absolute).values
    theirs = Saliency(cnn).attribute(images, target=TARGET, abs=absolute)
    assert close(ours, theirs) <= TOL


def test_gradient_x_input(cnn, images):
    ours = ds.explain.gradient_x_input(cnn, images, target=TARGET).values
    assert close(ours, InputXGradient(cnn).attribute(images, target=TARGET)) <= TOL


@pytest.mark.parametrize("method", INTEGRATION_METHODS)
def test_integrated_gradients_each_rule(cnn, images, method):
    baseline = torch.full_like(images, 0.2)
    ours = ds.explain.integrated_gradients(
        cnn, images, target=TARGET, baseline=baseline, n_steps=20, integration=method, batch_size=16
    )
    theirs, delta = IntegratedGradients(cnn).attribute(
        images,
        baselines=baseline,
        target=TARGET,
        n_steps=20,
        method=method,
        return_convergence_delta=True,
    )
    assert close(ours.values, theirs) <= TOL
    assert close(ours.delta, delta) <= TOL


def test_integrated_gradients_default_is_gausslegendre_50(cnn, images):
    ours = ds.explain.integrated_gradients(cnn, images, target=1)
    theirs = IntegratedGradients(cnn).attribute(images, target=1)
    assert ours.options == {"n_steps": 50, "integration": "gausslegendre"}
    assert close(ours.values, theirs) <= TOL


def test_integrated_gradients_tabular(mlp, table):
    ours = ds.explain.integrated_gradients(mlp, table, target=2, n_steps=16, batch_size=5).values
    theirs = IntegratedGradients(mlp).attribute(table, target=2, n_steps=16)
    assert close(ours, theirs) <= TOL


@pytest.mark.parametrize(
    ("window", "stride", "captum_window", "captum_stride"),
    [
        (4, 2, (3, 4, 4), (3, 2, 2)),
        (3, 2, (3, 3, 3), (3, 2, 2)),  # 10 px with window 3 / stride 2: the last window is cut off
        ((1, 2, 5), (1, 1, 3), (1, 2, 5), (1, 1, 3)),  # per channel, rectangular
    ],
)
def test_occlusion(cnn, images, window, stride, captum_window, captum_stride):
    ours = ds.explain.occlusion(
        cnn, images, target=TARGET, window=window, stride=stride, baseline=0.5, batch_size=37
    ).values
    theirs = Occlusion(cnn).attribute(
        images,
        sliding_window_shapes=captum_window,
        strides=captum_stride,
        baselines=0.5,
        target=TARGET,
        perturbations_per_eval=8,
    )
    assert close(ours, theirs) <= TOL


def test_occlusion_tabular(mlp, table):
    ours = ds.explain.occlusion(mlp, table, target=1, window=2, stride=1).values
    theirs = Occlusion(mlp).attribute(table, sliding_window_shapes=(2,), strides=1, target=1)
    assert close(ours, theirs) <= TOL


@pytest.mark.parametrize("layer", [None, "conv1"])
@pytest.mark.parametrize("relu", [True, False])
def test_grad_cam(cnn, images, layer, relu):
    ours = ds.explain.grad_cam(cnn, images, target=TARGET, layer=layer, relu=relu, batch_size=2)
    module = cnn.conv2 if layer is None else cnn.conv1
    cam = LayerGradCam(cnn, module).attribute(images, target=TARGET, relu_attributions=relu)
    theirs = LayerAttribution.interpolate(cam, images.shape[2:], interpolate_mode="bilinear")
    assert ours.options["layer"] == (layer or "conv2")
    assert close(ours.values, theirs) <= TOL


def test_grad_cam_at_layer_resolution(cnn, images):
    ours = ds.explain.grad_cam(cnn, images, target=TARGET, layer="conv2", interpolate=None).values
    theirs = LayerGradCam(cnn, cnn.conv2).attribute(images, target=TARGET, relu_attributions=True)
    assert close(ours, theirs) <= TOL


def test_guided_backprop(cnn, images):
    ours = ds.explain.guided_backprop(cnn, images, target=TARGET).values
    assert close(ours, GuidedBackprop(cnn).attribute(images, target=TARGET)) <= TOL


def test_guided_grad_cam(cnn, images):
    ours = ds.explain.guided_grad_cam(cnn, images, target=TARGET).values
    theirs = GuidedGradCam(cnn, cnn.conv2).attribute(images, target=TARGET, interpolate_mode="bilinear")
    assert close(ours, theirs) <= TOL
