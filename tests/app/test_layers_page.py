"""The Layers page: feature-map columns of a live CNN, click a unit for its arithmetic, the
softmax, and logged feature visualizations and atlases with a class filter."""

from __future__ import annotations

import numpy as np
import pytest

import deepscope as ds
from deepscope.app.pages import layers as layers_page
from deepscope.app.plugin import AppContext, LazyModels
from deepscope.features import objectives as obj
from tests.conftest import click_until, eventually
from tests.features.conftest import tiny_cnn

CLASSES = ["a", "b", "c"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("layers-page") / "logs"
    net = tiny_cnn()
    rng = np.random.default_rng(0)
    images = rng.random((40, 3, 16, 16)).astype(np.float32)
    dataset = ds.datasets.ImageDataset(images, np.arange(40) % 3, None, CLASSES)
    with ds.Run(logdir, name="features") as run:
        ds.features.visualize(net, obj.channel("relu2", 4), steps=4, size=16, progress=False, dataset=dataset).save(run)
        ds.features.atlas(net, dataset, "relu2", n=200, grid=5, method="pca", steps=4, size=16, progress=False).save(
            run
        )
    model = ds.Model(net, labels=CLASSES, name="tiny")
    return logdir, model, dataset


def test_page_is_active_with_a_live_cnn_or_logged_results(setup, tmp_path):
    logdir, model, dataset = setup
    assert layers_page.is_active(AppContext(None, None, LazyModels({"tiny": model}), {"d": dataset}))
    assert layers_page.is_active(AppContext(logdir, ds.open_logdir(logdir)))
    assert not layers_page.is_active(AppContext(tmp_path, ds.open_logdir(tmp_path)))


@pytest.mark.browser
def test_click_a_unit_shows_its_arithmetic(setup, browser_page, live_server, plots_drew, tmp_path):
    logdir, model, dataset = setup
    url = live_server(logdir, models={"tiny": model}, datasets={"d": dataset})
    browser_page.goto(url + "layers")
    # layer columns (conv1, relu1, pool1, conv2, relu2, pool2, fc), the softmax and the logged result
    plots_drew(browser_page, count=9)
    eventually(lambda: "softmax: p(" in browser_page.locator("#layers-softmax .gtitle").text_content())
    eventually(lambda: browser_page.locator("#layers-field").is_hidden())

    conv1 = browser_page.locator(".layers-map").first
    box = conv1.locator(".nsewdrag").first.bounding_box()
    x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6
    click_until(
        browser_page,
        x,
        y,
        lambda: "Σ products" in (browser_page.locator("#layers-arithmetic .gtitle").text_content() or ""),
    )
    note = eventually(lambda: browser_page.locator("#layers-unit-note").inner_text())
    assert "conv1 (Conv2d), channel 0" in note
    title = browser_page.locator("#layers-arithmetic .gtitle").text_content()
    total, model_value = title.split(" = ")[-1].split(" (model: ")
    assert float(total) == pytest.approx(float(model_value.rstrip(")")), abs=1e-3)
    # the receptive field is outlined on the image and on the previous layer
    assert (
        browser_page.evaluate(
            "() => document.getElementById('layers-field').querySelectorAll('.shapelayer path').length"
        )
        >= 1
    )
    # the clicked unit is outlined in its column
    browser_page.wait_for_function(
        "() => document.querySelector('.layers-map').querySelectorAll('.shapelayer path').length >= 1",
        timeout=15_000,
    )
    browser_page.screenshot(path=str(tmp_path / "layers.png"), full_page=True)


@pytest.mark.browser
def test_atlas_class_filter(setup, browser_page, live_server, plots_drew):
    logdir, model, dataset = setup
    browser_page.goto(live_server(logdir) + "layers")
    plots_drew(browser_page, count=1)
    browser_page.click("#layers-result")
    browser_page.locator(".dash-dropdown-options").get_by_role("option", name="atlas").first.click()
    browser_page.wait_for_function(
        "() => { const t = document.querySelector('#layers-logged .gtitle');"
        " return t && t.textContent.startsWith('Activation atlas'); }",
        timeout=15_000,
    )
    atlas = ds.open_logdir(logdir).load("features", "features/atlas")
    label = atlas.class_names[int(atlas.labels[0])]
    browser_page.click("#layers-class")
    browser_page.locator(".dash-dropdown-options").get_by_role("option", name=label, exact=True).click()
    expected = int((atlas.labels == atlas.labels[0]).sum())
    browser_page.wait_for_function(
        "(n) => { const t = document.querySelector('#layers-logged .gtitle');"
        " return t && t.textContent.includes(', ' + n + ' cells') && t.textContent.includes('· class'); }",
        arg=expected,
        timeout=15_000,
    )


def test_an_uploaded_image_takes_the_examples_shape():
    import base64
    import io

    from PIL import Image

    from deepscope.app.pages._layers.data import decode_upload

    picture = np.zeros((40, 20, 3), dtype=np.uint8)
    picture[:, 10:] = 255  # right half white
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    like = np.full((3, 16, 16), 0.5, dtype=np.float32)
    like[0, 0, 0], like[0, 0, 1] = 0.0, 1.0
    image = decode_upload(url, like)
    assert image.shape == (1, 3, 16, 16) and image.dtype == np.float32
    assert image[0, :, :, :6].max() == 0.0 and image[0, :, :, -6:].min() == 1.0
    grey = decode_upload(url, np.zeros((1, 8, 8), dtype=np.float32) + np.eye(8, dtype=np.float32))
    assert grey.shape == (1, 1, 8, 8)
