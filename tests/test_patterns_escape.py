"""One matcher for user patterns (RE2, bounded) and one escape for user strings (issue 16, 1, 7, 9)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from deepscope.app.pages._evaluate.whatif import filter_string
from deepscope.app.pages.runs import match_runs
from deepscope.errors import InvalidArgumentError
from deepscope.escape import escape
from deepscope.evaluate import slices
from deepscope.evaluate.query import QueryError, query
from deepscope.patterns import MAX_PATTERN_LENGTH, compile_filter, compile_pattern, match_names

CATASTROPHIC = r"([\w.-]+)+@"
DEMO_RUN = "loans_mlp-constant-feature-bug"


def test_catastrophic_patterns_finish_in_every_filter():
    """Under Python's re each of these backtracks for hours and holds the GIL (a thread cannot
    even time it out), so they run in a child process that must finish."""
    script = textwrap.dedent(f"""
        import pandas as pd
        from deepscope.app.pages.runs import match_runs
        from deepscope.app.pages._data.overview import _matching
        from deepscope.patterns import match_names
        from deepscope.evaluate.query import query
        name = {DEMO_RUN!r} * 2
        assert match_runs([[name]], {CATASTROPHIC!r}) == ([False], "")
        assert match_names([name], {CATASTROPHIC!r}).names == []
        assert _matching([name], {CATASTROPHIC!r}) == ([], "")
        table = pd.DataFrame({{"text": [name, "a@b"]}})
        assert query(table, 'matches(text, "([\\\\w.-]+)+@")').index.tolist() == [1]
        print("done")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "done", done.stderr


def test_backtracking_only_features_are_refused_or_taken_as_text():
    # RE2 has no back-references or look-arounds: the constructs catastrophic patterns need
    found = compile_filter(r"(a)\1")
    assert found.message.startswith("Not a valid regular expression")
    assert found.search(r"x(a)\1y") and not found.search("aa")
    with pytest.raises(InvalidArgumentError, match="RE2"):
        compile_pattern("(?=a)b")


def test_filters_keep_their_meaning():
    assert match_names(["train/loss", "val/loss", "VAL/acc"], "^val/").names == ["val/loss", "VAL/acc"]
    assert match_runs([["a", "lr=0.1"], ["b", "lr=0.3"]], r"lr=0\.1") == ([True, False], "")
    keep, message = match_runs([["lr=0.1("], ["x"]], "lr=0.1(")
    assert keep == [True, False] and message.startswith("Not a valid regular expression")
    assert match_names(["a", "b"], None).names == ["a", "b"]


def test_pattern_size_is_bounded():
    with pytest.raises(InvalidArgumentError, match=f"at most {MAX_PATTERN_LENGTH}"):
        compile_pattern("a" * (MAX_PATTERN_LENGTH + 1))
    assert compile_filter("x" * 50_000).text == "x" * MAX_PATTERN_LENGTH
    huge_repeat = compile_filter("(a{1000}){1000}")  # beyond RE2's repeat and memory bounds
    assert huge_repeat.message and not huge_repeat.search("a" * 10)


@pytest.mark.parametrize(
    "text",
    [
        "value < " + "9" * 5000,
        'matches(text, "a{4294967296}")',
        'matches(text, "' + "(" * 3000 + "a" + ")" * 3000 + '")',
        'matches(text, "' + "(" * 300 + "a" + ")" * 300 + '")',
    ],
)
def test_query_edge_cases_are_typed(text):
    table = pd.DataFrame({"text": ["a", "b"], "value": [1, 2]})
    with contextlib.suppress(QueryError):  # typed: an InvalidArgumentError naming the query
        query(table, text)


def test_huge_number_in_a_query_compares_as_a_float():
    table = pd.DataFrame({"value": [1, 2]})
    assert query(table, "value < " + "9" * 5000).index.tolist() == [0, 1]
    assert query(table, "value > " + "9" * 5000).index.tolist() == []


def test_escape_neutralises_markup_quotes_and_plotly_templates():
    assert escape('<a href="x">%{y}</a>') == "&lt;a href=&#34;x&#34;&gt;&#37;{y}&lt;/a&gt;"
    assert escape("plain 50% {ok}") == "plain 50% {ok}"
    assert escape(3) == "3"


def test_evaluate_figures_show_markup_in_group_values_as_text():
    bold, link = "<b>bold</b>", '<a href="https://example.com">x</a>'
    table = pd.DataFrame(
        {
            "group": [bold, link, "%{y}"] * 20,
            "label": np.tile([0, 1], 30),
            "prediction": np.tile([0, 1, 1], 20),
        }
    )
    result = slices(table, by=["group"])
    figure = json.dumps(result.figure().to_plotly_json(), default=str)
    assert "<b>bold" not in figure and "<a href" not in figure and "%{y}" not in figure.replace("%{y}<br>", "")
    assert escape(bold) in figure and escape(link).replace('"', '\\"') in figure
    html = result._repr_html_()
    assert "<b>bold</b>" not in html and '<a href="https://example.com">' not in html


def test_whatif_filter_string_quotes_labels():
    assert filter_string('say "hi"') == '"say \\"hi\\""'
    assert filter_string("back\\slash") == '"back\\\\slash"'
    assert filter_string("plain") == '"plain"'


def test_data_figures_show_markup_in_names_and_categories_as_text():
    from deepscope.data import compare, profile
    from deepscope.viz.data import comparison_figure

    frame = pd.DataFrame({"<b>num</b>": np.arange(30.0), "c": ['<a href="x">k</a>', "%{y}", "z"] * 10})
    comparison = compare(profile(frame, name="<i>train</i>"))
    figure = comparison_figure(comparison).to_plotly_json()
    for trace in figure["data"]:
        trace.pop("legendgroup", None)  # an identifier, never shown
    figure = json.dumps(figure, default=str)
    for raw in ("<b>num</b>", "<a href", "<i>train</i>"):
        assert raw not in figure
    assert escape("<b>num</b>") in figure and escape("<i>train</i>") in figure


def test_hparams_figures_show_markup_and_templates_in_values_as_text():
    import deepscope as ds

    hostile = '<b>adam</b> "%{x}"'
    frame = pd.DataFrame({"optimizer": [hostile, "sgd", "sgd", hostile], "accuracy": [0.1, 0.5, 0.7, 0.9]})
    figure = json.dumps(ds.hparams.parallel_coordinates(frame).figure().to_plotly_json(), default=str)
    assert "<b>adam" not in figure and "%{x}" not in figure
    assert escape(hostile).replace('"', '\\"') in figure or escape(hostile) in figure


def test_numerics_heatmap_hover_shows_module_names_as_text():
    from deepscope.viz.numerics import health_heatmap

    module = "<b>enc</b>.%{z}"
    stats = pd.DataFrame(
        {"step": [0, 1], "module": [module, module], "min": [-1.0, -2.0], "max": [1.0, 2.0], "mean": [0.0, 0.0],
         "std": [1.0, 1.0], "nan": [0, 0], "pos_inf": [0, 0], "neg_inf": [0, 0], "zeros": [0, 0], "numel": [4, 4]}
    )  # fmt: skip
    figure = json.dumps(health_heatmap(stats).to_plotly_json(), default=str)
    assert "<b>enc" not in figure and ".%{z}" not in figure
