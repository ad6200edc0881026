"""Attention rollout on a hand-built two-layer case, and as an Explain attribution."""

from __future__ import annotations

import numpy as np
import pytest

import deepscope as ds
from deepscope.errors import InvalidArgumentError
from deepscope.explain import Attribution, Faithfulness
from deepscope.model import Model


def test_two_layer_closed_form() -> None:
    layer1 = np.stack([[[1.0, 0.0], [1.0, 0.0]], np.eye(2)])  # mean: [[1, 0], [.5, .5]]
    layer2 = np.stack([[[0.0, 1.0], [0.0, 1.0]]] * 2)
    weights = np.stack([layer1, layer2])
    # 0.5 A + 0.5 I per layer: [[1, 0], [.25, .75]] then [[.5, .5], [0, 1]]; R = A2 A1
    expected = np.array([[0.625, 0.375], [0.25, 0.75]])
    np.testing.assert_allclose(ds.text.rollout_matrix(weights), expected, atol=1e-12)
    # without the residual it is the plain product of head-averaged maps
    plain = weights.mean(axis=1)
    np.testing.assert_allclose(ds.text.rollout_matrix(weights, residual=0.0), plain[1] @ plain[0], atol=1e-12)
    # max over heads: [[1, 0], [1, 1]] -> 0.5 A + 0.5 I renormalised: [[1, 0], [1/3, 2/3]]
    np.testing.assert_allclose(
        ds.text.rollout_matrix(weights, head_fusion="max"),
        np.array([[0.5, 0.5], [0.0, 1.0]]) @ np.array([[1.0, 0.0], [1 / 3, 2 / 3]]),
        atol=1e-12,
    )


def test_rollout_is_an_attribution_scored_like_explain(reviews_transformer: Model) -> None:
    text = "the movie was not good"
    rollout = ds.text.attention_rollout(reviews_transformer, text)
    assert isinstance(rollout, Attribution)
    assert rollout.kind == "text" and rollout.method == "attention_rollout"
    assert rollout.options["attention_based"] and rollout.options["query"] == "mean"
    assert rollout.tokens == [["the", "movie", "was", "not", "good"]]
    weights = ds.text.attention(reviews_transformer, text).weights
    np.testing.assert_allclose(rollout.values[0], ds.text.rollout_matrix(weights).mean(axis=0), atol=1e-12)
    assert rollout.values.sum() == pytest.approx(1.0)
    predicted = reviews_transformer.predict([text]).argmax(axis=1)
    assert rollout.target.tolist() == predicted.tolist()
    scores = ds.text.token_deletion_insertion(reviews_transformer, rollout)
    assert isinstance(scores, Faithfulness)
    # the end points do not depend on the map: the full text, and all tokens blanked
    probabilities = reviews_transformer.predict_proba([text])[0]
    assert scores.deletion[0, 0] == pytest.approx(probabilities[predicted[0]], abs=1e-5)
    assert scores.insertion[0, -1] == pytest.approx(probabilities[predicted[0]], abs=1e-5)
    assert scores.deletion[0, -1] == pytest.approx(scores.insertion[0, 0], abs=1e-6)
    ig = ds.explain.integrated_gradients(reviews_transformer, [text], target=int(predicted[0]))
    assert ds.text.token_deletion_insertion(reviews_transformer, ig).deletion.shape == (1, 6)


def test_cls_row_for_bert_and_errors(minilm: Model) -> None:
    rollout = ds.text.attention_rollout(minilm, "not bad at all")
    assert rollout.options["query"] == "cls"
    weights = ds.text.attention(minilm, "not bad at all").weights
    np.testing.assert_allclose(rollout.values[0], ds.text.rollout_matrix(weights)[0], atol=1e-12)
    with pytest.raises(InvalidArgumentError, match="query"):
        ds.text.attention_rollout(minilm, "not bad", query=50)
    with pytest.raises(InvalidArgumentError, match="head_fusion"):
        ds.text.attention_rollout(minilm, "not bad", head_fusion="median")
