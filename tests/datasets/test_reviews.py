"""reviews(): templated sentences whose labels follow the rules of negation, balanced, seeded."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from deepscope.datasets import TextDataset, reviews
from deepscope.datasets.reviews import NEGATIVE_NAMES, PHENOMENA, POSITIVE_NAMES
from deepscope.errors import ArgumentTypeError, InvalidArgumentError

POSITIVE_WORDS = {
    "good",
    "great",
    "excellent",
    "wonderful",
    "fantastic",
    "enjoyable",
    "brilliant",
    "delightful",
    "superb",
    "charming",
    "loved",
    "enjoyed",
    "liked",
    "adored",
    "like",
    "enjoy",
    "love",
}
NEGATIVE_WORDS = {
    "bad",
    "terrible",
    "awful",
    "boring",
    "dull",
    "poor",
    "horrible",
    "disappointing",
    "mediocre",
    "weak",
    "hated",
    "disliked",
    "loathed",
    "resented",
    "hate",
    "dislike",
    "mind",
}
NEGATIONS = {"not", "never", "nobody"}


def reference_label(text: str) -> int | None:
    """Polarity of the last sentiment word, flipped once per negation; None without one."""
    words = re.findall(r"[a-z']+", text.lower())
    sentiment = [w for w in words if w in POSITIVE_WORDS | NEGATIVE_WORDS]
    if not sentiment:
        return None
    flips = sum(w in NEGATIONS or w.endswith("n't") for w in words)
    positive = sentiment[-1] in POSITIVE_WORDS
    return int(positive) if flips % 2 == 0 else int(not positive)


@pytest.fixture(scope="module")
def data() -> TextDataset:
    return reviews(n=3000, seed=0)


def test_contract(data: TextDataset) -> None:
    assert len(data.texts) == 3000 and data.labels.dtype == np.int64
    assert data.class_names == ["negative", "positive"]
    assert list(data.frame.columns) == ["text", "label", "phenomenon", "name"]
    assert data.frame["text"].tolist() == data.texts
    assert np.array_equal(data.frame["label"].to_numpy(), data.labels)


def test_same_seed_same_data_other_seed_other_data() -> None:
    pd.testing.assert_frame_equal(reviews(n=200, seed=3).frame, reviews(n=200, seed=3).frame)
    assert reviews(n=200, seed=3).texts != reviews(n=200, seed=4).texts


def test_labels_are_balanced(data: TextDataset) -> None:
    assert data.labels.sum() == 1500


def test_every_phenomenon_is_present_and_double_negation_is_rare(data: TextDataset) -> None:
    share = data.frame["phenomenon"].value_counts(normalize=True)
    assert set(share.index) == set(PHENOMENA)
    assert 0.02 < share["double_negation"] < 0.06
    assert share["plain"] > 0.3


def test_labels_follow_the_rules_of_negation(data: TextDataset) -> None:
    expected = data.frame["text"].map(reference_label)
    checked = expected.notna()
    assert checked.mean() > 0.85
    assert (expected[checked] == data.frame.loc[checked, "label"]).all()
    # only the negation idioms ("I could not stop smiling.") carry no sentiment word
    assert set(data.frame.loc[~checked, "phenomenon"]) == {"negation"}
    assert (data.frame.loc[~checked, "label"] == 1).all()


def test_examples_of_each_kind(data: TextDataset) -> None:
    by_kind = data.frame.groupby("phenomenon")["text"].apply(" ".join)
    assert re.search(r"\b(very|extremely|really|incredibly|truly|so)\b", by_kind["intensifier"])
    assert re.search(r"\bnot\b|n't\b|\bnever\b", by_kind["negation"])
    assert re.search(r"can't say .* wasn't", by_kind["double_negation"])
    assert re.search(r"\bbut\b", by_kind["contrast"])


def test_names_and_their_planted_correlation(data: TextDataset) -> None:
    named = data.frame[data.frame["name"].notna()]
    assert 0.2 < len(named) / len(data.frame) < 0.4
    assert all(name in text for name, text in zip(named["name"], named["text"], strict=True))
    assert data.frame.loc[data.frame["name"].isna(), "name"].map(lambda v: v is None).all()
    positive_share = named.groupby(named["name"].isin(POSITIVE_NAMES))["label"].mean()
    assert positive_share[True] > 0.7 and positive_share[False] < 0.3
    assert set(named["name"]) == set(POSITIVE_NAMES) | set(NEGATIVE_NAMES)


def test_mix_makes_a_challenge_set() -> None:
    challenge = reviews(n=100, seed=1, mix={"double_negation": 1.0})
    assert set(challenge.frame["phenomenon"]) == {"double_negation"}
    assert challenge.labels.sum() == 50


def test_split_is_stratified(data: TextDataset) -> None:
    train, test = data.split(0.8, seed=0)
    assert len(train) == 2400 and train.labels.sum() == 1200
    assert train.frame["text"].tolist() == train.texts
    assert isinstance(test, TextDataset) and test.to_frame().shape == (600, 4)


@pytest.mark.parametrize(
    ("kwargs", "argument", "error"),
    [
        ({"n": 0}, "n", InvalidArgumentError),
        ({"mix": {"sarcasm": 1}}, "mix", InvalidArgumentError),
        ({"mix": {"plain": -1}}, "mix", InvalidArgumentError),
        ({"mix": {"plain": 0}}, "mix", InvalidArgumentError),
        ({"mix": ["plain"]}, "mix", ArgumentTypeError),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict, argument: str, error: type) -> None:
    with pytest.raises(error) as caught:
        reviews(**kwargs)
    assert caught.value.argument == argument
