"""The one matcher for patterns a user types: dashboard filters and the query language's ``matches()``.

Patterns run on RE2 (the ``google-re2`` binding): matching takes time linear in the text, so a
pattern such as ``([\\w.-]+)+@`` cannot freeze a server the way a backtracking engine would.
Patterns are bounded in length and in the memory RE2 may use to compile them; RE2 refuses
back-references and look-arounds, which a catastrophic pattern would need.

A filter (:func:`compile_filter`) is forgiving: a pattern that is not a valid regular expression is
matched as plain text and the message says so, so typing ``lr=0.1(`` never breaks a page. The query
language (:func:`compile_pattern`) is strict: an invalid pattern is an
:class:`~deepscope.errors.InvalidArgumentError`.

>>> f = compile_filter("val/.*loss")
>>> [name for name in ["train/loss", "val/loss", "VAL/x/loss"] if f.search(name)]
['val/loss', 'VAL/x/loss']
>>> compile_filter("a(").message.startswith("Not a valid regular expression")
True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import re2

from deepscope.errors import ArgumentTypeError, InvalidArgumentError

__all__ = [
    "MAX_PATTERN_LENGTH",
    "NameMatch",
    "Pattern",
    "compile_pattern",
    "compile_filter",
    "match_names",
]

MAX_PATTERN_LENGTH = 1_000
_MAX_MEMORY = 8 << 20  # bytes RE2 may use for one compiled pattern


def _options(ignore_case: bool, literal: bool = False) -> Any:
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.literal = literal
    options.log_errors = False
    options.max_mem = _MAX_MEMORY
    return options


@dataclass(frozen=True)
class Pattern:
    """A compiled user pattern; ``message`` says when it was taken as plain text."""

    text: str
    regex: Any
    message: str = ""

    def search(self, text: str) -> bool:
        """Whether the pattern occurs anywhere in ``text``."""
        return self.regex.search(text) is not None


def _check(pattern: object, argument: str) -> str:
    if not isinstance(pattern, str):
        raise ArgumentTypeError(argument, "a regular expression (text)", pattern)
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidArgumentError(
            argument,
            f"a pattern of at most {MAX_PATTERN_LENGTH} characters",
            f"{len(pattern)} characters",
        )
    return pattern


def compile_pattern(pattern: str, *, ignore_case: bool = False, argument: str = "pattern") -> Pattern:
    """Compile a regular expression strictly: an invalid or too large one raises
    :class:`~deepscope.errors.InvalidArgumentError` naming ``argument``."""
    pattern = _check(pattern, argument)
    try:
        return Pattern(pattern, re2.compile(pattern, _options(ignore_case)))
    except re2.error as error:
        raise InvalidArgumentError(
            argument, "a valid regular expression (RE2 syntax)", f"{pattern!r} ({_reason(error)})"
        ) from None


def compile_filter(pattern: str | None, *, argument: str = "pattern") -> Pattern | None:
    """A case-insensitive filter, or None for an empty pattern (keep everything).

    A pattern that is not a valid regular expression (or that RE2 cannot run in bounded memory)
    is matched as plain text; ``message`` tells the user so.
    """
    if pattern is not None and not isinstance(pattern, str):
        raise ArgumentTypeError(argument, "a regular expression (text) or None", pattern)
    pattern = (pattern or "").strip()[:MAX_PATTERN_LENGTH]
    if not pattern:
        return None
    try:
        return Pattern(pattern, re2.compile(pattern, _options(True)))
    except re2.error as error:
        return Pattern(
            pattern,
            re2.compile(pattern, _options(True, literal=True)),
            f"Not a valid regular expression ({_reason(error)}); matching it as plain text.",
        )


@dataclass(frozen=True)
class NameMatch:
    """The names a filter kept, and a message when the pattern was not a valid regex."""

    names: list[str]
    message: str = ""


def match_names(names: Iterable[str], pattern: str | None) -> NameMatch:
    """The names ``pattern`` finds (all of them for an empty pattern), in their order.

    >>> match_names(["train/loss", "val/loss", "val/acc"], "val/.*loss").names
    ['val/loss']
    """
    names = list(names)
    compiled = compile_filter(pattern)
    if compiled is None:
        return NameMatch(names)
    return NameMatch([name for name in names if compiled.search(name)], compiled.message)


def _reason(error: Exception) -> str:
    reason = error.args[0] if error.args else error
    text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    return text if len(text) <= 80 else text[:77] + "..."
