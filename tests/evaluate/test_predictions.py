"""The predictions table: probabilities, predictions and losses equal their references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.special import softmax
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import log_loss

import deepscope as ds
from deepscope.errors import InvalidArgumentError


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    data = pd.DataFrame(x, columns=["a", "b", "c"], index=pd.RangeIndex(100, 300))
    data["label"] = (x[:, 0] - x[:, 1] + 0.3 * rng.normal(size=200) > 0).astype(int)
    return data


def test_sklearn_predict_proba_passes_through(frame):
    model = LogisticRegression().fit(frame[["a", "b", "c"]].to_numpy(), frame["label"])
    table = ds.evaluate.predictions(model.predict_proba, frame)
    probabilities = model.predict_proba(frame[["a", "b", "c"]].to_numpy(np.float32))
    assert table.index.equals(frame.index)
    np.testing.assert_allclose(table[["score_0", "score_1"]], probabilities, rtol=1e-6)
    np.testing.assert_allclose(table["score"], probabilities[:, 1], rtol=1e-6)
    assert (table["prediction"] == probabilities.argmax(axis=1)).all()
    assert (table["correct"] == (table["prediction"] == frame["label"])).all()
    assert table["loss"].mean() == pytest.approx(log_loss(frame["label"], y_proba=probabilities), rel=1e-6)
    np.testing.assert_allclose(table["confidence"], probabilities.max(axis=1), rtol=1e-6)


def test_logits_of_a_torch_module_are_softmaxed(frame):
    torch.manual_seed(0)
    module = torch.nn.Linear(3, 3)
    table = ds.evaluate.predictions(module, frame.assign(label=frame["label"] * 2), features=["a", "b", "c"])
    with torch.no_grad():
        logits = module(torch.tensor(frame[["a", "b", "c"]].to_numpy(np.float32))).numpy()
    np.testing.assert_allclose(table[[f"score_{c}" for c in range(3)]], softmax(logits, axis=1), rtol=1e-5)
    assert "score" not in table  # only binary tables get the positive-class column


def test_single_logit_with_binary_labels_is_a_classifier(frame):
    table = ds.evaluate.predictions(lambda x: x[:, 0] * 5, frame, features=["a"])
    np.testing.assert_allclose(table["score"], 1 / (1 + np.exp(-5 * frame["a"].to_numpy(np.float32))), rtol=1e-5)


def test_regression_tables(frame):
    target = frame["a"] * 2 + 1
    model = LinearRegression().fit(frame[["a", "b"]].to_numpy(), target)
    table = ds.evaluate.predictions(model.predict, frame.assign(label=target), features=["a", "b"])
    assert {"error", "loss"} <= set(table.columns) and "score" not in table
    np.testing.assert_allclose(table["error"], table["prediction"] - target, atol=1e-5)
    np.testing.assert_allclose(table["loss"], table["error"] ** 2, atol=1e-9)


def test_texts_go_to_the_model_as_strings():
    data = pd.DataFrame({"text": ["good film", "not good", "bad"], "label": [1, 0, 0]})
    model = lambda texts: np.array([[0.1, 0.9] if "good" in t and "not" not in t else [0.8, 0.2] for t in texts])  # noqa: E731
    table = ds.evaluate.predictions(model, data, features="text")
    assert table["prediction"].tolist() == [1, 0, 0]
    assert table["text"].tolist() == data["text"].tolist()


def test_string_labels_with_class_names(frame):
    named = frame.assign(label=np.where(frame["label"] == 1, "yes", "no"))
    model = LogisticRegression().fit(frame[["a", "b", "c"]].to_numpy(), frame["label"])
    table = ds.evaluate.predictions(model.predict_proba, named, labels=["no", "yes"])
    assert set(table["prediction"]) <= {"no", "yes"}
    assert {"score_no", "score_yes"} <= set(table.columns)
    with pytest.raises(InvalidArgumentError, match="labels"):
        ds.evaluate.predictions(model.predict_proba, named)


def test_unlabelled_data_and_arrays():
    x = np.random.default_rng(1).normal(size=(10, 2))
    table = ds.evaluate.predictions(lambda a: np.column_stack([a[:, 0], -a[:, 0]]), x, label=None)
    assert list(table.columns[:2]) == ["x0", "x1"] and "correct" not in table


def test_missing_label_column_is_named(frame):
    with pytest.raises(InvalidArgumentError, match=r"label.*'approved'"):
        ds.evaluate.predictions(lambda x: x, frame, label="approved")


def test_labels_outside_the_model_classes_are_refused(frame):
    with pytest.raises(InvalidArgumentError, match="label"):
        ds.evaluate.predictions(lambda x: x[:, :2], frame.assign(label=frame["label"] + 5))


def test_reserved_feature_names_are_refused(frame):
    with pytest.raises(InvalidArgumentError, match="features"):
        ds.evaluate.predictions(lambda x: x, frame.rename(columns={"a": "prediction"}))


def test_categorical_features_need_encode(frame):
    data = frame.assign(colour=np.where(frame["a"] > 0, "red", "blue"))
    with pytest.raises(InvalidArgumentError, match="encode"):
        ds.evaluate.predictions(lambda x: x[:, :2], data)
    encode = lambda f: np.column_stack([f["a"], (f["colour"] == "red").astype(float)]).astype(np.float32)  # noqa: E731
    table = ds.evaluate.predictions(lambda x: x, data, features=["a", "colour"], encode=encode)
    assert len(table) == len(data)


def test_saved_with_the_run(tmp_path, frame):
    with ds.Run(tmp_path, name="r") as run:
        table = ds.evaluate.predictions(lambda x: x[:, :2], frame, run=run)
    stored = ds.open_logdir(tmp_path).table("r", "predictions")
    pd.testing.assert_frame_equal(stored.reset_index(drop=True), table.reset_index(drop=True), check_dtype=False)
