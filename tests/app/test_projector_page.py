"""The Projector page: 2-D and 3-D WebGL scatter, search, neighbours of a clicked point, and the
server-rendered density view above 100k points."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import NearestNeighbors

from deepscope.app.pages import projector
from deepscope.track import Run
from tests.conftest import eventually

LABELS = np.array(["circle", "square", "triangle"])


def _blobs(count: int, dims: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, size=count)
    centres = rng.normal(scale=6.0, size=(3, dims))
    return (centres[truth] + rng.normal(size=(count, dims))).astype(np.float32), truth


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("projector") / "logs"
    vectors, truth = _blobs(300)
    thumbs = np.zeros((300, 8, 8, 3), dtype=np.uint8)
    thumbs[..., 0] = (truth * 100)[:, None, None]
    with Run(folder, name="cnn") as run:
        run.log_embedding(
            "penultimate",
            vectors,
            metadata={"label": LABELS[truth], "id": np.arange(300)},
            images=thumbs,
            step=3,
        )
    return folder


@pytest.fixture(scope="module")
def big_logdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("projector-big") / "logs"
    vectors, truth = _blobs(projector.INTERACTIVE_LIMIT + 20_000, dims=4, seed=1)
    with Run(folder, name="big") as run:
        run.log_embedding("vectors", vectors, metadata={"label": LABELS[truth]})
    return folder


def _trace_types(page) -> list[str]:
    return page.evaluate(
        "() => (document.querySelector('#projector-graph .js-plotly-plot')?._fullData || []).map(t => t.type)"
    )


def _open(page, url, plots_drew) -> None:
    page.goto(url + "projector")
    plots_drew(page, count=1)
    page.wait_for_function("() => (document.querySelector('#projector-status') || {}).innerText?.includes('PCA')")


@pytest.mark.browser
def test_2d_scatter_is_webgl_and_the_3d_control_switches_to_a_scene(browser_page, live_server, logdir, plots_drew):
    _open(browser_page, live_server(logdir), plots_drew)
    assert set(_trace_types(browser_page)) == {"scattergl"}
    names = browser_page.evaluate(
        "() => (document.querySelector('#projector-graph .js-plotly-plot')?._fullData || []).map(t => t.name)"
    )
    assert sorted(names) == sorted(LABELS)  # coloured by the first metadata column
    eventually(lambda: "300 points × 8 dimensions" in browser_page.inner_text("#projector-summary"))
    browser_page.get_by_label("3-D").check()
    browser_page.wait_for_function(
        "() => (document.querySelector('#projector-graph .js-plotly-plot')?._fullData || [])"
        ".every(t => t.type === 'scatter3d')",
        timeout=40_000,
    )  # software WebGL on a busy machine
    assert browser_page.locator("#projector-graph .gl-container canvas").count() >= 1
    browser_page.screenshot(path=str(logdir.parent / "projector-3d.png"))


@pytest.mark.browser
def test_search_highlights_the_matching_points(browser_page, live_server, logdir, plots_drew):
    _open(browser_page, live_server(logdir), plots_drew)
    browser_page.fill("#projector-search", "label=square")
    browser_page.press("#projector-search", "Enter")
    browser_page.wait_for_function(
        "() => (document.querySelector('#projector-graph .js-plotly-plot')?._fullData || [])"
        ".some(t => t.name.startsWith('matches'))"
    )
    matches = browser_page.evaluate(
        "() => (document.querySelector('#projector-graph .js-plotly-plot')?._fullData || [])"
        ".find(t => t.name.startsWith('matches')).customdata.length"
    )
    _, truth = _blobs(300)
    assert matches == int((truth == 1).sum())
    eventually(lambda: f"{matches} points match" in browser_page.inner_text("#projector-status"))
    browser_page.get_by_label("only the search matches").check()
    browser_page.wait_for_function(
        """(n) => {
            const data = document.querySelector('#projector-graph .js-plotly-plot')?._fullData || [];
            const shown = data.reduce((sum, t) => sum + Array.from(t.customdata || []).length, 0);
            return shown === n && !data.some(t => t.name.startsWith('matches'));
        }""",
        arg=matches,
    )


@pytest.mark.browser
def test_clicking_a_point_lists_its_exact_neighbours(browser_page, live_server, logdir, plots_drew):
    _open(browser_page, live_server(logdir), plots_drew)
    # plotly's click event for point 42 of the figure, as a user's click would send it
    browser_page.evaluate(
        """() => {
            const gd = document.querySelector('#projector-graph .js-plotly-plot');
            const trace = gd._fullData.findIndex(t => Array.from(t.customdata).includes(42));
            const at = Array.from(gd._fullData[trace].customdata).indexOf(42);
            const point = {curveNumber: trace, pointNumber: at, customdata: 42,
                           data: gd.data[trace], fullData: gd._fullData[trace]};
            gd.emit('plotly_click', {points: [point], event: {}});
        }"""
    )
    browser_page.wait_for_selector("#projector-neighbor-list li")
    shown = [
        int(t.split()[0].lstrip("#")) for t in browser_page.locator("#projector-neighbor-list li").all_inner_texts()
    ]
    vectors, _ = _blobs(300)
    expected = NearestNeighbors(n_neighbors=11, metric="cosine").fit(vectors).kneighbors(vectors[[42]])[1][0, 1:]
    assert shown == expected.tolist()
    browser_page.wait_for_function(
        "() => (document.querySelector('#projector-graph .js-plotly-plot')?._fullData || [])"
        ".some(t => t.name === 'neighbours')"
    )
    eventually(lambda: browser_page.locator("#projector-neighbors img").count(), 1)  # its thumbnail
    browser_page.screenshot(path=str(logdir.parent / "projector-neighbours.png"))
    browser_page.click("#projector-clear")
    browser_page.wait_for_function("() => !document.querySelector('#projector-neighbor-list')")


@pytest.mark.browser
def test_above_100k_points_a_density_image_that_zooming_replaces_with_points(
    browser_page, live_server, big_logdir, plots_drew
):
    browser_page.goto(live_server(big_logdir) + "projector")
    browser_page.wait_for_function(
        "() => (document.querySelector('#projector-status') || {}).innerText?.includes('Density view')",
        timeout=60_000,
    )
    plots_drew(browser_page, count=1)
    images = browser_page.evaluate(
        "() => document.querySelector('#projector-graph .js-plotly-plot').layout.images.length"
    )
    assert images == 1
    eventually(lambda: "120,000 points in view" in browser_page.inner_text("#projector-status"))
    browser_page.screenshot(path=str(big_logdir.parent / "projector-density.png"))
    # zoom to a small box around one cluster: fewer than 100k points, drawn one by one
    browser_page.evaluate(
        """() => {
            const gd = document.querySelector('#projector-graph .js-plotly-plot');
            const [x0, x1] = gd.layout.xaxis.range, [y0, y1] = gd.layout.yaxis.range;
            Plotly.relayout(gd, {'xaxis.range[0]': x0, 'xaxis.range[1]': x0 + (x1 - x0) / 3,
                                 'yaxis.range[0]': y0, 'yaxis.range[1]': y1});
        }"""
    )
    # the left third holds one of three clusters: about 40,000 points, drawn one by one
    browser_page.wait_for_function(
        "() => (document.querySelector('#projector-status') || {}).innerText?.includes('drawn one by one')",
        timeout=30_000,
    )
    assert "scattergl" in _trace_types(browser_page)
    status = browser_page.inner_text("#projector-status")
    shown = int(re.search(r"([\d,]+) points in view", status).group(1).replace(",", ""))
    assert 20_000 < shown < projector.INTERACTIVE_LIMIT
    # a search redraws the page: the zoomed view stays, its points drawn with the matches on top
    browser_page.fill("#projector-search", "label=square")
    browser_page.press("#projector-search", "Enter")
    browser_page.wait_for_function(
        "() => (document.querySelector('#projector-graph .js-plotly-plot')?._fullData || [])"
        ".some(t => t.name.startsWith('matches'))",
        timeout=30_000,
    )
    status = browser_page.inner_text("#projector-status")
    assert f"{shown:,} points in view, drawn one by one" in status and "points match" in status


def test_background_tsne_reports_progress_and_finishes(logdir):
    from deepscope.app.pages._projector.store import ProjectorStore
    from deepscope.track import open_logdir

    store = ProjectorStore(open_logdir(logdir))
    job = store.job("cnn", "penultimate", 3, "tsne", 2)
    assert store.job("cnn", "penultimate", 3, "tsne", 2) is job  # started once
    projection = job.future.result(timeout=120)
    assert job.done and job.progress == pytest.approx(1.0)
    assert projection.method == "tsne" and projection.coords.shape == (300, 2)


def test_saved_views_round_trip_in_the_run_folder(logdir):
    from deepscope.app.pages._projector.views import VIEWS_FILE, list_views, save_view
    from deepscope.errors import InvalidArgumentError

    state = {"tag": "penultimate", "step": 3, "method": "pca", "dims": 2, "color": "label"}
    state |= {"search": "label=square", "overlays": ["isolate"], "selected": 7, "camera": {"x": [0, 1], "y": [2, 3]}}
    save_view(logdir, "cnn", "squares", state)
    save_view(logdir, "cnn", "  all   points ", {**state, "search": ""})
    views = save_view(logdir, "cnn", "squares", {**state, "selected": 9})  # same name: replaced
    assert [v["name"] for v in views] == ["all points", "squares"]
    assert list_views(logdir, "cnn") == views
    assert views[1] == {"name": "squares", **state, "selected": 9}
    assert (logdir / "cnn" / VIEWS_FILE).is_file()
    with pytest.raises(InvalidArgumentError):
        save_view(logdir, "cnn", "   ", state)
    assert list_views(logdir, "no such run") == []


@pytest.mark.browser
def test_a_saved_view_restores_colour_search_selection_and_zoom(browser_page, live_server, logdir, plots_drew):
    from tests.conftest import eventually

    page = browser_page
    _open(page, live_server(logdir), plots_drew)
    page.fill("#projector-search", "label=circle")
    page.press("#projector-search", "Enter")
    page.wait_for_function(
        "() => (document.querySelector('#projector-graph .js-plotly-plot')?._fullData || [])"
        ".some(t => t.name.startsWith('matches'))"
    )
    page.evaluate(
        "() => Plotly.relayout(document.querySelector('#projector-graph .js-plotly-plot'),"
        " {'xaxis.range': [-1, 1], 'yaxis.range': [-2, 2]})"
    )
    page.fill("#projector-view-name", "circles zoomed")
    page.click("#projector-save-view")
    eventually(lambda: page.inner_text("#projector-view-note"), "Saved “circles zoomed” in run cnn.")
    # change the state, then restore it from the saved view
    page.fill("#projector-search", "")
    page.press("#projector-search", "Enter")
    page.evaluate(
        "() => Plotly.relayout(document.querySelector('#projector-graph .js-plotly-plot'), {'xaxis.autorange': true,"
        " 'yaxis.autorange': true})"
    )
    page.wait_for_function(
        "() => !(document.querySelector('#projector-graph .js-plotly-plot')?._fullData || [])"
        ".some(t => t.name.startsWith('matches'))"
    )
    page.click("#projector-views")
    page.get_by_role("option", name="circles zoomed").click()
    eventually(lambda: page.input_value("#projector-search"), "label=circle")
    ranges = eventually(
        lambda: page.evaluate(
            "() => { const l = document.querySelector('#projector-graph .js-plotly-plot')._fullLayout;"
            " return [l.xaxis.range, l.yaxis.range]; }"
        ),
        [[-1, 1], [-2, 2]],
    )
    assert ranges == [[-1, 1], [-2, 2]]
    page.wait_for_function(
        "() => (document.querySelector('#projector-graph .js-plotly-plot')?._fullData || [])"
        ".some(t => t.name.startsWith('matches'))"
    )
    page.screenshot(path=str(logdir.parent / "projector-views.png"))


@pytest.mark.browser
def test_zooming_in_on_a_few_points_draws_their_thumbnails(browser_page, live_server, logdir, plots_drew):
    page = browser_page
    _open(page, live_server(logdir), plots_drew)
    # a box around one point, small enough to hold only a few of the 300
    wanted = page.evaluate(
        """() => {
            const gd = document.querySelector('#projector-graph .js-plotly-plot');
            const t = gd._fullData[0], x = t.x[0], y = t.y[0];
            const [a, b] = gd._fullLayout.xaxis.range, [c, d] = gd._fullLayout.yaxis.range;
            const dx = (b - a) / 40, dy = (d - c) / 40;
            let inside = 0;
            for (const trace of gd._fullData) {
                for (let i = 0; i < trace.x.length; i++) {
                    if (Math.abs(trace.x[i] - x) <= dx && Math.abs(trace.y[i] - y) <= dy) inside++;
                }
            }
            Plotly.relayout(gd, {'xaxis.range': [x - dx, x + dx], 'yaxis.range': [y - dy, y + dy]});
            return inside;
        }"""
    )
    assert 1 <= wanted <= projector.THUMBNAIL_LIMIT
    page.wait_for_function(
        "(n) => (document.querySelector('#projector-graph .js-plotly-plot')?.layout.images || []).length === n",
        arg=wanted,
    )
    sources = page.evaluate(
        "() => document.querySelector('#projector-graph .js-plotly-plot').layout.images.map(i => i.source)"
    )
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    eventually(lambda: "shown with their thumbnails" in page.inner_text("#projector-status"))
    eventually(lambda: page.locator("#projector-graph .layer-above image").count(), wanted)  # drawn in the plot
    page.screenshot(path=str(logdir.parent / "projector-thumbnails.png"))
    # a redraw of the same projection (another colour) keeps the zoom, and so the thumbnails
    page.click("#projector-color")
    page.get_by_role("option", name="id", exact=True).click()
    page.wait_for_function(
        "() => (document.querySelector('#projector-graph .js-plotly-plot')?._fullData || []).length === 1"
    )
    count = page.evaluate(
        "() => (document.querySelector('#projector-graph .js-plotly-plot')?.layout.images || []).length"
    )
    assert count == wanted
    page.evaluate(
        "() => Plotly.relayout(document.querySelector('#projector-graph .js-plotly-plot'),"
        " {'xaxis.autorange': true, 'yaxis.autorange': true})"
    )
    page.wait_for_function(
        "() => (document.querySelector('#projector-graph .js-plotly-plot')?.layout.images || []).length === 0"
    )


def test_view_ranges_and_saved_cameras_are_read():
    assert projector._range_view({"x": [2, 0], "y": [1, 3], "revision": "pca-2"}) == ((0.0, 2.0), (1.0, 3.0))
    assert projector._range_view({"x": [0, float("nan")], "y": [1, 3]}) is None
    assert projector._range_view({"autosize": True}) is None
    camera = {"camera": {"x": [0, 2], "y": [1, 3]}, "for": "pca-2", "name": "v"}
    assert projector._saved_camera(camera, "pca-2") == {"x": [0.0, 2.0], "y": [1.0, 3.0]}
    assert projector._saved_camera(camera, "tsne-2") is None  # saved with another projection
    scene = {"camera": {"scene": {"eye": {"x": 1, "y": 1, "z": 1}}}, "for": "pca-3"}
    assert projector._saved_camera(scene, "pca-3") == {"scene": {"eye": {"x": 1, "y": 1, "z": 1}}}


@pytest.fixture(scope="module")
def linked_logdir(tmp_path_factory):
    """An embedding whose ``example_id`` column names the rows of a predictions table in its run."""
    folder = tmp_path_factory.mktemp("projector-linked") / "logs"
    vectors, truth = _blobs(60, seed=2)
    ids = 500 + np.arange(60)
    table = pd.DataFrame(
        {"x": vectors[:, 0].astype(float), "label": LABELS[truth], "prediction": LABELS[(truth + (ids % 7 == 0)) % 3]},
        index=pd.Index(ids, name="example"),
    )
    with Run(folder, name="cnn") as run:
        run.log_embedding("penultimate", vectors, metadata={"label": LABELS[truth], "example_id": ids})
        run.log_table("predictions", table)
    return folder, ids[truth == 1]


@pytest.mark.browser
def test_a_search_on_the_projector_filters_the_evaluate_examples(browser_page, live_server, linked_logdir, plots_drew):
    from tests.conftest import eventually

    folder, squares = linked_logdir
    page = browser_page
    _open(page, live_server(folder), plots_drew)
    assert "Search or click a point" in page.inner_text("#projector-linked")
    page.fill("#projector-search", "label=square")
    page.press("#projector-search", "Enter")
    link = page.locator("#projector-evaluate-link")
    eventually(lambda: link.count() and link.inner_text(), f"Show these {len(squares)} examples in Evaluate")
    page.screenshot(path=str(folder.parent / "projector-linked.png"))
    link.click()
    note = page.locator("#evaluate-ids-note")
    eventually(
        lambda: note.count() and note.inner_text(),
        f"The Examples table below shows only the {len(squares)} examples selected in the Projector.",
    )
    eventually(lambda: page.inner_text("#evaluate-examples-note").split(" ")[0], str(len(squares)))
    shown = page.locator("#evaluate-examples td[data-dash-column='_row']").all_inner_texts()
    assert shown and set(shown) <= {str(i) for i in squares}  # the first page of the chosen examples
    page.screenshot(path=str(folder.parent / "evaluate-linked.png"))
    page.click("#evaluate-ids-clear")
    eventually(lambda: page.inner_text("#evaluate-examples-note").split(" ")[0], "60")
    assert page.locator("#evaluate-ids-note").count() == 0


def test_links_carry_ids_as_ranges_and_find_the_predictions_table(linked_logdir):
    from deepscope.app.pages._evaluate.linked import decode_ids, encode_ids, keep
    from deepscope.app.pages._projector.store import ProjectorStore
    from deepscope.track import open_logdir

    assert encode_ids([5, 3, 4, 9, 11, 10, -2]) == "-2,3-5,9-11"
    assert decode_ids("-2,3-5,9-11") == ["-2", "3", "4", "5", "9", "10", "11"]
    assert decode_ids(encode_ids(["a-1", "b"])) == ["a-1", "b"]  # text ids are kept as they are
    rows = pd.DataFrame({"v": range(5)}, index=[10, 11, 12, 13, 14])
    assert keep(rows, {"source": "k", "ids": ["11", "14"]}, "k").index.tolist() == [11, 14]
    assert len(keep(rows, {"source": "other", "ids": ["11"]}, "k")) == 5  # chosen for another source
    folder, _ = linked_logdir
    store = ProjectorStore(open_logdir(folder))
    assert store.linked_table("cnn", "penultimate", None) == ("example_id", "cnn", "predictions")
