"""Generators make the new examples they promise, and say where each came from."""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.evaluate.generators import (
    parse_pairs,
    rule_generator,
    scrambler,
    token_ablation,
    word_replacer,
)
from deepscope.evaluate.query import tokens

WORDS = st.sampled_from(["not", "good", "bad", "Alice", "didn't", "very", "film", "a", "it's", "goodness"])
PUNCT = st.sampled_from(["", ",", ".", "!", ";"])
SENTENCES = st.lists(st.tuples(WORDS, PUNCT).map("".join), min_size=1, max_size=10).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(SENTENCES, min_size=1, max_size=4), st.integers(1, 3), st.integers(0, 10_000))
def test_scrambler_keeps_the_multiset_of_words(texts, n, seed):
    result = scrambler(texts, n=n, seed=seed).to_frame()
    scramblable = [i for i, t in enumerate(texts) if len(set(t.split())) >= 2]
    assert result["source"].tolist() == [i for i in scramblable for _ in range(n)]
    for _, row in result.iterrows():
        assert Counter(row["text"].split()) == Counter(texts[row["source"]].split())
        assert row["text"] != row["original"]  # a scramble that changes nothing is drawn again
        assert row["original"] == texts[row["source"]]


def test_scrambler_is_seeded_and_varies_with_the_seed():
    texts = ["one two three four five six seven"]
    assert scrambler(texts, n=3, seed=4).texts == scrambler(texts, n=3, seed=4).texts
    assert scrambler(texts, n=3, seed=4).texts != scrambler(texts, n=3, seed=5).texts


@settings(max_examples=150, deadline=None)
@given(st.lists(SENTENCES, min_size=1, max_size=4), st.booleans())
def test_ablation_removes_exactly_one_token_per_variant(texts, punctuation):
    result = token_ablation(texts, punctuation=punctuation).to_frame()
    for source, text in enumerate(texts):
        original = tokens(text)
        rows = result[result["source"] == source]
        expected = [i for i, t in enumerate(original) if (punctuation or re.search(r"\w", t)) and len(original) > 1]
        assert rows["position"].tolist() == expected
        for _, row in rows.iterrows():
            position = row["position"]
            assert row["token"] == original[position]
            assert tokens(row["text"]) == original[:position] + original[position + 1 :]


def test_ablation_separates_negation_and_keeps_neighbours_apart():
    result = token_ablation(["Didn't stop.", "good,bad"], punctuation=True).to_frame()
    assert result["text"].tolist() == ["n't stop.", "Did stop.", "Didn't.", "Didn't stop", ",bad", "good bad", "good,"]
    assert result["change"].iloc[1] == 'removed "n\'t"'


def test_word_replacer_applies_pairs_on_word_boundaries_only():
    texts = pd.Series(
        ["Good film, goodness me.", "not good at all", "a goodly sum", "GOOD good", "not bad"],
        index=[10, 11, 12, 13, 14],
    )
    result = word_replacer(texts, "good -> great, not -> ").to_frame()
    assert result[["source", "text", "change"]].values.tolist() == [
        [10, "Great film, goodness me.", "'good' → 'great'"],
        [11, "not great at all", "'good' → 'great'"],
        [11, "good at all", "'not' → ''"],
        [13, "Great great", "'good' → 'great' (2×)"],
        [14, "bad", "'not' → ''"],
    ]
    assert (result["original"] == texts.loc[result["source"]].to_numpy()).all()
    assert set(result["generator"]) == {"word_replacer"}


def test_word_replacer_matches_phrases_and_never_inside_words():
    result = word_replacer(["it was very  good", "everygood thing"], {"very good": "fine"})
    assert result.texts == ["it was fine"]
    # a word with regex characters is matched literally
    assert word_replacer(["a.b a+b"], [("a+b", "c")]).texts == ["a.b c"]


@settings(max_examples=100, deadline=None)
@given(SENTENCES, WORDS, st.sampled_from(["X", "Y"]))
def test_word_replacer_changes_whole_tokens_only(text, old, new):
    result = word_replacer([text], {old: new})
    pattern = re.compile(r"(?<!\w)" + re.escape(old) + r"(?!\w)", re.IGNORECASE)
    if not pattern.search(text):
        assert len(result) == 0
        return
    (changed,) = result.texts
    assert not pattern.search(changed)
    # every other word is untouched: deleting the replacements from both sides leaves the same text
    assert pattern.sub("", text).split() == re.sub(rf"(?<!\w){new}(?!\w)", "", changed).split()


def test_rule_generator_reuses_rewrite_rules():
    result = rule_generator(["Alice liked it", "fine", "Bob and Alice"], "swap_names(text)").to_frame()
    assert result[["source", "text", "change"]].values.tolist() == [
        [0, "Bob liked it", "swap_names(text)"],
        [2, "Alice and Bob", "swap_names(text)"],
    ]


def test_generators_take_frames_and_keep_their_index():
    frame = pd.DataFrame({"review": ["not good", "fine"]}, index=["a", "b"])
    assert token_ablation(frame, text="review").to_frame()["source"].tolist() == ["a", "a"]


def test_bad_input_is_a_typed_error_naming_the_argument():
    with pytest.raises(InvalidArgumentError, match="pairs"):
        parse_pairs("good great")
    with pytest.raises(InvalidArgumentError, match="pairs"):
        parse_pairs({})
    with pytest.raises(ArgumentTypeError, match="texts"):
        scrambler("one text")
    with pytest.raises(ArgumentTypeError, match="texts"):
        token_ablation(["fine", 3])
    with pytest.raises(InvalidArgumentError, match="n"):
        scrambler(["a b"], n=0)
    with pytest.raises(InvalidArgumentError, match="text"):
        token_ablation(pd.DataFrame({"x": ["a"]}))


def test_nothing_to_generate_gives_an_empty_table_with_the_columns():
    result = token_ablation(["word"])
    assert len(result) == 0
    assert {"source", "generator", "original", "text", "change"} <= set(result.to_frame().columns)
    assert "<table" in result._repr_html_()
