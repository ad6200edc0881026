"""ds.text.attention equals each model's own output_attentions, and rejects bad input by type."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import deepscope as ds
from deepscope import zoo
from deepscope.errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    UnsupportedModelError,
)
from deepscope.model import Model

TEXT = "the movie was not good, and the acting wasn't great."


def _own(model: Model, **inputs: torch.Tensor) -> object:
    with torch.no_grad():
        return model.module(**inputs, output_attentions=True, return_dict=True)


def _stack(maps: tuple[torch.Tensor, ...]) -> np.ndarray:
    return torch.stack([m[0] for m in maps]).numpy()


def test_minilm_equals_output_attentions(minilm: Model) -> None:
    encoded = minilm.tokenizer(TEXT, "it was bad.", return_tensors="pt")
    own = _own(minilm, **encoded)
    found = ds.text.attention(minilm, TEXT, "it was bad.")
    assert found.kind == "encoder"
    assert found.tokens == minilm.tokenizer.convert_ids_to_tokens(encoded["input_ids"][0])
    np.testing.assert_allclose(found.weights, _stack(own.attentions), atol=1e-6, rtol=0)
    assert found.weights.shape == (6, 12, len(found.tokens), len(found.tokens))
    assert found.weights.dtype == np.float32
    assert found.segments.tolist() == encoded["token_type_ids"][0].tolist()
    assert found.special[0] and found.special[-1] and not found.special[1]


def test_gpt2_from_config_is_a_causal_decoder(gpt2: Model) -> None:
    ids = torch.tensor([gpt2.tokenizer(TEXT)["input_ids"]])
    own = _own(gpt2, input_ids=ids)
    found = ds.text.attention(gpt2, TEXT)
    assert found.kind == "decoder"
    np.testing.assert_allclose(found.weights, _stack(own.attentions), atol=1e-6, rtol=0)
    upper = np.triu(np.ones(found.weights.shape[-2:], dtype=bool), k=1)
    assert np.all(found.weights[..., upper] == 0)


@pytest.mark.parametrize("name", ["bart", "t5"])
def test_encoder_decoder_maps(name: str, request: pytest.FixtureRequest) -> None:
    model = request.getfixturevalue(name)
    source, target = "the movie was not good", "bad film"
    found = ds.text.attention(model, source, target=target)
    ids = torch.tensor([model.tokenizer(source)["input_ids"]])
    start = model.module.config.decoder_start_token_id
    decoder_ids = torch.tensor([[start, *model.tokenizer(target)["input_ids"]]])
    own = _own(model, input_ids=ids, decoder_input_ids=decoder_ids)
    assert found.kind == "encoder-decoder"
    assert found.encoder_tokens == found.tokens
    assert len(found.decoder_tokens) == decoder_ids.shape[1]
    np.testing.assert_allclose(found.encoder_weights, _stack(own.encoder_attentions), atol=1e-6)
    np.testing.assert_allclose(found.decoder_weights, _stack(own.decoder_attentions), atol=1e-6)
    np.testing.assert_allclose(found.cross_weights, _stack(own.cross_attentions), atol=1e-6)
    layers = model.module.config.decoder_layers if name == "bart" else 2
    assert found.cross_weights.shape[:1] == (layers,)
    assert found.cross_weights.shape[2:] == (decoder_ids.shape[1], ids.shape[1])


def test_zoo_transformers(reviews_transformer: Model, reviews_lm: Model) -> None:
    for model, kind in ((reviews_transformer, "encoder"), (reviews_lm, "decoder")):
        encoded = model.tokenizer(["the movie was not good"], return_tensors="pt")
        own = _own(model, **encoded)
        found = ds.text.attention(model, "the movie was not good")
        assert found.kind == kind
        np.testing.assert_allclose(found.weights, _stack(own.attentions), atol=1e-6, rtol=0)


def test_hooks_when_the_model_does_not_offer_output_attentions(reviews_transformer: Model) -> None:
    class Plain(torch.nn.Module):
        """The zoo transformer without output_attentions in its signature."""

        def __init__(self, inner: torch.nn.Module):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask=None):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask)

    plain = Model(Plain(reviews_transformer.module), tokenizer=reviews_transformer.tokenizer)
    hooked = ds.text.attention(plain, "not good at all")
    direct = ds.text.attention(reviews_transformer, "not good at all")
    np.testing.assert_array_equal(hooked.weights, direct.weights)


def test_layers_and_heads_select(minilm: Model) -> None:
    full = ds.text.attention(minilm, "a fine day")
    some = ds.text.attention(minilm, "a fine day", layers=[1, 4], heads=[0, 11])
    assert some.layers == [1, 4] and some.heads == [0, 11]
    np.testing.assert_array_equal(some.weights, full.weights[[1, 4]][:, [0, 11]])


def test_edges_keep_top_k_and_report_mass(minilm: Model) -> None:
    found = ds.text.attention(minilm, TEXT)
    edges = found.edges(2, top_k=3)
    n = len(found.tokens)
    assert len(edges) >= 12 * n * 3  # ties may keep a few more
    per_row = np.bincount(edges.head * n + edges.query, minlength=12 * n)
    assert per_row.min() >= 3
    expected = np.sort(found.weights[2], axis=-1)[..., -3:].sum() / found.weights[2].sum()
    assert edges.mass_kept == pytest.approx(expected, abs=1e-4)
    everything = found.edges(2, top_k=None)
    assert everything.mass_kept == pytest.approx(1.0)
    clicked = found.edges(2, query=4, heads=[3])
    assert set(clicked.query.tolist()) == {4} and set(clicked.head.tolist()) == {3}
    np.testing.assert_allclose(np.sort(clicked.weight), np.sort(found.weights[2, 3, 4]), atol=1e-7)


def test_thumbnails_average_blocks(minilm: Model) -> None:
    found = ds.text.attention(minilm, TEXT)
    thumbs = found.thumbnails(size=4)
    n = len(found.tokens)
    assert thumbs.shape == (6, 12, 4, 4)
    edges = np.linspace(0, n, 5).round().astype(int)
    block = found.weights[0, 0, edges[1] : edges[2], edges[2] : edges[3]].mean()
    assert thumbs[0, 0, 1, 2] == pytest.approx(block, abs=1e-6)
    assert np.array_equal(found.thumbnails(size=n), found.weights)


def test_truncation_names_the_limit(gpt2: Model) -> None:
    long = " ".join(["word"] * 100)
    with pytest.warns(UserWarning, match="at most 64"):
        found = ds.text.attention(gpt2, long)
    assert len(found.tokens) == 64 and found.n_tokens > 64
    with pytest.raises(InvalidArgumentError, match="at most 64 tokens"):
        ds.text.attention(gpt2, long, truncate=False)


def test_bad_inputs_get_typed_errors(minilm: Model, reviews_transformer: Model) -> None:
    with pytest.raises(InvalidArgumentError, match="text"):
        ds.text.attention(minilm, "   ")
    with pytest.raises(ArgumentTypeError, match="text"):
        ds.text.attention(minilm, ["a list"])
    with pytest.raises(InvalidArgumentError, match="layers"):
        ds.text.attention(minilm, "fine", layers=[6])
    with pytest.raises(InvalidArgumentError, match="heads"):
        ds.text.attention(minilm, "fine", heads=[-1])
    with pytest.raises(InvalidArgumentError, match="target"):
        ds.text.attention(minilm, "fine", target="not an encoder-decoder")
    with pytest.raises(UnsupportedModelError, match="model"):
        ds.text.attention(zoo.get("reviews_gru"), "fine")
    with pytest.raises(UnsupportedModelError, match="tokenizer"):
        ds.text.attention(Model(reviews_transformer.module), "fine")
    found = ds.text.attention(reviews_transformer, "fine")
    with pytest.raises(InvalidArgumentError, match="layer"):
        found.edges(5)
    with pytest.raises(InvalidArgumentError, match="which"):
        found.view("cross")


def test_save_load_round_trip_in_float16(tmp_path, bart: Model) -> None:
    found = ds.text.attention(bart, "the movie was not good", target="bad")
    with ds.Run(tmp_path, "r") as run:
        tag = found.save(run)
    loaded = ds.open_logdir(tmp_path).load("r", tag)
    assert isinstance(loaded, ds.text.Attention)
    assert loaded.weights.dtype == np.float16 and loaded.cross_weights.dtype == np.float16
    np.testing.assert_array_equal(loaded.weights, found.weights.astype(np.float16))
    np.testing.assert_array_equal(loaded.cross_weights, found.cross_weights.astype(np.float16))
    np.testing.assert_allclose(loaded.decoder_weights, found.decoder_weights, atol=1e-3)
    assert loaded.tokens == found.tokens and loaded.decoder_tokens == found.decoder_tokens
    assert loaded.kind == found.kind and loaded.layers == found.layers
    np.testing.assert_array_equal(loaded.special, found.special)


def test_saved_weights_are_float16_and_compressed(tmp_path, minilm: Model) -> None:
    """MiniLM's attentions on 60 words: stored as float16 in a compressed .npz, smaller than the raw
    float16 bytes, and loaded back bit for bit."""
    found = ds.text.attention(minilm, " ".join(["the movie was not good, but the acting was great."] * 6))
    with ds.Run(tmp_path, "r") as run:
        tag = found.save(run)
    [folder] = (tmp_path / "r" / "results").iterdir()
    tree = json.loads((folder / "result.json").read_text())["fields"]
    assert tree["weights"]["__ds__"] == "npz"
    half = found.weights.astype(np.float16)
    stored = (folder / tree["weights"]["file"]).stat().st_size
    assert stored < half.nbytes < found.weights.nbytes
    loaded = ds.open_logdir(tmp_path).load("r", tag)
    assert loaded.weights.dtype == np.float16
    np.testing.assert_array_equal(loaded.weights, half)


def test_pairs_on_word_tokenizers_and_tidy_frame(reviews_lm: Model) -> None:
    found = ds.text.attention(reviews_lm, "not good", "it was bad")
    assert found.tokens == ["[CLS]", "not", "good", "[SEP]", "it", "was", "bad", "[SEP]"]
    assert found.segments.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert found.special.tolist() == [True, False, False, True, False, False, False, True]
    frame = found.to_frame()
    n = len(found.tokens)
    assert len(frame) == 2 * 2 * n * n
    pick = (frame["layer"] == 1) & (frame["head"] == 0) & (frame["query"] == 5)
    row = frame[pick & (frame["key"] == 2)]
    assert row.iloc[0]["weight"] == pytest.approx(float(found.weights[1, 0, 5, 2]))
    assert (row.iloc[0]["query_token"], row.iloc[0]["key_token"]) == ("was", "good")
