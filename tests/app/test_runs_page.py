"""The Runs home page: the table, the filter, and user strings rendered as text."""

from __future__ import annotations

import math
import re
from urllib.parse import urlparse

import pandas as pd
import pytest

from deepscope.app.pages.runs import match_runs, runs_table
from deepscope.track import Run, open_logdir
from tests.conftest import eventually

XSS = "<img src=x onerror=alert(1)>"


def _label(column: dict) -> str:
    """A column's label without the zero-width spaces that let it wrap."""
    return column["name"][1].replace("\u200b", "")


def _table(logdir):
    reader = open_logdir(logdir)
    return runs_table(reader.runs(), reader.last_scalars())


def test_table_has_a_column_per_hparam_and_last_scalar(sample_logdir):
    table = _table(sample_logdir)
    header = [(c["name"][0], _label(c)) for c in table.columns]
    assert header[:4] == [("", "Run"), ("", "Status"), ("", "Started"), ("", "Duration")]
    assert ("hyper-parameters", "lr") in header and ("hyper-parameters", "width") in header
    assert ("last value", "train/loss") in header and ("last value", "val/accuracy") in header
    by_name = {_label(c): c["id"] for c in table.columns}
    rows = {r["run"]: r for r in table.rows}
    assert set(rows) == {"cnn-lr0.01", "cnn-lr0.003", "mlp-lr0.01"}
    row = rows["cnn-lr0.003"]
    assert row["status"] == "finished"
    assert row[by_name["lr"]] == 0.003 and row[by_name["width"]] == 16
    # The last logged value (step 4), not the first or the best.
    assert row[by_name["train/loss"]] == pytest.approx(0.3 / 5, rel=1e-3)
    assert row[by_name["val/accuracy"]] == pytest.approx(0.9)
    assert re.fullmatch(r"\d\d:\d\d:\d\d", row["duration"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row["start"])


@pytest.mark.browser
def test_fractional_hparams_show_four_digits_and_keep_the_full_value(tmp_path, browser_page, live_server):
    """A learning rate shows 0.07619, not 0.07618881684295017 (sorting uses the full value, and
    the tooltip has it); integer hyper-parameters show as they are."""
    for name, lr, seed in (("a", 0.07618881684295017, 10), ("b", 0.003, 123456789)):
        with Run(tmp_path, name=name, hparams={"lr": lr, "seed": seed}) as run:
            run.log({"loss": 1.0})
    table = _table(tmp_path)
    columns = {_label(c): c for c in table.columns}
    assert columns["lr"]["format"] == {"specifier": ".4~g"} and "format" not in columns["seed"]
    rows = {r["run"]: (r, t) for r, t in zip(table.rows, table.tooltips, strict=True)}
    lr = columns["lr"]["id"]
    assert rows["a"][0][lr] == 0.07618881684295017  # the value itself: the server sorts on it
    assert rows["a"][1][lr] == "lr = 0.07618881684295017" and lr not in rows["b"][1]
    browser_page.goto(live_server(tmp_path))
    cells = browser_page.locator(f"#runs-table td[data-dash-column={lr}]")
    cells.first.wait_for()
    assert sorted(eventually(lambda: cells.all_inner_texts())) == ["0.003", "0.07619"]
    seeds = browser_page.locator(f"#runs-table td[data-dash-column={columns['seed']['id']}]")
    assert sorted(seeds.all_inner_texts()) == ["10", "123456789"]


def test_diverged_run_shows_nan_not_blank(tmp_path):
    with Run(tmp_path, name="diverged", hparams={"lr": 10.0}) as run:
        run.log({"loss": 1.0})
        run.log({"loss": math.nan})
    table = _table(tmp_path)
    loss = next(c["id"] for c in table.columns if _label(c) == "loss")
    assert table.rows[0][loss] == "NaN"
    assert table.tooltips[0][loss] == "loss = NaN at step 1"


def test_unusual_hparams_are_text():
    runs = pd.DataFrame(
        {
            "run": ["a", "b"],
            "status": ["finished", "running"],
            "start_time": [pd.Timestamp("2024-01-01", tz="UTC"), pd.NaT],
            "duration": [3725.0, float("nan")],
            "hparams": [{"layers": [64, 32], "act": "relu", "lr": 0.1}, {"lr": "auto", "flag": True}],
            "meta": [{}, {}],
        }
    )
    table = runs_table(runs, pd.DataFrame(columns=["run", "tag", "step", "value"]))
    col = {_label(c): c for c in table.columns}
    assert col["lr"]["type"] == "text"  # one run's lr is "auto": the column sorts as text
    a, b = table.rows
    assert a[col["layers"]["id"]] == "[64, 32]" and a[col["lr"]["id"]] == "0.1"
    assert b[col["flag"]["id"]] == "True"
    assert a["duration"] == "01:02:05" and b["duration"] == "" and b["start"] == ""


def test_filter_matches_names_and_hparams_as_regex_or_text():
    haystacks = [["cnn-lr0.01", "lr=0.01", "width=16"], ["mlp-a", "lr=0.003", "width=64"]]
    assert match_runs(haystacks, "") == ([True, True], "")
    assert match_runs(haystacks, "^cnn")[0] == [True, False]
    assert match_runs(haystacks, "WIDTH=64")[0] == [False, True]  # case-insensitive
    assert match_runs(haystacks, r"lr=0\.0+(1|3)$")[0] == [True, True]
    keep, message = match_runs(haystacks, "lr=0.01(")
    assert keep == [False, False]
    assert "Not a valid regular expression" in message
    keep, message = match_runs([["a(b"]], "a(")
    assert keep == [True] and "plain text" in message
    # Each text of a run is matched on its own: anchors hold per text, nothing reaches across two.
    assert match_runs([["ab", "cd"]], "b$")[0] == [True] and match_runs([["ab", "cd"]], "^c")[0] == [True]
    assert match_runs([["ab", "cd"]], "b.c")[0] == [False] and match_runs([["ab", "cd"]], "b(")[0] == [False]


@pytest.fixture
def xss_logdir(sample_logdir):
    with Run(sample_logdir, name=XSS, hparams={"lr": 0.5, "note": "<script>alert(2)</script>"}) as run:
        run.log({"train/loss": 0.25})
    return sample_logdir


@pytest.mark.browser
def test_home_lists_runs_and_filter_narrows(browser_page, live_server, xss_logdir, dialogs, tmp_path):
    page = browser_page
    errors, outside = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: outside.append(r.url) if urlparse(r.url).hostname not in ("127.0.0.1", None) else None)
    page.goto(live_server(xss_logdir))
    table = page.locator("#runs-table")
    table.get_by_text("cnn-lr0.003").wait_for()
    names = _run_names(page)
    assert sorted(names) == sorted(["cnn-lr0.01", "cnn-lr0.003", "mlp-lr0.01", XSS])
    eventually(lambda: page.locator("#runs-summary").inner_text(), "4 runs")
    # The XSS run name and hparam are literal text; no element was made from them.
    eventually(lambda: page.locator("#runs-table img").count(), 0)
    eventually(lambda: page.locator("#runs-table").get_by_text("<script>alert(2)</script>").count(), 1)
    page.screenshot(path=str(tmp_path / "runs.png"), full_page=True)

    page.fill("#runs-filter", "^cnn")
    page.locator("#runs-summary").get_by_text("2 of 4 runs").wait_for()
    assert sorted(_run_names(page)) == ["cnn-lr0.003", "cnn-lr0.01"]
    page.fill("#runs-filter", "width=64")
    page.locator("#runs-summary").get_by_text("1 of 4 runs").wait_for()
    assert _run_names(page) == ["mlp-lr0.01"]
    page.fill("#runs-filter", "lr=0.0(")
    page.locator("#runs-filter-message").get_by_text("Not a valid regular expression").wait_for()
    eventually(lambda: "No run matches the filter." in page.locator("#runs-filter-message").inner_text())
    page.fill("#runs-filter", "")
    page.locator("#runs-summary").get_by_text("4 runs").wait_for()

    assert dialogs.messages == []
    assert errors == []
    assert outside == []


@pytest.mark.browser
def test_columns_sort(browser_page, live_server, sample_logdir):
    page = browser_page
    page.goto(live_server(sample_logdir))
    page.locator("#runs-table").get_by_text("cnn-lr0.003").wait_for()
    lr_header = page.locator("#runs-table th", has_text="lr").last
    # A numeric column is right-aligned, and its sort arrows sit beside its name, not at the
    # header's far left.
    gap = lr_header.evaluate(
        """th => { const text = document.createRange();  // the name's text, not its span's box
                   text.selectNodeContents(th.querySelector('.column-header-name'));
                   return text.getBoundingClientRect().left
                       - th.querySelector('.column-header--sort').getBoundingClientRect().right; }"""
    )
    assert 0 <= gap <= 8, gap
    lr_header.locator(".column-header--sort").click()
    page.wait_for_function(
        "() => document.querySelector('#runs-table td[data-dash-column=run]').innerText === 'cnn-lr0.003'"
    )
    assert _run_names(page)[0] == "cnn-lr0.003"  # smallest lr first


@pytest.mark.browser
def test_empty_logdir_says_how_to_log_a_run(browser_page, live_server, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    browser_page.goto(live_server(empty))
    browser_page.get_by_text("No runs yet").wait_for()
    text = eventually(lambda: browser_page.locator("#runs-empty").inner_text())
    assert "ds.Run(" in text and f"deepscope demo --logdir {empty}" in text
    eventually(lambda: browser_page.locator("#runs-table-wrap").is_hidden())


def _run_names(page) -> list[str]:
    return page.locator("#runs-table td[data-dash-column=run]").all_inner_texts()


@pytest.mark.browser
def test_new_runs_appear_without_reload(browser_page, live_server, sample_logdir):
    browser_page.goto(live_server(sample_logdir))
    browser_page.locator("#runs-summary").get_by_text("3 runs").wait_for()
    with Run(sample_logdir, name="late-run", hparams={"lr": 0.1}) as run:
        run.log({"train/loss": 0.5})
    # The shell polls the logdir's version every few seconds and the table follows it.
    browser_page.locator("#runs-table").get_by_text("late-run").wait_for(timeout=20_000)
    eventually(lambda: browser_page.locator("#runs-summary").inner_text(), "4 runs")


# -- many runs: the server pages, sorts and filters; colours match the Scalars page ------------------


def test_view_filters_sorts_with_blanks_last_and_keeps_columns_in_use():
    runs = pd.DataFrame(
        {
            "run": ["a", "b", "c", "d"],
            "status": ["finished"] * 4,
            "start_time": [pd.NaT] * 4,
            "duration": [1.0] * 4,
            "hparams": [{"lr": 0.1}, {"lr": 0.003}, {}, {"lr": 0.02, "only_d": 1}],
            "meta": [{}] * 4,
        }
    )
    last = pd.DataFrame(
        {"run": ["a", "b", "d"], "tag": ["loss"] * 3, "step": [1, 1, 1], "value": [0.5, math.nan, 0.25]}
    )
    table = runs_table(runs, last)
    col = {_label(c): c["id"] for c in table.columns}
    names = lambda view: [table.rows[i]["run"] for i in view.order]  # noqa: E731
    assert names(table.view("")) == ["a", "b", "c", "d"]
    assert names(table.view("", [{"column_id": col["lr"], "direction": "asc"}])) == ["b", "d", "a", "c"]
    assert names(table.view("", [{"column_id": col["lr"], "direction": "desc"}])) == ["a", "d", "b", "c"]
    # Numbers, then text ("NaN"), then blanks, in either direction.
    assert names(table.view("", [{"column_id": col["loss"], "direction": "asc"}])) == ["d", "a", "b", "c"]
    assert names(table.view("", [{"column_id": col["loss"], "direction": "desc"}])) == ["a", "d", "b", "c"]
    narrowed = table.view("^[abc]$", [{"column_id": col["lr"], "direction": "asc"}])
    assert names(narrowed) == ["b", "a", "c"]
    assert col["only_d"] not in {c["id"] for c in narrowed.columns}  # no shown run has it
    assert table.view("lr=0.0(").message.startswith("Not a valid regular expression")


def test_run_colours_are_the_scalars_pages(sample_logdir):
    from deepscope.app.series import SeriesSource
    from deepscope.viz.scalars import run_colors

    table = _table(sample_logdir)
    scalars = run_colors(SeriesSource(open_logdir(sample_logdir)).run_names())
    assert {row["run"]: color for row, color in zip(table.rows, table.colors, strict=True)} == scalars
    assert len(set(table.colors)) == len(table.rows)


@pytest.mark.browser
def test_pages_of_runs_sort_and_filter_on_the_server(browser_page, live_server, sample_logdir, monkeypatch):
    from deepscope.app.pages import runs as runs_page

    monkeypatch.setattr(runs_page, "PAGE_SIZE", 2)
    page = browser_page
    page.goto(live_server(sample_logdir))
    summary = page.locator("#runs-summary")
    summary.get_by_text("3 runs · 2 a page").wait_for()
    eventually(lambda: len(_run_names(page)), 2)  # the browser holds one page
    lr_header = page.locator("#runs-table th", has_text="lr").last
    lr_header.locator(".column-header--sort").click()  # ascending lr, over every run
    eventually(lambda: _run_names(page)[0], "cnn-lr0.003")
    page.locator("#runs-table .next-page").click()
    eventually(lambda: len(_run_names(page)), 1)  # the third run, on page 2
    last = _run_names(page)
    assert last[0] in ("cnn-lr0.01", "mlp-lr0.01")
    # Each name carries its run's colour, the one the Scalars page draws it in.
    table = _table(sample_logdir)
    color = dict(zip([r["run"] for r in table.rows], table.colors, strict=True))[last[0]]
    shadow = page.evaluate(
        "() => getComputedStyle(document.querySelector('#runs-table td[data-dash-column=run]')).boxShadow"
    )
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    assert shadow.startswith(f"rgb({r}, {g}, {b}) 4px 0px 0px")
    page.fill("#runs-filter", "mlp")  # a new filter starts on its first page
    summary.get_by_text("1 of 3 runs").wait_for()
    eventually(lambda: _run_names(page), ["mlp-lr0.01"])


def test_each_row_names_its_colour_for_the_tables_one_style_per_colour(sample_logdir):
    from deepscope.app.pages import runs as runs_page

    table = _table(sample_logdir)
    # The styles are the same for every page (not a style per shown row), so the table works them
    # out once; each row points at the style of its run's colour.
    by_index = {
        int(style["if"]["filter_query"].rsplit("=", 1)[1]): style["boxShadow"] for style in runs_page._COLOR_STYLES
    }
    for row, color in zip(table.rows, table.colors, strict=True):
        assert by_index[row[runs_page.COLOR_FIELD]] == f"inset 4px 0 0 {color}"
    assert runs_page.COLOR_FIELD not in {column["id"] for column in table.columns}
