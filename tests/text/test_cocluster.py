"""Co-clusters: a hand-built recurrent model whose units respond only to chosen word groups has
its planted blocks recovered exactly; GRU and transformer layers work too."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score
from torch import nn

from deepscope import text
from deepscope.errors import InvalidArgumentError, UnsupportedModelError
from deepscope.model import Model
from deepscope.track import Run, open_logdir
from deepscope.zoo.tokenizer import WordTokenizer

GROUPS = [
    ["apple", "pear", "plum", "fig"],
    ["red", "blue", "green", "pink"],
    ["run", "jump", "swim", "hop"],
]
UNITS_PER_GROUP = 3


class PlantedRNN(nn.Module):
    """One-hot words -> ReLU RNN whose unit block g is driven only by word group g."""

    def __init__(self, vocab_size: int, word_group: dict[int, int]):
        super().__init__()
        units = UNITS_PER_GROUP * len(GROUPS)
        self.embeddings = nn.Embedding(vocab_size, vocab_size)
        self.rnn = nn.RNN(vocab_size, units, nonlinearity="relu", batch_first=True)
        self.head = nn.Linear(units, 2)
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            self.embeddings.weight.copy_(torch.eye(vocab_size))
            weight = torch.zeros(units, vocab_size)
            for word, group in word_group.items():
                rows = slice(group * UNITS_PER_GROUP, (group + 1) * UNITS_PER_GROUP)
                weight[rows, word] = 0.5 + torch.rand(UNITS_PER_GROUP, generator=generator)
            self.rnn.weight_ih_l0.copy_(weight)
            self.rnn.weight_hh_l0.copy_(0.05 * torch.eye(units))
            self.rnn.bias_ih_l0.zero_()
            self.rnn.bias_hh_l0.zero_()

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None):
        states, _ = self.rnn(self.embeddings(input_ids) if inputs_embeds is None else inputs_embeds)
        return self.head(states[:, -1])


@pytest.fixture(scope="module")
def planted() -> tuple[Model, list[str], dict[str, int]]:
    words = [w for group in GROUPS for w in group]
    tokenizer = WordTokenizer([*WordTokenizer.SPECIAL_TOKENS, *words])
    truth = {w: g for g, group in enumerate(GROUPS) for w in group}
    module = PlantedRNN(len(tokenizer), {tokenizer.vocab[w]: g for w, g in truth.items()})
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(words, size=8)) for _ in range(60)]
    return Model(module, tokenizer, name="planted"), texts, truth


def test_recovers_the_planted_blocks(planted) -> None:
    model, texts, truth = planted
    clusters = text.cocluster(model, texts, layer="rnn", n_clusters=3)
    assert sorted(clusters.words) == sorted(truth)
    words_truth = [truth[w] for w in clusters.words]
    assert adjusted_rand_score(words_truth, clusters.word_clusters) == 1.0
    units_truth = np.repeat(np.arange(len(GROUPS)), UNITS_PER_GROUP)
    assert adjusted_rand_score(units_truth, clusters.unit_clusters) == 1.0
    # each unit cluster is paired with the word cluster of its own group
    for unit, group in enumerate(units_truth):
        members = [
            w for w, c in zip(clusters.words, clusters.word_clusters, strict=True) if c == clusters.unit_clusters[unit]
        ]
        assert {truth[w] for w in members} == {group}
    ranked = clusters.cluster_words(int(clusters.unit_clusters[0]))
    assert set(ranked.word) == set(GROUPS[0]) and ranked.response.is_monotonic_decreasing
    assert np.all(clusters.unit_response(int(clusters.unit_clusters[0])) > 0.4)


def test_index_layers_gru_and_transformer(planted, reviews_gru, reviews_lm, review_texts) -> None:
    model, texts, _ = planted
    by_index = text.cocluster(model, texts, layer=0, n_clusters=3)
    assert by_index.layer == "rnn"
    gru = text.cocluster(reviews_gru, review_texts[:60], layer="gru", n_clusters=4)
    assert gru.responses.shape == (32, len(gru.words)) and set(gru.unit_clusters) <= set(range(4))
    assert "[PAD]" not in gru.words
    lm = text.cocluster(reviews_lm, review_texts[:60], layer=1, n_clusters=4)
    assert lm.layer == "block 2 MLP" and lm.responses.shape[0] == 96


def test_bad_inputs_and_round_trip(planted, tmp_path) -> None:
    model, texts, _ = planted
    with pytest.raises(InvalidArgumentError, match="n_clusters"):
        text.cocluster(model, texts, layer="rnn", n_clusters=40)
    with pytest.raises(InvalidArgumentError, match="layer"):
        text.cocluster(model, texts, layer="nope")
    with pytest.raises(UnsupportedModelError):
        text.cocluster(
            Model(nn.Linear(3, 2), WordTokenizer(list(WordTokenizer.SPECIAL_TOKENS))),
            ["a"],
            layer=0,
        )
    clusters = text.cocluster(model, texts, layer="rnn", n_clusters=3)
    with Run(tmp_path, name="rnn") as run:
        tag = clusters.save(run)
    loaded = open_logdir(tmp_path).load("rnn", tag)
    assert type(loaded) is text.CoClusters and loaded.words == clusters.words
    np.testing.assert_array_equal(loaded.word_clusters, clusters.word_clusters)
    assert len(loaded.to_frame()) == len(clusters.words)
