"""The Scalars page: charts per tag, smoothing, filters, downloads, live updates, the figure."""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from deepscope.app.pages import scalars as scalars_page
from deepscope.app.plugin import AppContext
from deepscope.app.series import SeriesSource
from deepscope.track import Run, open_logdir
from deepscope.track.smoothing import smooth
from deepscope.viz.scalars import RUN_PALETTE, chart_height, run_colors, scalars_figure, scalars_figure_json
from tests.conftest import eventually, hover_until

RUNS = ("cnn-a", "cnn-b", "mlp-c")
STEPS = 300

# Each figure's traces as plain arrays (plotly keeps typed arrays as {dtype, bdata} in gd.data).
TRACES_JS = """(index) => {
    const types = {f4: Float32Array, f8: Float64Array, i4: Int32Array, i2: Int16Array,
                   u1: Uint8Array, i1: Int8Array, u2: Uint16Array, u4: Uint32Array};
    const plain = (v) => {
        if (v && v.bdata !== undefined) {
            const bytes = Uint8Array.from(atob(v.bdata), c => c.charCodeAt(0));
            return Array.from(new types[v.dtype](bytes.buffer));
        }
        return v ? Array.from(v) : null;
    };
    const gd = typeof index === 'string'  // a tag: the graph of its card
        ? document.querySelector(`[data-scalars-tag="${index}"] .js-plotly-plot`)
        : document.querySelectorAll('.js-plotly-plot')[index];
    return gd.data.map(t => ({name: t.name, mode: t.mode, x: plain(t.x), y: plain(t.y),
                              color: t.line && t.line.color, hover: t.hoverinfo || ''}));
}"""


def _values(run: str) -> np.ndarray:
    rng = np.random.default_rng(RUNS.index(run))
    steps = np.arange(STEPS)
    values = 2.0 * np.exp(-steps / (80 + 40 * RUNS.index(run))) + rng.normal(0, 0.1, STEPS)
    if run == "mlp-c":
        values[250] = math.nan
    return values


def _write(folder) -> None:
    for run in RUNS:
        with Run(folder, name=run, hparams={"lr": 0.01}) as writer:
            values = _values(run)
            for step in range(STEPS):
                point = {"train/loss": float(values[step])}
                if step % 30 == 0:
                    point["val/accuracy"] = 0.5 + step / 1000
                writer.log(point, step=step)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scalars") / "logs"
    _write(folder)
    return folder


def _open(page, url: str, plots_drew, count: int = 2) -> None:
    page.goto(url + "scalars")
    plots_drew(page, count=count)


def _smoothed_traces(page, index: int | str = 0) -> dict[str, dict]:
    """The solid (smoothed, or raw when smoothing is 0) line of each run on chart ``index``."""
    traces = page.evaluate(TRACES_JS, index)
    # short series also carry markers ("lines+markers"); the faded raw line skips hover
    return {t["name"]: t for t in traces if "lines" in t["mode"] and t["hover"] != "skip"}


def _line_json(page, index: int = 0) -> str:
    """The first solid line's y as plotly holds it, to notice when the chart was redrawn."""
    return page.evaluate(
        """(index) => JSON.stringify(document.querySelectorAll('.js-plotly-plot')[index]
            .data.find(t => t.mode.includes('lines') && t.hoverinfo !== 'skip').y)""",
        index,
    )


def _wait_for_new_line(page, before: str, index: int = 0) -> dict[str, dict]:
    page.wait_for_function(
        """([index, before]) => {
            const gd = document.querySelectorAll('.js-plotly-plot')[index];
            const t = gd && gd.data.find(t => t.mode === 'lines' && t.hoverinfo !== 'skip');
            return t && JSON.stringify(t.y) !== before;
        }""",
        arg=[index, before],
    )
    return _smoothed_traces(page, index)


# -- the page in a browser ----------------------------------------------------------------------


@pytest.mark.browser
def test_a_chart_per_tag_with_every_run_in_its_colour(browser_page, live_server, logdir, plots_drew):
    _open(browser_page, live_server(logdir), plots_drew)
    titles = eventually(lambda: browser_page.locator("#scalars-grid h3").all_inner_texts())
    assert titles == ["train/loss", "val/accuracy"]
    lines = _smoothed_traces(browser_page, 0)
    assert set(lines) == set(RUNS)
    for run, trace in lines.items():
        assert trace["color"] == run_colors(RUNS)[run]  # by the run's place among the logdir's runs
    # Smoothing 0.6 by default: the drawn line is TensorBoard's smoothing of every point, at half
    # a point per pixel (its extremes among them).
    steps = np.asarray(lines["cnn-a"]["x"], dtype=int)
    expected = smooth(_values("cnn-a"), 0.6)
    assert 20 < len(steps) <= scalars_page.CHART_WIDTH // 2 and steps[0] == 0 and steps[-1] == STEPS - 1
    np.testing.assert_allclose(lines["cnn-a"]["y"], expected[steps], rtol=1e-6)
    assert min(lines["cnn-a"]["y"]) == pytest.approx(expected.min()) and max(lines["cnn-a"]["y"]) == pytest.approx(
        expected.max()
    )
    # The raw series is drawn too, faded and left out of the hover.
    raw = [t for t in browser_page.evaluate(TRACES_JS, 0) if t["hover"] == "skip"]
    assert {t["name"] for t in raw} == set(RUNS)
    assert all(t["color"].startswith("rgba(") for t in raw)
    layout = browser_page.evaluate("() => document.querySelectorAll('.js-plotly-plot')[0].layout.hovermode")
    assert layout == "x unified"
    legend = eventually(lambda: browser_page.locator("#scalars-legend").inner_text())
    assert all(run in legend for run in RUNS)
    eventually(lambda: "2 of 2 tags" in browser_page.locator("#scalars-summary").inner_text())


@pytest.mark.browser
def test_moving_the_smoothing_slider_redraws_the_line(browser_page, live_server, logdir, plots_drew):
    _open(browser_page, live_server(logdir), plots_drew)
    before = _smoothed_traces(browser_page, 0)
    drawn = _line_json(browser_page)
    thumb = browser_page.locator("#scalars-smoothing [role=slider]")
    thumb.focus()
    browser_page.keyboard.press("Home")  # smoothing 0: the raw series, drawn solid
    after = _wait_for_new_line(browser_page, drawn)
    assert after["cnn-a"]["y"] != before["cnn-a"]["y"]
    np.testing.assert_allclose(after["cnn-a"]["y"], _values("cnn-a"), rtol=1e-6)
    eventually(lambda: thumb.get_attribute("aria-valuenow"), "0")
    drawn = _line_json(browser_page)
    browser_page.keyboard.press("End")  # 0.99
    heavy = _wait_for_new_line(browser_page, drawn)
    steps = np.asarray(heavy["cnn-a"]["x"], dtype=int)
    np.testing.assert_allclose(heavy["cnn-a"]["y"], smooth(_values("cnn-a"), 0.99)[steps], rtol=1e-5)


@pytest.mark.browser
def test_a_control_change_redraws_the_charts_in_view_with_one_request(browser_page, live_server, logdir, plots_drew):
    # The page's script asks the figures route once for every chart in the window and draws the
    # answers itself: no Dash callback per chart.
    _open(browser_page, live_server(logdir), plots_drew)
    posts: list[tuple[str, str]] = []
    browser_page.on("request", lambda r: posts.append((r.url, r.post_data or "")) if r.method == "POST" else None)
    browser_page.get_by_label("Relative", exact=True).check()
    for index in range(2):
        browser_page.wait_for_function(
            "(i) => document.querySelectorAll('.js-plotly-plot')[i].layout.xaxis.title.text.startsWith('relative')",
            arg=index,
        )
    figures = [json.loads(body) for url, body in posts if url.endswith("/_deepscope/scalars-figures")]
    assert len(figures) == 1
    assert sorted(chart["tag"] for chart in figures[0]["charts"]) == ["train/loss", "val/accuracy"]
    assert all(chart["want"]["xaxis"] == "relative" for chart in figures[0]["charts"])
    chart_callbacks = [body for url, body in posts if "_dash-update-component" in url and "scalars-chart" in body]
    assert chart_callbacks == []


@pytest.mark.browser
def test_only_the_last_of_quick_changes_stays_drawn(browser_page, live_server, logdir, plots_drew):
    _open(browser_page, live_server(logdir), plots_drew)
    drawn = _line_json(browser_page)
    thumb = browser_page.locator("#scalars-smoothing [role=slider]")
    thumb.focus()
    for key in ("End", "Home", "End", "Home"):  # each asks before the last answer came back
        browser_page.keyboard.press(key)
    _wait_for_new_line(browser_page, drawn)
    # Smoothing 0 draws the raw series: the chart ends there, whichever answer came back first.
    eventually(
        lambda: (
            _smoothed_traces(browser_page, 0)["cnn-a"]["y"]
            == pytest.approx(list(_values("cnn-a")), rel=1e-6, nan_ok=True)
        )
    )


@pytest.mark.browser
def test_when_the_figures_route_fails_the_charts_callback_draws_them(
    browser_page, live_server, logdir, plots_drew, monkeypatch
):
    _open(browser_page, live_server(logdir), plots_drew)
    monkeypatch.setattr(scalars_page, "_figure_answer", lambda chart, figure_for: {"error": "planted"})
    browser_page.get_by_label("Wall", exact=True).check()
    for index in range(2):
        browser_page.wait_for_function(
            "(i) => document.querySelectorAll('.js-plotly-plot')[i].layout.xaxis.type === 'date'", arg=index
        )
    assert browser_page.locator("#app-error").is_hidden()


@pytest.mark.browser
def test_a_chart_that_fails_shows_its_error_and_the_page_goes_on(
    browser_page, live_server, logdir, plots_drew, monkeypatch
):
    _open(browser_page, live_server(logdir), plots_drew)
    real_figure = scalars_page._figure

    def failing(source, tag, runs, version, smoothing, xaxis, *args):
        if xaxis == "wall":
            raise ValueError("planted <b>chart</b> failure")
        return real_figure(source, tag, runs, version, smoothing, xaxis, *args)

    monkeypatch.setattr(scalars_page, "_figure", failing)
    browser_page.get_by_label("Wall", exact=True).check()
    banner = browser_page.locator("#app-error")
    banner.get_by_text("planted <b>chart</b> failure").wait_for()  # as text, not markup
    browser_page.get_by_label("Relative", exact=True).check()  # (the banner pushed the second chart out of view)
    browser_page.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot')[0].layout.xaxis.title.text.startsWith('relative')"
    )


def test_the_figures_route_finds_the_runs_of_the_filter_and_skips_what_is_drawn(logdir):
    from deepscope.app import create_app

    client = create_app(logdir).server.test_client()
    route = "/" + scalars_page.FIGURES_ROUTE
    want = {
        "run_filter": "^cnn",
        "smoothing": 0.6,
        "xaxis": "step",
        "yscale": "linear",
        "outliers": [],
        "version": None,
    }
    answer = client.post(route, json={"charts": [{"tag": "train/loss", "want": want, "drawn": None}]}).get_json()
    (chart,) = answer["charts"]
    assert {t["name"] for t in chart["figure"]["data"] if t.get("hoverinfo") != "skip"} == {"cnn-a", "cnn-b"}
    assert chart["box"] == {"height": f"{chart['figure']['layout']['height']}px"}
    again = client.post(route, json={"charts": [{"tag": "train/loss", "want": want, "drawn": chart["stamp"]}]})
    assert again.get_json() == {"charts": [{"same": True}]}
    # What the page's script never sends is refused, not fed to the figure code.
    for body in ({"charts": []}, {"charts": "train/loss"}, [1], {"charts": [{"tag": "x"}] * 100}):
        assert client.post(route, json=body).status_code == 400
    assert client.post(route, data="not json", content_type="application/json").status_code == 400
    odd = client.post(route, json={"charts": [{"tag": 3}, {"tag": "train/loss", "want": {"run_filter": 5}}]})
    assert odd.get_json()["charts"][0]["error"] and odd.get_json()["charts"][1] == {"same": True}


@pytest.mark.browser
def test_regex_filters_narrow_runs_and_tags(browser_page, live_server, logdir, plots_drew):
    _open(browser_page, live_server(logdir), plots_drew)
    browser_page.fill("#scalars-run-filter", "^CNN")  # case-insensitive
    browser_page.wait_for_function("() => document.querySelector('#scalars-legend').innerText.indexOf('mlp-c') < 0")
    browser_page.wait_for_function(
        """() => { const gd = document.querySelectorAll('.js-plotly-plot')[0];
                   return !gd.data.some(t => t.name === 'mlp-c'); }"""
    )
    assert set(_smoothed_traces(browser_page, 0)) == {"cnn-a", "cnn-b"}

    browser_page.fill("#scalars-tag-filter", "acc")
    browser_page.wait_for_function("() => document.querySelectorAll('#scalars-grid h3').length === 1")
    eventually(lambda: browser_page.locator("#scalars-grid h3").inner_text(), "val/accuracy")
    plots_drew(browser_page, count=1)

    browser_page.fill("#scalars-run-filter", "cnn-(")
    message = browser_page.locator("#scalars-message")
    message.get_by_text("Not a valid regular expression").wait_for()
    eventually(lambda: "No run matches" in message.inner_text())


@pytest.mark.browser
def test_watcher_sees_a_new_card_when_a_removed_one_leaves_in_the_same_moment(browser_page):
    """A grid change removes a card that was in view and adds one: the new card is still reported.

    Dash's set_props throws for a store that left the layout; the watcher must not send the
    removed card's "left the window" then, or the throw ends its loop over the observer's entries
    before the new card's (whose chart is then never asked for). Run on a bare page, with a
    set_props that behaves as Dash's does, so the two cards' entries arrive in one batch.
    """
    browser_page.set_content("<div id='scalars-grid'><div data-scalars-tag='old' style='height: 200px'>old</div></div>")
    browser_page.evaluate(
        """(watch) => {
            window.seen = [];
            window.known = new Set(['old']);
            window.dash_clientside = {set_props: (id, props) => {
                if (!window.known.has(id.tag)) throw new TypeError('not in the layout');
                window.seen.push([id.tag, props.data]);
            }};
            eval('(' + watch + ')')([]);
        }""",
        scalars_page._WATCH_JS,
    )
    browser_page.wait_for_function("() => window.seen.some(([tag, shown]) => tag === 'old' && shown)")
    browser_page.evaluate(
        """() => {
            const grid = document.getElementById('scalars-grid');
            grid.innerHTML = "<div data-scalars-tag='new' style='height: 200px'>new</div>";
            window.known = new Set(['new']);
        }"""
    )
    browser_page.wait_for_function("() => window.seen.some(([tag, shown]) => tag === 'new' && shown)")


@pytest.mark.browser
def test_many_runs_are_capped_with_a_note(browser_page, live_server, logdir, plots_drew, monkeypatch):
    monkeypatch.setattr(scalars_page, "MAX_RUNS", 2)
    _open(browser_page, live_server(logdir), plots_drew)
    note = browser_page.locator("#scalars-message")
    note.get_by_text("Showing the 2 newest of 3 matching runs").wait_for()
    assert set(_smoothed_traces(browser_page, 0)) == {"cnn-b", "mlp-c"}


def test_chart_boxes_start_at_their_charts_height():
    # A box that changed size after its chart drew would make plotly draw every chart twice:
    # the grid sizes each box for the drawn runs, as the figure will be.
    from deepscope.track.charts import ChartData, SeriesData

    one, empty = np.array([1.0]), np.zeros(0)
    series = tuple(SeriesData(f"run-{i}", one, one, one, one, one, empty, empty, 1, 0) for i in range(14))
    figure = scalars_figure_json(ChartData("loss", "step", 0.6, series, None, None, 0))
    (card,) = scalars_page._grid(["loss"], chart_height(len(series)))
    graph = card.children[-1]
    assert figure["layout"]["height"] == chart_height(14) > 300
    assert graph.style == {"height": f"{figure['layout']['height']}px"}


@pytest.mark.browser
def test_csv_and_json_downloads_hold_every_point(browser_page, live_server, logdir, plots_drew):
    _open(browser_page, live_server(logdir), plots_drew)
    card = browser_page.locator("#scalars-grid > div").filter(has_text="train/loss")
    with browser_page.expect_download() as info:
        card.get_by_role("button", name="CSV").click()
    download = info.value
    assert download.suggested_filename == "train_loss.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert len(rows) == len(RUNS) * STEPS
    mine = [r for r in rows if r["run"] == "mlp-c"]
    assert [int(r["step"]) for r in mine] == list(range(STEPS))
    assert mine[250]["value"] == "NaN"  # marked, not dropped
    np.testing.assert_allclose([float(r["smoothed"]) for r in mine], smooth(_values("mlp-c"), 0.6), rtol=1e-9)

    with browser_page.expect_download() as info:
        card.get_by_role("button", name="JSON").click()
    document = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert document["tag"] == "train/loss" and document["smoothing"] == 0.6
    assert set(document["runs"]) == set(RUNS)
    assert document["runs"]["mlp-c"]["value"][250] == "NaN"
    assert len(document["runs"]["cnn-a"]["step"]) == STEPS


@pytest.mark.browser
def test_charts_follow_a_run_while_it_writes(browser_page, live_server, tmp_path, plots_drew):
    folder = tmp_path / "live"
    run = Run(folder, name="training")
    for step in range(10):
        run.log({"loss": 1.0 / (step + 1)}, step=step)
    run.flush()
    try:
        _open(browser_page, live_server(folder), plots_drew, count=1)
        assert max(_smoothed_traces(browser_page, 0)["training"]["x"]) == 9
        for step in range(10, 20):
            run.log({"loss": 1.0 / (step + 1)}, step=step)
        run.flush()
        # No reload: the shell's version poll (every 5 s) brings the new points.
        browser_page.wait_for_function(
            """() => { const t = document.querySelectorAll('.js-plotly-plot')[0].data
                            .find(t => t.name === 'training' && t.hoverinfo !== 'skip');
                       const b = Uint8Array.from(atob(t.x.bdata), c => c.charCodeAt(0));
                       const x = new Int32Array(b.buffer); return x[x.length - 1] === 19; }""",
            timeout=20_000,
        )
    finally:
        run.finish()


@pytest.mark.browser
def test_x_axis_and_log_scale_controls(browser_page, live_server, logdir, plots_drew):
    _open(browser_page, live_server(logdir), plots_drew)
    browser_page.get_by_label("Wall").check()
    browser_page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot')[0].layout.xaxis.type === 'date'")
    browser_page.get_by_label("Log").check()
    browser_page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot')[0].layout.yaxis.type === 'log'")


# -- the figure and the page's parts, without a browser -------------------------------------------


@pytest.fixture(scope="module")
def source(logdir):
    return SeriesSource(open_logdir(logdir))


def test_ignore_outliers_fits_the_y_range_to_the_percentile_band(source):
    chart = source.chart("train/loss", list(RUNS), smoothing=0.6)
    low, high = chart.robust_range
    figure = scalars_figure_json(chart, ignore_outliers=True)
    margin = 0.1 * (high - low)
    assert figure["layout"]["yaxis"]["range"] == pytest.approx([low - margin, high + margin])
    assert "range" not in scalars_figure_json(chart)["layout"]["yaxis"]  # autorange otherwise


def test_log_scale_says_how_many_values_it_cannot_draw(source):
    chart = source.chart("train/loss", list(RUNS), smoothing=0.6)
    assert chart.nonpositive > 0  # noisy losses near zero dip below it
    figure = scalars_figure_json(chart, yscale="log", ignore_outliers=True)
    assert figure["layout"]["yaxis"]["type"] == "log"
    notes = [a["text"] for a in figure["layout"]["annotations"]]
    assert notes == [f"{chart.nonpositive:,} values ≤ 0 not drawn on the log scale"]
    low, high = chart.robust_log_range
    assert figure["layout"]["yaxis"]["range"][0] < low < high < figure["layout"]["yaxis"]["range"][1]


def test_nan_points_are_marked_not_dropped(source):
    chart = source.chart("train/loss", list(RUNS), smoothing=0.6)
    markers = [t for t in scalars_figure_json(chart)["data"] if t["mode"] == "markers"]
    assert [t["name"] for t in markers] == ["NaN"]
    assert markers[0]["text"] == ["mlp-c"] and markers[0]["yaxis"] == "y2"
    assert markers[0]["marker"]["color"] == [run_colors(RUNS)["mlp-c"]]
    figure = scalars_figure(chart)  # the same as a plotly Figure
    assert figure.layout.showlegend is True and len(figure.data) == 2 * len(RUNS) + 1


def test_smoothing_zero_draws_one_line_per_run(source):
    chart = source.chart("train/loss", list(RUNS), smoothing=0.0, xaxis="relative")
    lines = [t for t in scalars_figure_json(chart)["data"] if t["mode"] == "lines"]
    assert len(lines) == len(RUNS)
    assert all("customdata" not in t for t in lines)
    assert scalars_figure_json(chart)["layout"]["xaxis"]["title"]["text"].startswith("relative")


def test_is_active_only_with_scalars(tmp_path, logdir):
    assert scalars_page.is_active(AppContext(logdir, open_logdir(logdir)))
    empty = tmp_path / "empty"
    with Run(empty, name="images-only") as run:
        run.log_image("x", np.zeros((4, 4)), step=0)
    assert not scalars_page.is_active(AppContext(empty, open_logdir(empty)))
    assert not scalars_page.is_active(AppContext(None, None))


@pytest.mark.browser
def test_odd_names_are_shown_as_text(browser_page, live_server, tmp_path, plots_drew, dialogs):
    xss = "<img src=x onerror=alert(1)>"
    tag = 'eval.top-1 {acc} "%{y}"'
    with Run(tmp_path, name=xss) as run:
        for step in range(5):
            run.log({tag: step / 10}, step=step)
    _open(browser_page, live_server(tmp_path), plots_drew, count=1)
    eventually(lambda: browser_page.locator("#scalars-grid h3").inner_text(), tag)
    eventually(lambda: xss in browser_page.locator("#scalars-legend").inner_text())
    box = browser_page.locator(".js-plotly-plot").first.bounding_box()
    browser_page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    eventually(lambda: dialogs.messages, [], hold=0.3)  # no dialog opens


def test_charts_grow_so_the_hover_lists_every_run():
    from deepscope.track.charts import ChartData, SeriesData

    empty = np.zeros(0)
    one = np.array([1.0])

    def chart(runs: int) -> ChartData:
        series = tuple(SeriesData(f"run-{i}", one, one, one, one, one, empty, empty, 1, 0) for i in range(runs))
        return ChartData("loss", "step", 0.6, series, None, None, 0)

    assert scalars_figure_json(chart(3))["layout"]["height"] == 300
    tall = scalars_figure_json(chart(20))
    assert tall["layout"]["height"] >= 19 * 20 + 60
    raw = [t for t in scalars_figure_json(chart(8))["data"] if t.get("hoverinfo") == "skip"]
    assert len(raw) == 8 and all(t["line"]["color"].endswith(",0.198)") for t in raw)  # fainter when crowded
    # Beyond ten runs, the raw series are one grey layer: each run's points, a gap between runs.
    (layer,) = [t for t in tall["data"] if t.get("hoverinfo") == "skip"]
    assert layer["line"]["color"].startswith("rgba(82,96,109,")
    assert layer["connectgaps"] is False
    y = np.frombuffer(base64.b64decode(layer["y"]["bdata"]), "<f4")
    assert y.size == 2 * 20 and np.isnan(y[1::2]).all() and (y[::2] == 1).all()


def test_the_grey_layer_keeps_each_lines_envelope_with_fewer_points():
    """The raw layer's lines are thinned to the lowest and highest point of wider slices of x:
    against a per-line loop, each kept point is the line's own, in x order, with its first and
    last point and the lowest and highest of every slice, and a gap between two lines."""
    from deepscope.viz.scalars import _envelopes

    rng = np.random.default_rng(3)
    xs, ys = [], []
    for size in (520, 7, 1, 0, 300, 2):
        x = np.sort(rng.choice(100_000, size, replace=False)).astype(np.float64)
        y = rng.lognormal(size=size) * rng.choice([-1, 1], size)
        xs.append(x)
        ys.append(y)
    out_x, out_y = _envelopes(xs, ys, 2)
    pieces_x = np.split(out_x, np.flatnonzero(np.isnan(out_x)))
    pieces_y = np.split(out_y, np.flatnonzero(np.isnan(out_y)))
    pieces = [(px[~np.isnan(px)], py[~np.isnan(py)]) for px, py in zip(pieces_x, pieces_y, strict=True)]
    lines = [(x, y) for x, y in zip(xs, ys, strict=True) if x.size]
    assert len([p for p in pieces if p[0].size]) == len(lines) and np.isnan(out_x).sum() == len(lines)
    for (x, y), (px, py) in zip(lines, [p for p in pieces if p[0].size], strict=True):
        slices = max(x.size // 4, 1)
        where = np.minimum(((x - x[0]) / max(x[-1] - x[0], 1e-300) * slices).astype(int), slices - 1)
        expected = {0, x.size - 1}
        for s in np.unique(where):
            rows = np.flatnonzero(where == s)
            expected |= {int(rows[np.argmin(y[rows])]), int(rows[np.argmax(y[rows])])}
        rows = sorted(expected)
        np.testing.assert_array_equal(px, x[rows])
        np.testing.assert_array_equal(py, y[rows])
        assert px.size <= x.size // 2 + 2 or x.size < 8


def test_a_single_point_series_is_drawn_as_a_marker(tmp_path):
    """A metric logged once (a final test score) must be visible: a line needs two points."""
    from deepscope.track import Run

    with Run(tmp_path, name="once") as run:
        run.log({"test/accuracy": 0.9}, step=5)
    with Run(tmp_path, name="short") as run:
        for step in range(3):
            run.log({"test/accuracy": 0.5 + 0.1 * step}, step=step)
    chart = SeriesSource(open_logdir(tmp_path)).chart("test/accuracy", ["once", "short"])
    traces = {t["name"]: t for t in scalars_figure_json(chart)["data"] if "hovertemplate" in t}
    assert traces["once"]["mode"] == "markers"
    assert "markers" in traces["short"]["mode"] and "lines" in traces["short"]["mode"]


# -- many runs and tags: colours, lazy charts, escaping ----------------------------------------------


def test_twenty_runs_in_a_row_get_twenty_colours_by_order():
    names = [f"run-{i:02d}" for i in range(45)]
    colors = run_colors(names)
    assert len(set(RUN_PALETTE)) == len(RUN_PALETTE) == 20
    for start in range(len(names) - 19):  # any twenty neighbours: twenty colours
        assert len({colors[name] for name in names[start : start + 20]}) == 20
    # By place, not by name: a run keeps its colour when runs are added after it.
    assert run_colors([*names, "run-99"])["run-07"] == colors["run-07"]
    assert run_colors(["b", "a"])["b"] == run_colors(["a", "b"])["a"] == RUN_PALETTE[0]


def test_the_figure_draws_each_run_in_the_colour_given(source):
    chart = source.chart("train/loss", list(RUNS), smoothing=0.6)
    given = {"cnn-a": "#000001", "cnn-b": "#000002", "mlp-c": "#000003"}
    figure = scalars_figure_json(chart, colors=given)
    lines = [t for t in figure["data"] if "hovertemplate" in t and t.get("yaxis") != "y2"]
    assert {t["name"]: t["line"]["color"] for t in lines} == given
    (nan,) = [t for t in figure["data"] if t.get("yaxis") == "y2"]
    assert nan["marker"]["color"] == ["#000003"]
    # Without colours, the chart's own runs in order: all different.
    default = [t["line"]["color"] for t in scalars_figure_json(chart)["data"] if "line" in t and "hovertemplate" in t]
    assert len(set(default)) == 3


ODD = '<b>bold</b> %{x} "quoted"'


def test_run_names_reach_the_hover_as_text(tmp_path):
    from deepscope.escape import escape

    with Run(tmp_path, name=ODD) as run:
        for step in range(5):
            run.log({"loss": math.nan if step == 3 else step / 10}, step=step)
    chart = SeriesSource(open_logdir(tmp_path)).chart("loss", [ODD])
    figure = scalars_figure_json(chart)
    (line,) = [t for t in figure["data"] if "hovertemplate" in t and t.get("yaxis") != "y2"]
    template = line["hovertemplate"]
    assert template.startswith(escape(ODD) + ": %{y:.4g}")
    assert "<b>" not in template and "%{x}" not in template and '"' not in template
    (nan,) = [t for t in figure["data"] if t.get("yaxis") == "y2"]
    assert nan["text"] == [escape(ODD)]


@pytest.mark.browser
def test_a_run_name_with_markup_shows_literally_in_the_hover(browser_page, live_server, tmp_path, plots_drew):
    with Run(tmp_path, name=ODD) as run:
        for step in range(50):
            run.log({"loss": 1 / (step + 1)}, step=step)
    _open(browser_page, live_server(tmp_path), plots_drew, count=1)
    browser_page.get_by_label("Log").check()  # a control first; the chart redraws on a log axis
    browser_page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot')[0].layout.yaxis.type === 'log'")
    box = browser_page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    hover_until(
        browser_page,
        box["x"] + box["width"] / 2,
        box["y"] + box["height"] / 2,
        lambda: (
            "bold" in browser_page.evaluate("() => (document.querySelector('.hoverlayer') || {}).textContent || ''")
        ),
    )
    hover = browser_page.evaluate("() => document.querySelector('.hoverlayer').textContent")
    assert ODD in hover  # the name as typed: tags, %{x} and quotes shown, not interpreted
    bold = browser_page.evaluate(
        "() => [...document.querySelectorAll('.hoverlayer tspan')].some(t => t.style.fontWeight === 'bold')"
    )
    assert not bold
    assert ODD in browser_page.locator("#scalars-legend").inner_text()


@pytest.mark.browser
def test_charts_draw_as_they_scroll_into_view(browser_page, live_server, tmp_path, plots_drew):
    tags = [f"metric/{i:02d}" for i in range(12)]
    with Run(tmp_path, name="scalars-run") as run:
        for step in range(20):
            run.log({tag: float(step * (i + 1)) for i, tag in enumerate(tags)}, step=step)
    with Run(tmp_path, name="images-only") as run:
        run.log_image("x", np.zeros((4, 4)), step=0)
    _open(browser_page, live_server(tmp_path), plots_drew, count=2)
    drawn_js = """(tag) => { const gd = document.querySelector(`[data-scalars-tag="${tag}"] .js-plotly-plot`);
                             return !!gd && Array.isArray(gd._fullData) && gd._fullData.length > 0; }"""
    # The run without scalars is not counted, nor in the legend.
    eventually(lambda: browser_page.locator("#scalars-summary").inner_text(), "12 of 12 tags · 1 of 1 runs")
    assert "images-only" not in browser_page.locator("#scalars-legend").inner_text()
    browser_page.wait_for_function(drawn_js, arg=tags[0])
    last = browser_page.locator(f'[data-scalars-tag="{tags[-1]}"]')
    assert last.bounding_box()["y"] > 1500  # far below the 800 px window
    assert not browser_page.evaluate(drawn_js, tags[-1])  # not drawn while out of view

    # A control changed before the chart came into view still applies when it draws.
    thumb = browser_page.locator("#scalars-smoothing [role=slider]")
    thumb.focus()
    browser_page.keyboard.press("Home")  # smoothing 0
    eventually(lambda: thumb.get_attribute("aria-valuenow"), "0")
    last.scroll_into_view_if_needed()
    browser_page.wait_for_function(drawn_js, arg=tags[-1])
    line = eventually(lambda: _smoothed_traces(browser_page, tags[-1])["scalars-run"])
    np.testing.assert_allclose(line["y"], np.arange(20) * 12.0)  # the raw values: smoothing 0
    # Only the charts that came into view were drawn: the ones between were scrolled past.
    assert browser_page.locator(".js-plotly-plot").count() < len(tags)


# -- the preview that comes with the page ------------------------------------------------------


def _path_points(d: str) -> np.ndarray:
    """The absolute points of a preview path ("M x y l dx dy dx dy ...")."""
    import re

    head, _, steps = d.partition("l")
    start = np.array([float(v) for v in re.findall(r"-?\d+", head[1:])])
    deltas = np.array([float(v) for v in re.findall(r"-?\d+", steps)]).reshape(-1, 2)
    return np.vstack([start, start + np.cumsum(deltas, axis=0)]) if deltas.size else start[None]


def _decode(values) -> np.ndarray:
    return np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"])).astype(float)


def test_the_preview_draws_the_points_of_the_chart_in_their_colours(source):
    import re

    from deepscope.viz.scalars import scalars_preview

    chart = source.chart("train/loss", list(RUNS), smoothing=0.6, width=scalars_page.CHART_WIDTH)
    figure = scalars_figure_json(chart, colors=run_colors(RUNS))
    preview = scalars_preview(figure, width=scalars_page.CHART_WIDTH)
    assert preview is not None
    paths = re.findall(r"<path d='([^']+)' fill='none' stroke='([^']+)'", preview.svg)
    lines = [t for t in figure["data"] if t.get("yaxis") != "y2"]
    assert [stroke for _, stroke in paths] == [t["line"]["color"] for t in lines]  # every line, in order
    # Where each point lands: x tight on the data, y padded by 5% of the height (plotly's autorange).
    xs = np.concatenate([_decode(t["x"]) for t in lines])
    ys = np.concatenate([_decode(t["y"]) for t in lines])
    ys = ys[np.isfinite(ys)]
    pad = (ys.max() - ys.min()) * 0.05 / 0.9
    y0, y1 = ys.min() - pad, ys.max() + pad
    height = figure["layout"]["height"] - figure["layout"]["margin"]["t"] - figure["layout"]["margin"]["b"]
    for (d, _), trace in zip(paths, lines, strict=True):
        x, y = _decode(trace["x"]), _decode(trace["y"])
        expected = np.round(
            np.column_stack(
                [(x - xs.min()) / (xs.max() - xs.min()) * scalars_page.CHART_WIDTH, (y1 - y) / (y1 - y0) * height]
            )
        )
        expected = expected[np.r_[True, np.any(expected[1:] != expected[:-1], axis=1)]]
        np.testing.assert_array_equal(_path_points(d), expected)
    # The NaN of mlp-c is marked on the chart's edge, as the figure marks it.
    assert preview.svg.count("stroke-width='2'") == 1
    # Ticks where plotly's automatic ticks go: steps 0..299 on a 520 px axis every 50.
    assert [label for _, label in preview.x_ticks] == ["0", "50", "100", "150", "200", "250"]
    assert preview.x_ticks[1][0] == pytest.approx(50 / 299)


def test_the_preview_leaves_out_axes_it_cannot_draw(source):
    from deepscope.viz.scalars import scalars_preview

    chart = source.chart("train/loss", list(RUNS), smoothing=0.6, xaxis="wall")
    assert scalars_preview(scalars_figure_json(chart)) is None  # dates: the chart alone
    assert scalars_preview(scalars_figure_json(source.chart("train/loss", list(RUNS)), yscale="log")) is None


def test_the_page_comes_with_previews_of_its_first_charts(tmp_path):
    tags = [f"metric/{i:02d}" for i in range(scalars_page.PREVIEW_CHARTS + 2)]
    with Run(tmp_path, name="one") as run:
        for step in range(40):
            run.log({tag: float(step * (i + 1)) for i, tag in enumerate(tags)}, step=step)
    ctx = AppContext(logdir_path=tmp_path, logdir=open_logdir(tmp_path))
    page = json.loads(json.dumps(scalars_page.layout(ctx), cls=__import__("plotly").utils.PlotlyJSONEncoder))
    text = json.dumps(page)
    assert text.count("ds-scalars-preview") == scalars_page.PREVIEW_CHARTS
    assert text.count("data:image/svg+xml") == scalars_page.PREVIEW_CHARTS
    assert "scalars-retry" not in text  # the grid came with the page: no callback before the charts


# The centres of a card's tick labels, in the preview and in plotly's chart: [[text, x, y], ...].
_TICKS_JS = """([tag, axis]) => {
    const card = document.querySelector(`[data-scalars-tag="${tag}"]`);
    const centre = (el) => {
        const r = el.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; };
    const preview = [...card.querySelectorAll('.ds-scalars-preview span')]
        .filter(s => s.dataset.axis === axis).map(s => [s.textContent, ...centre(s)]);
    const chart = [...card.querySelectorAll(`.${axis}tick text`)].map(t => [t.textContent, ...centre(t)]);
    return {preview, chart};
}"""


@pytest.mark.browser
def test_the_preview_shows_before_plotly_and_the_chart_replaces_it_in_place(
    browser_page, live_server, logdir, plots_drew
):
    url = live_server(logdir)
    # Without plotly.js, the first charts still show their lines: the preview that came with the page.
    context = browser_page.context
    blocked = context.new_page()
    # every plotly.js the app may serve: the bundle (its URL carries ?m=) or dash's own
    blocked.route(re.compile(r"/plotly[^/?]*\.js(\?|$)"), lambda route: route.abort())
    blocked.goto(url + "scalars")
    blocked.wait_for_function(
        """() => { const imgs = [...document.querySelectorAll('.ds-scalars-preview img')];
                   return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0); }"""
    )
    assert blocked.locator(".js-plotly-plot .main-svg").count() == 0
    preview_ticks = {axis: blocked.evaluate(_TICKS_JS, ["train/loss", axis])["preview"] for axis in ("x", "y")}
    blocked.close()
    # With it, the interactive chart draws, and the preview under it is hidden once it has (not
    # painted under every redraw).
    _open(browser_page, url, plots_drew)
    preview = '[data-scalars-tag="train/loss"] .ds-scalars-preview'
    browser_page.wait_for_function(
        "(preview) => getComputedStyle(document.querySelector(preview)).display === 'none'", arg=preview
    )
    # and emptied: the page no longer holds its image.
    browser_page.wait_for_function("(preview) => document.querySelector(preview).children.length === 0", arg=preview)
    # Its ticks were where the chart has them, in the same window.
    for axis in ("x", "y"):
        chart = eventually(lambda axis=axis: browser_page.evaluate(_TICKS_JS, ["train/loss", axis])["chart"])
        assert [t[0] for t in preview_ticks[axis]] == [t[0] for t in chart], axis
        for (_, px, py), (_, cx, cy) in zip(preview_ticks[axis], chart, strict=True):
            assert abs(px - cx) <= 3 and abs(py - cy) <= 3, (axis, preview_ticks[axis], chart)
