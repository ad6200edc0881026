"""Runs a query's syntax tree over a table, column at a time (numpy and pandas, never ``eval``).

Every value has a kind: ``number``, ``bool``, ``text`` or ``other`` (dates, mixed objects). Kinds
are checked as the tree is walked, so ``length(age)`` or ``text > 3`` is a ``QueryError`` that
points at the offending part, and nothing else escapes: a query either gives a mask or a
``QueryError``.

Missing values: comparisons with a missing value are false (``!=`` is true), as in pandas.
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deepscope.evaluate._common import require_frame
from deepscope.evaluate.query.errors import QueryError, UnknownColumnError, UnknownFunctionError
from deepscope.evaluate.query.functions import FUNCTIONS, PatternError
from deepscope.evaluate.query.parser import (
    Binary,
    Call,
    Column,
    Compare,
    ListLiteral,
    Literal,
    Logical,
    Membership,
    Node,
    Not,
    Unary,
    parse,
)

__all__ = ["query", "mask", "evaluate"]

_ARITHMETIC = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.true_divide,
    # in floats, so x % 0 is missing (NaN) as in pandas rather than numpy's integer 0
    "%": lambda a, b: np.mod(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)),
}
_KIND_WORDS = {"number": "a number", "bool": "a condition (true/false)", "text": "text", "other": "a value"}


def query(table: pd.DataFrame, text: str) -> pd.DataFrame:
    """The rows of ``table`` where the query ``text`` holds, with their original index.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"text": ["not good", "good", "not bad at all, really"],
    ...                   "label": [0, 1, 1], "prediction": [1, 1, 0]})
    >>> query(t, 'prediction != label and has_token(text, "not")').index.tolist()
    [0, 2]
    """
    return table[mask(table, text)]


def mask(table: pd.DataFrame, text: str | Node) -> np.ndarray:
    """A boolean array, one entry per row of ``table``: where the query holds."""
    table = require_frame(table)
    tree, source = (parse(text), text) if isinstance(text, str) else (text, "")
    value = _Evaluator(table, source).run(tree)
    if value.kind != "bool":
        raise QueryError(
            source,
            tree.position,
            "a condition (a comparison, has_token(...), ...) for the whole query",
            _KIND_WORDS[value.kind],
        )
    return value.broadcast(len(table)).astype(bool, copy=False)


def evaluate(table: pd.DataFrame, text: str | Node, *, kind: str | None = None) -> np.ndarray:
    """The value of an expression for every row (an object array for text, else numeric/bool).

    ``kind`` (``"text"``, ``"number"``, ``"bool"``) demands the expression give that kind.

    >>> import pandas as pd
    >>> evaluate(pd.DataFrame({"text": ["very good"]}), 'remove_token(text, "very")').tolist()
    ['good']
    """
    table = require_frame(table)
    tree, source = (parse(text), text) if isinstance(text, str) else (text, "")
    value = _Evaluator(table, source).run(tree)
    if kind is not None and value.kind != kind:
        raise QueryError(source, tree.position, f"an expression giving {_KIND_WORDS[kind]}", _KIND_WORDS[value.kind])
    data = value.broadcast(len(table))
    return _text_array(data) if value.kind == "text" else np.asarray(data)


@dataclass(frozen=True)
class _Value:
    kind: str
    data: Any  # numpy array or pandas Series (per row) or a Python/numpy scalar
    scalar: bool

    def broadcast(self, n: int) -> np.ndarray:
        if self.scalar:
            return np.full(n, self.data, dtype=object if self.kind in ("text", "other") else None)
        return self.data.to_numpy() if isinstance(self.data, pd.Series) else np.asarray(self.data)


def _text_array(data: Any) -> np.ndarray:
    """Text as an object array with None for missing values (what text functions take)."""
    if isinstance(data, pd.Series):
        # pandas takes na_value=None; its stubs allow only scalars.
        values = data.to_numpy(dtype=object, na_value=None)  # pyright: ignore[reportCallIssue, reportArgumentType]
    else:
        values = np.asarray(data, dtype=object)
        missing = pd.isna(values)
        if missing.any():
            values = values.copy()
            values[missing] = None
    return values


class _Evaluator:
    def __init__(self, table: pd.DataFrame, source: str):
        self.table = table
        self.source = source
        self.columns: dict[str, _Value] = {}

    def fail(self, node: Node, expected: str, got: str, hint: str | None = None) -> None:
        raise QueryError(self.source, node.position, expected, got, hint)

    def run(self, node: Node) -> _Value:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return self.eval(node)

    def eval(self, node: Node) -> _Value:
        if isinstance(node, Literal):
            return _literal(node.value)
        if isinstance(node, Column):
            return self.column(node)
        if isinstance(node, Unary):
            operand = self.expect(node.operand, "number", f"a number after '{node.op}'")
            data = -operand.data if node.op == "-" else operand.data
            return _Value("number", data, operand.scalar)
        if isinstance(node, Binary):
            return self.arithmetic(node)
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, Membership):
            return self.membership(node)
        if isinstance(node, Logical):
            values = [self.expect(o, "bool", f"a condition on each side of '{node.op}'") for o in node.operands]
            combine = np.logical_and if node.op == "and" else np.logical_or
            data = values[0].data
            for value in values[1:]:
                data = combine(data, value.data)
            return _Value("bool", data, all(v.scalar for v in values))
        if isinstance(node, Not):
            operand = self.expect(node.operand, "bool", "a condition after 'not'")
            return _Value("bool", np.logical_not(operand.data), operand.scalar)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, ListLiteral):
            self.fail(node, "a value; a list [...] can only follow 'in'", "a list")
        raise TypeError(f"not a query node: {node!r}")

    def expect(self, node: Node, kind: str, expected: str) -> _Value:
        value = self.eval(node)
        if value.kind != kind:
            self.fail(node, expected, _KIND_WORDS[value.kind])
        return value

    # -- columns ------------------------------------------------------------------------------

    def column(self, node: Column) -> _Value:
        name = node.name
        if name in self.columns:
            return self.columns[name]
        if name in self.table.columns:
            column = self.table[name]
            if isinstance(column, pd.DataFrame):
                self.fail(node, "a column name the table uses once", f"{len(column.columns)} columns named {name!r}")
            value = _column_value(column)
        elif name in ("correct", "confidence"):
            value = self.derived(name, node)
        else:
            available = [str(c) for c in self.table.columns]
            close = difflib.get_close_matches(name, available, n=1)
            hint = f"Did you mean {close[0]!r}?" if close else None
            if name in FUNCTIONS:
                hint = f"{name} is a function: write {FUNCTIONS[name].signature}."
            raise UnknownColumnError(self.source, node.position, name, available, hint)
        self.columns[name] = value
        return value

    def derived(self, name: str, node: Node) -> _Value:
        """``correct`` (prediction == label) or ``confidence`` (the largest class probability)."""
        if name == "correct":
            if not {"label", "prediction"} <= set(self.table.columns):
                raise UnknownColumnError(
                    self.source,
                    node.position,
                    "correct",
                    [str(c) for c in self.table.columns],
                    "correct needs a 'correct' column, or 'prediction' and 'label' columns.",
                )
            label = self.column(Column("label", position=node.position))
            prediction = self.column(Column("prediction", position=node.position))
            return self.equal(node, "==", prediction, label)
        scores = [c for c in self.table.columns if isinstance(c, str) and c.startswith("score_")]
        if not scores:
            raise UnknownColumnError(
                self.source,
                node.position,
                "confidence",
                [str(c) for c in self.table.columns],
                "confidence needs a 'confidence' column or score_<class> columns.",
            )
        return _Value("number", self.table[scores].to_numpy(dtype=np.float64).max(axis=1), False)

    # -- operators ----------------------------------------------------------------------------

    def arithmetic(self, node: Binary) -> _Value:
        left = self.expect(node.left, "number", f"a number on the left of '{node.op}'")
        right = self.expect(node.right, "number", f"a number on the right of '{node.op}'")
        return _Value("number", _ARITHMETIC[node.op](left.data, right.data), left.scalar and right.scalar)

    def compare(self, node: Compare) -> _Value:
        values = [self.eval(o) for o in node.operands]
        result: Any = None
        scalar = True
        for i, op in enumerate(node.ops):
            left, right = values[i], values[i + 1]
            if op in ("==", "!="):
                step = self.equal(node.operands[i + 1], op, left, right)
            else:
                step = self.order(node.operands[i + 1], op, left, right)
            result = step.data if result is None else np.logical_and(result, step.data)
            scalar = scalar and step.scalar
        return _Value("bool", result, scalar)

    def equal(self, node: Node, op: str, left: _Value, right: _Value) -> _Value:
        comparable = left.kind == right.kind or "other" in (left.kind, right.kind)
        if not comparable:
            self.fail(node, f"{_KIND_WORDS[left.kind]} to compare with '{op}'", _KIND_WORDS[right.kind])
        data = self.apply(node, lambda a, b: a == b if op == "==" else a != b, left, right)
        return _Value("bool", data, left.scalar and right.scalar)

    def order(self, node: Node, op: str, left: _Value, right: _Value) -> _Value:
        if left.kind not in ("number", "text") or left.kind != right.kind:
            wanted = _KIND_WORDS[left.kind] if left.kind in ("number", "text") else "numbers or texts"
            self.fail(node, f"{wanted} to compare with '{op}'", _KIND_WORDS[right.kind])
        operations = {
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
        }
        data = self.apply(node, operations[op], left, right)
        return _Value("bool", data, left.scalar and right.scalar)

    def apply(self, node: Node, operation: Any, left: _Value, right: _Value) -> Any:
        """A comparison on numpy arrays, Series or scalars, as a bool array (or a bool)."""
        try:
            result = operation(self.comparable(left), self.comparable(right))
        except (TypeError, ValueError, OverflowError) as error:
            self.fail(node, "values that can be compared", f"{type(error).__name__}: {error}")
        if isinstance(result, pd.Series):
            return result.fillna(False).to_numpy(dtype=bool) if result.dtype != bool else result.to_numpy()
        if isinstance(result, (bool, np.bool_)):
            return bool(result)
        if result is pd.NA:
            return False
        return np.asarray(result, dtype=bool)

    def comparable(self, value: _Value) -> Any:
        """Per-row text as a Series on the table's index: pandas compares missing text as false."""
        if value.kind in ("text", "other") and isinstance(value.data, np.ndarray):
            return pd.Series(value.data, index=self.table.index, dtype=object)
        return value.data

    def membership(self, node: Membership) -> _Value:
        operand = self.eval(node.operand)
        items = [_literal(item.value) for item in node.items.items]
        for item, literal in zip(node.items.items, items, strict=True):
            if operand.kind != "other" and literal.kind != operand.kind:
                self.fail(
                    item,
                    f"{_KIND_WORDS[operand.kind]} in the list, like the value before 'in'",
                    _KIND_WORDS[literal.kind],
                )
        values = [i.data for i in items]
        if operand.scalar:
            data: Any = any(bool(operand.data == v) for v in values)
        elif operand.kind in ("text", "other"):
            try:
                data = self.comparable(operand).isin(values).to_numpy(dtype=bool)
            except (TypeError, ValueError) as error:
                self.fail(node, "values that can be compared", f"{type(error).__name__}: {error}")
        else:
            data = np.isin(operand.data, np.asarray(values)) if values else np.zeros(len(operand.data), dtype=bool)
        if node.negated:
            data = np.logical_not(data)
        return _Value("bool", data, operand.scalar)

    # -- functions ----------------------------------------------------------------------------

    def call(self, node: Call) -> _Value:
        function = FUNCTIONS.get(node.name)
        if function is None:
            close = difflib.get_close_matches(node.name, list(FUNCTIONS), n=1)
            hint = f"Did you mean {close[0]}()?" if close else None
            raise UnknownFunctionError(self.source, node.position, node.name, list(FUNCTIONS), hint)
        if len(node.args) != len(function.params):
            self.fail(node, f"{len(function.params)} argument(s): {function.signature}", f"{len(node.args)}")
        if function.name in ("correct", "confidence"):
            return self.column(Column(function.name, position=node.position))
        args = []
        for i, (arg, kind) in enumerate(zip(node.args, function.params, strict=True)):
            value = self.eval(arg)
            if kind != "any" and value.kind != kind:
                self.fail(
                    arg, f"{_KIND_WORDS[kind]} as argument {i + 1} of {function.signature}", _KIND_WORDS[value.kind]
                )
            if i in function.constant and not value.scalar:
                self.fail(
                    arg,
                    f'a fixed value (such as "not") as argument {i + 1} of {function.signature}',
                    "a value that changes from row to row",
                )
            args.append(value)
        data = [
            _as_text(v) if kind == "text" and i not in function.constant else _as_data(v)
            for i, (v, kind) in enumerate(zip(args, function.params, strict=True))
        ]
        try:
            result = function.run(*data)
        except PatternError as error:
            self.fail(node.args[error.argument], error.expected, error.got)
        scalar = all(v.scalar for v in args)
        if scalar and isinstance(result, np.ndarray) and result.shape == (1,):
            result = result[0]
        return _Value(function.returns, result, scalar)


def _as_text(value: _Value) -> np.ndarray:
    return _text_array([value.data]) if value.scalar else _text_array(value.data)


def _as_data(value: _Value) -> Any:
    if value.scalar:
        return value.data
    return _text_array(value.data) if value.kind in ("text", "other") else value.data


def _literal(value: Any) -> _Value:
    if isinstance(value, bool):
        return _Value("bool", value, True)
    if isinstance(value, int):
        return _Value("number", np.int64(value), True)
    if isinstance(value, float):
        return _Value("number", np.float64(value), True)
    return _Value("text", value, True)


def _column_value(column: pd.Series) -> _Value:
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return _Value("bool", column.to_numpy(dtype=bool, na_value=False), False)
    if isinstance(dtype, pd.CategoricalDtype):
        inner = dtype.categories.dtype
        if pd.api.types.is_numeric_dtype(inner):
            return _Value("number", column.astype(np.float64).to_numpy(na_value=np.nan), False)
        column = column.astype(object)
        dtype = column.dtype
    if pd.api.types.is_numeric_dtype(dtype):
        if isinstance(dtype, np.dtype):
            return _Value("number", column.to_numpy(), False)
        return _Value("number", column.to_numpy(dtype=np.float64, na_value=np.nan), False)
    if pd.api.types.is_string_dtype(dtype) and (
        not (isinstance(dtype, np.dtype) and dtype.kind == "O")
        or pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty")
    ):
        return _Value("text", column, False)
    return _Value("other", column, False)
