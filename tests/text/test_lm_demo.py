"""The language-model demo run, small: what it logs loads back equal to a fresh computation, and
the Text page's language-model sources see it."""

from __future__ import annotations

import numpy as np

import deepscope as ds
from deepscope import zoo
from deepscope.app.pages._text import lm_sources as sources
from deepscope.app.plugin import AppContext
from deepscope.text.lm_demo import DEMO_PROMPTS, LM_MODEL, TEXT_LM_RUN, WATCH, _slug, log_text_lm_run


def test_demo_logs_lenses_generations_factors_and_coclusters_the_page_sees(tmp_path) -> None:
    name = log_text_lm_run(tmp_path, tuned_steps=3, n_texts=40, max_new_tokens=2)
    assert name == TEXT_LM_RUN
    reader = ds.open_logdir(tmp_path)
    lm = zoo.get(LM_MODEL)
    prompt = DEMO_PROMPTS[0]

    logit = reader.load(TEXT_LM_RUN, f"text/lens/{_slug(prompt)}/logit")
    fresh = ds.text.logit_lens(lm, prompt, watch=WATCH)
    assert logit.lens == "logit" and logit.text == prompt
    np.testing.assert_array_equal(logit.ranks, fresh.ranks)
    np.testing.assert_allclose(logit.top_probs, fresh.top_probs, atol=1e-6)

    # the logged tuned lens, read back through the page's source, reproduces the logged tuned view
    ctx = AppContext(tmp_path, reader)
    tuned = sources.tuned_lens_for(ctx, lm.name)
    assert tuned is not None and tuned.steps == 3
    logged_tuned = reader.load(TEXT_LM_RUN, f"text/lens/{_slug(prompt)}/tuned")
    again = ds.text.logit_lens(lm, prompt, watch=WATCH, lens=tuned)
    assert logged_tuned.lens == "tuned"
    np.testing.assert_array_equal(logged_tuned.ranks, again.ranks)
    np.testing.assert_allclose(logged_tuned.top_probs, again.top_probs, atol=1e-5)

    generation = reader.load(TEXT_LM_RUN, f"text/generation/{_slug(prompt)}")
    greedy = ds.text.generate(lm, prompt, max_new_tokens=2, attribution=None, progress=False)
    assert generation.tokens == greedy.tokens and generation.method == "integrated_gradients"
    assert generation.attributions.shape[0] == generation.n_generated

    factors = reader.load(TEXT_LM_RUN, "text/neuron_factors")
    assert factors.components.shape[0] == 6 and factors.components.min() >= 0
    clusters = reader.load(TEXT_LM_RUN, "text/coclusters")
    assert len(set(clusters.unit_clusters.tolist())) <= 6

    # every tab's source lists the logged results; the run names its zoo model for `serve`
    assert len(sources.logged(ctx, sources.LENS)) == 2 * len(DEMO_PROMPTS)
    assert len(sources.logged(ctx, sources.GENERATION)) == len(DEMO_PROMPTS)
    assert sources.logged(ctx, sources.FACTORS) and sources.logged(ctx, sources.COCLUSTERS)
    parsed = {sources.parse(o["value"]) for o in sources.options(ctx, sources.LENS, None)}
    assert parsed == {
        ("logged", (TEXT_LM_RUN, f"text/lens/{_slug(p)}/{kind}")) for p in DEMO_PROMPTS for kind in ("logit", "tuned")
    }
    meta = reader.runs().set_index("run").loc[TEXT_LM_RUN, "meta"]
    assert meta["zoo_model"]["name"] == LM_MODEL

    # a finished run is kept, not logged again
    assert log_text_lm_run(tmp_path) == TEXT_LM_RUN
