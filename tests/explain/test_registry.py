"""Method names, attribute(), and custom methods."""

from __future__ import annotations

import numpy as np
import pytest

import deepscope as ds
from deepscope.errors import InvalidArgumentError, NotFoundError

ISSUE_NAMES = [
    "saliency",
    "gradient_x_input",
    "integrated_gradients",
    "noise_tunnel",
    "grad_cam",
    "grad_cam_pp",
    "guided_backprop",
    "guided_grad_cam",
    "occlusion",
    "lime",
    "kernel_shap",
    "gradient_shap",
]


def test_every_public_name_is_registered_and_callable():
    for name in ISSUE_NAMES:
        assert name in ds.explain.methods()
        assert callable(getattr(ds.explain, name))


@pytest.mark.parametrize("name", ["saliency", "gradient_x_input", "guided_backprop", "grad_cam", "occlusion"])
def test_attribute_equals_the_direct_call(cnn, images, name):
    via = ds.explain.attribute(cnn, images, name, target=1)
    direct = getattr(ds.explain, name)(cnn, images, target=1)
    assert via.method == name
    np.testing.assert_array_equal(via.values, direct.values)


def test_aliases_and_unknown_names(cnn, images):
    assert ds.explain.attribute(cnn, images, "ig", n_steps=4).method == "integrated_gradients"
    assert ds.explain.get_method("gradcam") is ds.explain.grad_cam
    with pytest.raises(NotFoundError, match="attribution method"):
        ds.explain.attribute(cnn, images, "deep_taylor")


def test_custom_method(cnn, images):
    def constant(model, inputs, *, target=None, **options):
        return ds.explain.Attribution(values=np.ones(images.shape), method="constant", target=np.zeros(5, np.int64))

    ds.explain.register_method("constant_for_test", constant)
    assert "constant_for_test" in ds.explain.methods()
    assert ds.explain.attribute(cnn, images, "constant_for_test").values.sum() == images.numel()
    with pytest.raises(InvalidArgumentError, match="name"):
        ds.explain.register_method("saliency", constant)
