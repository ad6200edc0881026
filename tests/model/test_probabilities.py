"""One logits -> probabilities rule, shared by Model.predict_proba and evaluate's tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.special import expit, softmax

import deepscope as ds
from deepscope.errors import InvalidArgumentError
from deepscope.model import Model, to_probabilities


def _linear(weight: float, bias: float, *, sigmoid: bool = False) -> torch.nn.Module:
    layer = torch.nn.Linear(1, 1)
    with torch.no_grad():
        layer.weight.fill_(weight)
        layer.bias.fill_(bias)
    return torch.nn.Sequential(layer, torch.nn.Sigmoid()) if sigmoid else layer


X = np.array([[0.1], [0.4], [0.8]], dtype=np.float32)


def test_a_logit_inside_0_1_is_still_a_logit_for_a_module():
    # logits 0.1..0.8 all lie in [0, 1]; read as probabilities, the first two would be class 0
    model = _linear(1.0, 0.0)
    expected = expit(X[:, 0].astype(np.float64))
    np.testing.assert_allclose(Model(model).predict_proba(X)[:, 1], expected, rtol=1e-6)
    table = ds.evaluate.predictions(
        model, pd.DataFrame({"x": X[:, 0]}), label=None, features=["x"], task="classification"
    )
    np.testing.assert_allclose(table["score"], expected, rtol=1e-6)
    assert table["prediction"].tolist() == [1, 1, 1]


def test_a_module_ending_in_sigmoid_gives_probabilities_as_they_are():
    model = _linear(2.0, -1.0, sigmoid=True)
    expected = expit(2.0 * X[:, 0].astype(np.float64) - 1.0)
    np.testing.assert_allclose(Model(model).predict_proba(X)[:, 1], expected, rtol=1e-6)
    table = ds.evaluate.predictions(
        model, pd.DataFrame({"x": X[:, 0]}), label=None, features=["x"], task="classification"
    )
    np.testing.assert_allclose(table["score"], expected, rtol=1e-6)


def test_a_callable_is_judged_by_its_values():
    np.testing.assert_allclose(to_probabilities(np.array([0.2, 0.9]))[:, 1], [0.2, 0.9])
    np.testing.assert_allclose(to_probabilities(np.array([-2.0, 3.0]))[:, 1], expit([-2.0, 3.0]))
    callable_model = Model(lambda x: x[:, :1] * 0.5)
    np.testing.assert_allclose(callable_model.predict_proba(X)[:, 1], X[:, 0] * 0.5, rtol=1e-6)


def test_several_columns_softmax_unless_already_probabilities():
    logits = np.array([[2.0, -1.0, 0.5], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(to_probabilities(logits), softmax(logits, axis=1))
    probabilities = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(to_probabilities(probabilities), probabilities)
    for given in (True, False, None):  # only a single column depends on what the caller knows
        np.testing.assert_allclose(to_probabilities(logits, single_is_probability=given), softmax(logits, axis=1))


def test_rows_sum_to_one_and_huge_logits_stay_finite():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = to_probabilities(np.array([[1e4], [-1e4], [0.0]]), single_is_probability=False)
    np.testing.assert_allclose(p, [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_bad_outputs_are_named():
    with pytest.raises(InvalidArgumentError, match="outputs"):
        to_probabilities(np.array([[1.5]]), single_is_probability=True)
    with pytest.raises(InvalidArgumentError, match="outputs"):
        to_probabilities(np.array([[np.nan, 1.0]]))
    with pytest.raises(ds.errors.ShapeError, match="outputs"):
        to_probabilities(np.zeros((2, 2, 2)))
