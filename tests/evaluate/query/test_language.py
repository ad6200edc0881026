"""The query language: generated queries equal a pandas reference; garbage raises only QueryError."""

from __future__ import annotations

import contextlib
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deepscope as ds
from deepscope.errors import InvalidArgumentError
from deepscope.evaluate.query import (
    QueryError,
    UnknownColumnError,
    evaluate,
    mask,
    parse,
    tokens,
    unparse,
)

WORDS = ["not", "good", "bad", "very", "movie", "the", "it", "no"]


def _table(n: int = 160, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, size=rng.integers(1, 7))) for _ in range(n)]
    return pd.DataFrame(
        {
            "x": rng.integers(-5, 6, n),
            "y": np.round(rng.uniform(-3, 3, n), 1),
            "s": pd.array(texts, dtype="str"),
            "cat": rng.choice(["a", "b", "c"], n).astype(object),
            "b": rng.random(n) < 0.5,
            "label": rng.integers(0, 3, n),
            "prediction": rng.integers(0, 3, n),
        },
        index=pd.RangeIndex(1000, 1000 + n),
    )


TABLE = _table()
_split = TABLE["s"].str.split()

# Each strategy draws (query text, reference) where reference(df) computes the same with pandas.


def _const(value):
    return lambda df: value


def _number_leaf():
    ints = st.integers(-9, 9).map(lambda v: (str(v) if v >= 0 else f"({v})", _const(np.int64(v))))
    floats = st.integers(-30, 30).map(lambda v: (f"{v / 10}" if v >= 0 else f"({v / 10})", _const(np.float64(v / 10))))
    columns = st.sampled_from([("x", lambda df: df["x"]), ("y", lambda df: df["y"])])
    length = st.just(("length(s)", lambda df: df["s"].str.split().str.len()))
    counts = st.sampled_from(WORDS).map(
        lambda w: (f'count_token(s, "{w}")', lambda df: df["s"].str.split().map(lambda ws: ws.count(w)))
    )
    return st.one_of(ints, floats, columns, length, counts)


def numbers(depth: int = 2):
    if depth == 0:
        return _number_leaf()
    inner = numbers(depth - 1)

    def binary(pair):
        (qa, ra), op, (qb, rb) = pair
        ops = {
            "+": np.add,
            "-": np.subtract,
            "*": np.multiply,
            "/": np.true_divide,
            "%": lambda a, b: np.mod(np.asarray(a, dtype=float), np.asarray(b, dtype=float)),
        }
        return f"({qa} {op} {qb})", lambda df: ops[op](ra(df), rb(df))

    return st.one_of(
        _number_leaf(),
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "%"]), inner).map(binary),
        inner.map(lambda p: (f"-{p[0]}", lambda df: -p[1](df))),
        inner.map(lambda p: (f"abs({p[0]})", lambda df: np.abs(p[1](df)))),
    )


_COMPARE = {
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def _comparison():
    def compare(parts):
        (qa, ra), op, (qb, rb) = parts
        return f"{qa} {op} {qb}", lambda df: _COMPARE[op](ra(df), rb(df))

    def chain(parts):
        (qa, ra), op1, (qb, rb), op2, (qc, rc) = parts
        return (
            f"{qa} {op1} {qb} {op2} {qc}",
            lambda df: np.logical_and(_COMPARE[op1](ra(df), rb(df)), _COMPARE[op2](rb(df), rc(df))),
        )

    ops = st.sampled_from(list(_COMPARE))
    return st.one_of(
        st.tuples(numbers(), ops, numbers()).map(compare),
        st.tuples(numbers(1), ops, numbers(1), ops, numbers(1)).map(chain),
    )


def _text_condition():
    phrases = st.sampled_from(sorted(set(TABLE["s"])) + ["not good", "missing phrase"])
    word = st.sampled_from(WORDS)
    return st.one_of(
        st.tuples(phrases, st.sampled_from(["==", "!="])).map(
            lambda p: (f's {p[1]} "{p[0]}"', lambda df: (df["s"] == p[0]) if p[1] == "==" else (df["s"] != p[0]))
        ),
        st.tuples(phrases, st.sampled_from(["<", ">="])).map(
            lambda p: (f"s {p[1]} '{p[0]}'", lambda df: (df["s"] < p[0]) if p[1] == "<" else (df["s"] >= p[0]))
        ),
        word.map(lambda w: (f'has_token(s, "{w}")', lambda df: df["s"].str.split().map(lambda ws: w in ws))),
        word.map(lambda w: (f'starts_with(s, "{w}")', lambda df: df["s"].str.startswith(w))),
        word.map(lambda w: (f"contains(s, '{w}')", lambda df: df["s"].str.contains(w, regex=False))),
        phrases.map(lambda p: (f'lower(s) == "{p}"', lambda df: df["s"].str.lower() == p)),
        st.tuples(st.lists(st.sampled_from(["a", "b", "c", "z"]), max_size=3), st.booleans()).map(
            lambda p: (
                f"cat {'not in' if p[1] else 'in'} [{', '.join(repr(v) for v in p[0])}]",
                lambda df: ~df["cat"].isin(p[0]) if p[1] else df["cat"].isin(p[0]),
            )
        ),
        st.lists(st.integers(-6, 6), max_size=4).map(
            lambda vs: (f"x in [{', '.join(map(str, vs))}]", lambda df: df["x"].isin(vs))
        ),
    )


def _condition_leaf():
    return st.one_of(
        _comparison(),
        _text_condition(),
        st.just(("b", lambda df: df["b"])),
        st.sampled_from([("true", _const(True)), ("false", _const(False))]),
        st.just(("correct", lambda df: df["prediction"] == df["label"])),
        st.just(("not correct", lambda df: df["prediction"] != df["label"])),
    )


def conditions(depth: int = 2):
    if depth == 0:
        return _condition_leaf()
    inner = conditions(depth - 1)
    return st.one_of(
        _condition_leaf(),
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda p: (
                f"({p[0][0]}) {p[1]} ({p[2][0]})",
                lambda df: (np.logical_and if p[1] == "and" else np.logical_or)(p[0][1](df), p[2][1](df)),
            )
        ),
        inner.map(lambda p: (f"not ({p[0]})", lambda df: np.logical_not(p[1](df)))),
    )


def _reference_mask(reference, table: pd.DataFrame) -> np.ndarray:
    with np.errstate(all="ignore"):
        value = reference(table)
    value = value.to_numpy() if isinstance(value, pd.Series) else np.asarray(value)
    return np.broadcast_to(value.astype(bool), (len(table),))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions())
def test_generated_queries_equal_a_pandas_reference(pair):
    text, reference = pair
    got = mask(TABLE, text)
    np.testing.assert_array_equal(got, _reference_mask(reference, TABLE), err_msg=text)


@settings(max_examples=200, deadline=None)
@given(conditions())
def test_unparse_round_trips(pair):
    tree = parse(pair[0])
    assert parse(unparse(tree)) == tree


_QUERY_CHARS = (
    list(" ()[],.'\"`<>=!+-*/%&|~_\\\n") + list("abcdefghijklmnopqrstuvwxyzANDORT0123456789") + ["é", "∑", "\x00"]
)
_NAMES = [
    "and",
    "or",
    "not",
    "in",
    "true",
    "false",
    "length",
    "has_token",
    "s",
    "x",
    "y",
    "b",
    "cat",
    "correct",
    "confidence",
    "matches",
    "replace",
    "swap_names",
    "abs",
    "zz",
    "label",
    "prediction",
    "is_missing",
]


def _garbage():
    fragments = st.one_of(
        st.sampled_from(_NAMES), st.sampled_from(_QUERY_CHARS), st.sampled_from(["1e999", "'x'", "[", "9" * 25])
    )
    return st.one_of(
        st.text(alphabet=st.sampled_from(_QUERY_CHARS), max_size=40),
        st.lists(fragments, max_size=14).map(" ".join),
        st.lists(fragments, max_size=14).map("".join),
        st.text(max_size=30),
    )


_SMALL_CONDITIONS = conditions(1)  # built once: building strategies is what costs time


def _mutated():
    @st.composite
    def mutate(draw):
        text = draw(_SMALL_CONDITIONS)[0]
        for _ in range(draw(st.integers(1, 3))):
            i = draw(st.integers(0, len(text)))
            action = draw(st.sampled_from(["delete", "insert", "swap"]))
            if action == "delete":
                text = text[:i] + text[i + 1 :]
            elif action == "insert":
                text = text[:i] + draw(st.sampled_from(_QUERY_CHARS + _NAMES)) + text[i:]
            elif len(text) > 1:
                j = draw(st.integers(0, len(text) - 1))
                chars = list(text)
                chars[i % len(text)], chars[j] = chars[j], chars[i % len(text)]
                text = "".join(chars)
        return text

    return mutate()


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_garbage(), _mutated()))
def test_garbage_raises_only_query_errors(text):
    try:
        result = mask(TABLE, text)
    except QueryError as error:
        assert 1 <= error.column <= len(text) + 1
        assert str(error).splitlines()[-1].endswith("^")
    else:
        assert result.dtype == bool and result.shape == (len(TABLE),)


@pytest.mark.parametrize(
    "text",
    [
        "(" * 400 + "b" + ")" * 400,
        "not " * 3000 + "b",
        "-" * 3000 + "1 > 0",
        "1" + " + 1" * 3000 + " > 0",
        "b" + " and b" * 3000,
        "f(" * 300,
    ],
)
def test_deep_or_long_queries_raise_query_errors_or_run(text):
    with contextlib.suppress(QueryError):
        mask(TABLE, text)


def test_parse_errors_point_at_the_column_and_say_what_was_expected():
    text = 'prediction != label and has_token(s, "not") an length(s) > 8'
    with pytest.raises(QueryError) as info:
        mask(TABLE, text)
    assert info.value.column == text.index(" an ") + 2
    assert "expected 'and', 'or'" in str(info.value)
    assert isinstance(info.value, InvalidArgumentError)

    cases = {
        "x = 3": (3, "'=='"),
        "x > ": (5, "a value"),
        "(x > 1": (7, "')'"),
        "has_token(s, 'not'": (19, "','"),
        "x in 3": (6, "'['"),
        "s == 'open": (6, "closing '"),
        "length(x) > 1": (8, "text as argument 1"),
        "s > 3": (5, "text to compare"),
        "x + 1": (1, "a condition"),
        "matches(s, '(')": (12, "regular expression"),
        "x && b": (3, "'and'"),
    }
    for query, (column, expected) in cases.items():
        with pytest.raises(QueryError) as info:
            mask(TABLE, query)
        assert info.value.column == column, (query, str(info.value))
        assert expected in str(info.value), (query, str(info.value))


def test_unknown_column_is_named_with_the_available_ones():
    with pytest.raises(UnknownColumnError) as info:
        ds.evaluate.query(TABLE, "lable == 1 and x > 0")
    error = info.value
    assert error.name == "lable" and error.column == 1
    assert "unknown column 'lable'" in str(error) and "Did you mean 'label'?" in str(error)
    assert error.available == list(TABLE.columns)
    assert "'prediction'" in str(error)
    assert isinstance(error, QueryError)


def test_query_keeps_the_original_index():
    rows = ds.evaluate.query(TABLE, "x > 2 and b")
    expected = TABLE[(TABLE["x"] > 2) & TABLE["b"]]
    pd.testing.assert_frame_equal(rows, expected)


def test_the_issue_example():
    table = pd.DataFrame(
        {
            "text": [
                "I did not like it at all",
                "not bad",
                "a great and lovely film, truly",
                "Not good, not fun at all",
            ],
            "label": [0, 1, 1, 1],
            "prediction": [0, 0, 1, 0],
        },
        index=[10, 11, 12, 13],
    )
    rows = ds.evaluate.query(table, 'prediction != label and has_token(text, "not") and length(text) > 4')
    assert rows.index.tolist() == [13]


@given(
    st.lists(
        st.sampled_from(
            ["Not", "not", "nothing", "n't", "knot", ".", ",", "didn't", "Don't", "'", "t", "good", "Good!", "do"]
        ),
        max_size=8,
    ).map(" ".join),
    st.sampled_from(["not", "good", "t", ".", "'", "n't", "do"]),
)
def test_token_functions_agree_with_the_tokenizer(text, token):
    table = pd.DataFrame({"text": [text]})
    words = [t.lower() for t in tokens(text)]
    assert bool(mask(table, f"has_token(text, {token!r})")[0]) == (token in words)
    assert evaluate(table, f"count_token(text, {token!r})")[0] == words.count(token)
    assert evaluate(table, "length(text)")[0] == len(words)


def test_contractions_split_off_nt():
    assert tokens("I didn't like it, couldn't stand it") == [
        "I",
        "did",
        "n't",
        "like",
        "it",
        ",",
        "could",
        "n't",
        "stand",
        "it",
    ]
    table = pd.DataFrame({"text": ["I didn't like it", "I did like it", "Nothing"]})
    assert mask(table, 'has_token(text, "n\'t")').tolist() == [True, False, False]
    assert mask(table, "has_token(text, 'did')").tolist() == [True, True, False]


def test_phrases_match_consecutive_tokens():
    table = pd.DataFrame(
        {"text": ["not good", "Not  Good!", "notgood", "good not", "didn't", "didn ' t", "not not good"]}
    )
    assert mask(table, "has_token(text, 'not good')").tolist() == [True, True, False, False, False, False, True]
    assert mask(table, 'has_token(text, "didn\'t")').tolist() == [False, False, False, False, True, False, False]
    assert evaluate(table, "count_token(text, 'not')").tolist() == [1, 1, 0, 1, 0, 0, 2]


def test_missing_values_compare_as_pandas_does():
    table = pd.DataFrame(
        {
            "s": pd.Series(["not good", None, "fine"], dtype="str"),
            "n": pd.array([1, None, 3], dtype="Int64"),
            "f": [1.0, np.nan, 3.0],
        }
    )
    assert mask(table, "s == 'fine'").tolist() == [False, False, True]
    assert mask(table, "s != 'fine'").tolist() == [True, True, False]
    assert mask(table, "has_token(s, 'not')").tolist() == [True, False, False]
    assert mask(table, "n > 0").tolist() == [True, False, True]
    assert mask(table, "f >= 1 or is_missing(f)").tolist() == [True, True, True]
    assert mask(table, "is_missing(s)").tolist() == [False, True, False]
    assert mask(table, "length(s) > 0").tolist() == [True, False, True]


def test_backticks_categories_and_confidence():
    table = pd.DataFrame(
        {
            "my col": [1, 2, 3],
            "kind": pd.Categorical(["u", "v", "u"]),
            "score_0": [0.9, 0.2, 0.5],
            "score_1": [0.1, 0.8, 0.5],
        }
    )
    assert mask(table, "`my col` >= 2 and kind == 'u'").tolist() == [False, False, True]
    assert mask(table, "confidence > 0.6").tolist() == [True, True, False]
    assert mask(table, "confidence() > 0.6").tolist() == [True, True, False]


def test_rewrite_functions_as_expressions():
    table = pd.DataFrame({"text": ["It was very very good", "Alice met bob.", "not bad", None]})
    assert evaluate(table, 'remove_token(text, "very")').tolist() == ["It was good", "Alice met bob.", "not bad", None]
    assert evaluate(table, 'replace(text, "NOT", "hardly")')[2] == "hardly bad"
    assert evaluate(table, "swap_names(text)")[1] == "Bob met alice."
    assert evaluate(table, 'swap(text, "good", "bad")')[:3].tolist() == [
        "It was very very bad",
        "Alice met bob.",
        "not good",
    ]
    assert evaluate(pd.DataFrame({"text": ["It wasn't good"]}), 'remove_token(text, "n\'t")').tolist() == [
        "It was good"
    ]
    with pytest.raises(QueryError, match="text"):
        evaluate(table, "length(text)", kind="text")


def test_functions_need_fixed_patterns_and_the_right_arity():
    with pytest.raises(QueryError, match="fixed value"):
        mask(TABLE, "has_token(s, s)")
    with pytest.raises(QueryError, match=re.escape("2 argument(s)")):
        mask(TABLE, "has_token(s)")
    with pytest.raises(QueryError, match="unknown function 'has_tokn'") as info:
        mask(TABLE, "has_tokn(s, 'x')")
    assert "Did you mean has_token()?" in str(info.value)
    with pytest.raises(QueryError, match="a token"):
        mask(TABLE, "has_token(s, '  ')")
