"""Class labels with quotes and markup (issue 16, defect 6): the what-if view opens and shows
them as text."""

from __future__ import annotations

import pytest

from deepscope.evaluate import predictions
from deepscope.track import Run
from tests.app.test_evaluate_page import _graph_drew, tabular_frame, tabular_model
from tests.conftest import eventually

LABELS = ['say "no"', "<b>yes</b>"]


@pytest.fixture
def quoted_logdir(tmp_path):
    logdir = tmp_path / "logs"
    frame = tabular_frame()
    frame["label"] = [LABELS[i] for i in frame["label"]]
    with Run(logdir, name="tab") as run:
        predictions(
            tabular_model(),
            frame,
            label="label",
            features=["x1", "x2", "group"],
            encode=lambda part: part,
            labels=LABELS,
            run=run,
        )
    return logdir, {"tab": tabular_model()}


@pytest.mark.browser
def test_whatif_opens_with_quoted_labels(browser_page, live_server, quoted_logdir, dialogs, tmp_path):
    logdir, models = quoted_logdir
    screenshot = tmp_path / "whatif.png"
    browser_page.goto(live_server(logdir, models=models) + "evaluate")
    eventually(lambda: "200 examples" in browser_page.locator("body").inner_text())
    browser_page.click("#evaluate-tab-whatif")
    try:
        _graph_drew(browser_page, "evaluate-whatif-pdp")
    finally:
        browser_page.screenshot(path=str(screenshot), full_page=True)
    # the history table (whose style filter holds the predicted label) rendered its rows
    eventually(lambda: browser_page.locator("#evaluate-whatif-history tr").count() >= 2)
    history = eventually(lambda: browser_page.locator("#evaluate-whatif-history").inner_text())
    assert any(label in history for label in LABELS)
    eventually(lambda: browser_page.locator("#app-error").is_hidden())
    assert not dialogs.messages
