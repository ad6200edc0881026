"""Logit lens: the last layer is the model's own prediction, earlier layers match Hugging Face's
hidden states read through ln_f and lm_head, ranks and watch ranks agree with a direct sort."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepscope import text
from deepscope.errors import InvalidArgumentError, UnsupportedModelError
from deepscope.track import Run, open_logdir


def _direct_ranks(logits: torch.Tensor, ids: list[int]) -> list[int]:
    order = logits.argsort(dim=-1, descending=True)
    return [int((order[i] == ids[i]).nonzero()[0, 0]) + 1 for i in range(len(ids))]


@pytest.mark.parametrize("name", ["tiny_gpt2", "reviews_lm"])
def test_last_layer_is_the_models_output(name: str, request: pytest.FixtureRequest) -> None:
    model = request.getfixturevalue(name)
    prompt = "w1 w5 w7 w2 w9" if name == "tiny_gpt2" else "the acting was not very"
    lens = text.logit_lens(model, prompt, top_k=4)
    ids = torch.as_tensor(lens.token_ids)[None]
    with torch.no_grad():
        out = model.module(input_ids=ids)
    logits = (out if isinstance(out, torch.Tensor) else out.logits)[0]
    probs = logits.softmax(-1)
    top_probs, top_ids = probs.topk(4, dim=-1)
    np.testing.assert_array_equal(lens.top_ids[-1], top_ids.numpy())
    np.testing.assert_allclose(lens.top_probs[-1], top_probs.numpy(), atol=1e-5)
    expected = _direct_ranks(logits[:-1], lens.token_ids[1:].tolist())
    assert lens.ranks[-1, :-1].tolist() == expected
    assert lens.ranks[:, -1].tolist() == [-1] * len(lens.layers)
    assert np.allclose(lens.kl_to_final[-1], 0.0, atol=1e-5)


def test_middle_layers_match_hugging_face_hidden_states(tiny_gpt2) -> None:
    lens = text.logit_lens(tiny_gpt2, "w3 w4 w5 w6", top_k=3)
    gpt2 = tiny_gpt2.module
    with torch.no_grad():
        out = gpt2(input_ids=torch.as_tensor(lens.token_ids)[None], output_hidden_states=True)
        # HF's hidden_states: the embeddings, then each block's output (the last after ln_f)
        for layer in range(len(lens.layers) - 1):
            probs = gpt2.lm_head(gpt2.transformer.ln_f(out.hidden_states[layer][0])).softmax(-1)
            np.testing.assert_allclose(lens.top_probs[layer], probs.topk(3).values, atol=1e-5)
    assert len(lens.layers) == gpt2.config.n_layer + 1


def test_watch_ranks_and_frame(reviews_lm) -> None:
    lens = text.logit_lens(reviews_lm, "the plot was", watch=["good", "boring", "."])
    assert lens.watch_ranks.shape == (3, 3)
    with torch.no_grad():
        logits = reviews_lm.module(input_ids=torch.as_tensor(lens.token_ids)[None])[0, -1]
    assert lens.watch_ranks[-1].tolist() == _direct_ranks(logits.expand(3, -1), lens.watch_ids.tolist())
    np.testing.assert_allclose(lens.watch_probs[-1], logits.softmax(-1)[lens.watch_ids].numpy(), atol=1e-6)
    frame = lens.to_frame()
    assert len(frame) == len(lens.layers) * len(lens.tokens)
    row = frame[(frame.layer_index == 1) & (frame.position == 2)].iloc[0]
    assert row.token == lens.tokens[2] and row.next_token == lens.tokens[3]
    assert row["rank"] == lens.ranks[1, 2] and row.top_tokens[0] == lens.top_tokens[1, 2, 0]


def test_bad_inputs_get_typed_errors(tiny_gpt2, reviews_gru) -> None:
    with pytest.raises(UnsupportedModelError, match="model"):
        text.logit_lens(reviews_gru, "the movie")
    with pytest.raises(InvalidArgumentError, match=r"watch\[0\]"):
        text.logit_lens(tiny_gpt2, "w1 w2", watch=["w3 w4"])
    with pytest.raises(InvalidArgumentError, match="top_k"):
        text.logit_lens(tiny_gpt2, "w1 w2", top_k=0)


def test_lens_saves_and_loads(tmp_path, reviews_lm) -> None:
    lens = text.logit_lens(reviews_lm, "the movie was", watch=["good"])
    with Run(tmp_path, name="lm") as run:
        tag = lens.save(run)
    loaded = open_logdir(tmp_path).load("lm", tag)
    assert type(loaded) is text.LogitLens
    for field in ("top_ids", "top_tokens", "top_probs", "ranks", "watch_ranks", "kl_to_final"):
        np.testing.assert_array_equal(getattr(loaded, field), getattr(lens, field))
    assert loaded.tokens == lens.tokens and loaded.watch == ["good"]
    assert len(lens.figure().data) >= 1


def test_hugging_face_bpe_tokenizer(bpe_gpt2) -> None:
    lens = text.logit_lens(bpe_gpt2, "The movie was", watch=[" good", " bad"])
    assert lens.tokens == ["The", " movie", " was"]  # 'Ġ' shown as a space
    ids = bpe_gpt2.tokenizer("The movie was")["input_ids"]
    assert lens.token_ids.tolist() == ids
    with torch.no_grad():
        logits = bpe_gpt2.module(input_ids=torch.tensor([ids])).logits[0, -1]
    assert lens.watch_ranks[-1].tolist() == _direct_ranks(logits.expand(2, -1), lens.watch_ids.tolist())
    with pytest.raises(InvalidArgumentError, match=r"watch\[0\].*splits into"):
        text.logit_lens(bpe_gpt2, "The movie", watch=[" unbelievablyx"])
