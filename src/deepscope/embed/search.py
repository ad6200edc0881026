"""Find points by their metadata: ``column=value``, ``column~regex`` or a regex over every column.

>>> import pandas as pd
>>> meta = pd.DataFrame({"label": ["cat", "dog", "cat"], "text": ["a", "b", "c"]})
>>> match(meta, "label=cat").tolist()
[True, False, True]
>>> match(meta, "^b$").tolist()
[False, True, False]
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, NotFoundError

__all__ = ["match"]

_FIELD = re.compile(r"^\s*([^=~!]+?)\s*(!=|=|~)\s*(.*)$")


def match(metadata: pd.DataFrame, query: str) -> np.ndarray:
    """A boolean mask of the rows of ``metadata`` that ``query`` picks.

    - ``column=value``: the column's value, as text, equals ``value`` (``!=`` for the opposite);
    - ``column~pattern``: a regex search in the column's text, case-insensitive;
    - anything else: a case-insensitive regex search in every column.

    Patterns are matched with Python's ``re`` (never evaluated as code). An empty query matches
    nothing.
    """
    if not isinstance(metadata, pd.DataFrame):
        raise ArgumentTypeError("metadata", "a DataFrame", metadata)
    if not isinstance(query, str):
        raise ArgumentTypeError("query", "a text query", query)
    if not query.strip():
        return np.zeros(len(metadata), dtype=bool)
    found = _FIELD.match(query)
    if found and found.group(1) in metadata.columns.astype(str):
        column, operator, value = found.groups()
        text = _text(metadata, column)
        if operator == "~":
            return text.str.contains(_regex(value), regex=True, na=False).to_numpy()
        equal = (text == value.strip()).to_numpy()
        return ~equal if operator == "!=" else equal
    if found and found.group(2) in ("=", "!=") and not _looks_like_regex(query):
        raise NotFoundError("metadata column", found.group(1), [str(c) for c in metadata.columns])
    pattern = _regex(query)
    mask = np.zeros(len(metadata), dtype=bool)
    for column in metadata.columns:
        mask |= _text(metadata, str(column)).str.contains(pattern, regex=True, na=False).to_numpy()
    return mask


def _text(metadata: pd.DataFrame, column: str) -> pd.Series:
    series = (
        metadata[column]
        if column in metadata.columns
        else metadata[[c for c in metadata.columns if str(c) == column][0]]
    )
    return series.astype(str)


def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern.strip(), re.IGNORECASE)
    except re.error as exc:
        raise InvalidArgumentError("query", "a valid regular expression", pattern, hint=str(exc)) from exc


def _looks_like_regex(query: str) -> bool:
    return any(ch in query for ch in "^$[]()|*+?\\")
