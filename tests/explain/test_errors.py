"""Bad input gets a typed error naming the argument."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import deepscope as ds
from deepscope.errors import ArgumentTypeError, ShapeError, TargetError, UnsupportedModelError


@pytest.mark.parametrize("method", ["integrated_gradients", "occlusion", "gradient_shap"])
def test_baseline_shape_mismatch(cnn, images, method):
    with pytest.raises(ShapeError) as err:
        ds.explain.attribute(cnn, images, method, baseline=np.zeros((3, 7, 7), np.float32))
    assert err.value.argument == "baseline"


@pytest.mark.parametrize("method", ["saliency", "integrated_gradients", "grad_cam", "occlusion", "lime"])
@pytest.mark.parametrize("target", [3, [0, 1, 2, 3, 0], -1])
def test_target_out_of_range(cnn, images, method, target):
    with pytest.raises(TargetError) as err:
        ds.explain.attribute(cnn, images, method, target=target)
    assert err.value.argument == "target"


def test_target_count_mismatch(cnn, images):
    with pytest.raises(TargetError, match="target"):
        ds.explain.saliency(cnn, images, target=[0, 1])


def test_grad_cam_without_conv_layer(mlp, table):
    with pytest.raises(UnsupportedModelError) as err:
        ds.explain.grad_cam(mlp, table)
    assert err.value.argument == "model"


@pytest.mark.parametrize(
    "method",
    [
        "saliency",
        "gradient_x_input",
        "integrated_gradients",
        "guided_backprop",
        "smoothgrad",
        "gradient_shap",
        "grad_cam",
    ],
)
def test_integer_inputs_to_a_gradient_method(cnn, method):
    ints = torch.randint(0, 255, (2, 3, 10, 10))
    with pytest.raises(ArgumentTypeError) as err:
        ds.explain.attribute(cnn, ints, method)
    assert err.value.argument == "inputs"
    with pytest.raises(ArgumentTypeError, match="inputs"):
        ds.explain.attribute(cnn, ints.numpy().astype(np.uint8), method)


def test_gradients_of_a_plain_callable():
    with pytest.raises(UnsupportedModelError) as err:
        ds.explain.saliency(lambda x: x.sum(axis=1), np.ones((2, 3)))
    assert err.value.argument == "model"


def test_other_arguments(cnn, images):
    with pytest.raises(ArgumentTypeError, match="batch_size"):
        ds.explain.saliency(cnn, images, batch_size=2.5)
    with pytest.raises(ShapeError, match="inputs"):
        ds.explain.saliency(cnn, np.ones(3, np.float32))
    with pytest.raises(ArgumentTypeError, match="seed"):
        ds.explain.lime(cnn, images, seed="x")
