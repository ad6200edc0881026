"""KernelSHAP: exact Shapley values when every coalition fits, efficiency, agreement with shap."""

from __future__ import annotations

import itertools
from math import factorial

import numpy as np
import pandas as pd
import pytest
import torch

import deepscope as ds
from deepscope.errors import ShapeError, UnsupportedModelError


def brute_force_shapley(f, x, background):
    m = len(x)
    phi = np.zeros(m)

    def value(subset):
        hybrid = background.copy()
        hybrid[:, list(subset)] = x[list(subset)]
        return f(hybrid).mean()

    for j in range(m):
        others = [k for k in range(m) if k != j]
        for size in range(m):
            for subset in itertools.combinations(others, size):
                weight = factorial(size) * factorial(m - size - 1) / factorial(m)
                phi[j] += weight * (value(subset + (j,)) - value(subset))
    return phi


def interactions(data):
    return data[:, 0] * data[:, 1] + np.sin(data[:, 2]) - data[:, 3] * data[:, 4] ** 2


def test_exact_with_every_coalition():
    rng = np.random.default_rng(0)
    background = rng.normal(size=(6, 5))
    x = rng.normal(size=(2, 5))
    result = ds.explain.kernel_shap(interactions, x, background=background, n_samples=1000)
    for i in range(2):
        np.testing.assert_allclose(result.values[i], brute_force_shapley(interactions, x[i], background), atol=1e-8)


def test_efficiency_holds_exactly_with_few_samples():
    rng = np.random.default_rng(1)
    w = rng.normal(size=12)

    def f(data):
        return np.tanh(data @ w) + data[:, 0] * data[:, 5]

    background = rng.normal(size=(40, 12))
    x = rng.normal(size=(3, 12))
    result = ds.explain.kernel_shap(f, x, background=background, n_samples=60, n_background=5)
    fx = f(x)
    np.testing.assert_allclose(result.values.sum(axis=1), fx - result.base_value, atol=1e-9)
    np.testing.assert_allclose(result.delta, 0.0, atol=1e-9)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_agrees_with_shap_kernel_explainer():
    import shap

    rng = np.random.default_rng(2)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2)).eval()
    data = rng.normal(size=(300, 12)).astype(np.float32)
    x = data[:5]

    def f(array):
        with torch.no_grad():
            return net(torch.as_tensor(array, dtype=torch.float32)).numpy()

    ours = ds.explain.kernel_shap(net, x, target=1, background=data, n_background=10, n_samples=400, seed=0)
    summary = shap.kmeans(data, 10)
    explainer = shap.KernelExplainer(f, summary, silent=True)
    theirs = np.asarray(explainer.shap_values(x, nsamples=400, silent=True))
    theirs = theirs[..., 1] if theirs.ndim == 3 else theirs[1]
    r = np.corrcoef(ours.values.ravel(), theirs.ravel())[0, 1]
    assert r >= 0.95, r


def test_frame_inputs_and_non_varying_features():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [0.0, 0.0], "c": [3.0, -1.0]})
    result = ds.explain.kernel_shap(lambda d: d.sum(axis=1), frame, background=np.zeros((1, 3)))
    assert result.feature_names == ["a", "b", "c"]
    np.testing.assert_allclose(result.values, frame.to_numpy(), atol=1e-12)


def test_checks(mlp, table, cnn, images):
    with pytest.raises(ShapeError, match="background"):
        ds.explain.kernel_shap(mlp, table, background=np.zeros((4, 3)))
    with pytest.raises(UnsupportedModelError, match="inputs"):
        ds.explain.kernel_shap(cnn, images)


def test_tables_go_to_the_model_in_calls_of_at_most_4096_rows_by_default():
    from deepscope.explain.kernel_shap import TABULAR_SHAP_ROWS

    rng = np.random.default_rng(3)
    w = rng.normal(size=12)
    calls: list[int] = []

    def f(data):
        calls.append(len(data))
        return np.tanh(data @ w)

    background, x = rng.normal(size=(50, 12)), rng.normal(size=(3, 12))
    result = ds.explain.kernel_shap(f, x, background=background, n_samples=500, n_background=10, seed=0)
    assert TABULAR_SHAP_ROWS == 4096 and max(calls) <= TABULAR_SHAP_ROWS
    assert sum(calls) >= 3 * 500 * 10  # every coalition on every background row
    calls.clear()
    at_once = ds.explain.kernel_shap(
        f, x, background=background, n_samples=500, n_background=10, seed=0, batch_size=10**5
    )
    assert max(calls) > TABULAR_SHAP_ROWS  # a batch_size given is followed
    np.testing.assert_allclose(result.values, at_once.values, atol=1e-9)
