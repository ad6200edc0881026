"""The functions a query can call, each with the kinds of value it takes and returns.

Text is split into tokens one way everywhere (``tokens``): runs of word characters, the
contraction "n't" on its own (as the Penn Treebank does), and single other non-space characters,
so "Didn't stop." is ``Did n't stop .``. Every token function works on those tokens, so
``has_token(text, "n't")`` finds negated verbs and ``has_token(text, "not good")`` a phrase.
Token and text matches ignore case; ``matches`` takes a regular expression as written. Text
functions see a missing value as no text: no tokens, no match.

Rewrite functions (``replace``, ``remove_token``, ``swap``, ``swap_names``, ``lower``) return
text and are what rewrite rules are written with.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import InvalidArgumentError
from deepscope.patterns import compile_pattern

__all__ = ["Function", "FUNCTIONS", "TOKEN_PATTERN", "NAME_PAIRS", "tokens"]

TOKEN_PATTERN = r"\w+(?=n't\b)|n't\b|\w+|[^\w\s]"
_TOKEN = re.compile(TOKEN_PATTERN)
_SPACES = re.compile(r"\s{2,}")

# Built-in first-name pairs for swap_names (each name becomes the other of its pair).
NAME_PAIRS: tuple[tuple[str, str], ...] = (
    ("Alice", "Bob"),
    ("Maria", "Sofia"),
    ("Kenji", "Wei"),
    ("Omar", "Tariq"),
    ("Mary", "John"),
    ("Emma", "James"),
    ("Olivia", "Liam"),
    ("Aisha", "Mohammed"),
    ("Priya", "Rahul"),
    ("Mei", "Hiroshi"),
    ("Fatima", "Ahmed"),
    ("Lucia", "Mateo"),
)


def tokens(text: str) -> list[str]:
    """The tokens of ``text``, as every token function sees them.

    >>> tokens("Didn't stop, Alice's friend.")
    ['Did', "n't", 'stop', ',', 'Alice', "'", 's', 'friend', '.']
    """
    return _TOKEN.findall(text)


@dataclass(frozen=True)
class Function:
    """A query function: parameter kinds (``constant`` ones must not vary by row) and result kind.

    ``run`` receives each argument's data (text as an object array with None for missing,
    numbers and bools as numpy arrays or scalars) and returns the result's data.
    """

    name: str
    params: tuple[str, ...]
    returns: str
    run: Callable[..., Any]
    doc: str
    constant: tuple[int, ...] = ()

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(self.params)})"


class PatternError(ValueError):
    """A constant argument the function cannot use (an empty token, a bad regular expression)."""

    def __init__(self, argument: int, expected: str, got: str):
        self.argument = argument
        self.expected = expected
        self.got = got
        super().__init__(expected)


def _needle(token: str, argument: int = 1) -> list[str]:
    """The case-folded tokens of a token argument (one token or a phrase)."""
    pieces = [piece.casefold() for piece in _TOKEN.findall(token)]
    if not pieces:
        raise PatternError(argument, "a token with at least one letter, digit or sign", repr(token))
    return pieces


def _occurrences(words: list[str], needle: list[str]) -> list[int]:
    """Start positions of non-overlapping occurrences of ``needle`` in ``words``."""
    found, i, k = [], 0, len(needle)
    while i + k <= len(words):
        if words[i : i + k] == needle:
            found.append(i)
            i += k
        else:
            i += 1
    return found


def _each(values: np.ndarray, f: Callable[[str], Any], missing: Any, dtype: Any) -> np.ndarray:
    results = (missing if v is None else f(v) for v in values)
    if dtype is object:
        out = np.empty(len(values), dtype=object)
        out[:] = list(results)
        return out
    return np.fromiter(results, dtype=dtype, count=len(values))


def _folded(text: str) -> list[str]:
    return [t.casefold() for t in _TOKEN.findall(text)]


def _length(text: np.ndarray) -> np.ndarray:
    return _each(text, lambda t: len(_TOKEN.findall(t)), np.nan, np.float64)


def _has_token(text: np.ndarray, token: str) -> np.ndarray:
    needle = _needle(token)
    if len(needle) == 1:
        word = needle[0]
        return _each(text, lambda t: word in _folded(t), False, bool)
    return _each(text, lambda t: bool(_occurrences(_folded(t), needle)), False, bool)


def _count_token(text: np.ndarray, token: str) -> np.ndarray:
    needle = _needle(token)
    return _each(text, lambda t: len(_occurrences(_folded(t), needle)), 0.0, np.float64)


def _starts_with(text: np.ndarray, prefix: str) -> np.ndarray:
    prefix = prefix.casefold()
    return _each(text, lambda t: t.casefold().startswith(prefix), False, bool)


def _ends_with(text: np.ndarray, suffix: str) -> np.ndarray:
    suffix = suffix.casefold()
    return _each(text, lambda t: t.casefold().endswith(suffix), False, bool)


def _contains(text: np.ndarray, part: str) -> np.ndarray:
    part = part.casefold()
    return _each(text, lambda t: part in t.casefold(), False, bool)


def _matches(text: np.ndarray, pattern: str) -> np.ndarray:
    try:
        compiled = compile_pattern(pattern)
    except InvalidArgumentError as error:
        raise PatternError(1, error.expected, error.got) from None
    return _each(text, compiled.search, False, bool)


def _tidy(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _spans(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]


def _replace(text: np.ndarray, old: str, new: str) -> np.ndarray:
    needle = _needle(old)

    def one(t: str) -> str:
        spans = _spans(t)
        starts = _occurrences([w.casefold() for _, _, w in spans], needle)
        if not starts:
            return t  # untouched texts stay exactly as they were
        parts, cursor = [], 0
        for i in starts:
            parts += [t[cursor : spans[i][0]], new]
            cursor = spans[i + len(needle) - 1][1]
        parts.append(t[cursor:])
        return _tidy("".join(parts))

    return _each(text, one, None, object)


def _remove_token(text: np.ndarray, token: str) -> np.ndarray:
    return _replace(text, token, "")


def _swap_pairs(text: np.ndarray, pairs: list[tuple[str, str]]) -> np.ndarray:
    mapping: dict[str, str] = {}
    for a, b in pairs:
        mapping[a.casefold()] = b
        mapping[b.casefold()] = a

    def like(found: str, other: str) -> str:
        if found[:1].isupper():
            return other[:1].upper() + other[1:]
        return other[:1].lower() + other[1:] if found[:1].islower() else other

    def one(t: str) -> str:
        parts, cursor = [], 0
        for start, end, word in _spans(t):
            other = mapping.get(word.casefold())
            if other is not None:
                parts += [t[cursor:start], like(word, other)]
                cursor = end
        return "".join(parts) + t[cursor:] if parts else t

    return _each(text, one, None, object)


def _swap(text: np.ndarray, a: str, b: str) -> np.ndarray:
    for argument, value in ((1, a), (2, b)):
        if len(_TOKEN.findall(value)) != 1:
            raise PatternError(argument, "one token to swap", repr(value))
    return _swap_pairs(text, [(a.strip(), b.strip())])


def _swap_names(text: np.ndarray) -> np.ndarray:
    return _swap_pairs(text, list(NAME_PAIRS))


def _lower(text: np.ndarray) -> np.ndarray:
    return _each(text, str.lower, None, object)


def _abs(number: Any) -> Any:
    return np.abs(number)


def _is_missing(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype == object:
        return pd.isna(value)
    if isinstance(value, np.ndarray):
        return np.isnan(value) if value.dtype.kind == "f" else np.zeros(len(value), dtype=bool)
    return value is None or (isinstance(value, float) and np.isnan(value))


_LIST = [
    Function("length", ("text",), "number", _length, "number of tokens"),
    Function("has_token", ("text", "text"), "bool", _has_token, "the text holds the token(s), any case", (1,)),
    Function("count_token", ("text", "text"), "number", _count_token, "how often the token(s) occur", (1,)),
    Function("starts_with", ("text", "text"), "bool", _starts_with, "the text starts so, any case", (1,)),
    Function("ends_with", ("text", "text"), "bool", _ends_with, "the text ends so, any case", (1,)),
    Function("contains", ("text", "text"), "bool", _contains, "the text holds the characters, any case", (1,)),
    Function("matches", ("text", "text"), "bool", _matches, "a regular expression is found in the text", (1,)),
    Function("lower", ("text",), "text", _lower, "the text in lower case"),
    Function("replace", ("text", "text", "text"), "text", _replace, "token(s) replaced, any case", (1, 2)),
    Function("remove_token", ("text", "text"), "text", _remove_token, "token(s) removed, any case", (1,)),
    Function("swap", ("text", "text", "text"), "text", _swap, "two tokens swapped both ways", (1, 2)),
    Function("swap_names", ("text",), "text", _swap_names, "first names swapped with NAME_PAIRS"),
    Function("abs", ("number",), "number", _abs, "absolute value"),
    Function("is_missing", ("any",), "bool", _is_missing, "the value is missing"),
    # correct() and confidence() need the table; the evaluator runs them itself.
    Function("correct", (), "bool", lambda: None, "the prediction equals the label"),
    Function("confidence", (), "number", lambda: None, "probability of the predicted class"),
]
FUNCTIONS: dict[str, Function] = {f.name: f for f in _LIST}
