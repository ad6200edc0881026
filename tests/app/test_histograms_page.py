"""The Histograms page: offset ridges and percentile bands of one run's tag over steps."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope.app.pages import histograms as histograms_page
from deepscope.app.plugin import AppContext
from deepscope.app.series import DISTRIBUTION_LEVELS, SeriesSource
from deepscope.track import Run, open_logdir
from deepscope.viz.histograms import histogram_distribution_figure, histogram_offset_figure
from deepscope.viz.theme import run_color
from tests.conftest import eventually

STEPS = list(range(0, 200, 20))


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    """Two runs with drifting, widening normals (the second also NaNs), one run of scalars only."""
    folder = tmp_path_factory.mktemp("histograms") / "logs"
    rng = np.random.default_rng(0)
    for index, name in enumerate(("base", "wide")):
        with Run(folder, name=name) as run:
            for step in STEPS:
                values = rng.normal(step / 100, 1.0 + index + step / 200, 3000)
                if name == "wide" and step == 100:
                    values[:5] = np.nan
                run.log_histogram("weights/fc1", values, step)
                if name == "wide":
                    run.log_histogram("grads/fc1", rng.normal(0, 0.01, 3000), step)
    with Run(folder, name="scalars-only") as run:
        run.log({"loss": 1.0})
    return folder


def _traces(page) -> list[dict]:
    # _fullData: plotly's decoded traces (data keeps numpy arrays as base64 typed arrays).
    return page.evaluate(
        """() => document.querySelector('#histograms-figure .js-plotly-plot')._fullData
              .map(t => ({name: t.name || '', fill: t.fill || '', n: (t.x || []).length}))"""
    )


def _choose(page, dropdown: str, option: str) -> None:
    page.click(f"#{dropdown}")
    page.locator(".dash-dropdown-options").get_by_role("option", name=option, exact=True).click()


@pytest.mark.browser
def test_offset_view_draws_a_ridge_per_step_and_switching_redraws(browser_page, live_server, logdir, plots_drew):
    browser_page.goto(live_server(logdir) + "histograms")
    plots_drew(browser_page, count=1)
    ridges = _traces(browser_page)
    assert len(ridges) == len(STEPS) and all(t["fill"] == "toself" for t in ridges)
    eventually(lambda: "10 steps" in browser_page.locator("#histograms-summary").inner_text())

    browser_page.get_by_label("Distribution").check()
    browser_page.wait_for_function(
        """() => document.querySelector('#histograms-figure .js-plotly-plot').data
              .some(t => t.fill === 'tonexty')"""
    )
    bands = _traces(browser_page)
    assert [t["fill"] for t in bands].count("tonexty") == 4  # four nested bands
    assert bands[-1]["name"] == "median" and bands[-1]["n"] == len(STEPS)
    eventually(lambda: "min–max" in browser_page.locator("#histograms-caption").inner_text())

    browser_page.get_by_label("Offset").check()
    browser_page.wait_for_function(
        """() => document.querySelector('#histograms-figure .js-plotly-plot').data
              .every(t => t.fill === 'toself')"""
    )


@pytest.mark.browser
def test_choosing_run_and_tag(browser_page, live_server, logdir, plots_drew):
    browser_page.goto(live_server(logdir) + "histograms")
    plots_drew(browser_page, count=1)
    browser_page.click("#histograms-run")
    options = eventually(lambda: browser_page.locator(".dash-dropdown-options").get_by_role("option").all_inner_texts())
    assert options == ["base", "wide"]  # the run without histograms is not offered
    browser_page.locator(".dash-dropdown-options").get_by_role("option", name="wide", exact=True).click()
    note = browser_page.locator("#histograms-note")
    note.get_by_text("5 NaN").wait_for()
    _choose(browser_page, "histograms-tag", "grads/fc1")
    browser_page.wait_for_function(
        """() => document.querySelector('#histograms-figure .js-plotly-plot')
              .layout.xaxis.title.text === 'grads/fc1'"""
    )
    color = browser_page.evaluate(
        "() => document.querySelector('#histograms-figure .js-plotly-plot').data.at(-1).line.color"
    )
    assert color.lower() == run_color("wide").lower()  # the newest ridge: the run's own colour


@pytest.fixture(scope="module")
def source(logdir):
    return SeriesSource(open_logdir(logdir))


def test_offset_figure_stacks_ridges_on_their_steps(source):
    series = source.histograms("weights/fc1", "base")
    figure = histogram_offset_figure(series)
    assert len(figure.data) == len(STEPS)
    for trace, step in zip(figure.data, STEPS, strict=True):
        y = np.asarray(trace.y)
        assert y[0] == step and y[-1] == step  # each ridge sits on its step's baseline
        assert (y <= step).all()  # and rises towards the earlier steps (the axis is reversed)
    assert figure.layout.yaxis.autorange == "reversed"
    heights = [step - np.asarray(t.y).min() for t, step in zip(figure.data, STEPS, strict=True)]
    gap = STEPS[1] - STEPS[0]
    assert max(heights) == pytest.approx(2.2 * gap)  # the tallest ridge spans 2.2 step gaps


def test_distribution_figure_draws_the_percentiles(source):
    series = source.histograms("weights/fc1", "base", max_steps=1000)
    figure = histogram_distribution_figure(series)
    by_name = {trace.name: np.asarray(trace.y) for trace in figure.data}
    np.testing.assert_allclose(by_name["median"], series.percentiles[:, 4])
    np.testing.assert_allclose(by_name["max"], series.percentiles[:, -1])
    np.testing.assert_allclose(by_name["min"], series.percentiles[:, 0])
    # The logged normals' median drifts by 0.2 per 20 steps.
    np.testing.assert_allclose(by_name["median"], np.array(STEPS) / 100, atol=0.1)
    assert series.levels == DISTRIBUTION_LEVELS
    assert figure.layout.hovermode == "x unified"


def test_is_active_only_with_histograms(tmp_path, logdir):
    assert histograms_page.is_active(AppContext(logdir, open_logdir(logdir)))
    with Run(tmp_path / "none", name="scalars") as run:
        run.log({"loss": 1.0})
    assert not histograms_page.is_active(AppContext(tmp_path / "none", open_logdir(tmp_path / "none")))
    assert not histograms_page.is_active(AppContext(None, None))
