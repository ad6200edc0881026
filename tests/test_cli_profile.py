"""``deepscope profile``: exit status as a pipeline guard, and a report that opens offline."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from deepscope import cli
from deepscope.data import Schema

DRIFTED = ("income", "purpose", "employment")  # planted in loans (see deepscope.datasets.loans)


@pytest.fixture(scope="module")
def clean_csvs(tmp_path_factory):
    """Two samples of one distribution: numbers, a category and some missing values."""
    folder = tmp_path_factory.mktemp("clean")
    for i, name in enumerate(("monday.csv", "tuesday.csv")):
        rng = np.random.default_rng(i)
        n = 3000
        frame = pd.DataFrame(
            {
                "amount": rng.lognormal(3.0, 0.5, n).round(2),
                "items": rng.integers(1, 6, n),
                "channel": rng.choice(["web", "store", "phone"], n, p=[0.5, 0.3, 0.2]),
            }
        )
        frame.loc[rng.random(n) < 0.1, "amount"] = np.nan
        frame.to_csv(folder / name, index=False)
    return folder


@pytest.fixture(scope="module")
def loans_parquet(tmp_path_factory):
    from deepscope.datasets import loans

    data = loans()
    folder = tmp_path_factory.mktemp("loans")
    data.train.to_parquet(folder / "train.parquet")
    data.serving.to_parquet(folder / "serving.parquet")
    return folder


def test_a_clean_csv_pair_exits_zero(clean_csvs, tmp_path, capsys):
    report = tmp_path / "report.html"
    code = cli.main(
        ["profile", str(clean_csvs / "monday.csv"), "--against", str(clean_csvs / "tuesday.csv"), "-o", str(report)]
    )
    out = capsys.readouterr()
    assert code == 0, out.out
    assert "drift: none above the thresholds" in out.out
    assert "anomalies in tuesday: none" in out.out
    assert out.err == ""
    assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_the_installed_command_returns_the_status_to_the_shell(clean_csvs, tmp_path):
    args = [
        sys.executable,
        "-m",
        "deepscope.cli",
        "profile",
        str(clean_csvs / "monday.csv"),
        "--against",
        str(clean_csvs / "tuesday.csv"),
        "-o",
        str(tmp_path / "r.html"),
    ]
    clean = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stderr
    # Any difference counts as drift with a zero threshold: the same command now fails the pipeline.
    strict = subprocess.run([*args, "--threshold", "jensen_shannon=0"], capture_output=True, text=True, timeout=300)
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert "drift: " in strict.stdout and "none above" not in strict.stdout


def test_loans_train_against_serving_exits_nonzero_and_names_the_drift(loans_parquet, tmp_path, capsys):
    report, schema = tmp_path / "loans.html", tmp_path / "schema.json"
    code = cli.main(
        [
            "profile",
            str(loans_parquet / "train.parquet"),
            "--against",
            str(loans_parquet / "serving.parquet"),
            "--save-schema",
            str(schema),
            "-o",
            str(report),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    drift_line = next(line for line in out.splitlines() if line.startswith("drift: "))
    assert all(feature in drift_line for feature in DRIFTED)
    assert "presence_drop" in out  # 3% of credit_history_years and 2% of purpose go missing in serving
    assert f"report: {report}" in out
    html = report.read_text(encoding="utf-8")
    for feature in DRIFTED:
        assert f"<td class='l'>{feature}</td>" in html
    assert set(Schema.read(schema).features) == set(pd.read_parquet(loans_parquet / "train.parquet").columns)


def test_the_saved_schema_guards_the_next_run(loans_parquet, tmp_path, capsys):
    schema = tmp_path / "schema.json"
    assert (
        cli.main(
            [
                "profile",
                str(loans_parquet / "train.parquet"),
                "--save-schema",
                str(schema),
                "-o",
                str(tmp_path / "train.html"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    code = cli.main(
        [
            "profile",
            str(loans_parquet / "serving.parquet"),
            "--schema",
            str(schema),
            "-o",
            str(tmp_path / "serving.html"),
        ]
    )
    assert code == 1
    assert "anomalies in serving: 2 errors" in capsys.readouterr().out


def test_bad_input_is_one_line_and_exit_status_2(tmp_path, capsys):
    missing = tmp_path / "nowhere.parquet"
    assert cli.main(["profile", str(missing), "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deepscope: error: ") and str(missing) in lines[0]
    assert not (tmp_path / "r.html").exists()


def test_an_unknown_threshold_is_refused_by_name(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["profile", str(tmp_path / "a.csv"), "--threshold", "psii=0.1"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--threshold" in err and "psii=0.1" in err and "jensen_shannon" in err


@pytest.mark.browser
def test_the_report_opens_offline_and_shows_the_drifted_features(
    loans_parquet, tmp_path, capsys, browser_page, plots_drew
):
    report = tmp_path / "loans.html"
    assert (
        cli.main(
            [
                "profile",
                str(loans_parquet / "train.parquet"),
                "--against",
                str(loans_parquet / "serving.parquet"),
                "-o",
                str(report),
            ]
        )
        == 1
    )
    page = browser_page
    outside: list[str] = []

    def offline(route):
        if route.request.url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    page.goto(report.as_uri())
    plots_drew(page, count=3)
    titles = page.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot')]"
        ".map(gd => (gd.layout.title && gd.layout.title.text) || '')"
    )
    for feature in DRIFTED:
        assert feature in titles  # a reference-vs-current chart per drifted feature
    drifted_rows = page.locator("tr", has=page.locator("span.bad", has_text="drifted")).all_inner_texts()
    assert {row.split()[0] for row in drifted_rows} >= set(DRIFTED)
    assert outside == []
