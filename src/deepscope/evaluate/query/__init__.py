"""A small, safe language for finding examples in a predictions table (after Errudite).

Queries combine column references, numbers, 'text', true/false, comparisons (== != < <= > >=,
chained as in Python), ``and``/``or``/``not``, ``in [...]``, arithmetic (+ - * / %) and functions:
``length(text)``, ``has_token(text, "not")``, ``count_token``, ``starts_with``, ``ends_with``,
``contains``, ``matches(text, regex)``, ``lower``, ``abs``, ``is_missing``, ``correct``,
``confidence``; rewrite rules use ``replace``, ``remove_token``, ``swap`` and ``swap_names``.
A real parser reads them (no Python ``eval``); a mistake raises ``QueryError`` pointing at the
column where the query went wrong.

Note: ``deepscope.evaluate.query`` is the function ``query``; import this package's modules with
``from deepscope.evaluate.query.parser import parse``.

>>> import pandas as pd
>>> from deepscope.evaluate.query import query
>>> t = pd.DataFrame({"text": ["it was not very good", "great"], "label": [1, 1], "prediction": [0, 1]})
>>> query(t, 'prediction != label and has_token(text, "not") and length(text) > 3').index.tolist()
[0]
"""

from __future__ import annotations

from deepscope.evaluate.query.errors import QueryError, UnknownColumnError, UnknownFunctionError
from deepscope.evaluate.query.evaluate import evaluate, mask, query
from deepscope.evaluate.query.functions import FUNCTIONS, NAME_PAIRS, tokens
from deepscope.evaluate.query.groups import Groups, groups
from deepscope.evaluate.query.parser import parse, unparse
from deepscope.evaluate.query.rewrite import Rewrite, rewrite

__all__ = [
    "query",
    "mask",
    "evaluate",
    "parse",
    "unparse",
    "groups",
    "Groups",
    "rewrite",
    "Rewrite",
    "QueryError",
    "UnknownColumnError",
    "UnknownFunctionError",
    "FUNCTIONS",
    "NAME_PAIRS",
    "tokens",
]
