"""The Data page in Chromium: Overview sorts, Drift and Anomalies draw, Dive lays out 100,000
examples with WebGL, facets them and shows the record of a clicked point."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dash import html

from deepscope.app.pages import data as page_module
from deepscope.app.pages._data import overview
from deepscope.app.plugin import AppContext
from deepscope.data.demo import log_data_runs
from deepscope.track import open_logdir
from tests.conftest import click_until, eventually

PLANTED = ("income", "purpose", "employment")
BIG = 100_000

POINTS = """() => {
    const gd = document.querySelector('#data-dive-graph .js-plotly-plot');
    if (!gd || !Array.isArray(gd._fullData)) return null;
    const total = gd._fullData.reduce((n, t) => n + (t.x ? t.x.length : 0), 0);
    return {total, types: gd._fullData.map(t => t.type), arrays: gd._fullData.map(t => t.x.constructor.name),
            columns: (gd.layout.annotations || []).map(a => a.text), images: (gd.layout.images || []).length,
            first: gd._fullData.map(t => [t.x[0], t.y[0]])};
}"""
# Where a point of the Dive figure is on the screen, and which example it is.
POINT_AT = """([curve, i]) => {
    const gd = document.querySelector('#data-dive-graph .js-plotly-plot');
    const t = gd._fullData[curve], xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
    const box = gd.getBoundingClientRect();
    return {x: box.left + xa._offset + xa.l2p(t.x[i]), y: box.top + ya._offset + ya.l2p(t.y[i]),
            example: t.customdata[i]};
}"""


@pytest.fixture(scope="module")
def data_logdir(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("data-page") / "logs"
    log_data_runs(logdir)
    return logdir


@pytest.fixture(scope="module")
def big_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": rng.normal(size=BIG).round(4),
            "kind": rng.choice(["alpha", "beta", "gamma", "delta"], BIG),
            "size": rng.integers(0, 50, BIG),
        }
    )


def _choose(page, dropdown: str, option: str) -> None:
    page.click(f"#{dropdown}")
    page.locator(".dash-dropdown-options").get_by_role("option", name=option, exact=True).click()


def _feature_order(page) -> list[str]:
    return page.eval_on_selector_all(
        "#data-overview-tables tbody[data-feature]", "bodies => bodies.map(b => b.dataset.feature)"
    )


def _headers(page) -> list[str]:
    return page.eval_on_selector_all("#data-overview-tables thead th", "cells => cells.map(c => c.innerText.trim())")


def _watch_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_the_page_is_active_only_with_data(tmp_path, data_logdir):
    from deepscope.track import Run

    empty = tmp_path / "empty"
    with Run(empty, name="curves") as run:
        run.log({"loss": 1.0})
    assert not page_module.is_active(AppContext(empty, open_logdir(empty)))
    assert page_module.is_active(AppContext(empty, open_logdir(empty), datasets={"frame": pd.DataFrame({"a": [1]})}))
    assert page_module.is_active(AppContext(data_logdir, open_logdir(data_logdir)))


def _table_headers(component) -> list[str]:
    found = [component.children] if isinstance(component, html.Th) else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str):
            found += _table_headers(child)
    return found


def test_the_distance_column_and_sort_need_two_datasets():
    from deepscope.data import compare, profile

    train, serving = (
        profile(_loans_like(400, shift, seed), name=name, progress=False)
        for name, shift, seed in (("train", 0, 0), ("serving", 5, 1))
    )
    for sort in ("distance", "name"):
        alone = compare(train, sort=sort)
        headers = _table_headers(html.Div(overview.feature_tables(alone, alone.order)))
        assert "Distance" not in headers and "Count" in headers
        pair = compare(train, serving, sort=sort)
        headers = _table_headers(html.Div(overview.feature_tables(pair, pair.order)))
        assert headers.count("Distance") == 2  # the numeric table and the categorical one
    options, sort = overview.sort_choices(1, "distance")
    assert sort == "non_uniformity"
    assert [o for o in options if o["value"] == "distance"] == [
        {"label": "distribution distance (choose 2+ datasets)", "value": "distance", "disabled": True}
    ]
    assert overview.sort_choices(1, "name")[1] == "name"  # a sort that needs no second dataset stays
    assert overview.sort_choices(2, "non_uniformity") == (overview.SORTS, "non_uniformity")


@pytest.mark.browser
def test_overview_drew_and_sorting_changes_the_order(browser_page, live_server, data_logdir, plots_drew, tmp_path):
    page = browser_page
    errors = _watch_errors(page)
    page.goto(live_server(data_logdir) + "data")
    page.locator("#data-overview-tables tbody[data-feature]").first.wait_for()
    plots_drew(page, count=12)  # a histogram per feature of loans, and the one with axes
    eventually(
        lambda: (
            "train: 3,500 rows, serving: 1,500 rows · 11 features"
            in page.locator("#data-overview-summary").inner_text()
        )
    )
    by_distance = _feature_order(page)
    assert by_distance[0] == "income"  # the planted shift is the largest distance
    assert "Distance" in _headers(page)
    page.screenshot(path=str(tmp_path / "data-overview.png"), full_page=True)

    _choose(page, "data-overview-sort", "name")
    page.wait_for_function(
        "(before) => { const now = [...document.querySelectorAll("
        "'#data-overview-tables tbody[data-feature]')].map(b => b.dataset.feature);"
        " return now.join() !== before.join(); }",
        arg=by_distance,
    )
    by_name = _feature_order(page)
    assert by_name != by_distance and sorted(by_name) == sorted(by_distance)
    numeric = ["age", "approved", "credit_history_years", "debt", "income", "late_payments", "loan_amount"]
    assert by_name == numeric + ["employment", "group", "purpose", "region"]  # each table alphabetical

    _choose(page, "data-overview-sort", "missing")
    page.wait_for_function(
        "() => document.querySelector('#data-overview-tables tbody[data-feature]')"
        ".dataset.feature === 'credit_history_years'"
    )  # 3.2% missing in serving

    detail_axis = (
        "() => { const gd = document.querySelector('#data-overview-detail-graph .js-plotly-plot');"
        " return gd && gd.layout.yaxis.title.text; }"
    )
    eventually(lambda: page.evaluate(detail_axis), "% of examples")
    page.click("#data-overview-percent input")  # Facets' normalisation off: raw counts
    page.wait_for_function(f"() => ({detail_axis})() === 'count'")

    page.fill("#data-overview-filter", "^(purpose|region)$")
    page.wait_for_function("() => document.querySelectorAll('#data-overview-tables tbody[data-feature]').length === 2")
    eventually(lambda: "2 of 11 features match" in page.locator("#data-overview-summary").inner_text())
    assert errors == []


@pytest.mark.browser
def test_drift_and_anomalies_drew(browser_page, live_server, data_logdir, plots_drew, tmp_path):
    page = browser_page
    errors = _watch_errors(page)
    page.goto(live_server(data_logdir) + "data")
    page.click("#data-tab-drift")
    page.locator("#data-drift-verdict").wait_for()
    plots_drew(page, count=2)
    verdict = eventually(lambda: page.locator("#data-drift-verdict").inner_text())
    assert verdict.startswith("Drift: 6 of 11 features of serving drifted from train")
    assert all(feature in verdict for feature in PLANTED)
    rows = eventually(lambda: page.locator("#data-drift-metrics tbody tr").all_inner_texts())
    verdicts = {row.split("\t")[0].strip(): row.split("\t")[2].strip() for row in rows if "\t" in row}
    assert all(verdicts[f] == "drifted" for f in PLANTED) and verdicts["group"] == "ok"
    # The most drifted feature's distributions, reference against current, over the same buckets.
    page.wait_for_function(
        "() => { const gd = document.querySelector('#data-drift-feature-graph .js-plotly-plot');"
        " return gd && gd.layout.title.text === 'income'; }"
    )
    traces = page.evaluate(
        "() => document.querySelector('#data-drift-feature-graph .js-plotly-plot')._fullData"
        ".map(t => [t.name, t.x.length])"
    )
    assert traces == [["train", 10], ["serving", 10]]
    page.screenshot(path=str(tmp_path / "data-drift.png"), full_page=True)

    # Clicking a bar of the overall chart shows that feature.
    page.locator("#data-drift-chart-graph").scroll_into_view_if_needed()
    where = page.evaluate("""() => { const gd = document.querySelector('#data-drift-chart-graph .js-plotly-plot');
        const t = gd._fullData[0], i = [...t.y].indexOf('purpose'), xa = gd._fullLayout.xaxis,
              ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
        return {x: box.left + xa._offset + xa.l2p(t.x[i] / 2), y: box.top + ya._offset + ya.l2p(i)}; }""")
    click_until(
        page,
        where["x"],
        where["y"],
        lambda: page.evaluate(
            "() => document.querySelector('#data-drift-feature-graph .js-plotly-plot').layout.title.text === 'purpose'"
        ),
    )

    page.click("#data-tab-anomalies")
    page.locator("#data-anomalies-verdict").wait_for()
    eventually(lambda: page.locator("#data-anomalies-verdict").inner_text(), "serving: 2 errors against the schema.")
    listed = eventually(lambda: page.locator("#data-anomalies-table tbody tr").all_inner_texts())
    found = {
        tuple(cell.strip() for cell in row.split("\t")[:3])
        for row in listed
        if "\t" in row and not row.startswith("Severity")
    }  # DataTable's header row is in tbody
    assert found == {("error", "presence_drop", "credit_history_years"), ("error", "presence_drop", "purpose")}
    eventually(lambda: "present in 96.8% of examples" in page.locator("#data-anomalies-table").inner_text())
    eventually(lambda: page.locator("#data-anomalies-schema-table tbody tr").count() >= 11)
    page.screenshot(path=str(tmp_path / "data-anomalies.png"), full_page=True)
    assert errors == []


@pytest.mark.browser
def test_dive_draws_100000_points_and_faceting_changes_the_layout(
    browser_page, live_server, data_logdir, big_frame, plots_drew, tmp_path
):
    page = browser_page
    errors = _watch_errors(page)
    page.goto(live_server(data_logdir, datasets={"big": big_frame}) + "data")
    page.click("#data-tab-dive")
    page.locator("#data-dive-source").wait_for()
    _choose(page, "data-dive-source", "big (registered)")
    page.wait_for_function(f"() => {{ const p = ({POINTS})(); return p && p.total === {BIG}; }}", timeout=60_000)
    plots_drew(page, count=1)
    flat = page.evaluate(POINTS)
    assert set(flat["types"]) == {"scattergl"}
    assert set(flat["arrays"]) == {"Float32Array"}  # positions travel as typed arrays, not per-point objects
    assert flat["columns"] == []
    eventually(lambda: page.locator("#data-dive-color").inner_text().strip(), "kind")  # a category with few values

    _choose(page, "data-dive-column", "kind")
    page.wait_for_function(
        "() => { const gd = document.querySelector('#data-dive-graph .js-plotly-plot');"
        " return (gd.layout.annotations || []).length === 4; }",
        timeout=60_000,
    )
    faceted = page.evaluate(POINTS)
    assert faceted["total"] == BIG
    assert faceted["columns"] == ["alpha", "beta", "delta", "gamma"]
    assert faceted["first"] != flat["first"]
    eventually(lambda: "columns by kind (4)" in page.locator("#data-dive-summary").inner_text())
    page.locator("#data-dive-graph").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "data-dive-100k.png"), full_page=True)

    # A click among 100,000 points finds its example.
    point = page.evaluate(POINT_AT, [2, 123])
    _click_until_shown(page, point)
    shown = eventually(lambda: page.locator("#data-dive-record-body").inner_text())
    row = big_frame.iloc[point["example"]]
    assert f"kind\t{row['kind']}" in shown and f"size\t{row['size']}" in shown
    assert errors == []


def _click_until_shown(page, point) -> None:
    """Click the point until its record shows: under load plotly may take the first click before
    its hover layer knows the points (the click then selects nothing)."""

    def clicked() -> bool:
        page.mouse.move(point["x"], point["y"])
        page.mouse.click(point["x"], point["y"])
        shown = page.locator("#data-dive-record-body").get_by_text(f"Example {point['example']}", exact=True)
        return eventually(shown.is_visible, timeout=5)  # raises when not shown: click again

    eventually(clicked)


@pytest.mark.browser
def test_clicking_a_point_shows_its_record_and_image(browser_page, live_server, data_logdir, plots_drew, tmp_path):
    page = browser_page
    errors = _watch_errors(page)
    page.goto(live_server(data_logdir) + "data")
    page.click("#data-tab-dive")
    page.locator("#data-dive-source").wait_for()
    _choose(page, "data-dive-source", "data-images · dive/shapes")
    page.wait_for_function(f"() => {{ const p = ({POINTS})(); return p && p.total === 300 && p.images === 300; }}")
    plots_drew(page, count=1)  # each shape drawn as its own thumbnail
    page.locator("#data-dive-graph").scroll_into_view_if_needed()
    point = page.evaluate(POINT_AT, [0, 7])
    _click_until_shown(page, point)
    record = page.locator("#data-dive-record-body")
    sample = open_logdir(data_logdir).table("data-images", "dive/shapes")
    expected = sample.iloc[point["example"]]
    eventually(lambda: f"class_name\t{expected['class_name']}" in record.inner_text())
    eventually(lambda: record.locator("img").get_attribute("src"), expected["thumbnail"])
    page.screenshot(path=str(tmp_path / "data-dive-record.png"), full_page=True)

    page.click("#data-dive-positioning >> text=Scatter")
    page.wait_for_function(
        "() => { const gd = document.querySelector('#data-dive-graph .js-plotly-plot');"
        " return (gd.layout.images || []).length === 0; }"
    )  # no sprites scattered
    eventually(lambda: not page.locator("#data-dive-xy").is_hidden())
    assert errors == []


# -- the page follows the logdir while it is open -----------------------------------------------------


def _loans_like(n: int, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40 + shift, 10, n).round(),
            "income": rng.lognormal(10 + shift / 10, 0.5, n),
            "region": rng.choice(["north", "south", "east"], n),
        }
    )


@pytest.fixture
def week_logdir(tmp_path):
    """One run, ``week-1``, that logged a train and a serving profile: no anomalies, no tables."""
    from deepscope.data import profile
    from deepscope.track import Run

    logdir = tmp_path / "weeks"
    with Run(logdir, name="week-1") as run:
        profile(_loans_like(400), name="train", progress=False).save(run, tag="profile/train")
        profile(_loans_like(300, shift=5, seed=1), name="serving", progress=False).save(run, tag="profile/serving")
    return logdir


def _chosen(page, dropdown: str) -> list[str]:
    return [t.strip() for t in page.locator(f"#{dropdown} .dash-dropdown-value-item").all_inner_texts()]


@pytest.mark.browser
def test_a_profile_logged_while_the_page_is_open_is_offered_and_the_choice_kept(
    browser_page, live_server, week_logdir, plots_drew, tmp_path
):
    from deepscope.data import profile
    from deepscope.track import Run

    page = browser_page
    errors = _watch_errors(page)
    page.goto(live_server(week_logdir) + "data")
    page.locator("#data-overview-tables tbody[data-feature]").first.wait_for()
    assert _chosen(page, "data-overview-datasets") == ["week-1 · profile/train", "week-1 · profile/serving"]
    eventually(lambda: page.locator("#data-summary").inner_text(), "2 logged profiles")

    # The user narrows the comparison to train alone.
    page.click("#data-overview-datasets")
    page.locator(".dash-dropdown-options").get_by_role("option", name="week-1 · profile/serving", exact=True).click()
    page.keyboard.press("Escape")
    page.locator("#data-overview-summary").get_by_text("train: 400 rows · 3 features").wait_for()

    # A run logs a new profile; the page is not reloaded.
    with Run(week_logdir, name="week-2") as run:
        profile(_loans_like(350, shift=2, seed=2), name="train", progress=False).save(run, tag="profile/train")
    page.locator("#data-summary").get_by_text("3 logged profiles", exact=True).wait_for(timeout=20_000)  # one poll
    page.click("#data-overview-datasets")
    options = page.locator(".dash-dropdown-options")
    options.get_by_role("option", name="week-2 · profile/train", exact=True).wait_for()
    offered = eventually(
        lambda: {o.inner_text().strip(): o.get_attribute("aria-selected") for o in options.get_by_role("option").all()}
    )
    assert offered == {
        "week-1 · profile/train": "true",
        "week-1 · profile/serving": "false",
        "week-2 · profile/train": "false",
    }
    page.keyboard.press("Escape")
    assert _chosen(page, "data-overview-datasets") == ["week-1 · profile/train"]  # the user's choice, kept
    eventually(lambda: page.locator("#data-overview-summary").inner_text().startswith("train: 400 rows · 3 features"))
    page.screenshot(path=str(tmp_path / "data-overview-live.png"), full_page=True)

    # The new profile is usable at once: chosen beside the first, both are compared.
    page.click("#data-overview-datasets")
    options.get_by_role("option", name="week-2 · profile/train", exact=True).click()
    page.keyboard.press("Escape")
    page.locator("#data-overview-summary").get_by_text(
        "week-1/train: 400 rows, week-2/train: 350 rows", exact=False
    ).wait_for()
    plots_drew(page, count=3)
    assert errors == []


@pytest.mark.browser
def test_a_view_that_had_nothing_shows_what_is_logged_while_the_page_is_open(
    browser_page, live_server, week_logdir, tmp_path
):
    from deepscope.data import infer_schema, profile, validate
    from deepscope.track import Run

    page = browser_page
    errors = _watch_errors(page)
    page.goto(live_server(week_logdir) + "data")
    page.click("#data-tab-anomalies")
    page.locator("#data-anomalies-empty").wait_for()

    schema = infer_schema(profile(_loans_like(400), name="train", progress=False))
    serving = _loans_like(300, seed=3).assign(region="west")  # a value the schema has never seen
    checked = validate(profile(serving, name="serving", progress=False), schema)
    errors_found = sum(a.severity == "error" for a in checked)
    assert any(a.feature == "region" for a in checked) and errors_found
    with Run(week_logdir, name="week-2") as run:
        checked.save(run, tag="anomalies/serving")
    verdict = page.locator("#data-anomalies-verdict")
    verdict.wait_for(timeout=20_000)  # one poll of the shell, no reload
    eventually(lambda: verdict.inner_text().startswith(f"serving: {errors_found} error"))
    assert _chosen(page, "data-anomalies-source") == ["week-2 · anomalies/serving"]
    eventually(lambda: page.locator("#data-anomalies-empty").count(), 0)
    page.screenshot(path=str(tmp_path / "data-anomalies-live.png"), full_page=True)
    assert errors == []


@pytest.mark.browser
def test_distance_is_shown_and_offered_only_with_two_datasets(browser_page, live_server, data_logdir, tmp_path):
    page = browser_page
    errors = _watch_errors(page)
    page.goto(live_server(data_logdir) + "data")
    page.locator("#data-overview-tables tbody[data-feature]").first.wait_for()
    train, serving = _chosen(page, "data-overview-datasets")
    assert "Distance" in _headers(page) and _chosen_sort(page) == "distribution distance"

    page.click("#data-overview-datasets")  # serving out: train alone
    page.locator(".dash-dropdown-options").get_by_role("option", name=serving, exact=True).click()
    page.keyboard.press("Escape")
    summary = page.locator("#data-overview-summary")
    summary.get_by_text("choose a second dataset to compare distributions").wait_for()
    eventually(lambda: summary.inner_text().startswith("train: 3,500 rows · 11 features"))
    page.wait_for_function(
        "() => !document.querySelector('#data-overview-tables tbody[data-feature] td[rowspan=\"2\"]')"
    )
    headers = _headers(page)
    assert "Distance" not in headers and "Dataset" not in headers and "Non-uniformity" in headers
    assert _chosen_sort(page) == "non-uniformity"
    page.click("#data-overview-sort")
    distance = page.locator(".dash-dropdown-options").get_by_role(
        "option", name="distribution distance (choose 2+ datasets)"
    )
    eventually(lambda: distance.is_disabled() or distance.get_attribute("aria-disabled") == "true")
    page.screenshot(path=str(tmp_path / "data-overview-one-dataset.png"), full_page=True)
    page.keyboard.press("Escape")

    page.click("#data-overview-datasets")  # serving back: distance is offered again
    page.locator(".dash-dropdown-options").get_by_role("option", name=serving, exact=True).click()
    page.keyboard.press("Escape")
    page.wait_for_function(
        "() => document.querySelector('#data-overview-tables tbody[data-feature] td[rowspan=\"2\"]')"
    )
    _choose(page, "data-overview-sort", "distribution distance")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#data-overview-tables thead th')]"
        ".some(c => c.innerText.trim() === 'Distance')"
    )
    assert _feature_order(page)[0] == "income"
    eventually(lambda: "choose a second dataset" not in page.locator("#data-overview-summary").inner_text())
    assert errors == []


def _chosen_sort(page) -> str:
    return page.locator("#data-overview-sort .dash-dropdown-value").inner_text().strip()
