"""Generators: new examples made from old ones, to see how models react (after LIT).

- ``word_replacer(texts, pairs)``: each user pair ``old -> new`` replaced on word boundaries
  (``"good"`` never matches inside ``"goodness"``), one new example per text and pair that applies.
- ``scrambler(texts, n=1, seed=0)``: the words of each text in a random order (the same words,
  so only the order changes).
- ``token_ablation(texts)``: one new example per token, with exactly that token removed (tokens as
  the query language splits them, so ``"didn't"`` loses its ``"n't"`` on its own).
- ``rule_generator(texts, rule)``: an Errudite rewrite rule of the query language, such as
  ``swap_names(text)`` or ``remove_token(text, "very")``, as a generator.

Each returns a ``Generated`` result: one row per new example with its provenance: ``source`` (the
index of the example it came from), ``generator``, ``original``, ``text`` and ``change`` (what was
done, in words). Run models on them with ``deepscope.evaluate.side_by_side.compare_generated``.

>>> g = token_ablation(["not good"])
>>> g.to_frame()[["source", "text", "change"]].values.tolist()
[[0, 'good', "removed 'not'"], [0, 'not', "removed 'good'"]]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.evaluate._common import require_column
from deepscope.evaluate.query.functions import TOKEN_PATTERN
from deepscope.result import Result
from deepscope.validation import check_int

__all__ = [
    "Generated",
    "GENERATORS",
    "word_replacer",
    "scrambler",
    "token_ablation",
    "rule_generator",
    "parse_pairs",
]

GENERATORS = ("word_replacer", "scrambler", "token_ablation", "rule")
COLUMNS = ["source", "generator", "original", "text", "change"]

_TOKEN = re.compile(TOKEN_PATTERN)
_SPACES = re.compile(r"\s{2,}")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.,;:!?])")

Texts = Sequence[str] | pd.Series | pd.DataFrame


@dataclass(frozen=True, eq=False)
class Generated(Result):
    """New examples and where each came from.

    ``examples``: one row per new example: ``source`` (index of the original example),
    ``generator``, ``original``, ``text`` (the new example) and ``change``, plus ``token`` and
    ``position`` for ablations and ``variant`` for scrambles.
    """

    examples: pd.DataFrame
    generator: str
    options: dict[str, Any]

    def __len__(self) -> int:
        return len(self.examples)

    def to_frame(self) -> pd.DataFrame:
        """The new examples, in the order of their sources."""
        return self.examples.copy()

    @property
    def texts(self) -> list[str]:
        """The new examples' texts."""
        return self.examples["text"].tolist()

    default_tag = "generated"


def word_replacer(
    texts: Texts, pairs: str | Mapping[str, str] | Sequence[tuple[str, str]], *, text: str = "text"
) -> Generated:
    """Replace each ``old`` word (or phrase) of ``pairs`` with ``new``, on word boundaries only.

    Matching ignores case and keeps a capital first letter (``"Good"`` -> ``"Great"``). Each
    text gives one new example per pair it contains, with every occurrence of that pair replaced.

    Args:
        texts: a list of texts, a Series (its index is the provenance) or a DataFrame with a
            ``text`` column.
        pairs: ``{"good": "great"}``, ``[("good", "great")]`` or LIT's text form
            ``"good -> great, bad -> awful"``. An empty ``new`` removes the word.

    >>> word_replacer(["Good, not goodness."], "good -> great").texts
    ['Great, not goodness.']
    """
    series = _texts(texts, text)
    chosen = parse_pairs(pairs)
    patterns = [(old, new, _word_pattern(old)) for old, new in chosen]
    rows = []
    for source, original in series.items():
        for old, new, pattern in patterns:
            replaced, count = pattern.subn(lambda m, new=new: _like(m.group(0), new), original)
            if count == 0:
                continue
            rows.append(
                {
                    "source": source,
                    "generator": "word_replacer",
                    "original": original,
                    "text": _tidy(replaced),
                    "change": f"{old!r} → {new!r}" + (f" ({count}×)" if count > 1 else ""),
                }
            )
    return Generated(_frame(rows), "word_replacer", {"pairs": [list(p) for p in chosen]})


def scrambler(texts: Texts, *, n: int = 1, seed: int = 0, text: str = "text") -> Generated:
    """``n`` new examples per text, each with the text's words shuffled.

    Words are split on white space and joined with one space, so every variant holds exactly the
    words of its original (punctuation stays attached to its word). Texts of fewer than two
    distinct words cannot be scrambled and give nothing; a variant equal to the original is drawn
    again (up to 20 times).

    >>> sorted(scrambler(["a b c"], seed=1).texts[0].split())
    ['a', 'b', 'c']
    """
    series = _texts(texts, text)
    n = check_int(n, "n", low=1)
    rng = np.random.default_rng(seed)
    rows = []
    for source, original in series.items():
        words = original.split()
        if len(set(words)) < 2:
            continue
        for variant in range(int(n)):
            order = rng.permutation(len(words))
            for _ in range(20):
                if [words[i] for i in order] != words:
                    break
                order = rng.permutation(len(words))
            rows.append(
                {
                    "source": source,
                    "generator": "scrambler",
                    "original": original,
                    "text": " ".join(words[i] for i in order),
                    "change": "words shuffled" + (f" (variant {variant + 1})" if n > 1 else ""),
                    "variant": variant,
                }
            )
    return Generated(_frame(rows, ["variant"]), "scrambler", {"n": int(n), "seed": seed})


def token_ablation(
    texts: Texts, *, punctuation: bool = False, max_tokens: int | None = None, text: str = "text"
) -> Generated:
    """One new example per token of each text, with exactly that token removed.

    Tokens are the query language's (``deepscope.evaluate.query.tokens``): words, ``n't`` on its
    own, and single other characters. Punctuation is left alone unless ``punctuation=True``;
    ``max_tokens`` ablates only a text's first tokens.

    >>> token_ablation(["Didn't stop."]).texts
    ["n't stop.", 'Did stop.', "Didn't."]
    """
    series = _texts(texts, text)
    max_tokens = check_int(max_tokens, "max_tokens", low=1, allow_none=True)
    rows = []
    for source, original in series.items():
        spans = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(original)]
        if len(spans) < 2:
            continue  # removing the only token leaves no example
        for position, (start, end, token) in enumerate(spans[:max_tokens]):
            if not punctuation and not re.search(r"\w", token):
                continue
            rows.append(
                {
                    "source": source,
                    "generator": "token_ablation",
                    "original": original,
                    "text": _remove_span(original, start, end),
                    "change": f"removed {token!r}",
                    "token": token,
                    "position": position,
                }
            )
    return Generated(
        _frame(rows, ["token", "position"]), "token_ablation", {"punctuation": punctuation, "max_tokens": max_tokens}
    )


def rule_generator(texts: Texts, rule: str, *, text: str = "text") -> Generated:
    """New examples from an Errudite rewrite rule, e.g. ``swap_names(text)``; unchanged texts
    give nothing. The rule reads the column ``text`` (named ``text`` for a list or Series).

    >>> rule_generator(["Alice liked it", "fine"], "swap_names(text)").texts
    ['Bob liked it']
    """
    from deepscope.evaluate.query import evaluate

    series = _texts(texts, text)
    if not isinstance(rule, str):
        raise ArgumentTypeError("rule", "a rewrite rule as text, e.g. 'swap_names(text)'", rule)
    frame = pd.DataFrame({text: series.to_numpy(dtype=object)}, index=series.index)
    new = evaluate(frame, rule, kind="text")
    rows = [
        {"source": source, "generator": "rule", "original": original, "text": changed, "change": rule}
        for (source, original), changed in zip(series.items(), new, strict=True)
        if changed is not None and changed != original
    ]
    return Generated(_frame(rows), "rule", {"rule": rule})


def parse_pairs(pairs: Any) -> list[tuple[str, str]]:
    """Replacement pairs from a mapping, a list of pairs or LIT's ``"old -> new, ..."`` text.

    >>> parse_pairs("good -> great, bad->awful")
    [('good', 'great'), ('bad', 'awful')]
    """
    expected = "pairs as {'old': 'new'}, [('old', 'new')] or 'old -> new, old2 -> new2'"
    if isinstance(pairs, str):
        chosen = []
        for item in (part.strip() for part in pairs.split(",")):
            if not item:
                continue
            if item.count("->") != 1:
                raise InvalidArgumentError("pairs", expected, repr(item), "Write each pair as old -> new.")
            old, new = (side.strip() for side in item.split("->"))
            chosen.append((old, new))
    elif isinstance(pairs, Mapping):
        chosen = list(pairs.items())
    elif isinstance(pairs, Sequence):
        chosen = []
        for item in pairs:
            if isinstance(item, str) or not isinstance(item, Sequence) or len(item) != 2:
                raise ArgumentTypeError("pairs", expected, item)
            chosen.append((item[0], item[1]))
    else:
        raise ArgumentTypeError("pairs", expected, pairs)
    for old, new in chosen:
        if not isinstance(old, str) or not isinstance(new, str):
            raise ArgumentTypeError("pairs", "text on both sides of each pair", (old, new))
        if not re.search(r"\w", old):
            raise InvalidArgumentError("pairs", "a word to replace on the left of each pair", repr(old))
    if not chosen:
        raise InvalidArgumentError("pairs", expected, "no pairs")
    return chosen


# -- helpers ---------------------------------------------------------------------------------------


def _texts(texts: Any, column: str) -> pd.Series:
    """The texts as a Series of str whose index is the provenance of what is generated."""
    if isinstance(texts, pd.DataFrame):
        series = require_column(texts, column, "text")
    elif isinstance(texts, pd.Series):
        series = texts
    elif isinstance(texts, str):
        raise ArgumentTypeError("texts", "a list of texts (wrap one text in a list)", texts)
    elif isinstance(texts, Sequence):
        series = pd.Series(list(texts), dtype=object)
    else:
        raise ArgumentTypeError("texts", "a list of texts, a Series or a DataFrame with a text column", texts)
    bad = [v for v in series.tolist() if not isinstance(v, str)]
    if bad:
        raise ArgumentTypeError("texts", "text (str) in every row", bad[0])
    return series.astype(object)


def _word_pattern(old: str) -> re.Pattern[str]:
    """``old`` as a case-insensitive pattern that starts and ends on word boundaries."""
    words = [re.escape(w) for w in old.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def _like(found: str, new: str) -> str:
    """``new`` with a capital first letter when ``found`` had one."""
    if found[:1].isupper() and new[:1].islower():
        return new[:1].upper() + new[1:]
    return new


def _tidy(text: str) -> str:
    """One space between words and none before punctuation (a removed word leaves no gap)."""
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", _SPACES.sub(" ", text)).strip()


def _remove_span(text: str, start: int, end: int) -> str:
    """``text`` without ``text[start:end]`` and the gap it leaves, its other tokens unchanged.

    The neighbours are joined by one space, or by none before punctuation, whichever keeps them
    the tokens they were (so "good,bad" less "," is "good bad", not "goodbad").
    """
    left, right = text[:start].rstrip(), text[end:].lstrip()
    expected = _TOKEN.findall(left) + _TOKEN.findall(right)
    spaced, tight = f"{left} {right}".strip(), left + right
    before_punctuation = bool(right) and not re.match(r"\w", right)
    for candidate in (tight, spaced) if before_punctuation else (spaced, tight):
        if _TOKEN.findall(candidate) == expected:
            return candidate
    return spaced


def _frame(rows: list[dict[str, Any]], extra: Sequence[str] = ()) -> pd.DataFrame:
    columns = [*COLUMNS, *extra]
    return pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
