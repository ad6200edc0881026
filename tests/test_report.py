"""The self-contained HTML report and the ``deepscope profile`` job behind the CLI."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest

from deepscope.cli_profile import cli_profile
from deepscope.data import compare, drift, infer_schema, profile, validate
from deepscope.errors import ArgumentTypeError
from deepscope.report import report_html, write_report

_HOSTILE = '<script>alert("x")</script>'


@pytest.fixture(scope="module")
def loans_files(tmp_path_factory):
    from deepscope.datasets import loans

    data = loans()
    folder = tmp_path_factory.mktemp("loans")
    data.train.to_parquet(folder / "train.parquet")
    data.serving.to_parquet(folder / "serving.parquet")
    first, second = data.split(0.8, seed=0)
    first.train.to_parquet(folder / "train_a.parquet")
    second.train.to_csv(folder / "train_b.csv", index=False)
    return folder


def _external_references(html: str) -> list[str]:
    """Tags that would load something from elsewhere (plotly.js itself mentions URLs in strings)."""
    return re.findall(r"""<(?:script|link|img|iframe)\b[^>]*(?:src|href)\s*=[^>]*>""", html)


def test_report_is_self_contained_and_escapes_user_strings():
    frame = pd.DataFrame({_HOSTILE: [1.0, 2.0, 3.0], "c": [_HOSTILE, "b", "b"]})
    p = profile(frame, name=_HOSTILE)
    report = drift(p, p)
    html = report_html(p, drift=report, anomalies=validate(p, infer_schema(p)), title=_HOSTILE)
    assert _HOSTILE not in html
    assert html.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 3
    assert "Plotly.newPlot" in html and len(html) > 1_000_000  # plotly.js inlined, once
    assert html.count("plotly.js v") <= 2
    assert _external_references(html) == []
    assert '<svg class="spark"' in html


def test_the_distance_column_is_shown_only_between_two_datasets():
    rng = np.random.default_rng(0)
    train = profile(pd.DataFrame({"x": rng.normal(0, 1, 500), "c": rng.choice(["a", "b"], 500)}), name="train")
    serving = profile(pd.DataFrame({"x": rng.normal(2, 1, 500), "c": rng.choice(["a", "b"], 500)}), name="serving")

    def overview(html: str) -> str:
        return html[html.index("<h2>Overview</h2>") : html.index("<h2>Distributions</h2>")]

    alone = overview(report_html(train))
    assert "<th>distance</th>" not in alone and ">nan<" not in alone
    assert "in column order (a distribution distance needs two datasets)" in alone
    both = overview(report_html(train, serving))
    assert "<th>distance</th>" in both and "sorted by distance" in both
    for table in (alone, both):  # every header has its cell
        rows = re.findall(r"<tr>(.*?)</tr>", table)
        assert rows[0].count("<th") == rows[1].count("<td")


def test_write_report_checks_its_arguments(tmp_path):
    p = profile(pd.DataFrame({"x": [1, 2]}))
    path = write_report(tmp_path / "r.html", p)
    assert path.read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(ArgumentTypeError, match="drift"):
        report_html(p, drift="yes")


def test_cli_flags_planted_drift_and_anomalies(loans_files, tmp_path):
    out, err = io.StringIO(), io.StringIO()
    code = cli_profile(
        str(loans_files / "train.parquet"),
        str(loans_files / "serving.parquet"),
        output=tmp_path / "report.html",
        save_schema=tmp_path / "schema.json",
        stdout=out,
        stderr=err,
    )
    assert code == 1
    text = out.getvalue()
    assert "drift: income" in text and "presence_drop" in text
    assert (tmp_path / "report.html").stat().st_size > 1_000_000
    assert (tmp_path / "schema.json").exists()
    assert err.getvalue() == ""


def test_cli_passes_on_an_unchanged_split(loans_files, tmp_path):
    out = io.StringIO()
    code = cli_profile(
        str(loans_files / "train_a.parquet"), str(loans_files / "train_b.csv"), output=tmp_path / "ok.html", stdout=out
    )
    assert code == 0, out.getvalue()
    assert "drift: none" in out.getvalue()


def test_cli_with_a_schema_file_validates_train_too(loans_files, tmp_path):
    schema = infer_schema(profile(str(loans_files / "train.parquet")))
    schema.to_file(tmp_path / "schema.json")
    out = io.StringIO()
    code = cli_profile(
        str(loans_files / "train.parquet"), schema=tmp_path / "schema.json", output=tmp_path / "only.html", stdout=out
    )
    assert code == 0
    assert "anomalies in train: none" in out.getvalue()


def test_cli_reports_bad_input_with_exit_code_2(tmp_path):
    err = io.StringIO()
    code = cli_profile(str(tmp_path / "missing.parquet"), output=tmp_path / "r.html", stdout=io.StringIO(), stderr=err)
    assert code == 2
    assert "missing.parquet" in err.getvalue() and err.getvalue().startswith("error: source")
    assert not (tmp_path / "r.html").exists()


@pytest.mark.browser
def test_report_opens_offline_in_a_browser(browser_page, plots_drew, tmp_path):
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(0, 1, 3000), "c": rng.choice(["a", "b"], 3000)})
    serving = pd.DataFrame({"x": rng.normal(1, 1, 1000), "c": rng.choice(["a", "b"], 1000, p=[0.9, 0.1])})
    report = drift(train, serving)
    path = write_report(
        tmp_path / "report.html", profile(train, name="train"), profile(serving, name="serving"), drift=report
    )
    requests = []
    browser_page.on("request", lambda request: requests.append(request.url))
    browser_page.goto(path.as_uri())
    drawn = plots_drew(browser_page, count=2 + len(report.drifted_features))
    assert drawn >= 4
    # Where plotly drew the bars of x: each dataset's bar fills its half of the bucket it counts.
    spans = dict(
        browser_page.evaluate("""() => { const gd = document.querySelector('.js-plotly-plot');
        return gd.calcdata.filter(cd => gd._fullLayout[cd[0].trace.xaxis.replace('x', 'xaxis')].type === 'linear')
            .map(cd => [cd[0].trace.name, cd.map(bar => [bar.p0, bar.p1])]); }""")
    )
    edges = np.asarray(compare(profile(train), profile(serving)).histograms["x"]["edges"])
    middle = (edges[:-1] + edges[1:]) / 2
    np.testing.assert_allclose(spans["train"], np.stack([edges[:-1], middle], axis=1), atol=1e-9)
    np.testing.assert_allclose(spans["serving"], np.stack([middle, edges[1:]], axis=1), atol=1e-9)
    assert all(url.startswith(("file:", "data:", "blob:")) for url in requests), requests
