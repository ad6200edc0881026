"""The HParams page in headless Chromium: parallel coordinates with a linked table and scatter,
brushing, colour and axis order, the metric selection, the Ludwig tabs, and a results file."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope.hparams import hparams_table
from tests.conftest import eventually
from tests.hparams.sweeps import DIVERGED, results_frame, schedule_logdir, sweep_logdir

pytestmark = pytest.mark.browser

GD = "document.querySelector('#hparams-parcoords .js-plotly-plot')"
SCATTER = "document.querySelector('#hparams-scatter .js-plotly-plot')"
DIMENSIONS = f"() => {GD}.data[0].dimensions.map(d => d.name)"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return sweep_logdir(tmp_path_factory.mktemp("sweep") / "logs", runs=10)


def _watch(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def _open(page, url, plots_drew) -> None:
    page.set_default_timeout(30_000)  # the machine is shared: allow a slow first draw
    page.goto(url)
    plots_drew(page, count=2, timeout=30_000)  # the parallel coordinates and the scatter
    page.locator("#hparams-table td").first.wait_for()


def _table_runs(page) -> list[str]:
    return page.locator("#hparams-table td[data-dash-column=c0]").all_inner_texts()


def _brush(page, column: str, ranges) -> None:
    """What a brush does: plotly's restyle of one dimension's constraintrange."""
    page.evaluate(
        "([column, ranges]) => { const gd = " + GD + ";"
        " const index = gd.data[0].dimensions.findIndex(d => d.name === column);"
        " Plotly.restyle(gd, {[`dimensions[${index}].constraintrange`]: [ranges]}, [0]); }",
        [column, ranges],
    )


def _wait_summary(page, text: str) -> None:
    page.locator("#hparams-summary").get_by_text(text, exact=True).wait_for()


_GEOMETRY = """(id) => {
    const graph = document.getElementById(id);
    const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
    return {graph: box(graph), svg: box(graph.querySelector('.main-svg')), card: box(graph.closest('.ds-page'))};
}"""


def _assert_fits_its_card(page, graph_id: str) -> None:
    """The graph's box and what plotly drew in it are taller than 200 px and inside the page's card
    (a responsive graph whose box has no height collapses to nothing, its plot spilling out)."""
    geometry = page.evaluate(_GEOMETRY, graph_id)
    card_left, card_top, card_right, card_bottom = geometry["card"]
    for part in ("graph", "svg"):
        left, top, right, bottom = geometry[part]
        assert bottom - top > 200, (graph_id, part, geometry)
        assert card_left <= left and right <= card_right, (graph_id, part, geometry)
        assert card_top <= top and bottom <= card_bottom, (graph_id, part, geometry)


def _draw_tab(page, tab: str, graph: str) -> None:
    page.get_by_text(tab, exact=True).click()
    page.wait_for_function(
        "(id) => { const gd = document.querySelector(`#${id} .js-plotly-plot`);"
        " return gd && gd._fullData && gd._fullData.length > 0 && gd.offsetParent !== null; }",
        arg=f"hparams-{graph}",
    )


def test_brushing_an_axis_filters_the_table_and_the_scatter(browser_page, live_server, sweep, plots_drew, tmp_path):
    page = browser_page
    errors = _watch(page)
    _open(page, live_server(sweep) + "hparams", plots_drew)
    _wait_summary(page, "10 runs")
    assert sorted(_table_runs(page)) == [f"run-{i:02d}" for i in range(10)]
    eventually(
        lambda: page.evaluate(DIMENSIONS),
        [
            "run",
            "lr",
            "width",
            "optimizer",
            "dropout",
            "train/loss",
            "val/accuracy",
            "val/loss",
        ],
    )
    page.screenshot(path=str(tmp_path / "hparams.png"), full_page=True)

    frame = hparams_table(sweep).frame
    accuracy = frame["val/accuracy"].to_numpy()
    low, high = float(np.median(accuracy)), float(accuracy.max()) + 1e-9
    expected = sorted(frame.loc[(accuracy >= low) & (accuracy <= high), "run"])
    _brush(page, "val/accuracy", [[low, high]])
    _wait_summary(page, f"{len(expected)} of 10 runs inside the brushes")
    assert sorted(_table_runs(page)) == expected
    selected = page.evaluate(f"() => {SCATTER}._fullData.find(t => t.name === 'selected')._length")
    assert selected == len(expected)

    # A second brush, on a log axis (positions are log10 of the learning rate): an AND.
    _brush(page, "lr", [[-3.0, -1.0]])
    both = sorted(
        frame.loc[(accuracy >= low) & (accuracy <= high) & (frame["lr"] >= 1e-3) & (frame["lr"] <= 1e-1), "run"]
    )
    page.wait_for_function(
        "(n) => document.querySelectorAll('#hparams-table td[data-dash-column=c0]').length === n", arg=len(both)
    )
    assert sorted(_table_runs(page)) == both
    page.screenshot(path=str(tmp_path / "hparams-brushed.png"), full_page=True)
    assert errors == []


def test_a_mouse_brush_on_an_axis_filters_the_table(browser_page, live_server, sweep, plots_drew):
    page = browser_page
    _open(page, live_server(sweep) + "hparams", plots_drew)
    names = page.evaluate(DIMENSIONS)
    brushes = page.locator("#hparams-parcoords .axis-brush")
    box = brushes.nth(names.index("dropout")).bounding_box()
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + box["height"] * 0.02)
    page.mouse.down()
    page.mouse.move(x, box["y"] + box["height"] * 0.55, steps=8)
    page.mouse.up()
    page.locator("#hparams-summary").get_by_text("inside the brushes").wait_for()
    ranges = page.evaluate(f"() => {GD}.data[0].dimensions.find(d => d.name === 'dropout').constraintrange")
    ranges = ranges if isinstance(ranges[0], list) else [ranges]
    frame = hparams_table(sweep).frame
    inside = np.zeros(len(frame), dtype=bool)
    for lo, hi in ranges:
        inside |= (frame["dropout"] >= lo) & (frame["dropout"] <= hi)
    expected = sorted(frame.loc[inside, "run"])
    assert 0 < len(expected) < 10
    page.wait_for_function(
        "(n) => document.querySelectorAll('#hparams-table td[data-dash-column=c0]').length === n", arg=len(expected)
    )
    assert sorted(_table_runs(page)) == expected


def test_colour_by_redraws_keeping_axis_order_and_brushes(browser_page, live_server, sweep, plots_drew):
    page = browser_page
    _open(page, live_server(sweep) + "hparams", plots_drew)
    eventually(lambda: page.evaluate(f"() => {GD}.data[0].line.colorbar.title.text"), "val/loss")
    before = page.evaluate(f"() => Array.from({GD}._fullData[0].line.color)")

    # Drag the last axis (val/loss) by its title to the far left: plotly reorders the dimensions.
    title = page.locator("#hparams-parcoords .axis-title").last
    box = title.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(40, box["y"] + box["height"] / 2, steps=12)
    page.mouse.up()
    page.wait_for_function(f"() => {GD}.data[0].dimensions[0].name === 'val/loss'")
    order = page.evaluate(DIMENSIONS)
    frame = hparams_table(sweep).frame
    _brush(page, "width", [[30, 70]])
    expected = sorted(frame.loc[frame["width"].between(30, 70), "run"])
    _wait_summary(page, f"{len(expected)} of 10 runs inside the brushes")

    page.locator("#hparams-color").click()
    page.get_by_role("option", name="lr", exact=True).click()
    page.wait_for_function(f"() => {GD}.data[0].line.colorbar.title.text === 'lr (log)'")
    after = page.evaluate(f"() => Array.from({GD}._fullData[0].line.color)")
    assert after != before
    # The colour follows lr: the order of the colours is the order of the learning rates.
    np.testing.assert_array_equal(np.argsort(after, kind="stable"), np.argsort(frame["lr"].to_numpy(), kind="stable"))
    eventually(lambda: page.evaluate(DIMENSIONS), order)  # the user's order survived the redraw
    kept = page.evaluate(f"() => {GD}.data[0].dimensions.find(d => d.name === 'width').constraintrange")
    assert np.allclose(np.ravel(kept), [30, 70])
    _wait_summary(page, f"{len(expected)} of 10 runs inside the brushes")
    assert sorted(_table_runs(page)) == expected


def test_metric_selection_changes_the_values(browser_page, live_server, sweep, plots_drew):
    page = browser_page
    _open(page, live_server(sweep) + "hparams", plots_drew)
    frame = hparams_table(sweep, select="best").frame.set_index("run")
    row = page.locator("#hparams-table tr", has_text=DIVERGED)
    loss_column = page.evaluate(
        "() => [...document.querySelectorAll('#hparams-table th')]"
        ".findIndex(th => th.innerText.replace(/\\u200b/g, '').includes('val/loss'))"
    )
    eventually(lambda: row.locator("td").nth(loss_column).inner_text(), "NaN")  # final: it diverged
    page.get_by_text("Best", exact=True).click()
    best = f"{frame.loc[DIVERGED, 'val/loss']:.4g}"
    page.wait_for_function(
        "([run, col, text]) => [...document.querySelectorAll('#hparams-table tr')]"
        ".some(tr => tr.innerText.includes(run) && tr.querySelectorAll('td')[col]?.innerText === text)",
        arg=[DIVERGED, loss_column, best],
    )


def test_ludwig_tabs_draw(browser_page, live_server, sweep, plots_drew, tmp_path):
    page = browser_page
    errors = _watch(page)
    _open(page, live_server(sweep) + "hparams", plots_drew)
    _assert_fits_its_card(page, "hparams-parcoords")
    for tab, graph in (
        ("Learning curves", "curves"),
        ("Compare performance", "compare"),
        ("Hyperopt report", "hyperopt"),
    ):
        _draw_tab(page, tab, graph)
        page.screenshot(path=str(tmp_path / f"hparams-{graph}.png"), full_page=True)
        _assert_fits_its_card(page, f"hparams-{graph}")
    traces = page.evaluate("() => document.querySelector('#hparams-hyperopt .js-plotly-plot').data.length")
    assert traces == 8  # four hyper-parameters, each with its points and the best trial
    page.get_by_text("Learning curves", exact=True).click()
    names = page.evaluate(
        "() => document.querySelector('#hparams-curves .js-plotly-plot').data.map(t => t.legendgroup)"
    )
    assert len(names) == 20 and set(names) == {f"run-{i:02d}" for i in range(10)}
    assert errors == []


def test_a_metric_named_like_a_hyperparameter_opens_and_draws(browser_page, live_server, plots_drew, tmp_path):
    """A learning-rate schedule logged as the scalar 'lr' beside the hyper-parameter 'lr'."""
    logdir = schedule_logdir(tmp_path / "logs")
    frame = hparams_table(logdir).frame
    page = browser_page
    errors = _watch(page)
    _open(page, live_server(logdir) + "hparams", plots_drew)
    _wait_summary(page, "3 runs")
    eventually(lambda: page.evaluate(DIMENSIONS), ["run", "lr", "width", "lr (metric)", "val/accuracy", "val/loss"])
    headers = eventually(lambda: [h.replace("\u200b", "") for h in page.locator("#hparams-table th").all_inner_texts()])
    assert [h.strip() for h in headers] == ["run", "lr", "width", "lr (metric)", "val/accuracy", "val/loss"]
    row = eventually(lambda: page.locator("#hparams-table tr", has_text="sched-0").locator("td").all_inner_texts())
    assert row[1] == "0.3" and row[3] == f"{frame.loc[0, 'lr (metric)']:.4g}"  # both, each its own value

    page.locator("#hparams-color").click()
    page.get_by_role("option", name="lr (metric)", exact=True).click()
    page.wait_for_function(f"() => {GD}.data[0].line.colorbar.title.text === 'lr (metric) (log)'")
    page.locator("#hparams-y").click()
    page.get_by_role("option", name="lr (metric)", exact=True).click()
    page.wait_for_function(f"() => {SCATTER}.layout.yaxis.title.text === 'lr (metric) (log)'")
    np.testing.assert_allclose(
        page.evaluate(f"() => Array.from({SCATTER}._fullData.at(-1).y)"), np.log10(frame["lr (metric)"])
    )

    for tab, graph in (
        ("Learning curves", "curves"),
        ("Compare performance", "compare"),
        ("Hyperopt report", "hyperopt"),
    ):
        _draw_tab(page, tab, graph)
        _assert_fits_its_card(page, f"hparams-{graph}")
    page.locator("#hparams-target").click()
    page.get_by_role("option", name="lr (metric)", exact=True).click()
    hyperopt = "document.querySelector('#hparams-hyperopt .js-plotly-plot')"
    page.wait_for_function(f"() => {hyperopt}.layout.title.text.startsWith('lr (metric) against')")
    page.screenshot(path=str(tmp_path / "hparams-schedule.png"), full_page=True)
    eventually(lambda: page.locator("#app-error").is_hidden())
    assert errors == []


def test_a_hyperparameter_called_run_is_shown_beside_the_run_names(browser_page, live_server, plots_drew, tmp_path):
    from deepscope.track import Run

    for i, lr in enumerate((0.1, 0.01, 0.001)):
        with Run(tmp_path / "logs", name=f"trial-{i}", hparams={"lr": lr, "run": i + 3}) as run:
            run.log({"val/loss": lr}, step=0)
    page = browser_page
    errors = _watch(page)
    _open(page, live_server(tmp_path / "logs") + "hparams", plots_drew)
    _wait_summary(page, "3 runs")
    eventually(lambda: page.evaluate(DIMENSIONS), ["run", "lr", "run (hparam)", "val/loss"])
    headers = eventually(
        lambda: [h.replace("\u200b", "").strip() for h in page.locator("#hparams-table th").all_inner_texts()]
    )
    assert headers == ["run", "lr", "run (hparam)", "val/loss"]
    rows = {
        tuple(page.locator("#hparams-table tr", has_text=f"trial-{i}").locator("td").all_inner_texts()[:3])
        for i in range(3)
    }
    assert rows == {("trial-0", "0.1", "3"), ("trial-1", "0.01", "4"), ("trial-2", "0.001", "5")}
    eventually(lambda: page.locator("#app-error").is_hidden())
    assert errors == []


def test_a_failing_view_shows_its_error_and_the_page_goes_on(browser_page, live_server, sweep, plots_drew, monkeypatch):
    from deepscope.hparams import ludwig

    def broken(*args, **kwargs):
        raise RuntimeError("planted failure in compare_performance")

    monkeypatch.setattr(ludwig, "compare_performance", broken)
    page = browser_page
    _open(page, live_server(sweep) + "hparams", plots_drew)
    page.get_by_text("Compare performance", exact=True).click()
    banner = page.locator("#app-error")
    banner.get_by_text("planted failure").wait_for()
    eventually(lambda: "hparams-compare" in banner.inner_text())  # says which view failed
    _draw_tab(page, "Hyperopt report", "hyperopt")  # the server still answers
    page.get_by_text("Explorer", exact=True).click()
    _brush(page, "width", [[30, 70]])
    _wait_summary(
        page, f"{int(hparams_table(sweep).frame['width'].between(30, 70).sum())} of 10 runs inside the brushes"
    )


def test_learning_curves_of_runs_that_name_no_split(browser_page, live_server, plots_drew, tmp_path):
    from deepscope.track import Run

    plain = tmp_path / "plain"
    for lr in (0.1, 0.01, 0.001):
        with Run(plain, name=f"sgd-lr{lr}", hparams={"lr": lr}) as run:
            for step in range(8):
                run.log({"loss": 1.0 / (step + 1) + lr, "accuracy": 0.5 + 0.05 * step}, step=step)
    page = browser_page
    errors = _watch(page)
    _open(page, live_server(plain) + "hparams", plots_drew)
    page.get_by_text("Learning curves", exact=True).click()
    curves = "document.querySelector('#hparams-curves .js-plotly-plot')"
    page.wait_for_function(
        f"() => {{ const gd = {curves}; return gd && gd._fullData && gd._fullData.length === 3"
        " && gd.offsetParent !== null; }"
    )
    lines = page.evaluate(f"() => {curves}._fullData.map(t => [t.legendgroup, t.y.length])")
    assert lines == [["sgd-lr0.1", 8], ["sgd-lr0.01", 8], ["sgd-lr0.001", 8]]  # a line per run, every point
    eventually(lambda: page.locator("#hparams-curves-metric").inner_text().strip(), "loss")
    eventually(lambda: "names no train/validation split" in page.locator("#hparams-curves-note").inner_text())
    eventually(lambda: page.locator("#hparams-curves-empty").is_hidden())
    page.screenshot(path=str(tmp_path / "hparams-curves-plain.png"), full_page=True)

    page.locator("#hparams-curves-metric").click()
    page.get_by_role("option", name="accuracy", exact=True).click()
    page.wait_for_function(f"() => {curves}.layout.yaxis.title.text === 'accuracy'")
    eventually(lambda: page.evaluate(f"() => {curves}._fullData[0].y[7]") == pytest.approx(0.85))
    assert errors == []


def test_ludwig_tabs_say_what_is_missing_when_nothing_was_logged(browser_page, live_server, plots_drew, tmp_path):
    from deepscope.track import Run

    for lr in (0.1, 0.01):
        with Run(tmp_path / "bare", name=f"lr-{lr}", hparams={"lr": lr, "depth": 2}):
            pass
    page = browser_page
    errors = _watch(page)
    page.set_default_timeout(30_000)
    page.goto(live_server(tmp_path / "bare") + "hparams")
    plots_drew(page, count=1, timeout=30_000)
    # Each tab: its message (what is missing, how to log it) in place of empty axes, and no error.
    for tab, view, hidden in (
        ("Learning curves", "curves", ["#hparams-curves-figure"]),
        ("Compare performance", "compare", ["#hparams-compare-figure"]),
        ("Hyperopt report", "hyperopt", ["#hparams-hyperopt-figure", "#hparams-hyperopt-controls"]),
    ):
        page.get_by_text(tab, exact=True).click()
        message = page.locator(f"#hparams-{view}-empty")
        message.wait_for(state="visible")
        eventually(
            lambda message=message: "logged no scalars" in message.inner_text() and "run.log(" in message.inner_text()
        )
        for part in hidden:
            eventually(lambda part=part: page.locator(part).is_hidden())
        # a callback that failed would show its banner within half a second
        eventually(lambda: page.locator("#app-error").is_hidden(), hold=0.5)
        page.screenshot(path=str(tmp_path / f"hparams-{view}-empty.png"), full_page=True)

    # A run that logs a metric: the open Hyperopt tab draws it as the target, Compare its bars.
    with Run(tmp_path / "bare", name="lr-0.001", hparams={"lr": 0.001, "depth": 2}) as run:
        run.log({"val/loss": 0.25}, step=0)
    hyperopt = "document.querySelector('#hparams-hyperopt .js-plotly-plot')"
    page.wait_for_function(
        f"() => {{ const gd = {hyperopt}; return gd && gd.offsetParent !== null"
        " && (gd.layout.title?.text || '').startsWith('val/loss against'); }"
    )
    eventually(lambda: page.locator("#hparams-hyperopt-empty").is_hidden())
    _draw_tab(page, "Compare performance", "compare")
    eventually(lambda: page.locator("#hparams-compare-empty").is_hidden())
    eventually(lambda: page.locator("#app-error").is_hidden())
    assert errors == []


def test_explorer_on_a_results_file(browser_page, live_server, plots_drew, tmp_path):
    page = browser_page
    path = tmp_path / "results.csv"
    frame = results_frame(rows=10)
    frame.to_csv(path, index=False)
    _open(page, live_server(None, table=path), plots_drew)
    _wait_summary(page, "10 rows")
    eventually(lambda: page.locator(".ds-nav-link").all_inner_texts(), ["HParams"])
    eventually(lambda: str(path) in page.locator(".ds-logdir").inner_text())
    _brush(page, "accuracy", [[0.5, 0.7]])
    expected = sorted(frame.loc[frame["accuracy"].between(0.5, 0.7), "trial"])
    _wait_summary(page, f"{len(expected)} of 10 rows inside the brushes")
    assert sorted(_table_runs(page)) == expected
    page.screenshot(path=str(tmp_path / "hparams-file.png"), full_page=True)
    _draw_tab(page, "Hyperopt report", "hyperopt")
    _assert_fits_its_card(page, "hparams-hyperopt")
