"""The Explain page: maps side by side with their scores, overlay modes, a step slider, live models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import deepscope as ds
from deepscope.app.pages import explain as explain_page
from deepscope.app.pages._explain.panels import fmt
from deepscope.app.plugin import AppContext, LazyModels
from deepscope.explain import Attribution
from deepscope.explain.callback import ExplainCallback, map_tag, outputs_tag, scores_tag
from deepscope.track import open_logdir
from deepscope.viz.attribution_map import map_figure, token_colours
from tests.conftest import eventually

METHODS = ("saliency", "grad_cam")
EPOCHS = 3
CLASSES = ["horizontal", "vertical"]


class TinyCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flat(self.pool(self.relu2(self.conv2(self.relu1(self.conv1(x)))))))


def bars(n: int, seed: int, size: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images of a horizontal (class 0) or vertical (class 1) bar on noise, and the bar's mask."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 0.3, (n, 1, size, size)).astype(np.float32)
    y = rng.integers(0, 2, n)
    masks = np.zeros((n, size, size), bool)
    for i in range(n):
        at, start = rng.integers(1, size - 1), rng.integers(0, size // 2)
        where = (at, slice(start, start + size // 2)) if y[i] == 0 else (slice(start, start + size // 2), at)
        masks[i][where] = True
    x[:, 0][masks] = 1.0
    return x, y, masks


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run "bars" with saliency and Grad-CAM of 6 probes logged over 3 epochs, and the model."""
    logdir = tmp_path_factory.mktemp("explain-page") / "logs"
    torch.manual_seed(0)
    net = TinyCNN()
    x, y, _ = bars(128, seed=0)
    probes, labels, masks = bars(6, seed=1)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    with ds.Run(logdir, name="bars") as run:
        callback = ExplainCallback(run, probes, methods=METHODS, labels=labels, masks=masks, class_names=CLASSES)
        for epoch in range(1, EPOCHS + 1):
            for start in range(0, len(x), 16):
                optimizer.zero_grad()
                batch = torch.from_numpy(x[start : start + 16])
                nn.functional.cross_entropy(net(batch), torch.from_numpy(y[start : start + 16])).backward()
                optimizer.step()
            callback(epoch, net.eval())
            net.train()
        net.eval()
        callback.log_scores(net, perturbations=2)
    model = ds.Model(net, labels=CLASSES, name="bars")
    return logdir, model, (probes, labels, masks)


def _heatmap(page, method: str) -> dict:
    """The drawn map of ``method``: its values and colour range, and the traces of its figure."""
    return page.evaluate(
        """(method) => {
            const gd = document.querySelector(`#explain-map-${method} .js-plotly-plot`);
            const full = gd._fullData;
            const h = full.find(t => t.type === 'heatmap');
            const given = gd.data.find(t => t.type === 'heatmap');
            return {z: Array.from(h.z, row => Array.from(row)), zmin: h.zmin, zmax: h.zmax,
                    zmid: given.zmid ?? null,
                    types: full.map(t => t.type)};
        }""",
        method,
    )


def _wait_changed(page, method: str, before: list) -> dict:
    page.wait_for_function(
        """([method, before]) => {
            const gd = document.querySelector(`#explain-map-${method} .js-plotly-plot`);
            const h = gd && gd._fullData && gd._fullData.find(t => t.type === 'heatmap');
            const z = h && Array.from(h.z, row => Array.from(row));
            return z && JSON.stringify(z) !== JSON.stringify(before);
        }""",
        arg=[method, before],
    )
    return _heatmap(page, method)


def _open(page, url: str, plots_drew, count: int = 2) -> None:
    page.goto(url + "explain")
    plots_drew(page, count=count, timeout=60_000)


@pytest.mark.browser
def test_maps_drew_with_scores_beside_each(browser_page, live_server, plots_drew, trained):
    logdir, _, _ = trained
    _open(browser_page, live_server(logdir), plots_drew)
    reader = open_logdir(logdir)
    panels = browser_page.locator(".explain-panel")
    eventually(lambda: panels.count(), len(METHODS))
    for method in METHODS:
        panel = browser_page.locator(f".explain-panel[data-method={method}]")
        # the last step's map, drawn on a diverging scale centred on zero with a symmetric range
        drawn = _heatmap(browser_page, method)
        logged = reader.result("bars", map_tag(method, EPOCHS))
        np.testing.assert_allclose(drawn["z"], logged.map()[0], rtol=1e-6, atol=1e-9)
        assert drawn["zmid"] == 0 and drawn["zmin"] == pytest.approx(-drawn["zmax"])
        assert drawn["zmax"] == pytest.approx(np.abs(logged.map()[0]).max())
        # its scores beside it, as logged for that example
        scores = reader.result("bars", scores_tag(method, EPOCHS)).example(0)
        text = eventually(lambda panel=panel: panel.locator(".explain-scores").inner_text())
        for name in (
            "Sanity check",
            "Deletion AUC",
            "Insertion AUC",
            "Infidelity",
            "Max-sensitivity",
            "Pointing game",
            "Energy in mask",
        ):
            assert name in text
        deletion = eventually(lambda panel=panel: panel.locator("[data-score=deletion_area]").inner_text())
        assert deletion == fmt(scores["deletion_area"])
        energy = eventually(lambda panel=panel: panel.locator("[data-score=energy_in_mask]").inner_text())
        assert energy == f"{100 * scores['energy_in_mask']:.0f}%"
        assert ("hit" if scores["pointing_game"] else "miss") in panel.locator(
            "[data-score=pointing_game]"
        ).inner_text()
        eventually(lambda panel=panel: f"logged at step {EPOCHS}" in panel.locator(".explain-source").inner_text())


@pytest.mark.browser
def test_overlay_mode_and_style_redraw(browser_page, live_server, plots_drew, trained):
    logdir, _, _ = trained
    _open(browser_page, live_server(logdir), plots_drew)
    signed = _heatmap(browser_page, "saliency")
    assert signed["types"][:2] == ["image", "heatmap"]  # blended over the input

    browser_page.click("#explain-mode input[value=absolute]")
    absolute = _wait_changed(browser_page, "saliency", signed["z"])
    np.testing.assert_allclose(absolute["z"], np.abs(signed["z"]))
    assert absolute["zmin"] == 0 and absolute["zmax"] == pytest.approx(np.abs(signed["z"]).max())

    browser_page.click("#explain-mode input[value=positive]")
    positive = _wait_changed(browser_page, "saliency", absolute["z"])
    np.testing.assert_allclose(positive["z"], np.clip(signed["z"], 0, None))

    browser_page.click("#explain-style input[value=heatmap]")
    browser_page.wait_for_function(
        """() => { const gd = document.querySelector('#explain-map-saliency .js-plotly-plot');
                   return gd && !gd._fullData.some(t => t.type === 'image'); }"""
    )


@pytest.mark.browser
def test_switching_methods_redraws(browser_page, live_server, plots_drew, trained):
    logdir, _, _ = trained
    _open(browser_page, live_server(logdir), plots_drew)
    browser_page.click("#explain-methods input[value=saliency]")  # untick
    browser_page.wait_for_function("() => document.querySelectorAll('.explain-panel').length === 1")
    eventually(lambda: browser_page.locator(".explain-panel").get_attribute("data-method"), "grad_cam")
    before = _heatmap(browser_page, "grad_cam")
    browser_page.click("#explain-methods input[value=saliency]")  # tick again
    browser_page.wait_for_function("() => document.querySelectorAll('.explain-panel').length === 2")
    plots_drew(browser_page, count=2)
    # side by side in the methods' order, the other map unchanged
    methods = eventually(lambda: [p.get_attribute("data-method") for p in browser_page.locator(".explain-panel").all()])
    assert methods == list(METHODS)
    assert _heatmap(browser_page, "grad_cam")["z"] == before["z"]


@pytest.mark.browser
def test_step_slider_changes_the_map(browser_page, live_server, plots_drew, trained):
    logdir, _, _ = trained
    _open(browser_page, live_server(logdir), plots_drew)
    reader = open_logdir(logdir)
    last = _heatmap(browser_page, "saliency")
    marks = eventually(lambda: browser_page.locator("#explain-step-field").inner_text())
    assert all(str(step) in marks for step in range(1, EPOCHS + 1))

    browser_page.focus("#explain-step [role=slider]")
    browser_page.keyboard.press("Home")
    first = _wait_changed(browser_page, "saliency", last["z"])
    np.testing.assert_allclose(first["z"], reader.result("bars", map_tag("saliency", 1)).map()[0], rtol=1e-6, atol=1e-9)
    source = eventually(
        lambda: browser_page.locator(".explain-panel[data-method=saliency] .explain-source").inner_text()
    )
    assert "logged at step 1" in source and f"scores logged at step {EPOCHS} only" in source
    # the gallery's predictions follow the step
    note = eventually(lambda: browser_page.locator("#explain-gallery-note").inner_text())
    assert "predictions at step 1" in note

    browser_page.keyboard.press("ArrowRight")
    second = _wait_changed(browser_page, "saliency", first["z"])
    np.testing.assert_allclose(
        second["z"], reader.result("bars", map_tag("saliency", 2)).map()[0], rtol=1e-6, atol=1e-9
    )


@pytest.mark.browser
def test_gallery_filters_and_picks_an_example(browser_page, live_server, plots_drew, trained):
    logdir, _, (probes, labels, _) = trained
    _open(browser_page, live_server(logdir), plots_drew)
    reader = open_logdir(logdir)
    eventually(lambda: browser_page.locator("button.explain-thumb").count(), len(probes))

    predicted = reader.result("bars", outputs_tag(EPOCHS)).predictions
    browser_page.click("#explain-filter-correct input[value=wrong]")
    wrong = int((predicted != labels).sum())
    browser_page.wait_for_function("(n) => document.querySelectorAll('button.explain-thumb').length === n", arg=wrong)
    browser_page.click("#explain-filter-correct input[value=all]")

    browser_page.click("#explain-filter-label")
    browser_page.locator(".dash-dropdown-options").get_by_role("option", name="vertical").click()
    vertical = [int(i) for i in np.flatnonzero(labels == 1)]
    browser_page.wait_for_function(
        "(n) => document.querySelectorAll('button.explain-thumb').length === n", arg=len(vertical)
    )

    before = _heatmap(browser_page, "saliency")
    pick = vertical[-1]
    browser_page.locator(f"button.explain-thumb[title^='example {pick}:']").click()
    after = _wait_changed(browser_page, "saliency", before["z"])
    np.testing.assert_allclose(
        after["z"], reader.result("bars", map_tag("saliency", EPOCHS)).map()[pick], rtol=1e-6, atol=1e-9
    )
    eventually(lambda: f"Example {pick}" in browser_page.locator("#explain-maps-note").inner_text())
    eventually(lambda: browser_page.locator("button.explain-thumb.selected").get_attribute("title"))
    assert browser_page.locator("button.explain-thumb.selected").get_attribute("title").startswith(f"example {pick}:")


@pytest.mark.browser
def test_live_model_computes_other_methods(browser_page, live_server, plots_drew, trained):
    logdir, model, (probes, labels, _) = trained
    _open(browser_page, live_server(logdir, models={"bars": model}), plots_drew)
    eventually(lambda: browser_page.locator("#explain-model").inner_text().strip().startswith("bars"))
    browser_page.click("#explain-methods input[value=gradient_x_input]")
    browser_page.wait_for_selector("#explain-map-gradient_x_input .main-svg", timeout=60_000)
    drawn = _heatmap(browser_page, "gradient_x_input")
    expected = ds.explain.gradient_x_input(model, probes[:1], target=[int(labels[0])])
    np.testing.assert_allclose(drawn["z"], expected.map()[0], rtol=1e-5, atol=1e-7)
    panel = browser_page.locator(".explain-panel[data-method=gradient_x_input]")
    eventually(lambda: "computed now with the live model" in panel.locator(".explain-source").inner_text())
    panel.locator("[data-score=sanity_spearman]").wait_for()
    eventually(lambda: "Pointing game" in panel.locator(".explain-scores").inner_text())
    # earlier steps were other weights: the live model does not stand in for them
    browser_page.focus("#explain-step [role=slider]")
    browser_page.keyboard.press("Home")
    browser_page.wait_for_function(
        """() => (document.querySelector('.explain-panel[data-method=gradient_x_input]') || {})
                 .innerText?.includes('Not logged at step 1')"""
    )


@pytest.mark.browser
def test_live_model_offers_deconvolution(browser_page, live_server, plots_drew, trained):
    logdir, model, (probes, labels, _) = trained
    _open(browser_page, live_server(logdir, models={"bars": model}), plots_drew)
    browser_page.click("#explain-methods input[value=deconvolution]")
    browser_page.wait_for_selector("#explain-map-deconvolution .main-svg", timeout=60_000)
    drawn = _heatmap(browser_page, "deconvolution")
    expected = ds.explain.deconvolution(model, probes[:1], target=[int(labels[0])])
    np.testing.assert_allclose(drawn["z"], expected.map()[0], rtol=1e-5, atol=1e-7)
    panel = browser_page.locator(".explain-panel[data-method=deconvolution]")
    panel.locator("[data-score=sanity_spearman]").wait_for(timeout=60_000)


def test_is_active_only_with_explanations_or_a_classifier(tmp_path, trained):
    logdir, model, _ = trained
    assert explain_page.is_active(AppContext(logdir, open_logdir(logdir)))
    with ds.Run(tmp_path / "plain", name="scalars") as run:
        run.log({"loss": 1.0})
    plain = open_logdir(tmp_path / "plain")
    assert not explain_page.is_active(AppContext(tmp_path / "plain", plain))
    assert explain_page.is_active(AppContext(None, None, LazyModels({"cnn": model})))
    tabular = nn.Sequential(nn.Linear(3, 2))
    assert not explain_page.is_active(AppContext(None, None, LazyModels({"mlp": tabular})))


def test_signed_maps_are_centred_on_zero_and_texts_coloured_by_sign():
    values = np.zeros((1, 1, 4, 4))
    values[0, 0, 0, 0], values[0, 0, 3, 3] = 2.0, -0.5
    maps = Attribution(
        values=values, method="saliency", target=np.array([0]), kind="image", inputs=np.zeros((1, 1, 4, 4))
    )
    mask = np.zeros((4, 4), bool)
    mask[:2, :2] = True
    fig = map_figure(maps, 0, mode="signed", style="blended", mask=mask)
    heat = next(t for t in fig.data if t.type == "heatmap")
    assert (heat.zmin, heat.zmid, heat.zmax) == (-2.0, 0.0, 2.0)
    peak = next(t for t in fig.data if t.type == "scatter")
    assert (peak.x[0], peak.y[0]) == (0, 0)  # the cross marks the pointing game's pixel
    assert any(t.type == "contour" for t in fig.data)
    text = Attribution(
        values=np.array([[0.5, -0.5, 0.0]]),
        method="saliency",
        kind="text",
        target=np.array([1]),
        tokens=[["good", "bad", "."]],
    )
    colours = token_colours(text, 0)
    assert (colours.low, colours.high) == (-0.5, 0.5)
    assert colours.backgrounds[2] == "rgb(247, 247, 247)"  # zero is the neutral middle
    assert colours.backgrounds[0] != colours.backgrounds[1]


@pytest.mark.browser
def test_live_model_offers_layer_neuron_and_perturbation_methods(browser_page, live_server, plots_drew, trained):
    from deepscope.app.pages._explain import live
    from deepscope.explain.layer import layer_map

    logdir, model, (probes, labels, _) = trained
    page = browser_page
    _open(page, live_server(logdir, models={"bars": model}), plots_drew)
    for method in ("feature_ablation", "shapley_exact", "layer_gradient_x_activation", "neuron_gradient"):
        page.locator(f"#explain-methods input[value={method}]").wait_for()
    assert page.locator("#explain-layer-field").is_hidden()  # no layer method ticked yet
    target = [int(labels[0])]

    page.click("#explain-methods input[value=layer_gradient_x_activation]")
    page.locator("#explain-layer-field").wait_for(state="visible")
    eventually(lambda: page.locator("#explain-layer").inner_text().strip().startswith("relu2"))
    page.wait_for_selector("#explain-map-layer_gradient_x_activation .main-svg", timeout=60_000)
    drawn = _heatmap(page, "layer_gradient_x_activation")
    expected = layer_map(ds.explain.layer_gradient_x_activation(model, probes[:1], target=target, layer="relu2"))
    np.testing.assert_allclose(drawn["z"], expected.map()[0], rtol=1e-5, atol=1e-7)
    panel = page.locator(".explain-panel[data-method=layer_gradient_x_activation]")
    panel.locator("[data-score=sanity_spearman]").wait_for(timeout=60_000)

    page.click("#explain-layer")  # another layer: the map follows
    page.locator(".dash-dropdown-options").get_by_role("option", name="conv1 · 4 × 10 × 10").click()
    drawn = _wait_changed(page, "layer_gradient_x_activation", drawn["z"])
    expected = layer_map(ds.explain.layer_gradient_x_activation(model, probes[:1], target=target, layer="conv1"))
    np.testing.assert_allclose(drawn["z"], expected.map()[0], rtol=1e-5, atol=1e-7)

    page.click("#explain-methods input[value=neuron_gradient]")
    neuron = page.locator("#explain-neuron")
    neuron.wait_for(state="visible")
    eventually(lambda: neuron.input_value(), "0, 5, 5")  # the middle of channel 0 of conv1
    page.wait_for_selector("#explain-map-neuron_gradient .main-svg", timeout=60_000)
    before = _heatmap(page, "neuron_gradient")["z"]
    neuron.fill("2, 3, 4")
    neuron.press("Enter")
    drawn = _wait_changed(page, "neuron_gradient", before)
    expected = ds.explain.neuron_gradient(model, probes[:1], layer="conv1", neuron=(2, 3, 4))
    np.testing.assert_allclose(drawn["z"], expected.map()[0], rtol=1e-5, atol=1e-7)
    page.locator(".explain-panel[data-method=neuron_gradient] [data-score=deletion_area]").wait_for(timeout=60_000)

    page.click("#explain-methods input[value=shapley_exact]")
    page.wait_for_selector("#explain-map-shapley_exact .main-svg", timeout=60_000)
    drawn = _heatmap(page, "shapley_exact")
    options = live.method_options("shapley_exact", probes.shape[1:])
    expected = ds.explain.shapley_exact(model, probes[:1], target=target, **options)
    np.testing.assert_allclose(drawn["z"], expected.map()[0], rtol=1e-5, atol=1e-7)
    assert len(np.unique(np.round(drawn["z"], 6))) <= 9  # one value per cell of the 3 x 3 grid
    page.locator(".explain-panel[data-method=shapley_exact] [data-score=sanity_spearman]").wait_for(timeout=90_000)
    page.screenshot(path="/tmp/explain_live_methods.png", full_page=True)
