"""Parameter checks in one place, declared rather than written out at every call site.

In the spirit of scikit-learn's ``utils/_param_validation.py``: a parameter is checked against
constraints (:class:`Interval`, :class:`Options`, ``None`` or a type), and the error names the
parameter, says what was expected in words and shows what arrived. Booleans are never taken
for numbers (``True`` is not a batch size), numpy scalars are, and the value comes back as a
plain ``int``/``float``.

>>> check_int(np.int64(3), "n_steps", low=1)
3
>>> check_number(0.5, "confidence", low=0, high=1, closed="neither")
0.5
>>> check_bool(np.bool_(True), "normalize")
True
>>> check_int(0, "n_steps", low=1)
Traceback (most recent call last):
...
deepscope.errors.InvalidArgumentError: n_steps: expected an integer >= 1, got 0
>>> @validate_params(n=[Interval(int, 1, None)], mode=[Options({"fast", "exact"})])
... def run(n, mode="fast"):
...     return n, mode
>>> run(2, mode="exact")
(2, 'exact')
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, TypeVar, overload

import numpy as np

from deepscope.errors import ArgumentTypeError, InvalidArgumentError

__all__ = [
    "Interval",
    "Options",
    "ParameterTypeError",
    "check",
    "check_bool",
    "check_int",
    "check_number",
    "check_option",
    "validate_params",
]

F = TypeVar("F", bound=Callable[..., Any])
Closed = Literal["both", "left", "right", "neither"]


class ParameterTypeError(InvalidArgumentError, ArgumentTypeError):
    """A parameter of the wrong type: a ``TypeError``, and a ``ValueError`` like any bad value."""


def _is_int(value: Any) -> bool:
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(value, (bool, np.bool_))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class Interval:
    """Integers (``kind=int``) or real numbers (``kind=float``) between ``low`` and ``high``.

    ``None`` for a bound leaves that side open; ``closed`` says which bounds are allowed
    (``"both"``, ``"left"``, ``"right"`` or ``"neither"``). Real intervals refuse NaN, and
    infinities too where ``finite``.
    """

    def __init__(
        self,
        kind: type,
        low: float | None,
        high: float | None,
        closed: Closed = "both",
        *,
        finite: bool = False,
    ) -> None:
        if kind not in (int, float):
            raise ArgumentTypeError("kind", "int or float", kind)
        self.kind = kind
        self.low = low
        self.high = high
        self.closed = closed
        self.finite = finite

    def is_type(self, value: Any) -> bool:
        return _is_int(value) if self.kind is int else _is_real(value)

    def __contains__(self, value: Any) -> bool:
        if not self.is_type(value):
            return False
        if self.kind is float and (math.isnan(float(value)) or (self.finite and math.isinf(float(value)))):
            return False
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.low is not None and (value < self.low if left else value <= self.low):
            return False
        return not (self.high is not None and (value > self.high if right else value >= self.high))

    def convert(self, value: Any) -> Any:
        return int(value) if self.kind is int else float(value)

    def __str__(self) -> str:
        noun = "an integer" if self.kind is int else "a finite number" if self.finite else "a number"
        low, high = self.low, self.high
        if high is None:
            if low is None:
                return noun
            return f"{noun} {'>=' if self.closed in ('both', 'left') else '>'} {_number(low)}"
        if low is None:
            return f"{noun} {'<=' if self.closed in ('both', 'right') else '<'} {_number(high)}"
        opening = "[" if self.closed in ("both", "left") else "("
        closing = "]" if self.closed in ("both", "right") else ")"
        return f"{noun} in {opening}{_number(low)}, {_number(high)}{closing}"


class Options:
    """One of a fixed set of values (compared with ``==``)."""

    def __init__(self, values: Iterable[Any]) -> None:
        self.values = list(values)

    def is_type(self, value: Any) -> bool:
        return any(isinstance(value, type(v)) for v in self.values)

    def __contains__(self, value: Any) -> bool:
        try:
            return value in self.values
        except (TypeError, ValueError):  # unhashable or array-like values never match
            return False

    def convert(self, value: Any) -> Any:
        return value

    def __str__(self) -> str:
        shown = [repr(v) for v in sorted(self.values, key=str)]
        return "one of " + ", ".join(shown) if len(shown) > 1 else shown[0]


class _Type:
    def __init__(self, kind: type | tuple[type, ...]) -> None:
        self.kind = kind

    def is_type(self, value: Any) -> bool:
        return isinstance(value, self.kind)

    __contains__ = is_type

    def convert(self, value: Any) -> Any:
        return value

    def __str__(self) -> str:
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        return " or ".join(f"a {k.__name__}" for k in kinds)


class _None:
    def is_type(self, value: Any) -> bool:
        return value is None

    __contains__ = is_type

    def convert(self, value: Any) -> Any:
        return value

    def __str__(self) -> str:
        return "None"


def _constraint(spec: Any) -> Any:
    if spec is None:
        return _None()
    if isinstance(spec, (Interval, Options)):
        return spec
    if isinstance(spec, type) or (isinstance(spec, tuple) and all(isinstance(k, type) for k in spec)):
        return _Type(spec)
    raise ArgumentTypeError("constraint", "an Interval, Options, a type or None", spec)


def check(value: Any, name: str, constraints: Sequence[Any], *, hint: str | None = None) -> Any:
    """``value`` (numbers as plain ``int``/``float``) if any constraint holds, else a typed error.

    A value of none of the constraints' types raises :class:`ParameterTypeError`; one of the right
    type but out of range raises :class:`~deepscope.errors.InvalidArgumentError`.
    """
    parsed = [_constraint(c) for c in constraints]
    for constraint in parsed:
        if value in constraint:
            return constraint.convert(value)
    expected = " or ".join(str(c) for c in parsed)
    if any(c.is_type(value) for c in parsed):
        raise InvalidArgumentError(name, expected, value, hint)
    raise ParameterTypeError(name, expected, value, hint)


@overload
def check_int(
    value: Any,
    name: str,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: Literal[False] = False,
    hint: str | None = None,
) -> int: ...
@overload
def check_int(
    value: Any,
    name: str,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: bool,
    hint: str | None = None,
) -> int | None: ...
def check_int(
    value: Any,
    name: str,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: bool = False,
    hint: str | None = None,
) -> int | None:
    """``value`` as an ``int`` in ``[low, high]`` (bounds optional); ``None`` if ``allow_none``."""
    constraints: list[Any] = [Interval(int, low, high)]
    if allow_none:
        constraints.append(None)
    return check(value, name, constraints, hint=hint)


@overload
def check_number(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    closed: Closed = "both",
    finite: bool = False,
    allow_none: Literal[False] = False,
    hint: str | None = None,
) -> float: ...
@overload
def check_number(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    closed: Closed = "both",
    finite: bool = False,
    allow_none: bool,
    hint: str | None = None,
) -> float | None: ...
def check_number(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    closed: Closed = "both",
    finite: bool = False,
    allow_none: bool = False,
    hint: str | None = None,
) -> float | None:
    """``value`` as a ``float`` in the interval (NaN never passes; nor infinities if ``finite``)."""
    constraints: list[Any] = [Interval(float, low, high, closed, finite=finite)]
    if allow_none:
        constraints.append(None)
    return check(value, name, constraints, hint=hint)


@overload
def check_bool(value: Any, name: str, *, allow_none: Literal[False] = False, hint: str | None = None) -> bool: ...
@overload
def check_bool(value: Any, name: str, *, allow_none: bool, hint: str | None = None) -> bool | None: ...
def check_bool(value: Any, name: str, *, allow_none: bool = False, hint: str | None = None) -> bool | None:
    """``value`` as a plain ``bool``: ``True``/``False`` or a numpy bool; ``None`` too if ``allow_none``.

    Anything else, ``0`` and ``1`` included, raises :class:`ParameterTypeError` (an
    :class:`~deepscope.errors.ArgumentTypeError`): a switch given a number is more likely a slip
    (a count in the wrong place) than a choice.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if allow_none and value is None:
        return None
    raise ParameterTypeError(name, "True, False or None" if allow_none else "True or False", value, hint)


def check_option(value: Any, name: str, options: Iterable[Any], *, hint: str | None = None) -> Any:
    """``value`` if it is one of ``options``, else an error listing them."""
    return check(value, name, [Options(options)], hint=hint)


def validate_params(**constraints: Sequence[Any]) -> Callable[[F], F]:
    """Check the named parameters of every call against their constraints (before the body runs).

    Each value is a list of constraints, any one of which may hold, as in scikit-learn:
    ``@validate_params(n_steps=[Interval(int, 1, None)], seed=[Interval(int, 0, None), None])``.
    Numbers reach the function as plain ``int``/``float``.
    """

    def decorate(function: F) -> F:
        signature = inspect.signature(function)
        unknown = set(constraints) - set(signature.parameters)
        if unknown:
            raise InvalidArgumentError("constraints", f"parameters of {function.__qualname__}", sorted(unknown))

        @functools.wraps(function)
        def checked(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            for name, allowed in constraints.items():
                if name in bound.arguments:
                    bound.arguments[name] = check(bound.arguments[name], name, allowed)
            return function(*bound.args, **bound.kwargs)

        checked.__wrapped_constraints__ = dict(constraints)  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return decorate
