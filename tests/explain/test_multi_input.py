"""Inputs of any shape Captum takes: tuples of inputs, additional_forward_args, scalar and integer
inputs, outputs of any shape with tuple targets, callable baselines. Agreement with Captum
(used only here) to 1e-5 on small models with several inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import (
    Deconvolution,
    FeatureAblation,
    GradientShap,
    GuidedBackprop,
    InputXGradient,
    IntegratedGradients,
    LayerGradCam,
    LayerIntegratedGradients,
    Occlusion,
    Saliency,
    ShapleyValueSampling,
)

import deepscope as ds
from deepscope.errors import ArgumentTypeError, InvalidArgumentError, ShapeError, TargetError
from deepscope.explain import Attribution

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

TOL = 1e-5
N = 4


class TwoInputs(torch.nn.Module):
    """f(a [N, 3], b [N, 2, 2], scale [N, 1]) -> [N, 3], with ReLUs for the guided methods."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a = torch.nn.Linear(3, 5)
        self.b = torch.nn.Linear(4, 5)
        self.relu = torch.nn.ReLU()
        self.out = torch.nn.Linear(5, 3)

    def forward(self, a: torch.Tensor, b: torch.Tensor, scale: torch.Tensor, shift: float = 0.0) -> torch.Tensor:
        return self.out(self.relu(self.a(a) + self.b(b.flatten(1))) * scale) + shift


class LinearTwo(torch.nn.Module):
    """A model linear in each input (Shapley values and gradient SHAP are exact on it)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.a = torch.nn.Linear(3, 2)
        self.b = torch.nn.Linear(4, 2)

    def forward(self, a: torch.Tensor, b: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        return (self.a(a) + self.b(b.flatten(1))) * scale


@pytest.fixture
def inputs() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(N, 3, generator=gen), torch.randn(N, 2, 2, generator=gen)


@pytest.fixture
def scale() -> torch.Tensor:
    return torch.linspace(0.5, 2.0, N).reshape(N, 1)


TARGET = [0, 2, 1, 1]


def close(ours: Attribution, theirs: tuple[torch.Tensor, ...]) -> float:
    parts = ours.per_input()
    assert len(parts) == len(theirs)
    worst = 0.0
    for mine, other in zip(parts, theirs, strict=True):
        assert mine.shape == tuple(other.shape)
        worst = max(worst, float(np.abs(mine - other.detach().numpy()).max()))
    return worst


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("saliency", Saliency),
        ("gradient_x_input", InputXGradient),
        ("deconvolution", Deconvolution),
        ("guided_backprop", GuidedBackprop),
    ],
)
def test_gradient_methods_agree_with_captum(inputs, scale, ours, theirs):
    model = TwoInputs()
    got = ds.explain.attribute(model, inputs, ours, target=TARGET, additional_forward_args=(scale, 0.5))
    extra = {"abs": False} if theirs is Saliency else {}
    expected = theirs(model).attribute(inputs, target=TARGET, additional_forward_args=(scale, 0.5), **extra)
    assert close(got, expected) <= TOL
    assert got.input_shapes == [[3], [2, 2]]
    assert got.values.shape == (N, 7)


def test_integrated_gradients_with_a_baseline_per_input(inputs, scale):
    model = TwoInputs()
    baselines = (torch.full((3,), 0.1), torch.full((N, 2, 2), -0.2))  # one shared, one per example
    got = ds.explain.integrated_gradients(
        model, inputs, target=TARGET, baseline=baselines, n_steps=16, additional_forward_args=(scale,)
    )
    expected = IntegratedGradients(model).attribute(
        inputs,
        baselines=(baselines[0].expand(N, 3), baselines[1]),
        target=TARGET,
        n_steps=16,
        method="gausslegendre",
        additional_forward_args=(scale,),
    )
    assert close(got, expected) <= TOL
    _, delta = IntegratedGradients(model).attribute(
        inputs,
        baselines=(baselines[0].expand(N, 3), baselines[1]),
        target=TARGET,
        n_steps=16,
        method="gausslegendre",
        additional_forward_args=(scale,),
        return_convergence_delta=True,
    )
    np.testing.assert_allclose(got.delta, delta.numpy(), atol=1e-5)  # over both inputs together


def test_gradient_shap_with_one_reference_is_exact_on_a_linear_model(inputs, scale):
    model = LinearTwo()
    refs = (torch.full((1, 3), 0.3), torch.full((1, 2, 2), -0.1))
    got = ds.explain.gradient_shap(model, inputs, target=1, baseline=refs, additional_forward_args=(scale,))
    expected = GradientShap(model).attribute(inputs, baselines=refs, target=1, additional_forward_args=(scale,))
    assert close(got, expected) <= TOL


def test_gradient_shap_takes_a_callable_baseline(inputs, scale):
    model = LinearTwo()
    calls = []

    def references(given):
        calls.append(given)
        return tuple(torch.zeros_like(x[:1]) for x in given)

    got = ds.explain.gradient_shap(model, inputs, target=0, baseline=references, additional_forward_args=(scale,))
    expected = ds.explain.gradient_shap(model, inputs, target=0, baseline=(0.0, 0.0), additional_forward_args=(scale,))
    assert calls and calls[0] is inputs
    np.testing.assert_allclose(got.values, expected.values, atol=1e-6)
    # a single-input model with a callable baseline taking no argument
    net = torch.nn.Linear(3, 2)
    one = ds.explain.gradient_shap(net, inputs[0], target=0, baseline=lambda: torch.zeros(2, 3))
    theirs = GradientShap(net).attribute(inputs[0], baselines=torch.zeros(2, 3), target=0)
    assert np.abs(one.values - theirs.detach().numpy()).max() <= TOL


def test_occlusion_window_and_stride_per_input(inputs, scale):
    model = TwoInputs()
    got = ds.explain.occlusion(
        model,
        inputs,
        target=TARGET,
        window=((2,), (1, 2)),
        stride=((1,), (1, 1)),
        baseline=(0.0, 0.5),
        additional_forward_args=(scale,),
    )
    expected = Occlusion(model).attribute(
        inputs,
        sliding_window_shapes=((2,), (1, 2)),
        strides=((1,), (1, 1)),
        baselines=(0.0, 0.5),
        target=TARGET,
        additional_forward_args=(scale,),
    )
    assert close(got, expected) <= TOL
    assert got.options["window"] == [[2], [1, 2]]


def test_feature_ablation_with_a_mask_per_input(inputs, scale):
    model = TwoInputs()
    masks = (torch.tensor([[0, 0, 1]]), torch.tensor([[[0, 1], [1, 1]]]))
    got = ds.explain.feature_ablation(
        model, inputs, target=TARGET, feature_mask=masks, baseline=(0.2, -0.3), additional_forward_args=(scale,)
    )
    expected = FeatureAblation(model).attribute(
        inputs, target=TARGET, feature_mask=masks, baselines=(0.2, -0.3), additional_forward_args=(scale,)
    )
    assert close(got, expected) <= TOL


def test_shapley_sampling_on_a_linear_model(inputs, scale):
    model = LinearTwo()
    got = ds.explain.shapley_sampling(model, inputs, target=1, n_samples=3, additional_forward_args=(scale,))
    expected = ShapleyValueSampling(model).attribute(inputs, target=1, n_samples=3, additional_forward_args=(scale,))
    assert close(got, expected) <= TOL
    exact = ds.explain.shapley_exact(model, inputs, target=1, additional_forward_args=(scale,))
    np.testing.assert_allclose(exact.values, got.values, atol=1e-5)


def test_kernel_shap_and_lime_on_a_linear_model(inputs, scale):
    """KernelSHAP is exact on a linear model: w * scale * (x - background) per input."""
    model = LinearTwo()
    background = (torch.zeros(1, 3), torch.zeros(1, 2, 2))
    got = ds.explain.kernel_shap(model, inputs, target=1, background=background, additional_forward_args=(scale,))
    weights = torch.cat([model.a.weight[1], model.b.weight[1]]).detach()
    flat = torch.cat([inputs[0], inputs[1].flatten(1)], dim=1)
    np.testing.assert_allclose(got.values, (flat * weights * scale).numpy(), atol=1e-4)
    lime = ds.explain.lime(model, inputs, target=1, n_samples=50, additional_forward_args=(scale,))
    assert [v.shape for v in lime.per_input()] == [(N, 3), (N, 2, 2)]


def test_tuple_target_on_outputs_of_any_shape():
    class Grid(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(2)
            self.fc = torch.nn.Linear(3, 6)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x).reshape(-1, 2, 3)

    model, x = Grid(), torch.randn(N, 3)
    got = ds.explain.saliency(model, x, target=(1, 2))
    expected = Saliency(model).attribute(x, target=(1, 2), abs=False)
    assert np.abs(got.values - expected.numpy()).max() <= TOL
    assert got.options["output_shape"] == [2, 3]
    per_example = [(0, 1), (1, 0), (1, 2), (0, 0)]
    got = ds.explain.feature_ablation(model, x, target=per_example)
    expected = FeatureAblation(model).attribute(x, target=per_example)
    assert np.abs(got.values - expected.numpy()).max() <= TOL
    with pytest.raises(TargetError, match="target"):
        ds.explain.saliency(model, x, target=(2, 0))
    with pytest.raises(ShapeError, match="tuple target"):
        ds.explain.saliency(model, x, target=1)


def test_one_element_target_is_broadcast_to_the_batch(inputs, scale):
    model = TwoInputs()
    for method in ("saliency", "integrated_gradients", "occlusion", "feature_ablation", "kernel_shap"):
        one = ds.explain.attribute(model, inputs, method, target=[2], additional_forward_args=(scale,))
        every = ds.explain.attribute(model, inputs, method, target=2, additional_forward_args=(scale,))
        assert one.target.tolist() == [2] * N, method
        np.testing.assert_allclose(one.values, every.values, atol=1e-6)
    net = torch.nn.Linear(3, 4)
    got = ds.explain.saliency(net, inputs[0], target=torch.tensor([3]))
    assert got.target.tolist() == [3] * N


def test_scalar_examples():
    model = torch.nn.Sequential(torch.nn.Unflatten(0, (-1, 1)), torch.nn.Linear(1, 2))
    x = torch.tensor([0.5, -1.0, 2.0])
    got = ds.explain.saliency(model, x, target=1)
    assert got.values.shape == (3,)
    linear = model[1]
    assert isinstance(linear, torch.nn.Linear)
    np.testing.assert_allclose(got.values, linear.weight[1, 0].item(), atol=1e-6)
    ablated = ds.explain.feature_ablation(model, x, target=1, baseline=0.5)
    expected = FeatureAblation(model).attribute(x, target=1, baselines=0.5)
    assert ablated.values.shape == (3,)
    assert np.abs(ablated.values - expected.numpy()).max() <= TOL
    assert ds.explain.occlusion(model, x, target=1).values.shape == (3,)


def test_integer_inputs_keep_their_dtype_for_perturbation_methods():
    class Lookup(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(3)
            self.embed = torch.nn.Embedding(10, 2)

        def forward(self, ids: torch.Tensor, flags: torch.Tensor) -> torch.Tensor:
            assert ids.dtype == torch.long and flags.dtype == torch.bool
            return self.embed(ids).sum(dim=1) * (1 + flags.float().sum(dim=1, keepdim=True))

    model = Lookup()
    ids = torch.tensor([[1, 2, 3], [4, 5, 6]])
    flags = torch.tensor([[True, False], [False, True]])
    got = ds.explain.feature_ablation(model, (ids, flags), target=0)
    expected = FeatureAblation(model).attribute((ids, flags), target=0)
    assert close(got, expected) <= TOL
    with pytest.raises(ArgumentTypeError, match=r"inputs\[0\]"):
        ds.explain.saliency(model, (ids, flags), target=0)


def test_callables_with_several_inputs():
    def f(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
        return k * (a.sum(axis=1) - 2 * b[:, 0])

    a, b = np.ones((2, 3)), np.full((2, 1), 0.5)
    got = ds.explain.feature_ablation(f, (a, b), additional_forward_args=(2.0,))
    np.testing.assert_allclose(got.per_input()[0], 2.0)
    np.testing.assert_allclose(got.per_input()[1], -2.0)


def test_mismatched_tuples_are_typed_errors(inputs, scale):
    model = TwoInputs()
    args = {"additional_forward_args": (scale,)}
    with pytest.raises(InvalidArgumentError, match="baseline"):
        ds.explain.integrated_gradients(model, inputs, baseline=(0.0, 0.0, 0.0), **args)
    with pytest.raises(InvalidArgumentError, match="feature_mask"):
        ds.explain.feature_ablation(model, inputs, feature_mask=(torch.zeros(3, dtype=torch.long),), **args)
    with pytest.raises(ShapeError, match=r"feature_mask\[1\]"):
        ds.explain.feature_ablation(
            model, inputs, feature_mask=(torch.zeros(3, dtype=torch.long), torch.zeros(3)), **args
        )
    with pytest.raises(InvalidArgumentError, match="window"):
        ds.explain.occlusion(model, inputs, window=((1,), (1, 1), (1,)), **args)
    with pytest.raises(ShapeError, match=r"baseline\[0\]"):
        ds.explain.integrated_gradients(model, inputs, baseline=(torch.zeros(4), 0.0), **args)
    with pytest.raises(ShapeError, match="inputs"):
        ds.explain.saliency(model, (inputs[0], inputs[1][:2]), **args)
    with pytest.raises(ArgumentTypeError, match="baseline"):
        ds.explain.integrated_gradients(model, inputs, baseline=torch.zeros(N, 3), **args)


def test_result_round_trip(tmp_path, inputs, scale):
    got = ds.explain.saliency(TwoInputs(), inputs, target=TARGET, additional_forward_args=(scale,))
    with ds.Run(tmp_path, name="r") as run:
        tag = got.save(run)
    back = ds.open_logdir(tmp_path).load("r", tag)
    assert back.input_shapes == [[3], [2, 2]]
    for mine, theirs in zip(got.per_input(), back.per_input(), strict=True):
        np.testing.assert_array_equal(mine, theirs)


class ImageAndTable(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(4)
        self.conv = torch.nn.Conv2d(2, 3, 3, padding=1)
        self.relu = torch.nn.ReLU()
        self.side = torch.nn.Linear(2, 3)

    def forward(self, image: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv(image)).mean(dim=(2, 3)) + self.side(table)


def test_grad_cam_takes_the_image_of_a_tuple():
    model = ImageAndTable()
    image, table = torch.randn(2, 2, 6, 6), torch.randn(2, 2)
    got = ds.explain.grad_cam(model, (table, image)[::-1], target=1, layer="conv", interpolate=None, relu=False)
    expected = LayerGradCam(model, model.conv).attribute((image, table), target=1)
    assert isinstance(expected, torch.Tensor)
    assert np.abs(got.values - expected.detach().numpy()).max() <= TOL
    assert got.options["input"] == 0
    layer_ig = ds.explain.layer_integrated_gradients(model, (image, table), target=1, layer="conv", n_steps=8)
    theirs = LayerIntegratedGradients(model, model.conv).attribute(
        (image, table), target=1, n_steps=8, method="gausslegendre"
    )
    assert isinstance(theirs, torch.Tensor)
    assert np.abs(layer_ig.values - theirs.detach().numpy()).max() <= TOL


def test_noise_tunnel_of_a_tuple(inputs, scale):
    model = TwoInputs()
    got = ds.explain.attribute(
        model, inputs, "smoothgrad", over="saliency", stdev=0.0, n_samples=2, target=1, additional_forward_args=(scale,)
    )
    plain = ds.explain.saliency(model, inputs, target=1, additional_forward_args=(scale,))
    np.testing.assert_allclose(got.values, plain.values, atol=1e-6)
    assert [v.shape for v in got.per_input()] == [(N, 3), (N, 2, 2)]
    direct = ds.explain.noise_tunnel(
        "integrated_gradients",
        model,
        inputs,
        stdev=0.0,
        n_samples=2,
        target=1,
        n_steps=8,
        baseline=(0.0, torch.zeros(2, 2)),
        additional_forward_args=(scale,),
    )
    ig = ds.explain.integrated_gradients(
        model, inputs, target=1, n_steps=8, baseline=(0.0, torch.zeros(2, 2)), additional_forward_args=(scale,)
    )
    np.testing.assert_allclose(direct.values, ig.values, atol=1e-6)


ONE_ELEMENT = {
    "saliency": {},
    "integrated_gradients": {"n_steps": 4},
    "gradient_x_input": {},
    "guided_backprop": {},
    "deconvolution": {},
    "gradient_shap": {"n_samples": 3},
    "smoothgrad": {"over": "saliency", "n_samples": 2},
    "occlusion": {},
    "feature_ablation": {},
    "shapley_sampling": {"n_samples": 2},
    "kernel_shap": {},
    "lime": {"n_samples": 20},
    "layer_integrated_gradients": {"layer": "0", "n_steps": 4},
    "layer_gradient_x_activation": {"layer": "0"},
    "layer_conductance": {"layer": "0", "n_steps": 4},
}


@pytest.mark.parametrize("method", sorted(ONE_ELEMENT))
def test_a_one_element_target_applies_to_every_example(method):
    torch.manual_seed(5)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    x = torch.randn(3, 3)
    every = ds.explain.attribute(net, x, method, target=2, **ONE_ELEMENT[method])
    for one in ([2], torch.tensor([2]), np.array([2])):
        got = ds.explain.attribute(net, x, method, target=one, **ONE_ELEMENT[method])
        assert got.target.tolist() == [2, 2, 2]
        np.testing.assert_allclose(got.values, every.values, atol=1e-6)


def test_a_single_integer_input_keeps_its_dtype():
    class Bag(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(6)
            self.embed = torch.nn.EmbeddingBag(10, 2)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            return self.embed(ids)

    model, ids = Bag(), torch.tensor([[1, 2, 3], [4, 5, 6]])
    got = ds.explain.occlusion(model, ids, target=1, window=1, baseline=0)
    expected = Occlusion(model).attribute(ids, sliding_window_shapes=(1,), target=1, baselines=0)
    assert np.abs(got.values - expected.numpy()).max() <= TOL
