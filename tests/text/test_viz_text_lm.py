"""The language-model figures draw what the results hold: ranks on a log scale, the selected
token's attributions, factors by strongest component, units and words ordered by co-cluster."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope import text
from deepscope.errors import InvalidArgumentError
from deepscope.viz import text_lm


def test_lens_grid_colours_ranks_and_writes_top_tokens(reviews_lm) -> None:
    lens = text.logit_lens(reviews_lm, "the movie was", watch=["good", "bad"])
    heatmap = lens.figure().data[0]
    z = np.asarray(heatmap.z, dtype=float)
    np.testing.assert_allclose(z[:, :-1], np.log10(lens.ranks[:, :-1]))
    assert np.isnan(z[:, -1]).all()
    assert heatmap.text[-1][0] == lens.top_tokens[-1, 0, 0]
    watch = lens.figure(view="watch")
    assert [t.name for t in watch.data] == ["good", "bad"]
    assert list(watch.data[1].y) == lens.watch_ranks[:, 1].tolist()
    with pytest.raises(InvalidArgumentError, match="view"):
        lens.figure(view="nope")


def test_generation_figure_shows_the_selected_row(reviews_lm) -> None:
    gen = text.generate(reviews_lm, "the plot was", max_new_tokens=3)
    figure = text_lm.generation_figure(gen, step=1, per_row=100)
    z = np.asarray(figure.data[0].z, dtype=float)[0]
    n = gen.n_prompt + 1
    np.testing.assert_allclose(z[:n], gen.attributions[1, :n])
    assert np.isnan(z[n : len(gen.tokens)]).all()
    assert list(figure.data[0].customdata[0][: len(gen.tokens)]) == list(range(len(gen.tokens)))
    with pytest.raises(InvalidArgumentError, match="step"):
        text_lm.generation_figure(gen, step=9)


def test_factor_and_cocluster_figures(reviews_lm, reviews_gru, review_texts) -> None:
    factors = text.neuron_factors(reviews_lm, review_texts[:5], n_components=3)
    z = np.asarray(factors.figure().data[0].z, dtype=float)
    first = factors.token_factors[0]
    assert z[0, : len(first)].tolist() == first.argmax(axis=1).tolist()
    alone = np.asarray(factors.figure(factor=2).data[0].z, dtype=float)
    np.testing.assert_allclose(alone[0, : len(first)], first[:, 2], rtol=1e-6)
    clusters = text.cocluster(reviews_gru, review_texts[:80], layer="gru", n_clusters=3)
    heatmap = clusters.figure().data[0]
    rows = [row[0] for row in heatmap.customdata]
    assert rows == sorted(rows)  # units grouped by cluster
    words = text_lm.cocluster_words_figure(clusters, 1).data[0]
    assert list(words.y) == clusters.cluster_words(1)["word"].head(15).tolist()


def test_kl_figure_compares_both_lenses(reviews_lm, review_texts) -> None:
    tuned = text.fit_tuned_lens(reviews_lm, review_texts[:40], steps=10, progress=False)
    plain = text.logit_lens(reviews_lm, "the movie was")
    through = text.logit_lens(reviews_lm, "the movie was", lens=tuned)
    figure = text_lm.lens_kl_figure(through, other=plain)
    assert [t.name for t in figure.data] == ["logit lens", "tuned lens"]
    np.testing.assert_allclose(figure.data[1].y, through.kl_to_final.mean(axis=1))
