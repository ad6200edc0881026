"""Baselines per input, per example, as numbers, tensors or callables; KernelSHAP's and LIME's
pairing rule (example i with baseline row i, as Captum, used only here) apart from a background
sample (``background=``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum._utils.models.linear_model import SkLearnLinearRegression
from captum.attr import KernelShap, Lime

import deepscope as ds
from deepscope.errors import InvalidArgumentError
from deepscope.explain.registry import accepted_options, methods

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

TOL = 1e-5


@pytest.fixture
def linear() -> torch.nn.Linear:
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2)


@pytest.fixture
def data() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return torch.randn(4, 3, generator=gen), torch.randn(4, 3, generator=gen)


def exact(net: torch.nn.Linear, x: torch.Tensor, b: torch.Tensor, target: int) -> np.ndarray:
    return (net.weight[target] * (x - b)).detach().numpy()


def test_kernel_shap_pairs_example_i_with_baseline_row_i(linear, data):
    x, b = data
    ours = ds.explain.kernel_shap(linear, x, baseline=b, target=1)
    theirs = KernelShap(linear).attribute(x, baselines=b, target=1, n_samples=200)
    assert np.abs(ours.values - theirs.numpy()).max() <= TOL
    assert np.abs(ours.values - exact(linear, x, b, 1)).max() <= TOL
    np.testing.assert_allclose(ours.base_value, linear(b)[:, 1].detach().numpy(), atol=1e-6)
    # the same rows as a background sample: every example against all of them (their mean, here)
    sample = ds.explain.kernel_shap(linear, x, background=b, target=1)
    np.testing.assert_allclose(sample.values, exact(linear, x, b.mean(dim=0, keepdim=True), 1), atol=1e-5)
    assert np.abs(sample.values - ours.values).max() > 0.1


def test_lime_pairs_example_i_with_baseline_row_i(linear, data):
    x, b = data
    ours = ds.explain.lime(linear, x, baseline=b, target=1, alpha=1e-9, n_samples=200)
    theirs = Lime(linear, interpretable_model=SkLearnLinearRegression()).attribute(
        x, baselines=b, target=1, n_samples=200
    )
    assert np.abs(ours.values - theirs.numpy()).max() <= TOL
    sample = ds.explain.lime(linear, x, background=b, target=1, alpha=1e-9, n_samples=200)
    np.testing.assert_allclose(sample.values, exact(linear, x, b.mean(dim=0, keepdim=True), 1), atol=1e-5)


def test_other_row_counts_are_the_deprecated_background(linear, data):
    x, b = data
    rows = torch.cat([b, b[:1]])  # 5 rows for 4 examples: not one per example
    with pytest.warns(DeprecationWarning, match="background"):
        old = ds.explain.kernel_shap(linear, x, baseline=rows, target=0)
    new = ds.explain.kernel_shap(linear, x, background=rows, target=0)
    np.testing.assert_allclose(old.values, new.values)
    with pytest.warns(DeprecationWarning, match="background"):
        old = ds.explain.lime(linear, x, baseline=rows, target=0, n_samples=50)
    new = ds.explain.lime(linear, x, background=rows, target=0, n_samples=50)
    np.testing.assert_allclose(old.values, new.values)
    for method in ("kernel_shap", "lime"):
        with pytest.raises(InvalidArgumentError, match="baseline"):
            ds.explain.attribute(linear, x, method, baseline=b, background=b)


def _call(method: str) -> dict[str, object]:
    extra: dict[str, object] = {"n_samples": 4} if method in ("shapley_sampling", "lime", "gradient_shap") else {}
    if method.startswith("layer_"):
        extra["layer"] = "0"
    return extra


BASELINE_METHODS = sorted(
    m for m in methods() if "baseline" in (accepted_options(m) or ()) and "neuron" not in (accepted_options(m) or ())
)


@pytest.mark.parametrize("method", BASELINE_METHODS)
def test_every_baseline_may_be_a_callable(method, data):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    x, b = data
    seen = []

    def baseline(inputs):
        seen.append(inputs)
        return b

    got = ds.explain.attribute(net, x, method, target=1, baseline=baseline, **_call(method))
    expected = ds.explain.attribute(net, x, method, target=1, baseline=b, **_call(method))
    assert seen and seen[0] is x
    np.testing.assert_allclose(got.values, expected.values, atol=1e-6)
    number = ds.explain.attribute(net, x, method, target=1, baseline=lambda: 0.5, **_call(method))
    same = ds.explain.attribute(net, x, method, target=1, baseline=0.5, **_call(method))
    np.testing.assert_allclose(number.values, same.values, atol=1e-6)
