"""The Text page's attention tabs in headless Chromium: head view (layer selector, token click),
model view (thumbnail click opens it in the head view), neuron view (query picked by a click),
head summary and rollout beside integrated gradients, from live and logged attentions."""

from __future__ import annotations

import numpy as np
import pytest

import deepscope as ds
from deepscope import zoo
from deepscope.app.pages._text import attention as attention_tabs
from deepscope.app.pages._text import discover_tabs
from deepscope.app.plugin import AppContext, LazyModels
from deepscope.track import open_logdir
from tests.conftest import click_until, eventually, hover_until

TEXT = "the movie was not good, but the acting was great."
LOGGED = "a truly great film"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A logdir with one logged attention, and the zoo transformer as a live model."""
    logdir = tmp_path_factory.mktemp("text-attention") / "logs"
    model = zoo.get("reviews_transformer")
    with ds.Run(logdir, "attn") as run:
        ds.text.attention(model, LOGGED).save(run, "text/attention/review")
    return logdir, model


def _title(page, graph: str) -> str:
    return page.locator(f"#{graph} .gtitle").text_content()


def _wait_title(page, graph: str, needle: str, timeout: float = 30_000) -> str:
    page.wait_for_function(
        """([graph, needle]) => {
            const title = document.querySelector(`#${graph} .gtitle`);
            return title && title.textContent.includes(needle);
        }""",
        arg=[graph, needle],
        timeout=timeout,
    )
    return _title(page, graph)


def _pick(page, dropdown: str, label: str) -> None:
    page.locator(f"#{dropdown}").click()
    option = page.locator(".dash-dropdown-options").get_by_role("option", name=label, exact=True)
    option.wait_for()
    option.click()


def _open(page, url: str, plots_drew) -> None:
    page.goto(url + "text")
    plots_drew(page, count=2, timeout=60_000)
    _wait_title(page, "text-attention-head", "Head view")


def _figure(page, graph: str) -> dict:
    return page.evaluate(
        """(graph) => {
            const gd = document.querySelector(`#${graph} .js-plotly-plot`);
            return {traces: gd._fullData.map(t => ({name: t.name, type: t.type,
                    showlegend: t.showlegend, visible: t.visible,
                    n: t.x ? t.x.length : 0})), title: gd.layout.title.text};
        }""",
        graph,
    )


@pytest.mark.browser
def test_head_view_layer_selector_and_token_click(browser_page, live_server, plots_drew, served):
    logdir, model = served
    _open(browser_page, live_server(logdir, models={"reviews_transformer": model}), plots_drew)
    page = browser_page
    title = _title(page, "text-attention-head")
    assert "layer 1" in title and "top 8 keys per query" in title and "attention mass shown" in title
    legend = [t["name"] for t in _figure(page, "text-attention-head")["traces"] if t["showlegend"]]
    assert legend == ["head 0", "head 1"]
    _pick(page, "text-attention-layer", "layer 0")
    _wait_title(page, "text-attention-head", "layer 0")
    # click the query token "not" (position 3): only its links stay, with all of their mass
    point = page.locator("#text-attention-head .scatterlayer .trace").nth(-2).locator("path.point")
    point.nth(3).wait_for()
    box = point.nth(3).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    title = _wait_title(page, "text-attention-head", "query 3 'not'")
    assert "100% of the attention mass shown" in title
    drawn = page.evaluate(
        """() => {
            const gd = document.querySelector('#text-attention-head .js-plotly-plot');
            const lines = gd._fullData.filter(t => t.mode === 'lines' && !t.showlegend);
            // each line runs between the query column (x = 0) and the key column (x = 1)
            const ys = lines.flatMap(t => Array.from(t.y).filter((v, i) => t.x[i] === 0));
            return [...new Set(ys)];
        }"""
    )
    assert drawn == [3]
    # the click pinned it: the mouse leaving the token keeps it isolated (hovering would not)
    area = page.locator("#text-attention-head .main-svg").first.bounding_box()
    page.mouse.move(area["x"] + area["width"] / 2, area["y"] + 5)
    # a wrongly unpinned view would redraw within 1.5 s
    eventually(lambda: "query 3 'not'" in _title(page, "text-attention-head"), hold=1.5)
    assert "query 3 pinned" in page.locator("#text-attention-status").text_content()
    # a second click on the same token unpins it; once the mouse leaves, every query is back
    box = point.nth(3).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    eventually(lambda: "pinned" not in page.locator("#text-attention-status").text_content())
    hover_until(
        page, area["x"] + area["width"] / 2, area["y"] + 5, lambda: "query 3" not in _title(page, "text-attention-head")
    )


def _query_links(page) -> list[float]:
    """The query positions the head view's lines start from (vertical layout: x = 0)."""
    return page.evaluate(
        """() => {
            const gd = document.querySelector('#text-attention-head .js-plotly-plot');
            const lines = gd._fullData.filter(t => t.mode === 'lines' && !t.showlegend);
            const ys = lines.flatMap(t => Array.from(t.y).filter((v, i) => t.x[i] === 0));
            return [...new Set(ys)].sort((a, b) => a - b);
        }"""
    )


@pytest.mark.browser
def test_head_view_hover_isolates_a_token(browser_page, live_server, plots_drew, served):
    logdir, model = served
    _open(browser_page, live_server(logdir, models={"reviews_transformer": model}), plots_drew)
    page = browser_page
    assert len(_query_links(page)) > 5
    # plotly.js (the bulk of a first paint) is fetched once for both figures, and nothing twice
    scripts = page.evaluate("() => performance.getEntriesByType('resource').map(e => e.name)")
    assert len([s for s in scripts if "plotly" in s and ".min.js" in s]) == 1
    files = [s for s in scripts if "_dash-update-component" not in s and "_dash-layout" not in s]
    assert len(files) == len(set(files)), sorted(files)
    point = page.locator("#text-attention-head .scatterlayer .trace").nth(-2).locator("path.point")
    point.nth(4).wait_for()
    box = point.nth(4).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    hover_until(page, x, y, lambda: "query 4 'good'" in _title(page, "text-attention-head"))
    title = _title(page, "text-attention-head")
    assert "100% of the attention mass shown" in title
    assert eventually(lambda: _query_links(page), [4])
    # the mouse leaves the tokens: every query's links come back
    area = page.locator("#text-attention-head .main-svg").first.bounding_box()
    hover_until(
        page, area["x"] + area["width"] / 2, area["y"] + 5, lambda: "query 4" not in _title(page, "text-attention-head")
    )
    assert len(eventually(lambda: _query_links(page))) > 5


@pytest.mark.browser
def test_model_view_thumbnail_click_opens_head_view(browser_page, live_server, plots_drew, served):
    logdir, model = served
    _open(browser_page, live_server(logdir, models={"reviews_transformer": model}), plots_drew)
    page = browser_page
    _wait_title(page, "text-attention-model", "2 layers x 2 heads")
    # the mosaic is 2 x 2 thumbnails of 12 x 12 cells with 2-cell gaps: 26 cells per side
    area = page.locator("#text-attention-model .nsewdrag").first.bounding_box()
    cells = 26
    x = area["x"] + area["width"] * (19 + 0.5) / cells  # inside head 1's column
    y = area["y"] + area["height"] * (5 + 0.5) / cells  # inside layer 0's row
    click_until(page, x, y, lambda: "layer 0" in _title(page, "text-attention-head"))
    page.wait_for_function(
        """() => {
            const gd = document.querySelector('#text-attention-head .js-plotly-plot');
            const legend = gd._fullData.filter(t => t.showlegend).map(t => t.name);
            return legend.length === 1 && legend[0] === 'head 1';
        }""",
        timeout=30_000,
    )
    shapes = page.evaluate("() => document.querySelector('#text-attention-model .js-plotly-plot').layout.shapes")
    assert len(shapes) == 1  # the opened thumbnail is outlined


@pytest.mark.browser
def test_logged_attention_and_other_tabs(browser_page, live_server, plots_drew, served):
    logdir, model = served
    _open(browser_page, live_server(logdir, models={"reviews_transformer": model}), plots_drew)
    page = browser_page
    _pick(page, "text-attention-source", "attn: text/attention/review (logged)")
    _wait_title(page, "text-attention-head", "layer 1")
    page.wait_for_function("""() => document.querySelector('#text-attention-status').textContent.includes('logged')""")
    tokens = page.evaluate(
        """() => {
            const gd = document.querySelector('#text-attention-head .js-plotly-plot');
            return Array.from(gd._fullData.at(-1).text);
        }"""
    )
    assert tokens == ["a", "truly", "great", "film"]

    page.get_by_text("Neuron view", exact=True).click()
    plots_drew(page, count=1, timeout=60_000)
    title = _wait_title(page, "text-neuron-figure", "query 'the'")
    assert "layer 0 head 0" in title
    # click the row of key 4 ("good") in the k heatmap to make it the query
    x, y = page.evaluate(
        """() => {
            const gd = document.querySelector('#text-neuron-figure .js-plotly-plot');
            const trace = gd._fullData[1];
            const layout = gd._fullLayout;
            const xa = layout[trace.xaxis.replace('x', 'xaxis')];
            const ya = layout[trace.yaxis.replace('y', 'yaxis')];
            const box = gd.getBoundingClientRect();
            return [box.left + xa._offset + xa.c2p(3),
                    box.top + ya._offset + ya.c2p(ya.d2c(trace.y[4]))];
        }"""
    )
    click_until(page, x, y, lambda: "query 'good'" in _title(page, "text-neuron-figure"))
    weights = page.evaluate(
        """() => {
            const gd = document.querySelector('#text-neuron-figure .js-plotly-plot');
            return Array.from(gd._fullData.at(-1).x);
        }"""
    )
    expected = ds.text.attention(model, TEXT).weights[0, 0, 4]
    np.testing.assert_allclose(weights, expected, atol=1e-5)

    page.get_by_text("Head summary", exact=True).click()
    _wait_title(page, "text-summary-figure", "Head summary")
    page.get_by_text("Rollout vs IG", exact=True).click()
    title = _wait_title(page, "text-rollout-figure", "Token scores", timeout=60_000)
    labels = page.locator("#text-rollout-figure .ytick").all_text_contents()
    assert any("attention rollout (attention-based)" in label for label in labels)
    assert any("integrated gradients" in label for label in labels)
    assert any("deletion AUC" in label for label in labels)
    page.screenshot(path=str(logdir.parent / "rollout.png"), full_page=True)


def test_tabs_are_found_and_active_only_with_something_to_show(tmp_path, served):
    logdir, model = served
    values = [tab.value for tab in discover_tabs()]
    assert {"attention", "neuron", "summary", "rollout"} <= set(values)
    logged_only = AppContext(logdir, open_logdir(logdir))
    assert attention_tabs.ATTENTION.is_active(logged_only)
    assert not attention_tabs.NEURON.is_active(logged_only)  # needs a live model
    nothing = AppContext(None, None, LazyModels({"gru": zoo.get("reviews_gru")}))
    assert not any(tab.is_active(nothing) for tab in attention_tabs.TABS)


@pytest.fixture(scope="module")
def tiny_bart():
    """A tiny BART from a config (random weights) with MiniLM's WordPiece tokenizer."""
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    config = transformers.BartConfig(
        vocab_size=zoo.minilm().tokenizer.vocab_size,
        d_model=16,
        encoder_layers=2,
        decoder_layers=3,
        encoder_attention_heads=2,
        decoder_attention_heads=4,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        attn_implementation="eager",
    )
    return ds.Model(transformers.BartModel(config).eval(), tokenizer=zoo.minilm().tokenizer, name="bart-tiny")


@pytest.mark.browser
def test_encoder_decoder_maps_switch(browser_page, live_server, plots_drew, tiny_bart, tmp_path):
    page = browser_page
    page.goto(live_server(None, models={"bart-tiny": tiny_bart}) + "text")
    plots_drew(page, count=2, timeout=60_000)
    page.locator("#text-attention-text-b").fill("a bad film")
    page.locator("#text-attention-text-b").press("Enter")
    expected = eventually(
        lambda: ds.text.attention(tiny_bart, page.locator("#text-attention-text").input_value(), target="a bad film")
    )
    labels = eventually(
        lambda: page.locator("#text-attention-map label").all_text_contents(), ["encoder", "decoder", "cross"]
    )
    assert labels == ["encoder", "decoder", "cross"]
    title = _wait_title(page, "text-attention-head", "Head view, encoder layer 1")
    _wait_title(page, "text-attention-model", "2 layers x 2 heads")
    for which, layers, heads in (("decoder", 3, 4), ("cross", 3, 4), ("encoder", 2, 2)):
        page.locator("#text-attention-map label", has_text=which).click()
        title = _wait_title(page, "text-attention-head", f"Head view, {which} layer")
        model_title = _wait_title(page, "text-attention-model", f"{layers} layers x {heads} heads")
        weights, query_tokens, key_tokens, _, _ = expected.view(which)
        assert f"{len(query_tokens)} x {len(key_tokens)} tokens" in model_title
        legend = [t["name"] for t in _figure(page, "text-attention-head")["traces"] if t["showlegend"]]
        assert legend == [f"head {h}" for h in range(heads)]
        # the token columns show this map's queries and keys
        columns = page.evaluate(
            """() => {
                const gd = document.querySelector('#text-attention-head .js-plotly-plot');
                return gd._fullData.filter(t => t.meta === 'query' || t.meta === 'key')
                    .map(t => Array.from(t.text));
            }"""
        )
        assert columns == [query_tokens, key_tokens], (which, title)
        assert weights.shape[:2] == (layers, heads)
        if which == "cross":
            page.screenshot(path=str(tmp_path / "cross.png"), full_page=True)
