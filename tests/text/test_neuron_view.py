"""The neuron view's arithmetic reproduces each model's attention weights."""

from __future__ import annotations

import numpy as np
import pytest

import deepscope as ds
from deepscope.errors import InvalidArgumentError, UnsupportedModelError
from deepscope.model import Model

TEXT = "the acting was not bad, really."


@pytest.mark.parametrize(
    ("name", "layer", "head"),
    [("minilm", 4, 7), ("gpt2", 1, 1), ("reviews_transformer", 1, 0), ("reviews_lm", 0, 1)],
)
def test_softmax_of_scores_is_the_attention(name: str, layer: int, head: int, request: pytest.FixtureRequest) -> None:
    model = request.getfixturevalue(name)
    view = ds.text.neuron_view(model, TEXT, layer=layer, head=head)
    weights = ds.text.attention(model, TEXT).weights[layer, head]
    np.testing.assert_allclose(view.weights, weights, atol=1e-5, rtol=0)
    # the arithmetic shown: scores = sum(q * k) * scale (masked, later keys of a decoder: -inf)
    row = view.scores[view.query]
    allowed = np.isfinite(row)
    np.testing.assert_allclose((view.product.sum(axis=1) * view.scale)[allowed], row[allowed], atol=1e-5)
    assert allowed.all() == (name in ("minilm", "reviews_transformer"))
    other = view.for_query(len(view.tokens) - 1)
    np.testing.assert_allclose(other.product.sum(axis=1) * view.scale, other.scores[-1], atol=1e-5, rtol=1e-5)
    frame = other.to_frame()
    assert frame["weight"].sum() == pytest.approx(1.0, abs=1e-5)


def test_default_query_skips_special_tokens(minilm: Model) -> None:
    view = ds.text.neuron_view(minilm, TEXT, layer=0, head=0)
    assert view.tokens[0] == "[CLS]" and view.query == 1


def test_errors(minilm: Model, bart: Model) -> None:
    with pytest.raises(InvalidArgumentError, match="layer"):
        ds.text.neuron_view(minilm, TEXT, layer=6, head=0)
    with pytest.raises(InvalidArgumentError, match="head"):
        ds.text.neuron_view(minilm, TEXT, layer=0, head=12)
    with pytest.raises(InvalidArgumentError, match="query"):
        ds.text.neuron_view(minilm, TEXT, layer=0, head=0, query=99)
    with pytest.raises(UnsupportedModelError, match="encoder-decoder"):
        ds.text.neuron_view(bart, TEXT, layer=0, head=0)


def test_save_load_round_trip(tmp_path, reviews_lm: Model) -> None:
    view = ds.text.neuron_view(reviews_lm, TEXT, layer=1, head=0, query=3)
    with ds.Run(tmp_path, "r") as run:
        tag = view.save(run)
    loaded = ds.open_logdir(tmp_path).load("r", tag)
    assert isinstance(loaded, ds.text.NeuronView)
    for field in ("queries", "keys", "product", "scores", "weights"):
        np.testing.assert_array_equal(getattr(loaded, field), getattr(view, field))
    assert (loaded.tokens, loaded.query, loaded.scale) == (view.tokens, 3, view.scale)
