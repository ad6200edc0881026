"""Tuned lens: fitting lowers every layer's KL to the final distribution, the translators
round-trip through safetensors, and ``logit_lens(lens=...)`` uses them."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope import text
from deepscope.errors import InvalidArgumentError
from deepscope.track import Run, open_logdir
from tests.text.conftest import gpt2_model


@pytest.fixture(scope="module")
def tuned(reviews_lm, review_texts) -> text.TunedLens:
    return text.fit_tuned_lens(reviews_lm, review_texts[:80], steps=60, progress=False)


def test_fitting_lowers_kl_at_every_translated_layer(tuned, reviews_lm) -> None:
    assert tuned.weights.shape == (2, 48, 48) and tuned.biases.shape == (2, 48)
    assert np.all(tuned.kl_after < tuned.kl_before)


def test_tuned_lens_reads_layers_differently_but_not_the_last(tuned, reviews_lm) -> None:
    plain = text.logit_lens(reviews_lm, "the pacing was")
    through = text.logit_lens(reviews_lm, "the pacing was", lens=tuned)
    assert through.lens == "tuned"
    np.testing.assert_allclose(through.top_probs[-1], plain.top_probs[-1], atol=1e-6)
    assert not np.allclose(through.top_probs[0], plain.top_probs[0])
    # the embedding layer's KL to the final distribution falls, on held-out text too
    assert through.kl_to_final[0].mean() < plain.kl_to_final[0].mean()


def test_safetensors_round_trip(tuned, reviews_lm, tmp_path) -> None:
    path = tuned.to_safetensors(tmp_path / "lens.safetensors")
    loaded = text.TunedLens.from_safetensors(path)
    np.testing.assert_array_equal(loaded.weights, tuned.weights)
    np.testing.assert_array_equal(loaded.biases, tuned.biases)
    assert (loaded.model_name, loaded.steps, loaded.seed) == (tuned.model_name, 60, 0)
    a = text.logit_lens(reviews_lm, "a wonderful", lens=tuned)
    b = text.logit_lens(reviews_lm, "a wonderful", lens=loaded)
    np.testing.assert_array_equal(a.top_probs, b.top_probs)
    with pytest.raises(InvalidArgumentError, match="path"):
        text.TunedLens.from_safetensors(tmp_path / "missing.safetensors")


def test_result_round_trip_and_mismatch(tuned, tmp_path) -> None:
    with Run(tmp_path, name="lm") as run:
        tag = tuned.save(run)
    loaded = open_logdir(tmp_path).load("lm", tag)
    np.testing.assert_array_equal(loaded.weights, tuned.weights)
    assert list(loaded.to_frame().columns) == ["layer", "kl_logit_lens", "kl_tuned_lens"]
    with pytest.raises(InvalidArgumentError, match="lens"):
        text.logit_lens(gpt2_model(), "w1 w2", lens=tuned)
