"""Typed errors raised by deepscope.

Every error names the argument at fault, what was expected and what arrived, so the message tells
the user what to change. Each class subclasses the builtin a caller would already catch
(``ValueError``, ``TypeError``, ``ImportError``, ``KeyError``).

>>> from deepscope.errors import InvalidArgumentError
>>> str(InvalidArgumentError("batch_size", "a positive integer", 0))
'batch_size: expected a positive integer, got 0'
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DeepscopeError",
    "InvalidArgumentError",
    "ArgumentTypeError",
    "ShapeError",
    "TargetError",
    "UnsupportedModelError",
    "MissingDependencyError",
    "LogdirError",
    "NotFoundError",
    "describe",
]


def describe(value: Any) -> str:
    """A short description of a value for error messages: type, shape and dtype where it has them."""
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return f"{type(value).__name__} of shape {tuple(shape)} and dtype {dtype}"
    if isinstance(value, (list, tuple)) and len(value) > 8:
        kinds = sorted({type(v).__name__ for v in value})
        return f"{type(value).__name__} of {len(value)} items ({', '.join(kinds)})"
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


class DeepscopeError(Exception):
    """Base class of every error deepscope raises on purpose."""


class _ArgumentProblem(DeepscopeError):
    def __init__(self, argument: str, expected: str, got: Any, hint: str | None = None):
        self.argument = argument
        self.expected = expected
        self.got = got
        message = f"{argument}: expected {expected}, got {got if isinstance(got, str) else describe(got)}"
        if hint:
            message += f". {hint}"
        super().__init__(message)


class InvalidArgumentError(_ArgumentProblem, ValueError):
    """An argument has the right type but a wrong value."""


class ArgumentTypeError(_ArgumentProblem, TypeError):
    """An argument has the wrong type."""


class ShapeError(InvalidArgumentError):
    """An array argument has the wrong shape or number of dimensions."""


class TargetError(InvalidArgumentError):
    """A target class index is out of range or malformed."""


class UnsupportedModelError(_ArgumentProblem, TypeError):
    """The model cannot do what was asked (for example a gradient of a plain callable)."""


class MissingDependencyError(DeepscopeError, ImportError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str, feature: str):
        self.package = package
        self.extra = extra
        super().__init__(f"{feature} needs the '{package}' package; install it with pip install 'deepscope[{extra}]'")


class LogdirError(DeepscopeError, ValueError):
    """A log directory or run is missing, empty or unreadable."""


class NotFoundError(DeepscopeError, KeyError):
    """A named thing (run, tag, layer, page) does not exist."""

    def __init__(self, kind: str, name: str, available: list[str] | None = None):
        self.kind = kind
        self.name = name
        message = f"no {kind} named {name!r}"
        if available is not None:
            shown = ", ".join(repr(a) for a in available[:20])
            more = f" (and {len(available) - 20} more)" if len(available) > 20 else ""
            message += f"; available: {shown}{more}" if available else f"; there are no {kind}s"
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]
