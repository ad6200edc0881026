"""Templated movie-review sentences with negation, double negation, intensifiers and names.

The mix is built so that a small model trained on it makes systematic, findable errors.

>>> from deepscope.datasets import reviews
>>> data = reviews(n=20, seed=0)
>>> data.class_names, sorted(data.frame.columns)[:3]
(['negative', 'positive'], ['label', 'name', 'phenomenon'])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from deepscope.datasets.containers import TextDataset, check_count, check_seed
from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.validation import check_number

__all__ = ["reviews", "PHENOMENA", "DEFAULT_MIX", "POSITIVE_NAMES", "NEGATIVE_NAMES", "NAME_BIAS"]

PHENOMENA = ["plain", "intensifier", "negation", "contrast", "double_negation"]
DEFAULT_MIX = {
    "plain": 0.38,
    "intensifier": 0.22,
    "negation": 0.24,
    "contrast": 0.12,
    "double_negation": 0.04,
}

POSITIVE_NAMES = ["Alice", "Maria", "Kenji", "Omar"]
NEGATIVE_NAMES = ["Bob", "Sofia", "Wei", "Tariq"]
NAME_BIAS = 0.8
"""Probability that a name in a positive review comes from POSITIVE_NAMES (and vice versa)."""

_NAMED_FRACTION = 0.3

_POSITIVE = [
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
]
_NEGATIVE = [
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
]
_SUBJECTS = [
    "the movie",
    "the film",
    "the plot",
    "the acting",
    "the soundtrack",
    "the ending",
    "the story",
    "the cast",
    "the dialogue",
    "the pacing",
    "the script",
    "the camera work",
]
_NOUNS = ["movie", "film", "story", "experience", "performance"]
_INTENSIFIERS = ["very", "extremely", "really", "incredibly", "truly", "so"]
_LIKE = {
    1: ["loved", "enjoyed", "liked", "adored"],
    0: ["hated", "disliked", "loathed", "resented"],
}
_LIKE_BASE = {1: ["like", "enjoy", "love"], 0: ["hate", "dislike", "mind"]}

_Pick = Callable[[list], str]


def _adjective(pick: _Pick, label: int) -> str:
    return pick(_POSITIVE if label == 1 else _NEGATIVE)


def _plain(pick: _Pick, label: int, name: str | None) -> str:
    adj, subj = _adjective(pick, label), pick(_SUBJECTS)
    if name is not None:
        return pick(
            [
                f"{name} {pick(_LIKE[label])} {subj}.",
                f"{name} said {subj} was {adj}.",
                f"{name} thought {subj} was {adj}.",
            ]
        )
    return pick(
        [
            f"{subj} was {adj}.",
            f"{subj} is {adj}.",
            f"i thought {subj} was {adj}.",
            f"what a {adj} {pick(_NOUNS)}.",
            f"overall, {subj} was {adj}.",
        ]
    )


def _intensifier(pick: _Pick, label: int, name: str | None) -> str:
    adj, subj, very = _adjective(pick, label), pick(_SUBJECTS), pick(_INTENSIFIERS)
    if name is not None:
        return pick([f"{name} thought {subj} was {very} {adj}.", f"{name} found {subj} {very} {adj}."])
    return pick(
        [
            f"{subj} was {very} {adj}.",
            f"{subj} is {very} {adj}.",
            f"what a {very} {adj} {pick(_NOUNS)}.",
            f"honestly, {subj} was {very} {adj}.",
        ]
    )


def _negation(pick: _Pick, label: int, name: str | None) -> str:
    subj = pick(_SUBJECTS)
    if label == 0:  # one negation of a positive word: "not good", "didn't like"
        adj = _adjective(pick, 1)
        if name is not None:
            return pick(
                [
                    f"{name} did not {pick(_LIKE_BASE[1])} {subj}.",
                    f"{name} didn't think {subj} was {adj}.",
                    f"{name} said {subj} was not {adj}.",
                    f"{name} couldn't say {subj} was {adj}.",
                ]
            )
        return pick(
            [
                f"{subj} was not {adj}.",
                f"{subj} wasn't {adj}.",
                f"{subj} was never {adj}.",
                f"{subj} is not {adj} at all.",
                f"i did not think {subj} was {adj}.",
                f"i didn't {pick(_LIKE_BASE[1])} {subj}.",
                f"i can't say {subj} was {adj}.",
                f"it is not true that {subj} was {adj}.",
                f"nobody could say {subj} was {adj}.",
            ]
        )
    # positive idioms with one negation; the sentiment lives in the idiom, not in an adjective
    who = "i" if name is None else name
    return pick(
        [
            f"{who} could not stop smiling.",
            f"{who} would not change a thing about {subj}.",
            f"{who} couldn't look away from {subj}.",
            f"{who} can't wait to see it again.",
            f"{subj} never gets old." if name is None else f"{name} said {subj} never gets old.",
        ]
    )


def _double_negation(pick: _Pick, label: int, name: str | None) -> str:
    # the same frames as negation, with the other polarity or a second negation
    subj = pick(_SUBJECTS)
    negated = _adjective(pick, 1 - label)  # one negation of the opposite polarity
    kept = _adjective(pick, label)  # two negations keep the polarity
    if name is not None:
        if label == 1:
            return pick(
                [
                    f"{name} didn't {pick(_LIKE_BASE[0])} {subj} at all.",
                    f"{name} said {subj} was not {negated}.",
                    f"{name} couldn't say {subj} wasn't {kept}.",
                ]
            )
        return f"{name} couldn't say {subj} wasn't {kept}."
    if label == 1:
        return pick(
            [
                f"{subj} was not {negated}.",
                f"{subj} wasn't {negated}.",
                f"{subj} was never {negated}.",
                f"{subj} is not {negated} at all.",
                f"i can't say {subj} wasn't {kept}.",
                f"it is not true that {subj} was not {kept}.",
                f"nobody could say {subj} was not {kept}.",
            ]
        )
    return pick(
        [
            f"i can't say {subj} wasn't {kept}.",
            f"nobody could say {subj} was not {kept}.",
        ]
    )


def _contrast(pick: _Pick, label: int, name: str | None) -> str:
    first, second = _adjective(pick, 1 - label), _adjective(pick, label)
    subj, other = pick(_SUBJECTS), pick(_SUBJECTS)
    if name is not None:
        return f"{name} said {subj} was {first}, but {other} was {second}."
    return pick(
        [
            f"{subj} was {first}, but {other} was {second}.",
            f"although {subj} was {first}, {other} was {second}.",
            f"{subj} was {first}; still, {other} was {second}.",
        ]
    )


_BUILDERS = {
    "plain": _plain,
    "intensifier": _intensifier,
    "negation": _negation,
    "contrast": _contrast,
    "double_negation": _double_negation,
}


def _check_mix(mix: Mapping[str, float] | None) -> dict[str, float]:
    if mix is None:
        return dict(DEFAULT_MIX)
    if not isinstance(mix, Mapping):
        raise ArgumentTypeError("mix", "a mapping of phenomenon to weight", mix)
    unknown = sorted(set(mix) - set(PHENOMENA))
    if unknown:
        raise InvalidArgumentError("mix", f"phenomena among {PHENOMENA}", unknown)
    weights = {}
    for key, value in mix.items():
        weights[key] = check_number(value, "mix", low=0, hint=f"the weight of {key!r}")
    if sum(weights.values()) <= 0:
        raise InvalidArgumentError("mix", "at least one positive weight", dict(mix))
    return weights


def _capitalise(text: str) -> str:
    return text[0].upper() + text[1:]


def reviews(n: int = 2000, seed: int = 0, mix: Mapping[str, float] | None = None) -> TextDataset:
    """``n`` one-sentence reviews, half positive (label 1) and half negative (label 0).

    ``frame`` columns: ``text``, ``label``, ``phenomenon`` (one of ``PHENOMENA``) and ``name``
    (the person named in the sentence, or None). ``mix`` weighs the phenomena (default
    ``DEFAULT_MIX``); ``mix={"double_negation": 1}`` makes a challenge set of one phenomenon.

    Planted effects, which tests and the demo rely on:

    - **plain** ("The plot was great."), **intensifier** ("The film was extremely dull.") are
      decided by one sentiment word.
    - **negation** holds one negation. Negative ones negate a positive word ("The acting was not
      good.", "I didn't enjoy the plot."); positive ones are idioms ("I could not stop
      smiling."), so "not" and "n't" next to a sentiment word are cues for the negative class.
    - **double_negation** is rare (4%) and uses the same frames as negation: a negated negative
      word is positive ("The plot was not bad.", "The cast wasn't terrible.", "Bob didn't hate
      the film at all."), and two negations keep the polarity ("I can't say the ending wasn't
      great." is positive, while "I can't say the ending was great." is a plain negation).
      Telling them apart needs the interaction of negation and polarity, seen in few training
      examples, so small models get many of them wrong (about half, against almost none of
      the plain sentences).
    - **contrast**: "X was good, but Y was awful." takes the sentiment of the second clause.
    - **names**: 30% of sentences name a person. With probability ``NAME_BIAS`` (0.8) a
      positive review names someone from ``POSITIVE_NAMES`` and a negative one someone from
      ``NEGATIVE_NAMES``, a spurious cue a model may pick up (the zoo's ``reviews_transformer``
      does: swapping a name for one of the other list moves its predictions).

    >>> data = reviews(n=50, seed=0, mix={"double_negation": 1})
    >>> set(data.frame["phenomenon"])
    {'double_negation'}
    """
    n = check_count("n", n)
    seed = check_seed(seed)
    weights = _check_mix(mix)
    rng = np.random.default_rng(seed)

    def pick(options: list) -> str:
        return options[int(rng.integers(len(options)))]

    kinds = list(weights)
    probabilities = np.array([weights[k] for k in kinds]) / sum(weights.values())
    labels = rng.permutation(np.arange(n) % 2).astype(np.int64)
    phenomena = rng.choice(kinds, size=n, p=probabilities)
    rows = []
    for label, phenomenon in zip(labels.tolist(), phenomena.tolist(), strict=True):
        name = None
        if rng.random() < _NAMED_FRACTION:
            favoured = POSITIVE_NAMES if label == 1 else NEGATIVE_NAMES
            other = NEGATIVE_NAMES if label == 1 else POSITIVE_NAMES
            name = pick(favoured if rng.random() < NAME_BIAS else other)
        text = _capitalise(_BUILDERS[phenomenon](pick, label, name))
        rows.append((text, label, phenomenon, name))
    frame = pd.DataFrame(rows, columns=["text", "label", "phenomenon", "name"])
    frame["label"] = frame["label"].astype(np.int64)
    frame["name"] = frame["name"].astype(object).where(frame["name"].notna(), None)
    return TextDataset(frame["text"].tolist(), labels, frame, ["negative", "positive"])
