"""The declarative parameter checks: what passes, what comes back, and which error names what."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.validation import (
    Interval,
    Options,
    ParameterTypeError,
    check,
    check_int,
    check_number,
    check_option,
    validate_params,
)


def test_ints_come_back_plain_and_bools_are_not_ints():
    value = check_int(np.int32(4), "n", low=1)
    assert value == 4 and type(value) is int
    for wrong in (True, np.bool_(True), 2.0, "3", None):
        with pytest.raises(ParameterTypeError, match="^n: expected an integer >= 1"):
            check_int(wrong, "n", low=1)
    assert check_int(None, "n", allow_none=True) is None


@pytest.mark.parametrize(
    ("closed", "inside", "outside"),
    [
        ("both", [0.0, 0.5, 1.0], [-0.1, 1.1]),
        ("left", [0.0, 0.5], [1.0]),
        ("right", [0.5, 1.0], [0.0]),
        ("neither", [0.5], [0.0, 1.0, float("nan")]),
    ],
)
def test_interval_bounds(closed, inside, outside):
    for value in inside:
        assert check_number(value, "p", low=0, high=1, closed=closed) == value
    for value in outside:
        with pytest.raises(InvalidArgumentError, match="p: expected a number in"):
            check_number(value, "p", low=0, high=1, closed=closed)


def test_descriptions_say_the_bounds():
    assert str(Interval(int, 1, None)) == "an integer >= 1"
    assert str(Interval(float, 0, None, "neither")) == "a number > 0"
    assert str(Interval(float, None, 1, "left")) == "a number < 1"
    assert str(Interval(float, 0, 0.5, "left")) == "a number in [0, 0.5)"
    assert str(Options(["b", "a"])) == "one of 'a', 'b'"


def test_wrong_type_is_both_type_and_value_error_and_wrong_value_is_a_value_error():
    with pytest.raises(ParameterTypeError) as caught:
        check_option(3, "mode", ["fast", "exact"])
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, ValueError)
    assert isinstance(caught.value, ArgumentTypeError)
    with pytest.raises(InvalidArgumentError, match="mode: expected one of 'exact', 'fast', got") as bad:
        check_option("slow", "mode", ["fast", "exact"])
    assert not isinstance(bad.value, TypeError)


def test_several_constraints_any_may_hold():
    constraints = [Interval(int, 1, None), Options(["auto"]), None]
    assert check("auto", "batch_size", constraints) == "auto"
    assert check(None, "batch_size", constraints) is None
    assert check(np.int64(8), "batch_size", constraints) == 8
    with pytest.raises(InvalidArgumentError, match="an integer >= 1 or 'auto' or None, got 0"):
        check(0, "batch_size", constraints)
    assert check([1], "shape", [list, tuple]) == [1]


def test_validate_params_checks_before_the_body_and_converts():
    calls = []

    @validate_params(n=[Interval(int, 1, None)], scale=[Interval(float, 0, None, "neither")])
    def run(data, n=2, *, scale=1.0):
        calls.append((n, scale))
        return n, scale

    assert run("x", np.int64(3), scale=2) == (3, 2.0)
    assert type(calls[-1][1]) is float
    with pytest.raises(InvalidArgumentError, match="scale"):
        run("x", scale=0)
    with pytest.raises(ParameterTypeError, match="^n:"):
        run("x", n=True)
    assert len(calls) == 1  # the body never ran on bad input
    with pytest.raises(InvalidArgumentError, match="constraints"):
        validate_params(missing=[int])(lambda a: a)
