"""The Images page: one run's tag over steps, a step slider, pixels shown as logged."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from deepscope.app.pages import images as images_page
from deepscope.app.plugin import AppContext
from deepscope.track import Run, open_logdir
from deepscope.viz.images import display_size, image_src
from tests.conftest import eventually

STEPS = (0, 10, 20)


def _image(run: int, step: int) -> np.ndarray:
    """A 12x16 RGB image different at every step and run."""
    y, x = np.mgrid[0:12, 0:16]
    return np.stack(
        [(x * 16 + step) % 256, (y * 20 + 40 * run) % 256, np.full((12, 16), step * 10 % 256)], axis=-1
    ).astype(np.uint8)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images") / "logs"
    for index, name in enumerate(("first", "second")):
        with Run(folder, name=name) as run:
            for step in STEPS:
                run.log_image("samples/input", _image(index, step), step)
            if name == "second":
                run.log_image("masks", np.eye(8), 0)
    with Run(folder, name="scalars-only") as run:
        run.log({"loss": 1.0})
    return folder


def _decode(src: str) -> np.ndarray:
    assert src.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))))


def _wait_for_new_src(page, before: str) -> str:
    page.wait_for_function("(before) => document.querySelector('#images-image').src !== before", arg=before)
    return page.get_attribute("#images-image", "src")


@pytest.mark.browser
def test_the_slider_changes_the_image(browser_page, live_server, logdir):
    browser_page.goto(live_server(logdir) + "images")
    browser_page.wait_for_function(
        "() => (document.querySelector('#images-image') || {}).src?.startsWith('data:image/png')"
    )
    src = eventually(lambda: browser_page.get_attribute("#images-image", "src"))
    np.testing.assert_array_equal(_decode(src), _image(0, 20))  # the newest step first, as logged
    caption = browser_page.locator("#images-caption")
    eventually(lambda: "step 20 (3 of 3)" in caption.inner_text())
    eventually(lambda: "16×12 px, shown at 20×" in caption.inner_text())
    # Pixels stay square and sharp: a whole-number scale, drawn without smoothing.
    eventually(lambda: browser_page.get_attribute("#images-image", "width"), "320")
    eventually(lambda: "pixelated" in browser_page.get_attribute("#images-image", "style"))

    thumb = browser_page.locator("#images-step [role=slider]")
    thumb.focus()
    browser_page.keyboard.press("Home")
    first = _wait_for_new_src(browser_page, src)
    np.testing.assert_array_equal(_decode(first), _image(0, 0))
    eventually(lambda: "step 0 (1 of 3)" in caption.inner_text())

    browser_page.keyboard.press("ArrowRight")  # the next logged step, not the next integer
    middle = _wait_for_new_src(browser_page, first)
    np.testing.assert_array_equal(_decode(middle), _image(0, 10))


@pytest.mark.browser
def test_runs_and_tags_with_images_only(browser_page, live_server, logdir):
    browser_page.goto(live_server(logdir) + "images")
    browser_page.wait_for_function(
        "() => (document.querySelector('#images-image') || {}).src?.startsWith('data:image/png')"
    )
    browser_page.click("#images-run")
    options = browser_page.locator(".dash-dropdown-options").get_by_role("option")
    eventually(lambda: options.all_inner_texts(), ["first", "second"])
    src = eventually(lambda: browser_page.get_attribute("#images-image", "src"))
    options.filter(has_text="second").click()
    np.testing.assert_array_equal(_decode(_wait_for_new_src(browser_page, src)), _image(1, 20))
    browser_page.click("#images-tag")
    tags = browser_page.locator(".dash-dropdown-options").get_by_role("option")
    eventually(lambda: tags.all_inner_texts(), ["masks", "samples/input"])


def test_image_src_is_lossless():
    for image in (
        _image(0, 10),
        np.arange(64, dtype=np.uint8).reshape(8, 8),
        np.dstack([_image(1, 0), np.full((12, 16), 128, np.uint8)]),
    ):
        np.testing.assert_array_equal(_decode(image_src(image)), image)
    np.testing.assert_array_equal(_decode(image_src(np.ones((3, 3, 1), np.uint8))), np.ones((3, 3)))


def test_display_size_scales_by_whole_factors():
    assert display_size((12, 16)) == (320, 240, 20)
    assert display_size((28, 28)) == (252, 252, 9)
    assert display_size((480, 640)) == (640, 480, 1)  # large enough: shown as it is
    assert display_size((1000, 2000)) == (720, 360, 1)  # too large: fitted, never cropped


def test_is_active_only_with_images(tmp_path, logdir):
    assert images_page.is_active(AppContext(logdir, open_logdir(logdir)))
    with Run(tmp_path / "none", name="scalars") as run:
        run.log({"loss": 1.0})
    assert not images_page.is_active(AppContext(tmp_path / "none", open_logdir(tmp_path / "none")))
