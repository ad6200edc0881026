"""Text: per-token attributions at the embedding layer, summed over the embedding, signed."""

from __future__ import annotations

import numpy as np
import torch

import deepscope as ds


def test_saliency_is_the_embedding_gradient_summed(text_model):
    model, texts = text_model
    result = ds.explain.saliency(model, texts, target=1)
    encoded = model.encode(texts)
    embeddings = model.input_embeddings()(encoded["input_ids"]).detach().requires_grad_(True)
    model.forward_embeddings(embeddings, encoded["attention_mask"])[:, 1].sum().backward()
    by_hand = embeddings.grad.sum(dim=-1)
    for i, tokens in enumerate(result.tokens):
        n = int(encoded["attention_mask"][i].sum())
        assert len(tokens) == n
        np.testing.assert_allclose(result.values[i, :n], by_hand[i, :n].numpy(), atol=1e-6)
        assert np.all(result.values[i, n:] == 0)
    assert result.tokens == model.tokens(texts)
    assert result.kind == "text" and result.texts == texts


def test_integrated_gradients_complete_in_embedding_space(text_model):
    model, texts = text_model
    result = ds.explain.integrated_gradients(model, texts, n_steps=64)
    encoded = model.encode(texts)
    with torch.no_grad():
        embeddings = model.input_embeddings()(encoded["input_ids"])
        fx = model.forward_embeddings(embeddings, encoded["attention_mask"])
        f0 = model.forward_embeddings(torch.zeros_like(embeddings), encoded["attention_mask"])
    rows = np.arange(len(texts))
    diff = (fx - f0).numpy()[rows, result.target]
    np.testing.assert_allclose(result.values.sum(axis=1) - diff, result.delta, atol=1e-5)
    assert np.abs(result.delta).max() < 1e-3
    frame = result.to_frame()
    assert list(frame.columns) == ["example", "position", "token", "value"]
    assert len(frame) == sum(len(t) for t in result.tokens)


def test_pad_baseline_and_other_gradient_methods(text_model):
    model, texts = text_model
    pad = ds.explain.integrated_gradients(model, texts, baseline="pad", n_steps=16)
    assert pad.values.shape[0] == len(texts)
    for name in ("gradient_x_input", "guided_backprop", "smoothgrad", "gradient_shap"):
        result = ds.explain.attribute(model, texts, name, target="positive")
        assert result.values.shape == pad.values.shape and result.tokens == pad.tokens
        assert (result.target == 1).all()


def test_lime_on_text_model(text_model):
    model, texts = text_model
    result = ds.explain.lime(model, texts[:2], n_samples=50)
    assert result.tokens == [t.split() for t in texts[:2]]
    assert result.values.shape == (2, max(len(t.split()) for t in texts[:2]))


def test_hugging_face_model_from_a_config():
    """A randomly initialised BERT (built from a config, nothing downloaded) with a word tokenizer."""
    transformers = __import__("pytest").importorskip("transformers")
    from deepscope.zoo.tokenizer import WordTokenizer

    texts = ["a good movie", "not a good movie at all"]
    tokenizer = WordTokenizer.from_texts(texts)
    config = transformers.BertConfig(
        vocab_size=len(tokenizer.vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=2,
        max_position_embeddings=32,
    )
    torch.manual_seed(0)
    module = transformers.BertForSequenceClassification(config).eval()
    model = ds.Model(module, tokenizer)
    result = ds.explain.integrated_gradients(model, texts, n_steps=32)
    assert result.tokens == model.tokens(texts)
    assert result.values.shape == (2, max(len(t) for t in result.tokens))
    encoded = model.encode(texts)
    with torch.no_grad():
        embeddings = model.input_embeddings()(encoded["input_ids"])
        fx = model.forward_embeddings(embeddings, encoded["attention_mask"])
        f0 = model.forward_embeddings(torch.zeros_like(embeddings), encoded["attention_mask"])
    diff = (fx - f0).numpy()[np.arange(2), result.target]
    np.testing.assert_allclose(result.values.sum(axis=1) - diff, result.delta, atol=1e-5)
    assert np.abs(result.delta).max() < 0.05 * np.abs(diff).max() + 1e-4
