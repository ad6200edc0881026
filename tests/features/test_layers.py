"""Layer explorer: each layer's output, and unit arithmetic equal to the real activation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import deepscope as ds
from deepscope.errors import InvalidArgumentError, NotFoundError


@pytest.fixture
def image(images) -> np.ndarray:
    return images[:1]


def _real(cnn, image) -> dict[str, np.ndarray]:
    """Every layer's real output, computed by hand through the Sequential."""
    x = torch.as_tensor(image)
    outputs = {}
    with torch.no_grad():
        for name, module in cnn.named_children():
            x = module(x)
            outputs[name] = x[0].numpy()
    outputs["softmax"] = torch.softmax(x, -1)[0].numpy()
    return outputs


def test_layer_maps_are_every_layers_output_in_order(cnn, image):
    maps = ds.features.layer_maps(cnn, image)
    real = _real(cnn, image)
    assert maps.names == list(real)
    assert maps.types[:3] == ["Conv2d", "ReLU", "MaxPool2d"]
    for name, values in real.items():
        np.testing.assert_allclose(maps.map(name), values, atol=1e-6)
    assert maps.prediction == int(np.argmax(real["fc"]))


@pytest.mark.parametrize("layer", ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "fc", "softmax"])
def test_unit_arithmetic_equals_the_real_activation_everywhere(cnn, image, layer):
    real = _real(cnn, image)[layer]
    kinds = set()
    if real.ndim == 3:
        units = [(c, r, k) for c in range(real.shape[0]) for r in range(real.shape[1]) for k in range(real.shape[2])]
        units = units[:: max(1, len(units) // 60)] + [
            (0, 0, 0),
            (real.shape[0] - 1, real.shape[1] - 1, real.shape[2] - 1),
        ]
    else:
        units = [(c, 0, 0) for c in range(real.shape[0])]
    for c, r, k in units:
        unit = ds.features.unit_arithmetic(cnn, image, layer=layer, channel=c, row=r, col=k)
        expected = real[c, r, k] if real.ndim == 3 else real[c]
        assert unit.total == pytest.approx(float(expected), abs=1e-5)
        assert unit.value == pytest.approx(float(expected), abs=1e-6)
        kinds.add(unit.kind)
    assert kinds == {
        {
            "conv1": "conv",
            "conv2": "conv",
            "relu1": "relu",
            "relu2": "relu",
            "pool1": "maxpool",
            "pool2": "avgpool",
            "fc": "linear",
            "softmax": "softmax",
        }[layer]
    }


def test_conv_unit_reads_its_window_with_zero_padding(cnn, image):
    unit = ds.features.unit_arithmetic(cnn, image, layer="conv1", channel=1, row=0, col=5)
    assert unit.patch.shape == (3, 3, 3)
    np.testing.assert_array_equal(unit.patch[:, 0, :], 0)  # the row above the image is padding
    np.testing.assert_allclose(unit.patch[:, 1:, :], image[0, :, 0:2, 4:7], atol=1e-7)
    np.testing.assert_allclose(unit.kernel, cnn.conv1.weight[1].detach().numpy(), atol=1e-7)
    np.testing.assert_allclose(unit.products, unit.patch * unit.kernel)
    assert unit.input_box == (0, 4, 1, 6) and unit.image_box == (0, 4, 1, 6)


def test_receptive_field_grows_through_the_layers(cnn, image):
    # 3x3 conv: 3 pixels; 2x2 pool: 3 + 1 = 4; 3x3 conv of stride 2 after it: 4 + 2 * 2 = 8
    unit = ds.features.unit_arithmetic(cnn, image, layer="conv2", channel=0, row=2, col=2)
    assert unit.image_box == (5, 5, 12, 12)
    assert unit.input_box == (3, 3, 5, 5)
    unit = ds.features.unit_arithmetic(cnn, image, layer="softmax", channel=2)
    assert unit.total == pytest.approx(unit.products[2] / unit.exp_sum)
    np.testing.assert_allclose(unit.products, np.exp(unit.patch - unit.patch.max()))


def test_errors_name_what_is_wrong(cnn, image):
    with pytest.raises(NotFoundError, match="conv1"):
        ds.features.unit_arithmetic(cnn, image, layer="conv9", channel=0)
    with pytest.raises(InvalidArgumentError, match="channel"):
        ds.features.unit_arithmetic(cnn, image, layer="conv1", channel=4)
    with pytest.raises(InvalidArgumentError, match="16x16"):
        ds.features.unit_arithmetic(cnn, image, layer="conv1", channel=0, row=16)


def test_layer_results_round_trip(cnn, image, tmp_path):
    maps = ds.features.layer_maps(cnn, image)
    unit = ds.features.unit_arithmetic(cnn, image, layer="conv2", channel=1, row=1, col=2)
    with ds.Run(tmp_path, name="r") as run:
        maps.save(run)
        unit.save(run)
    logdir = ds.open_logdir(tmp_path)
    loaded_maps = logdir.load("r", "features/layer_maps")
    loaded_unit = logdir.load("r", "features/unit_arithmetic")
    assert loaded_maps.names == maps.names
    for a, b in zip(loaded_maps.maps, maps.maps, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded_unit.products, unit.products)
    assert loaded_unit.image_box == unit.image_box and loaded_unit.total == unit.total
    assert len(loaded_unit.figure().data) == 3 * 4  # patch, kernel, products per input channel
    assert len(loaded_maps.figure().data) > 1
