"""The Evaluate page: every view draws, views are linked by the filter, live models re-run edits."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import torch

from deepscope.app.pages import evaluate as page_module
from deepscope.app.pages._evaluate import data
from deepscope.app.plugin import AppContext, LazyModels
from deepscope.evaluate.predictions import predictions
from deepscope.evaluate.side_by_side import from_tables
from deepscope.model import Model
from deepscope.track import Run, open_logdir
from tests.conftest import eventually
from tests.evaluate.test_side_by_side import Tokenizer

TEXTS = [
    "a good film",
    "a bad film",
    "not a good film",
    "not a bad film",
    "good good plot",
    "bad plot",
    "the plot was not good",
    "the film was good",
    "not bad",
    "good",
    "the film was bad",
    "not good at all",
] * 3
TEXT_LABELS = [1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0] * 3
WORDS = ["a", "good", "film", "bad", "not", "plot", "the", "was", "at", "all"]


class Lexicon(torch.nn.Module):
    """A 1-D bag of embeddings: the positive logit is the sum of the words' scores."""

    def __init__(self, scores: dict[str, float]):
        super().__init__()
        self.embed = torch.nn.Embedding(len(WORDS) + 2, 1)
        with torch.no_grad():
            self.embed.weight.zero_()
            for word, score in scores.items():
                self.embed.weight[WORDS.index(word) + 2, 0] = score

    def get_input_embeddings(self):
        return self.embed

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None):
        e = self.embed(input_ids) if inputs_embeds is None else inputs_embeds
        if attention_mask is not None:
            e = e * attention_mask[..., None].to(e.dtype)
        total = e.sum(dim=(1, 2))
        return torch.stack([-total, total], dim=1)


def text_models() -> dict[str, Model]:
    # "plain" ignores negation; "negates" lets "not" outweigh one sentiment word
    plain = Lexicon({"good": 1.0, "bad": -1.0})
    negates = Lexicon({"good": 1.0, "bad": -1.0, "not": -1.5})
    return {name: Model(net, Tokenizer(WORDS), name=name) for name, net in (("plain", plain), ("negates", negates))}


def tabular_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x1": rng.normal(size=n).round(3),
            "x2": rng.normal(size=n).round(3),
            "group": rng.choice(["A", "B"], size=n, p=[0.6, 0.4]),
        }
    )
    frame["label"] = (frame["x1"] + 0.5 * frame["x2"] + rng.normal(scale=0.7, size=n) > 0).astype(int)
    return frame


def tabular_model(shift: float = 0.0):
    """A callable on the DataFrame of inputs (it encodes the category itself)."""

    def predict(frame: pd.DataFrame) -> np.ndarray:
        logit = 2.0 * frame["x1"].to_numpy() + frame["x2"].to_numpy() + shift * (frame["group"] == "B").to_numpy()
        p = 1.0 / (1.0 + np.exp(-logit))
        return np.column_stack([1.0 - p, p])

    return predict


@pytest.fixture
def text_logdir(tmp_path):
    logdir = tmp_path / "logs"
    models = text_models()
    frame = pd.DataFrame({"text": TEXTS, "label": TEXT_LABELS})
    frame["kind"] = np.where(frame["text"].str.contains("not"), "negated", "plain")
    for name, model in models.items():
        with Run(logdir, name=name) as run:
            table = predictions(model, frame, label="label", features=["text"])
            table.insert(1, "kind", frame["kind"])
            run.log_table("predictions", table)
    return logdir, models


@pytest.fixture
def tabular_logdir(tmp_path):
    logdir = tmp_path / "logs"
    frame = tabular_frame()
    with Run(logdir, name="tab") as run:
        predictions(
            tabular_model(), frame, label="label", features=["x1", "x2", "group"], encode=lambda part: part, run=run
        )
    return logdir, {"tab": tabular_model(), "tab_shifted": tabular_model(shift=-2.0)}


# -- without a browser ---------------------------------------------------------------------------


def test_page_is_active_with_a_predictions_table_or_live_models(tmp_path, text_logdir):
    logdir, models = text_logdir
    assert page_module.is_active(AppContext(logdir, open_logdir(logdir)))
    empty = tmp_path / "empty"
    with Run(empty, name="r") as run:
        run.log({"loss": 1.0})
        run.log_table("other", pd.DataFrame({"a": [1]}))
    assert not page_module.is_active(AppContext(empty, open_logdir(empty)))
    assert page_module.is_active(AppContext(empty, open_logdir(empty), LazyModels(models)))


def test_a_source_knows_its_inputs_text_and_classes(text_logdir, tabular_logdir):
    logdir, _ = text_logdir
    ctx = AppContext(logdir, open_logdir(logdir))
    source = data.load(ctx, data.table_key("plain", "predictions"))
    assert source.inputs == ["text", "kind"] and source.text == "text"
    assert source.classes == [0, 1] and source.binary
    tab_dir, models = tabular_logdir
    tab = data.load(AppContext(tab_dir, open_logdir(tab_dir)), data.table_key("tab", "predictions"))
    assert tab.text is None and tab.categorical == ["group"] and tab.numeric == ["x1", "x2"]
    # a live callable gets the DataFrame; its predictions match the logged ones
    fresh = data.run_model(Model(models["tab"]), tab, tab.table.head(20))
    assert fresh["prediction"].tolist() == tab.table["prediction"].head(20).tolist()
    # a text model cannot run on a table without text, and says why
    assert "text model" in data.model_problem(text_models()["plain"], tab)


def test_a_registered_dataset_with_a_live_model_is_a_source(tmp_path):
    frame = tabular_frame(60)
    ctx = AppContext(None, None, LazyModels({"tab": tabular_model()}), {"loans": frame})
    (option,) = data.source_options(ctx)
    assert option["label"] == "loans · tab (live)"
    source = data.load(ctx, option["value"])
    expected = (2.0 * frame["x1"] + frame["x2"] > 0).astype(int)
    assert source.table["prediction"].tolist() == expected.tolist()
    assert source.has_label and source.categorical == ["group"]


@pytest.mark.parametrize("kind", ["text", "tabular", "regression"])
def test_every_view_lays_out_for_every_kind_of_table(kind, text_logdir, tabular_logdir, tmp_path):
    if kind == "regression":
        logdir = tmp_path / "regression"
        frame = tabular_frame(50).assign(label=lambda f: f["x1"] * 2.0)
        with Run(logdir, name="reg") as run:
            predictions(
                lambda f: 2.0 * f["x1"].to_numpy(),
                frame,
                label="label",
                task="regression",
                encode=lambda part: part,
                run=run,
            )
        models = {}
    else:
        logdir, models = text_logdir if kind == "text" else tabular_logdir
    ctx = AppContext(logdir, open_logdir(logdir), LazyModels(models))
    key = data.source_options(ctx)[0]["value"]
    source = data.load(ctx, key)
    for _, module in page_module.VIEWS.values():
        assert module.layout(ctx, source, {"filter": None}) is not None
    assert page_module.layout(ctx) is not None


# -- in the browser ------------------------------------------------------------------------------


def _graph_drew(page, graph_id: str, timeout: float = 20_000) -> None:
    """Wait until the dcc.Graph ``graph_id`` holds a drawn figure with at least one trace."""
    page.wait_for_function(
        """(id) => {
            const gd = document.querySelector('#' + id + ' .js-plotly-plot');
            return gd && gd.querySelector('.main-svg') && Array.isArray(gd._fullData) && gd._fullData.length > 0;
        }""",
        arg=graph_id,
        timeout=timeout,
    )


def _open(browser_page, url: str) -> None:
    browser_page.goto(url + "evaluate")
    _graph_drew(browser_page, "evaluate-slices-figure")


def _column(page, table_id: str, name: str) -> list[str]:
    """The texts of one column of a DataTable (by its header), in row order."""
    return page.evaluate(
        """([id, name]) => {
            const table = document.getElementById(id);
            const heads = [...table.querySelectorAll('th')].map(th => th.innerText.trim());
            const col = heads.indexOf(name);
            return [...table.querySelectorAll('tr')].slice(1)
                .map(tr => tr.querySelectorAll('td')[col]).filter(td => td).map(td => td.innerText.trim());
        }""",
        [table_id, name],
    )


@pytest.mark.browser
def test_each_view_draws(browser_page, live_server, plots_drew, tabular_logdir, dialogs):
    logdir, models = tabular_logdir
    _open(browser_page, live_server(logdir, models=models))
    views = {
        "fairness": ["evaluate-fairness-figure"],
        "compare": ["evaluate-compare-figure"],
        "errors": ["evaluate-errors-groups-figure"],
        "whatif": ["evaluate-whatif-counterfactual", "evaluate-whatif-pdp"],
        "slices": ["evaluate-slices-figure"],
    }
    for view, graphs in views.items():
        browser_page.click(f"#evaluate-tab-{view}")
        for graph in graphs:
            _graph_drew(browser_page, graph)
        assert plots_drew(browser_page, count=len(graphs)) >= len(graphs)
    eventually(lambda: browser_page.locator("#app-error").is_hidden())
    assert not dialogs.messages


@pytest.mark.browser
def test_picking_a_slice_filters_the_example_table(browser_page, live_server, tabular_logdir):
    logdir, models = tabular_logdir
    frame = open_logdir(logdir).table("tab", "predictions")
    _open(browser_page, live_server(logdir, models=models))
    browser_page.locator("#evaluate-slices-table td", has_text="group=B").click()
    browser_page.wait_for_selector("#evaluate-filter-text")
    eventually(lambda: browser_page.inner_text("#evaluate-filter-text"), "group == 'B'")
    n = int((frame["group"] == "B").sum())
    browser_page.wait_for_function(
        "(n) => document.getElementById('evaluate-examples-note').innerText.startsWith(n + ' examples match')", arg=n
    )
    assert set(_column(browser_page, "evaluate-examples", "group")) == {"B"}
    # the filter holds in the other views too: Compare lists only group B
    browser_page.click("#evaluate-tab-compare")
    _graph_drew(browser_page, "evaluate-compare-figure")
    shown = set(_column(browser_page, "evaluate-compare-table", "#"))
    assert shown and shown <= {str(i) for i in frame.index[frame["group"] == "B"]}
    # clearing the filter brings every example back
    browser_page.click("#evaluate-filter-clear")
    browser_page.wait_for_function(
        "(n) => document.getElementById('evaluate-examples-note').innerText.startsWith(n + ' examples.')",
        arg=len(frame),
    )


@pytest.mark.browser
def test_editing_an_example_reruns_the_model(browser_page, live_server, text_logdir):
    logdir, models = text_logdir
    _open(browser_page, live_server(logdir, models=models))
    browser_page.locator("#evaluate-examples td", has_text="a bad film").first.click()
    browser_page.click("#evaluate-tab-whatif")
    browser_page.wait_for_function("() => document.getElementById('evaluate-whatif-text')?.value === 'a bad film'")
    browser_page.fill("#evaluate-whatif-text", "a good film")
    browser_page.click("#evaluate-whatif-run")
    browser_page.wait_for_selector("#evaluate-whatif-prediction")
    expected = int(models["plain"].predict(["a good film"]).argmax())
    eventually(lambda: browser_page.inner_text("#evaluate-whatif-prediction"), f"plain predicts {expected}")
    assert expected == 1  # the logged prediction for "a bad film" was 0: the edit flipped it
    eventually(lambda: "changed" in browser_page.inner_text("#evaluate-whatif-result"))
    # a second edit is kept in the history after the first
    browser_page.fill("#evaluate-whatif-text", "a bad bad film")
    browser_page.click("#evaluate-whatif-run")
    browser_page.wait_for_function("() => document.querySelectorAll('#evaluate-whatif-history tr').length === 4")
    assert _column(browser_page, "evaluate-whatif-history", "edit") == ["logged", "1", "2"]
    assert _column(browser_page, "evaluate-whatif-history", "prediction") == ["0", "1", "0"]


@pytest.mark.browser
def test_a_query_with_a_typo_shows_the_pointed_error_and_the_page_keeps_working(
    browser_page, live_server, text_logdir, dialogs
):
    logdir, models = text_logdir
    _open(browser_page, live_server(logdir, models=models))
    browser_page.click("#evaluate-tab-errors")
    typo = 'prediction != label and lenght(text) > 2 and text != "<b>x</b>"'
    browser_page.fill("#evaluate-errors-query", typo)
    browser_page.click("#evaluate-errors-apply")
    error = browser_page.wait_for_selector("#evaluate-errors-query-error")
    message = eventually(lambda: error.inner_text())
    assert "unknown function 'lenght'" in message
    lines = message.splitlines()
    query_line = next(i for i, line in enumerate(lines) if line.strip() == typo)
    caret = lines[query_line + 1]
    assert caret.strip() == "^"
    assert caret.index("^") - lines[query_line].index(typo) == typo.index("lenght")
    assert error.evaluate("e => getComputedStyle(e).fontFamily").lower().count("mono") >= 1
    assert error.query_selector("b") is None  # shown as text, not as markup
    eventually(lambda: not browser_page.locator("#evaluate-filter-text").count())  # no filter was set
    # the page still works: the corrected query filters the examples
    browser_page.fill("#evaluate-errors-query", "prediction != label and length(text) > 2")
    browser_page.press("#evaluate-errors-query", "Enter")
    browser_page.wait_for_selector("#evaluate-filter-text")
    table = open_logdir(logdir).table("plain", "predictions")
    wrong = table[(table["prediction"] != table["label"]) & (table["text"].str.split().str.len() > 2)]
    browser_page.wait_for_function(
        "(n) => document.getElementById('evaluate-examples-note').innerText.startsWith(n + ' examples match')",
        arg=len(wrong),
    )
    eventually(lambda: browser_page.locator("#app-error").is_hidden())
    assert not dialogs.messages


@pytest.mark.browser
def test_side_by_side_table_lists_disagreements_first(browser_page, live_server, text_logdir):
    logdir, models = text_logdir
    reader = open_logdir(logdir)
    expected = from_tables(
        {"plain": reader.table("plain", "predictions"), "negates": reader.table("negates", "predictions")}
    ).to_frame()
    n_disagree = int((~expected["agree"]).sum())
    assert 0 < n_disagree < 10  # the table's first page holds all of them and some agreements
    _open(browser_page, live_server(logdir, models=models))
    browser_page.click("#evaluate-tab-compare")
    _graph_drew(browser_page, "evaluate-compare-figure")
    agree = _column(browser_page, "evaluate-compare-table", "all agree")
    assert agree == ["no"] * n_disagree + ["yes"] * (10 - n_disagree)
    assert _column(browser_page, "evaluate-compare-table", "#") == [str(i) for i in expected.index[:10]]
    shown = _column(browser_page, "evaluate-compare-table", "text")
    assert all("not" in text for text in shown[:n_disagree])  # negation is where the models part


@pytest.mark.browser
def test_generators_and_salience_run_every_live_model(browser_page, live_server, text_logdir):
    logdir, models = text_logdir
    _open(browser_page, live_server(logdir, models=models))
    browser_page.click("#evaluate-tab-compare")
    _graph_drew(browser_page, "evaluate-compare-figure")
    browser_page.locator("#evaluate-compare-table td", has_text="not a good film").first.click()
    _graph_drew(browser_page, "evaluate-compare-salience")
    browser_page.click("#evaluate-compare-generator")
    browser_page.get_by_text("Token ablation").click()
    browser_page.click("#evaluate-compare-generate")
    _graph_drew(browser_page, "evaluate-compare-generated-figure")
    changes = _column(browser_page, "evaluate-compare-generated-table", "change")
    # the variants that split the models first, then those that flipped one, in their own order
    assert changes == ["removed 'a'", "removed 'film'", "removed 'not'", "removed 'good'"]
    # "not a good film": plain says 1, negates says 0; without "not" both say 1
    plain = _column(browser_page, "evaluate-compare-generated-table", "plain")
    negates = _column(browser_page, "evaluate-compare-generated-table", "negates")
    without_not = changes.index("removed 'not'")
    assert plain[without_not] == "1" and negates[without_not] == "0 → 1"
    assert all(re.fullmatch(r"[01]( → [01])?", cell) for cell in plain + negates)
