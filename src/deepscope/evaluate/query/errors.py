"""The query language's own errors: every problem with a query is a ``QueryError``.

A ``QueryError`` knows where the query went wrong (``position``, 0-based, and ``column``,
1-based) and prints the query with a caret under that place.
"""

from __future__ import annotations

from collections.abc import Sequence

from deepscope.errors import InvalidArgumentError

__all__ = ["QueryError", "UnknownColumnError", "UnknownFunctionError"]


class QueryError(InvalidArgumentError):
    """A query that cannot be read or run; ``column`` is where it went wrong (1-based).

    >>> error = QueryError("a = 1", 2, "a comparison such as '=='", "'='")
    >>> error.column
    3
    """

    def __init__(self, query: str, position: int, expected: str, got: str, hint: str | None = None):
        self.query = query
        self.position = max(0, min(position, len(query)))
        self.column = self.position + 1
        super().__init__("query", expected, got, hint)
        message = f"query: expected {expected}, got {got} at column {self.column}"
        if hint:
            message += f". {hint}"
        # the caret line lines up under the query because both are indented by two spaces
        shown = "".join(" " if c.isspace() else c for c in query)  # one line, same width
        self.args = (f"{message}\n  {shown}\n  {' ' * self.position}^",)


class UnknownColumnError(QueryError):
    """A query names a column the table does not have; ``name`` and ``available`` say which."""

    def __init__(self, query: str, position: int, name: str, available: Sequence[str], hint: str | None = None):
        self.name = name
        self.available = list(available)
        shown = ", ".join(repr(c) for c in self.available[:20])
        more = f" and {len(self.available) - 20} more" if len(self.available) > 20 else ""
        super().__init__(query, position, f"a column of the table ({shown}{more})", f"unknown column {name!r}", hint)


class UnknownFunctionError(QueryError):
    """A query calls a function the language does not have."""

    def __init__(self, query: str, position: int, name: str, available: Sequence[str], hint: str | None = None):
        self.name = name
        self.available = list(available)
        super().__init__(
            query,
            position,
            f"a function of the language ({', '.join(self.available)})",
            f"unknown function {name!r}",
            hint,
        )
