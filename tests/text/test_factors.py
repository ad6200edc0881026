"""Neuron factors: NMF of the MLP activations that the test captures itself; factors are
non-negative, reconstruct the activations, and the error falls as components grow."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepscope import text
from deepscope.errors import InvalidArgumentError, UnsupportedModelError
from deepscope.track import Run, open_logdir


def _gelu_outputs(model, texts: list[str]) -> np.ndarray:
    """The clipped outputs of every block's GELU over every token, captured by hand."""
    rows = []
    captured: list[torch.Tensor] = []
    record = lambda module, args, output: captured.append(output[0])  # noqa: E731
    hooks = [b.mlp[1].register_forward_hook(record) for b in model.module.layers]
    for t in texts:
        captured.clear()
        with torch.no_grad():
            model.module(input_ids=torch.tensor([model.tokenizer.encode(t)]))
        rows.append(torch.cat(captured, dim=1).numpy())
    for h in hooks:
        h.remove()
    return np.clip(np.concatenate(rows), 0, None)


def test_factors_reconstruct_the_activations(reviews_lm, review_texts) -> None:
    texts = review_texts[:30]
    factors = text.neuron_factors(reviews_lm, texts, n_components=6)
    matrix = _gelu_outputs(reviews_lm, texts)
    weights = np.concatenate(factors.token_factors)
    assert weights.shape == (len(matrix), 6) and factors.components.shape == (6, matrix.shape[1])
    assert weights.min() >= 0 and factors.components.min() >= 0
    error = np.linalg.norm(matrix - weights @ factors.components)
    assert error == pytest.approx(factors.reconstruction_error, rel=1e-3)
    assert factors.relative_error == pytest.approx(error / np.linalg.norm(matrix), rel=1e-3)
    assert [len(t) for t in factors.tokens] == [len(f) for f in factors.token_factors]
    assert factors.tokens[0][0] == "[CLS]"
    assert factors.unit_layers.tolist() == [0] * 96 + [1] * 96


def test_error_falls_as_components_grow(reviews_lm, review_texts) -> None:
    errors = [text.neuron_factors(reviews_lm, review_texts[:30], n_components=k).relative_error for k in (1, 3, 8, 16)]
    assert all(a > b for a, b in zip(errors, errors[1:], strict=False))


def test_one_layer_and_bad_inputs(reviews_lm, reviews_gru, tmp_path) -> None:
    factors = text.neuron_factors(reviews_lm, ["the movie was good ."], layers=1, n_components=2)
    assert factors.layers == [1] and factors.components.shape == (2, 96)
    with pytest.raises(InvalidArgumentError, match="n_components"):
        text.neuron_factors(reviews_lm, ["good ."], n_components=50)
    with pytest.raises(InvalidArgumentError, match="layers"):
        text.neuron_factors(reviews_lm, ["good ."], layers=[5])
    with pytest.raises(UnsupportedModelError, match="model"):
        text.neuron_factors(reviews_gru, ["good ."])
    with Run(tmp_path, name="lm") as run:
        tag = factors.save(run)
    loaded = open_logdir(tmp_path).load("lm", tag)
    assert type(loaded) is text.NeuronFactors and loaded.tokens == factors.tokens
    np.testing.assert_array_equal(loaded.token_factors[0], factors.token_factors[0])
    assert loaded.to_frame()["strongest"].between(0, 1).all()


def test_hugging_face_gpt2_mlp_units(tiny_gpt2) -> None:
    texts = ["w1 w2 w3 w4 w5", "w9 w8 w7"]
    captured: list[torch.Tensor] = []
    act = tiny_gpt2.module.transformer.h[1].mlp.act
    handle = act.register_forward_hook(lambda module, args, output: captured.append(output))
    factors = text.neuron_factors(tiny_gpt2, texts, layers=1, n_components=3)
    handle.remove()
    assert factors.unit_layers.tolist() == [1] * 128  # GPT-2's MLP is 4x its width of 32
    (batch,) = captured  # both texts in one padded batch: keep the 5 + 3 real tokens
    matrix = np.clip(torch.cat([batch[0, :5], batch[1, :3]]).detach().numpy(), 0, None)
    weights = np.concatenate(factors.token_factors)
    error = np.linalg.norm(matrix - weights @ factors.components)
    assert error == pytest.approx(factors.reconstruction_error, rel=1e-3)
