"""Nearest counterfactuals are the true nearest (brute force); partial dependence has its closed form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import deepscope as ds
from deepscope.errors import InvalidArgumentError, TargetError


@pytest.fixture
def mixed() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 120
    table = pd.DataFrame(
        {
            "age": rng.integers(20, 70, n).astype(float),
            "income": rng.lognormal(10, 0.4, n),
            "city": rng.choice(["x", "y", "z"], n),
        }
    )
    table["prediction"] = ((table["income"] > table["income"].median()) ^ (table["city"] == "z")).astype(int)
    return table


def _brute_force(table, index, features, categorical, norm):
    numeric = [f for f in features if f not in categorical]
    scale = table[numeric].std(ddof=0)
    row = table.loc[index]
    best, best_index = np.inf, None
    for other_index, other in table.iterrows():
        if other_index == index or other["prediction"] == row["prediction"]:
            continue
        parts = [abs(other[f] - row[f]) / scale[f] for f in numeric] + [float(other[f] != row[f]) for f in categorical]
        d = sum(parts) if norm == "l1" else np.sqrt(sum(p * p for p in parts))
        if d < best:
            best, best_index = d, other_index
    return best_index, best


@pytest.mark.parametrize("norm", ["l1", "l2"])
@pytest.mark.parametrize("index", [0, 7, 55, 119])
def test_nearest_counterfactual_is_the_true_nearest(mixed, norm, index):
    features = ["age", "income", "city"]
    result = ds.evaluate.nearest_counterfactual(mixed, index, features=features, distance=norm)
    expected_index, expected = _brute_force(mixed, index, features, ["city"], norm)
    assert result.counterfactual_index == expected_index
    assert result.distance == pytest.approx(expected)
    assert result.counterfactual_prediction != result.example_prediction
    frame = result.to_frame()
    assert frame["feature"].tolist() == features
    assert frame.loc[frame["feature"] == "city", "differs"].item() == (
        mixed.loc[index, "city"] != mixed.loc[expected_index, "city"]
    )


def test_custom_distance_and_edited_example(mixed):
    edited = {"age": 30.0, "income": 5.0, "city": "x", "prediction": 0}
    by_age = lambda example, candidates: (candidates["age"] - example["age"]).abs().to_numpy()  # noqa: E731
    result = ds.evaluate.nearest_counterfactual(mixed, edited, features=["age", "income", "city"], distance=by_age)
    others = mixed[mixed["prediction"] != 0]
    assert result.distance == pytest.approx((others["age"] - 30).abs().min())
    assert result.example_index is None


def test_no_counterfactual_is_a_typed_error(mixed):
    with pytest.raises(InvalidArgumentError, match="predicted differently"):
        ds.evaluate.nearest_counterfactual(mixed.assign(prediction=1), 0, features=["age"])


def _additive(x: np.ndarray) -> np.ndarray:
    return 2.0 * x[:, 0] + np.sin(x[:, 1]) + x[:, 2] ** 2


@pytest.fixture
def numeric() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(rng.normal(size=(150, 3)), columns=["a", "b", "c"]).astype(np.float32)


def test_partial_dependence_of_an_additive_model_is_its_closed_form(numeric):
    result = ds.evaluate.partial_dependence(_additive, numeric, feature="a", grid_size=15)
    grid = result.curve["value"].to_numpy()
    others = np.sin(numeric["b"].to_numpy(np.float64)) + numeric["c"].to_numpy(np.float64) ** 2
    np.testing.assert_allclose(result.curve["partial_dependence"], 2 * grid + others.mean(), rtol=1e-5, atol=1e-5)
    expected_ice = 2 * grid[None, :] + others[:, None]
    np.testing.assert_allclose(result.ice, expected_ice, rtol=1e-5, atol=1e-5)
    assert len(grid) == 15 and grid.min() == pytest.approx(numeric["a"].min())


def test_partial_dependence_of_a_squared_feature(numeric):
    result = ds.evaluate.partial_dependence(_additive, numeric, feature="c", grid=[-1.0, 0.0, 2.0])
    base = 2 * numeric["a"].to_numpy(np.float64) + np.sin(numeric["b"].to_numpy(np.float64))
    np.testing.assert_allclose(
        result.to_frame()["partial_dependence"], [1 + base.mean(), base.mean(), 4 + base.mean()], rtol=1e-5, atol=1e-5
    )


def test_categorical_partial_dependence_with_encode():
    data = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "colour": ["red", "blue", "red", "green"]})
    effect = {"red": 1.0, "blue": -1.0, "green": 0.5}
    encode = lambda f: np.column_stack([f["x"], f["colour"].map(effect)]).astype(np.float64)  # noqa: E731
    model = lambda m: m[:, 0] + 10 * m[:, 1]  # noqa: E731
    result = ds.evaluate.partial_dependence(model, data, feature="colour", encode=encode)
    assert result.kind == "categorical"
    curve = dict(zip(result.curve["value"], result.curve["partial_dependence"], strict=True))
    assert curve == pytest.approx({c: 1.5 + 10 * e for c, e in effect.items()})


def test_classifiers_follow_the_positive_class_probability(numeric):
    logits = lambda x: np.column_stack([np.zeros(len(x)), x[:, 0]])  # noqa: E731
    result = ds.evaluate.partial_dependence(logits, numeric, feature="a", grid=[0.0, 1.0])
    assert result.to_frame()["partial_dependence"].tolist() == pytest.approx([0.5, 1 / (1 + np.exp(-1))])
    three = lambda x: np.column_stack([x[:, 0], x[:, 1], x[:, 2]])  # noqa: E731
    with pytest.raises(TargetError):
        ds.evaluate.partial_dependence(three, numeric, feature="a")
    assert ds.evaluate.partial_dependence(three, numeric, feature="a", target=2).target == 2


def test_sample_picks_rows(numeric):
    result = ds.evaluate.partial_dependence(_additive, numeric, feature="a", sample=20, seed=3)
    assert result.ice.shape[0] == 20 and len(set(result.rows)) == 20
    assert set(result.ice_frame().columns) == {"row", "value", "output"}


def test_rows_with_missing_features_are_never_the_nearest_counterfactual():
    table = pd.DataFrame(
        {
            "x": [0.0, np.nan, 5.0, 0.1],
            "prediction": [0, 1, 1, 0],
        }
    )
    # Row 1 differs in prediction but has no x; row 2 is the only comparable counterfactual.
    found = ds.evaluate.nearest_counterfactual(table, 0, features=["x"])
    assert found.counterfactual_index == 2
    only_missing = table.drop(index=2)
    with pytest.raises(InvalidArgumentError, match="table"):
        ds.evaluate.nearest_counterfactual(only_missing, 0, features=["x"])
