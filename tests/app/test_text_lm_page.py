"""The Text page's language-model tabs: Lens, Generate, Factors and Co-clusters, each drawn from a
live model and used through one of its controls, and a logged result shown as a source."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deepscope import text, zoo
from deepscope.app.pages._text import discover_tabs, lm_sources
from deepscope.app.pages._text import lm as lm_tabs
from deepscope.app.plugin import AppContext, LazyModels
from deepscope.datasets import reviews
from deepscope.track import Run, open_logdir
from tests.conftest import click_until, eventually

SHOTS = os.environ.get("DEEPSCOPE_SCREENSHOTS")


@pytest.fixture(scope="module")
def lm_logdir(tmp_path_factory) -> Path:
    """A run with a tuned lens of reviews_lm and one logged generation."""
    logdir = tmp_path_factory.mktemp("text-lm") / "logs"
    lm = zoo.get("reviews_lm")
    texts = list(reviews(120, seed=5).texts)
    with Run(logdir, name="lm-inside") as run:
        text.fit_tuned_lens(lm, texts, steps=30, progress=False).save(run)
        text.generate(lm, "what a", max_new_tokens=5, attribution="saliency").save(run, "text/generation/what-a")
    return logdir


@pytest.fixture(scope="module")
def models() -> dict:
    return {"reviews_lm": zoo.get("reviews_lm"), "reviews_gru": zoo.get("reviews_gru")}


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"text-lm-{name}.png"), full_page=True)


def _open_tab(page, url: str, label: str, plots_drew, count: int) -> None:
    page.goto(url + "text")
    page.locator("#text-tabs").get_by_text(label, exact=True).click(timeout=60_000)
    plots_drew(page, count=count, timeout=60_000)


def _title(page, graph_id: str) -> str:
    return page.evaluate(
        "(id) => { const gd = document.querySelector(`#${id} .js-plotly-plot`);"
        " return gd && gd.layout.title ? (gd.layout.title.text || '') : ''; }",
        graph_id,
    )


def _wait_title(page, graph_id: str, piece: str) -> None:
    page.wait_for_function(
        "([id, piece]) => { const gd = document.querySelector(`#${id} .js-plotly-plot`);"
        " return gd && gd.layout.title && (gd.layout.title.text || '').includes(piece); }",
        arg=[graph_id, piece],
        timeout=60_000,
    )


def test_tabs_are_active_with_live_models_or_logged_results(lm_logdir, models) -> None:
    live = AppContext(None, None, models=LazyModels({"reviews_gru": models["reviews_gru"]}))
    assert set(lm_tabs.TABS) <= set(discover_tabs())
    active = {tab.value for tab in lm_tabs.TABS if tab.is_active(live)}
    assert {"coclusters"} <= active and not {"lens", "generate", "factors"} & active
    logged = AppContext(logdir_path=lm_logdir, logdir=open_logdir(lm_logdir))
    assert lm_tabs.GENERATE_TAB.is_active(logged) and not lm_tabs.FACTORS_TAB.is_active(logged)


@pytest.mark.browser
def test_lens_tab_draws_and_switches_to_the_tuned_lens(
    browser_page, live_server, plots_drew, lm_logdir, models
) -> None:
    url = live_server(lm_logdir, models=models)
    _open_tab(browser_page, url, "Lens", plots_drew, 3)
    _wait_title(browser_page, "text-lens-grid", "Logit lens")
    ticks = browser_page.evaluate(
        "() => document.querySelector('#text-lens-grid .js-plotly-plot').layout.xaxis.ticktext"
    )
    assert ticks == ["[CLS]", "the", "movie", "was"]
    browser_page.fill("#text-lens-text", "the acting was not")
    browser_page.press("#text-lens-text", "Enter")
    browser_page.wait_for_function(
        "() => document.querySelector('#text-lens-grid .js-plotly-plot').layout.xaxis.ticktext.includes('acting')",
        timeout=60_000,
    )
    browser_page.click("#text-lens-kind input[value=tuned]")
    _wait_title(browser_page, "text-lens-grid", "Tuned lens")
    eventually(lambda: "learned translator" in browser_page.inner_text("#text-lens-note"))
    _shot(browser_page, "lens")


@pytest.mark.browser
def test_lens_tab_fits_a_tuned_lens_for_a_live_model_without_one(
    browser_page, live_server, plots_drew, models, tmp_path
) -> None:
    lm = zoo.get("reviews_lm")  # a fresh object: the quick fit is kept per model object
    (tmp_path / "empty").mkdir()
    url = live_server(tmp_path / "empty", models={"reviews_lm": lm})
    _open_tab(browser_page, url, "Lens", plots_drew, 3)
    _wait_title(browser_page, "text-lens-grid", "Logit lens")
    browser_page.click("#text-lens-kind input[value=tuned]")
    # the logit lens stays while the fit runs in the background; the page then redraws with it
    eventually(
        lambda: "fitting one now" in (note := browser_page.inner_text("#text-lens-note")) or "fitted now" in note
    )
    _wait_title(browser_page, "text-lens-grid", "Tuned lens")
    note = browser_page.inner_text("#text-lens-note")
    assert f"fitted now for this model ({lm_sources.QUICK_TUNED_STEPS} steps" in note
    assert "ds.text.fit_tuned_lens" in note
    fitted, why = lm_sources.quick_tuned_lens(AppContext(None, None, LazyModels({"reviews_lm": lm})), "reviews_lm")
    assert why == "" and fitted is not None and fitted.steps == lm_sources.QUICK_TUNED_STEPS
    assert fitted.kl_after.mean() < fitted.kl_before.mean()  # the quick fit did learn
    _shot(browser_page, "lens-fitted")


@pytest.mark.browser
def test_generate_tab_method_and_token_picker(browser_page, live_server, plots_drew, lm_logdir, models) -> None:
    url = live_server(lm_logdir, models=models)
    _open_tab(browser_page, url, "Generate", plots_drew, 1)
    _wait_title(browser_page, "text-generate-graph", "integrated gradients")
    eventually(lambda: "completeness gap" in browser_page.inner_text("#text-generate-note"))
    browser_page.click("#text-generate-method input[value=saliency]")
    _wait_title(browser_page, "text-generate-graph", "saliency")
    browser_page.focus("#text-generate-step [role=slider]")
    browser_page.keyboard.press("Home")
    _wait_title(browser_page, "text-generate-graph", "(generated token 1 of")
    # clicking the second generated token selects it (the prompt is 4 tokens: [CLS] the movie was)
    x, y = browser_page.evaluate(
        """(col) => { const gd = document.querySelector('#text-generate-graph .js-plotly-plot');
        const box = gd.getBoundingClientRect(), size = gd._fullLayout._size;
        return [box.left + size.l + gd._fullLayout.xaxis.l2p(col),
                box.top + size.t + gd._fullLayout.yaxis.l2p(0)]; }""",
        5,
    )
    click_until(browser_page, x, y, lambda: "(generated token 2 of" in _title(browser_page, "text-generate-graph"))
    _shot(browser_page, "generate")
    # a logged generation as the source: its method is fixed, the prompt box disabled
    browser_page.click("#text-generate-source")
    browser_page.get_by_text("lm-inside / text/generation/what-a").click()
    _wait_title(browser_page, "text-generate-graph", "saliency")
    browser_page.wait_for_function("() => document.querySelector('#text-generate-prompt').disabled", timeout=30_000)


@pytest.mark.browser
def test_factors_tab_picks_one_factor(browser_page, live_server, plots_drew, lm_logdir, models) -> None:
    url = live_server(lm_logdir, models=models)
    _open_tab(browser_page, url, "Factors", plots_drew, 1)
    _wait_title(browser_page, "text-factors-graph", "strongest neuron factor")
    eventually(lambda: "reconstruction error" in browser_page.inner_text("#text-factors-note"))
    browser_page.click("#text-factors-factor")
    browser_page.get_by_text("factor 2 alone").click()
    _wait_title(browser_page, "text-factors-graph", "Factor 2 alone")
    _shot(browser_page, "factors")


@pytest.mark.browser
def test_cocluster_tab_picks_a_cluster(browser_page, live_server, plots_drew, lm_logdir, models) -> None:
    url = live_server(lm_logdir, models=models)
    _open_tab(browser_page, url, "Co-clusters", plots_drew, 3)
    _wait_title(browser_page, "text-coclusters-words", "Cluster 0")
    eventually(lambda: browser_page.inner_text("#text-coclusters-cluster").strip(), "cluster 0")
    eventually(lambda: "reviews_gru (live)" in browser_page.inner_text("#text-coclusters-source"))
    browser_page.click("#text-coclusters-cluster")
    browser_page.get_by_text("cluster 3", exact=True).click()
    _wait_title(browser_page, "text-coclusters-words", "Cluster 3")
    _wait_title(browser_page, "text-coclusters-examples", "Cluster 3")
    _shot(browser_page, "coclusters")
