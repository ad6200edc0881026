"""Captum's options: feature masks, return_input_shape, multiply_by_inputs, the noise tunnel's
delta, the inner batch sizes; LIME's defaults and scikit-image superpixels."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from captum.attr import (
    FeatureAblation,
    GradientShap,
    IntegratedGradients,
    Lime,
    NoiseTunnel,
    ShapleyValues,
)
from torch import nn

import deepscope as ds
from deepscope.errors import ArgumentTypeError, InvalidArgumentError, MissingDependencyError, ShapeError

# rows of 2 x 2 pixels on a 4 x 4 image, the same on every channel: 4 groups
MASK = (torch.arange(16).reshape(4, 4) // 4).expand(3, 4, 4).contiguous()


@pytest.fixture
def small_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3)).eval()


@pytest.fixture
def pictures() -> torch.Tensor:
    return torch.rand(2, 3, 4, 4, generator=torch.Generator().manual_seed(3))


def test_occlusion_with_a_feature_mask_agrees_with_captum_feature_ablation(small_cnn, pictures):
    ours = ds.explain.occlusion(small_cnn, pictures, target=1, feature_mask=MASK, baseline=0.2)
    captum = FeatureAblation(small_cnn).attribute(pictures, target=1, feature_mask=MASK[None], baselines=0.2)
    np.testing.assert_allclose(ours.values, captum.numpy(), atol=1e-5)
    per_group = ds.explain.occlusion(
        small_cnn,
        pictures,
        target=1,
        feature_mask=MASK,
        baseline=0.2,
        return_input_shape=False,
        perturbations_per_eval=3,
    )
    assert per_group.values.shape == (2, 4) and per_group.feature_names == [f"group {g}" for g in range(4)]
    np.testing.assert_allclose(per_group.values, ours.values[:, 0, :, 0], atol=1e-6)


def test_kernel_shap_over_groups_is_exact_shapley_as_captum(small_cnn, pictures):
    # 4 groups: 2^4 - 2 = 14 coalitions cover all, so the values are the exact Shapley values
    ours = ds.explain.kernel_shap(small_cnn, pictures, target=2, feature_mask=MASK, background=0.3, n_samples=14)
    captum = ShapleyValues(small_cnn).attribute(pictures, target=2, feature_mask=MASK[None], baselines=0.3)
    np.testing.assert_allclose(ours.values, captum.numpy(), atol=1e-5)
    assert np.abs(ours.delta).max() < 1e-5
    per_group = ds.explain.kernel_shap(
        small_cnn, pictures, target=2, feature_mask=MASK[None], background=0.3, return_input_shape=False
    )
    np.testing.assert_allclose(per_group.values, ours.values[:, 0, :, 0], atol=1e-5)


def test_tabular_feature_sets_in_kernel_shap_and_lime():
    w = np.array([1.0, -2.0, 3.0, 0.5])
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    sets = np.array([0, 0, 1, 1])  # two feature sets
    shap_values = ds.explain.kernel_shap(lambda z: z @ w, x, feature_mask=sets, return_input_shape=False)
    np.testing.assert_allclose(shap_values.values, [[1 - 4, 9 + 2]], atol=1e-8)
    lime_values = ds.explain.lime(lambda z: z @ w, x, feature_mask=sets)
    np.testing.assert_allclose(lime_values.values, [[-3, -3, 11, 11]], rtol=1e-3)
    assert lime_values.options["kernel_width"] == 1.0  # tables: Captum's width


def test_lime_with_superpixel_masks_recovers_a_linear_models_group_sums(pictures):
    torch.manual_seed(1)
    net = nn.Sequential(nn.Flatten(), nn.Linear(48, 2))
    superpixels = torch.arange(16).reshape(4, 4) % 4  # [H, W]: broadcast over the channels
    result = ds.explain.lime(net, pictures, target=0, feature_mask=superpixels, baseline=0.0, return_input_shape=False)
    weight = net[1].weight[0].detach().reshape(3, 4, 4)
    exact = [[float((weight * pictures[i] * (superpixels == g)).sum()) for g in range(4)] for i in range(2)]
    np.testing.assert_allclose(result.values, exact, rtol=2e-3, atol=1e-4)
    spread = ds.explain.lime(net, pictures, target=0, feature_mask=superpixels, baseline=0.0)
    assert spread.values.shape == pictures.shape
    np.testing.assert_allclose(spread.values[:, 1], spread.values[:, 0])


@pytest.mark.parametrize("method", ["occlusion", "kernel_shap", "lime"])
def test_a_mask_of_the_wrong_shape_is_a_typed_error_naming_feature_mask(small_cnn, pictures, method):
    with pytest.raises(ShapeError, match="feature_mask"):
        ds.explain.attribute(small_cnn, pictures, method, feature_mask=np.zeros((3, 5, 5), dtype=int))
    with pytest.raises(InvalidArgumentError, match="return_input_shape"):
        ds.explain.attribute(small_cnn, pictures, method, return_input_shape=False)


def test_occlusion_mask_excludes_windows(small_cnn, pictures):
    with pytest.raises(InvalidArgumentError, match="feature_mask"):
        ds.explain.occlusion(small_cnn, pictures, feature_mask=MASK, window=2)


def test_lime_defaults_recover_exact_local_coefficients_on_a_small_table():
    w = np.array([8.0, 23.0, 13.0])
    x = np.full((1, 3), 8.0)  # exact local coefficients w * (x - 0) = [64, 184, 104]
    ours = ds.explain.lime(lambda z: z @ w, x).values[0]
    np.testing.assert_allclose(ours, [64.0, 184.0, 104.0], rtol=0.02)
    net = nn.Linear(3, 1, bias=False)
    net.weight.data = torch.tensor(w[None], dtype=torch.float32)
    captum = Lime(net).attribute(torch.tensor(x, dtype=torch.float32), target=0, n_samples=1000)
    np.testing.assert_allclose(ours, captum[0].numpy(), rtol=0.02)


@pytest.mark.parametrize("segmentation", ["slic", "quickshift", "felzenszwalb"])
def test_superpixels_are_scikit_images(segmentation):
    from skimage import segmentation as segment

    from deepscope.explain.lime import superpixels

    image = np.zeros((3, 24, 24))
    image[:, :, 12:] = 1.0  # two flat halves
    # lime's quickshift default (max_dist=200) merges small images: the options reach scikit-image
    options = {"max_dist": 10} if segmentation == "quickshift" else None
    labels = superpixels(image, n_segments=4, segmentation=segmentation, segmentation_options=options)
    assert labels.shape == (24, 24)
    assert not set(np.unique(labels[:, :12])) & set(np.unique(labels[:, 12:]))  # no segment crosses the edge
    if segmentation == "felzenszwalb":
        reference = segment.felzenszwalb(np.moveaxis(image, 0, -1), scale=1, sigma=0.8, min_size=20, channel_axis=-1)
        assert len(np.unique(reference)) == len(np.unique(labels))


def test_lime_image_segmentation_option_and_missing_scikit_image(small_cnn, monkeypatch):
    images = torch.rand(1, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    result = ds.explain.lime(small_cnn_12 := _cnn12(), images, n_samples=30, segmentation="felzenszwalb")
    assert result.values.shape == (1, 1, 12, 12) and result.options["segmentation"] == "felzenszwalb"
    with pytest.raises(InvalidArgumentError, match="segmentation"):
        ds.explain.lime(small_cnn_12, images, segmentation="watershed")
    monkeypatch.setitem(sys.modules, "skimage", None)
    with pytest.raises(MissingDependencyError, match=r"deepscope\[image\]"):
        ds.explain.lime(small_cnn_12, images, n_samples=30)


def _cnn12() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 2, 3, padding=1), nn.Flatten(), nn.Linear(288, 2)).eval()


@pytest.fixture
def tanh_mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)).eval()


def test_integrated_gradients_global_attributions_agree_with_captum(tanh_mlp):
    x = torch.rand(4, 5, generator=torch.Generator().manual_seed(0))
    ours = ds.explain.integrated_gradients(tanh_mlp, x, target=1, baseline=0.1, multiply_by_inputs=False)
    captum = IntegratedGradients(tanh_mlp, multiply_by_inputs=False).attribute(x, target=1, baselines=0.1)
    np.testing.assert_allclose(ours.values, captum.numpy(), atol=1e-5)
    local = ds.explain.integrated_gradients(tanh_mlp, x, target=1, baseline=0.1, internal_batch_size=7)
    np.testing.assert_allclose(local.values, ours.values * (x.numpy() - 0.1), atol=1e-6)
    np.testing.assert_allclose(local.delta, ours.delta, atol=1e-6)  # the delta of the local attributions
    with pytest.raises(ArgumentTypeError, match="multiply_by_inputs"):
        ds.explain.integrated_gradients(tanh_mlp, x, multiply_by_inputs="no")
    with pytest.raises(InvalidArgumentError, match="internal_batch_size"):
        ds.explain.integrated_gradients(tanh_mlp, x, internal_batch_size=0)


def test_gradient_shap_global_attributions_of_a_linear_model_are_its_weights():
    torch.manual_seed(0)
    net = nn.Linear(5, 3)
    x, references = torch.rand(3, 5), torch.rand(6, 5)
    ours = ds.explain.gradient_shap(net, x, target=2, baseline=references, multiply_by_inputs=False)
    captum = GradientShap(net, multiply_by_inputs=False).attribute(x, references, target=2)
    np.testing.assert_allclose(ours.values, np.broadcast_to(net.weight[2].detach().numpy(), (3, 5)), atol=1e-6)
    np.testing.assert_allclose(ours.values, captum.numpy(), atol=1e-6)
    assert ours.delta is None


def test_noise_tunnel_convergence_delta_agrees_with_captum(tanh_mlp):
    x = torch.rand(3, 5, generator=torch.Generator().manual_seed(2))
    common = {"target": 1, "baseline": 0.1, "n_steps": 3, "integration": "riemann_right"}
    ours = ds.explain.noise_tunnel("ig", tanh_mlp, x, stdev=0.0, n_samples=4, nt_samples_batch_size=3, **common)
    captum, delta = NoiseTunnel(IntegratedGradients(tanh_mlp)).attribute(
        x,
        nt_samples=4,
        stdevs=0.0,
        target=1,
        baselines=0.1,
        n_steps=3,
        method="riemann_right",
        return_convergence_delta=True,
    )
    np.testing.assert_allclose(ours.values, captum.numpy(), atol=1e-5)
    assert ours.delta.shape == (3, 4) and np.abs(ours.delta).max() > 1e-4  # three steps are coarse
    np.testing.assert_allclose(ours.delta, delta.numpy().reshape(3, 4), atol=1e-5)
    # with noise: each noisy input's own gap, zero up to rounding on a linear model
    linear = ds.explain.noise_tunnel("ig", nn.Linear(5, 2), x, stdev=0.5, n_samples=3)
    assert linear.delta.shape == (3, 3) and np.abs(linear.delta).max() < 1e-5
    assert ds.explain.noise_tunnel("saliency", tanh_mlp, x, n_samples=2).delta is None


def test_inner_batch_sizes_do_not_change_results(small_cnn, pictures, tanh_mlp):
    a = ds.explain.occlusion(small_cnn, pictures, window=2, perturbations_per_eval=1)
    b = ds.explain.occlusion(small_cnn, pictures, window=2, perturbations_per_eval=5)
    np.testing.assert_allclose(a.values, b.values, atol=1e-6)
    x = torch.rand(3, 5, generator=torch.Generator().manual_seed(2))
    # without noise every chunking gives integrated gradients themselves (noise draws follow the chunks)
    c = ds.explain.noise_tunnel("ig", tanh_mlp, x, n_samples=5, stdev=0.0, n_steps=4, nt_samples_batch_size=2)
    d = ds.explain.integrated_gradients(tanh_mlp, x, n_steps=4)
    np.testing.assert_allclose(c.values, d.values, atol=1e-6)
    for method in ("feature_ablation", "shapley_sampling"):
        one = ds.explain.attribute(small_cnn, pictures, method, feature_mask=MASK, perturbations_per_eval=1)
        many = ds.explain.attribute(small_cnn, pictures, method, feature_mask=MASK, perturbations_per_eval=4)
        np.testing.assert_allclose(one.values, many.values, atol=1e-6)
    with pytest.raises(InvalidArgumentError, match="perturbations_per_eval"):
        ds.explain.occlusion(small_cnn, pictures, perturbations_per_eval=0)
    with pytest.raises(InvalidArgumentError, match="perturbations_per_eval"):
        ds.explain.feature_ablation(small_cnn, pictures, perturbations_per_eval=0)
    with pytest.raises(InvalidArgumentError, match="nt_samples_batch_size"):
        ds.explain.noise_tunnel("saliency", tanh_mlp, x, nt_samples_batch_size=0)


def test_new_results_save_and_load_back(tmp_path, small_cnn, pictures, tanh_mlp):
    x = torch.rand(2, 5, generator=torch.Generator().manual_seed(4))
    results = {
        "tunnel": ds.explain.noise_tunnel("ig", tanh_mlp, x, n_samples=3, n_steps=4),  # delta [N, n_samples]
        "groups": ds.explain.occlusion(small_cnn, pictures, feature_mask=MASK, return_input_shape=False),
        "partition": ds.explain.partition_shap(small_cnn, pictures, target=0, max_evals=40),
    }
    with ds.Run(tmp_path, name="r") as run:
        tags = {name: result.save(run, f"explain/{name}") for name, result in results.items()}
    logdir = ds.open_logdir(tmp_path)
    for name, result in results.items():
        loaded = logdir.result("r", tags[name])
        np.testing.assert_array_equal(loaded.values, result.values)
        assert loaded.kind == result.kind and loaded.options == result.options
        if result.delta is not None:
            np.testing.assert_array_equal(loaded.delta, result.delta)
    assert results["groups"].to_frame().columns.tolist() == [f"group {g}" for g in range(4)]
