"""Feature visualization: every objective raises its target, parametrizations invert, seeds
reproduce, bad arguments get typed errors, results round-trip through a run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import deepscope as ds
from deepscope.errors import ArgumentTypeError, InvalidArgumentError, NotFoundError
from deepscope.features import objectives as obj
from deepscope.features import param, transforms
from deepscope.features.visualize import _layer_scores

FAST = {"steps": 48, "size": 16, "progress": False, "lr": 0.1}


def _score(cnn, objective, images) -> np.ndarray:
    model = ds.Model(cnn)
    with torch.no_grad():
        return _layer_scores(model, objective, torch.as_tensor(images)).numpy()


@pytest.mark.parametrize("kind", ["fft", "pixel"])
def test_channel_beats_random_input_and_every_dataset_example(cnn, images, kind):
    objective = obj.channel("relu2", 4)
    result = ds.features.visualize(cnn, objective, param=kind, dataset=images, **FAST)
    random_input = np.random.default_rng(1).random((1, 3, 16, 16)).astype(np.float32)
    reached = _score(cnn, objective, result.images)[0]
    assert reached == pytest.approx(result.scores[0], rel=1e-5)
    assert reached >= 10 * _score(cnn, objective, random_input)[0]
    assert reached >= result.examples.values[0, 0] == _score(cnn, objective, images).max()
    assert result.images.dtype == np.float32 and result.images.min() >= 0 and result.images.max() <= 1
    assert result.trace.shape == (FAST["steps"],)


@pytest.mark.parametrize(
    "objective",
    [
        obj.neuron("conv2", 2, x=1, y=2),
        obj.layer("relu1"),
        obj.direction("relu2", [1, -1, 0, 2, 0, 1]),
    ],
    ids=["neuron", "layer", "direction"],
)
def test_each_objective_rises_above_its_start(cnn, objective):
    start = ds.features.visualize(cnn, objective, steps=1, lr=1e-9, size=16, progress=False)
    result = ds.features.visualize(cnn, objective, transforms="none", **FAST)
    assert result.scores[0] > start.scores[0] + 0.1
    assert result.trace[-8:].mean() > result.trace[:8].mean()


def test_maco_optimises_the_phase_under_a_fixed_magnitude(cnn, images):
    objective = obj.channel("relu2", 4)
    start = ds.features.visualize(
        cnn, objective, param="maco", dataset=images, steps=1, lr=1e-9, size=16, progress=False
    )
    result = ds.features.visualize(cnn, objective, param="maco", dataset=images, **FAST)
    assert result.scores[0] > 2 * start.scores[0] > 0
    spectrum = param.natural_magnitude(16, 16, images)
    assert spectrum.shape == (16, 9) and float(spectrum.max()) == pytest.approx(1.0)


def test_diversity_makes_the_batch_less_alike(cnn):
    base = obj.channel("relu2", 0)
    plain = ds.features.visualize(cnn, base, batch=3, seed=2, **FAST)
    varied = ds.features.visualize(cnn, base + 5 * obj.diversity("relu1"), batch=3, seed=2, **FAST)
    diversity = obj.diversity("relu1")
    assert _score(cnn, diversity, varied.images).mean() > _score(cnn, diversity, plain.images).mean()


def test_batch_indices_give_each_image_its_own_channel(cnn):
    objective = obj.channel("relu2", 0, batch=0) + obj.channel("relu2", 5, batch=1)
    result = ds.features.visualize(cnn, objective, batch=2, **FAST)
    zero = _score(cnn, obj.channel("relu2", 0), result.images)
    three = _score(cnn, obj.channel("relu2", 5), result.images)
    assert zero[0] > zero[1] and three[1] > three[0]


def test_composition_weights_terms():
    a, b = obj.channel("conv1", 0), obj.channel("conv1", 1)
    combined = 2 * a - b / 4
    acts = {"conv1": torch.arange(2 * 2 * 3 * 3, dtype=torch.float32).reshape(2, 2, 3, 3)}
    expected = 2 * acts["conv1"][:, 0].mean((1, 2)) - acts["conv1"][:, 1].mean((1, 2)) / 4
    assert torch.allclose(combined(acts, 2), expected)
    assert combined.description == "2*channel(conv1, 0) - 0.25*channel(conv1, 1)"


def test_fft_and_colour_parametrizations_invert_exactly():
    image = torch.rand(2, 3, 12, 10, dtype=torch.float64)
    spectrum = param.fft_inverse(image, 12, 10)
    assert torch.allclose(param.fft_image(spectrum, 12, 10), image, atol=1e-12)
    data = np.random.default_rng(0).random((20, 3, 8, 8))
    data[:, 1] = 0.7 * data[:, 0] + 0.3 * data[:, 1]  # correlated channels
    matrix = torch.as_tensor(param.colour_matrix(data, 3), dtype=torch.float64)
    assert torch.allclose(param.decorrelate_inverse(param.decorrelate(image, matrix), matrix), image, atol=1e-10)
    # M M^T is the colour covariance up to one scale factor
    cov = np.cov(data.transpose(0, 2, 3, 1).reshape(-1, 3), rowvar=False)
    mm = matrix.numpy() @ matrix.numpy().T
    np.testing.assert_allclose(mm / mm[0, 0], cov / cov[0, 0], rtol=1e-4, atol=1e-6)


def test_same_seed_same_images_other_seed_other_images(cnn):
    objective = obj.channel("relu2", 4)
    first = ds.features.visualize(cnn, objective, seed=3, **{**FAST, "steps": 8})
    again = ds.features.visualize(cnn, objective, seed=3, **{**FAST, "steps": 8})
    other = ds.features.visualize(cnn, objective, seed=4, **{**FAST, "steps": 8})
    np.testing.assert_array_equal(first.images, again.images)
    assert not np.allclose(first.images, other.images)


def test_transforms_in_pure_torch():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 20, 20)
    assert transforms.pad(2)(x, g).shape[-1] == 24
    assert transforms.jitter(3)(x, g).shape[-1] == 18
    assert torch.equal(transforms.random_rotate([0])(x, g), x)
    assert transforms.random_scale([1.5])(x, g).shape[-1] == 30
    rotated = transforms.random_rotate([90])(x, g)
    assert torch.allclose(
        rotated[0, :, 5:15, 5:15], torch.rot90(x, 1, (2, 3))[0, :, 5:15, 5:15], atol=1e-4
    ) or torch.allclose(rotated[0, :, 5:15, 5:15], torch.rot90(x, -1, (2, 3))[0, :, 5:15, 5:15], atol=1e-4)


def test_typed_errors(cnn):
    with pytest.raises(NotFoundError, match="conv1"):
        ds.features.visualize(cnn, obj.channel("nope", 0), **FAST)
    with pytest.raises(InvalidArgumentError, match="channel index below 6"):
        ds.features.visualize(cnn, obj.channel("relu2", 6), **FAST)
    with pytest.raises(InvalidArgumentError, match="size"):
        ds.features.visualize(cnn, obj.channel("relu2", 0), **{**FAST, "size": 1})
    with pytest.raises(ArgumentTypeError, match="objective"):
        ds.features.visualize(cnn, "relu2:0", **FAST)
    with pytest.raises(InvalidArgumentError, match="param"):
        ds.features.visualize(cnn, obj.channel("relu2", 0), param="wavelet", **FAST)


def test_visualization_round_trips_through_a_run(cnn, images, tmp_path):
    result = ds.features.visualize(cnn, obj.channel("relu2", 4), dataset=images, **{**FAST, "steps": 4})
    with ds.Run(tmp_path, name="r") as run:
        tag = result.save(run)
    loaded = ds.open_logdir(tmp_path).load("r", tag)
    assert type(loaded) is type(result)
    np.testing.assert_array_equal(loaded.images, result.images)
    np.testing.assert_array_equal(loaded.examples.boxes, result.examples.boxes)
    assert loaded.objective == result.objective
    fig = loaded.figure()
    assert len(fig.data) == 1 + result.examples.images.shape[1] if result.examples.images.shape[1] <= 6 else 7


def test_clamp_and_a_given_colour_matrix(cnn):
    objective = obj.channel("relu2", 4)
    start = ds.features.visualize(cnn, objective, squash="clamp", steps=1, lr=1e-9, size=16, progress=False)
    result = ds.features.visualize(cnn, objective, squash="clamp", colors=np.eye(3) * 0.5, **FAST)
    assert result.images.min() >= 0 and result.images.max() <= 1
    assert result.scores[0] > 2 * start.scores[0]
    with pytest.raises(InvalidArgumentError, match="colors"):
        ds.features.visualize(cnn, objective, colors=np.zeros((3, 3)), **FAST)
