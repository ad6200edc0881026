"""Turns query text into tokens: numbers, strings, names, keywords and operators.

>>> [t.text for t in tokenize('length(text) > 8 and not correct')][:-1]
['length', '(', 'text', ')', '>', '8', 'and', 'not', 'correct']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deepscope.evaluate.query.errors import QueryError

__all__ = ["Token", "tokenize", "KEYWORDS"]

KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})
_OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "(", ")", "[", "]", ",")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_DIGITS = frozenset("0123456789")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}
_MISTAKES = {
    "=": ("'==' to compare", "Comparisons use '=='."),
    "!": ("'!=' or the keyword 'not'", "Write 'not x' or 'a != b'."),
    "&": ("the keyword 'and'", "Write 'and' instead of '&' or '&&'."),
    "|": ("the keyword 'or'", "Write 'or' instead of '|' or '||'."),
}


@dataclass(frozen=True)
class Token:
    """One token: ``kind`` is number, string, name, keyword, op or end; ``position`` is 0-based."""

    kind: str
    text: str
    value: object
    position: int


def tokenize(query: str) -> list[Token]:
    """The tokens of ``query``, ending with an ``end`` token; raises ``QueryError`` on bad text."""
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
            continue
        if char in _DIGITS or (char == "." and i + 1 < n and query[i + 1] in _DIGITS):
            match = _NUMBER.match(query, i)
            assert match is not None  # a digit, or a dot before a digit, always starts a number
            text = match.group()
            end = match.end()
            if end < n and (query[end].isalnum() or query[end] in "_."):
                raise QueryError(query, end, "an operator or a space after the number", repr(query[end]))
            tokens.append(Token("number", text, _number(text), i))
            i = end
        elif char in "\"'":
            text, value, end = _string(query, i)
            tokens.append(Token("string", text, value, i))
            i = end
        elif char == "`":
            end = query.find("`", i + 1)
            if end < 0:
                raise QueryError(query, i, "a closing '`' for the column name that starts here", "the end of the query")
            name = query[i + 1 : end]
            if not name:
                raise QueryError(query, i, "a column name between the backticks", "'``'")
            tokens.append(Token("name", query[i : end + 1], name, i))
            i = end + 1
        elif char.isascii() and (char.isalpha() or char == "_"):
            match = _NAME.match(query, i)
            assert match is not None  # a letter or underscore always starts a name
            text = match.group()
            kind = "keyword" if text.lower() in KEYWORDS else "name"
            tokens.append(Token(kind, text, text.lower() if kind == "keyword" else text, i))
            i = match.end()
        else:
            operator = next((op for op in _OPERATORS if query.startswith(op, i)), None)
            if operator is None:
                expected, hint = _MISTAKES.get(char, ("a column, value, operator or parenthesis", None))
                raise QueryError(query, i, expected, repr(char), hint)
            tokens.append(Token("op", operator, operator, i))
            i += len(operator)
    tokens.append(Token("end", "", None, n))
    return tokens


def _number(text: str) -> int | float:
    # int() refuses more than 4,300 digits; anything past 19 digits is beyond int64 anyway
    if text.isascii() and text.isdigit() and len(text) <= 19:
        value = int(text)
        # beyond int64 a literal would overflow numpy arithmetic; as a float it stays comparable
        return value if value < 2**63 else float(value)
    return float(text)


def _string(query: str, start: int) -> tuple[str, str, int]:
    quote = query[start]
    parts: list[str] = []
    i = start + 1
    while i < len(query):
        char = query[i]
        if char == "\\":
            if i + 1 >= len(query):
                break
            parts.append(_ESCAPES.get(query[i + 1], "\\" + query[i + 1]))
            i += 2
            continue
        if char == quote:
            return query[start : i + 1], "".join(parts), i + 1
        parts.append(char)
        i += 1
    raise QueryError(query, start, f"a closing {quote} for the text that starts here", "the end of the query")
