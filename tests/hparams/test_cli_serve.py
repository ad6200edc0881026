"""``deepscope serve results.csv`` opens the hyper-parameter explorer on the file."""

from __future__ import annotations

import threading
import urllib.request

import pytest

from deepscope import cli
from tests.hparams.sweeps import results_frame, schedule_logdir


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_serve_a_results_file(capsys, monkeypatch, tmp_path, suffix):
    from deepscope import app as app_module

    path = tmp_path / f"results{suffix}"
    frame = results_frame(rows=8)
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    served = {}
    real_serve = app_module.serve

    def serve_and_check(logdir, **kwargs):
        handle = real_serve(logdir, **kwargs)
        served["logdir"], served["table"] = logdir, kwargs["table"]
        served["status"] = urllib.request.urlopen(handle.url, timeout=20).status

        def ctrl_c():  # the user presses Ctrl-C while the CLI waits on the server
            raise KeyboardInterrupt

        handle.wait = ctrl_c
        return handle

    monkeypatch.setattr(app_module, "serve", serve_and_check)
    assert cli.main(["serve", str(path), "--port", "0"]) == 0
    assert served == {"logdir": None, "table": path, "status": 200}
    out = capsys.readouterr().out
    assert f"Serving the hyper-parameter explorer on {path} at http://127.0.0.1:" in out
    assert not any(t.name.startswith("deepscope-server") for t in threading.enumerate())


def test_a_missing_results_file_is_one_clear_line(capsys, tmp_path):
    assert cli.main(["serve", str(tmp_path / "nope.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deepscope: error: no results table at ") and len(err.strip().splitlines()) == 1


def test_an_unreadable_results_file_is_one_clear_line(capsys, tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not parquet")
    assert cli.main(["serve", str(path), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deepscope: error: path: expected a readable parquet file")
    assert len(err.strip().splitlines()) == 1


def test_the_app_serves_only_the_explorer_for_a_file(tmp_path):
    from deepscope.app import create_app

    path = tmp_path / "results.csv"
    results_frame(rows=8).to_csv(path, index=False)
    app = create_app(None, table=path)
    assert [(p.name, p.path) for p in app.deepscope_pages] == [("HParams", "/")]


def test_the_explorer_opens_a_saved_table_with_a_metric_named_like_a_hyperparameter(tmp_path):
    from deepscope.app import create_app
    from deepscope.hparams import hparams_table

    path = tmp_path / "results.csv"
    hparams_table(schedule_logdir(tmp_path / "logs")).to_frame().to_csv(path, index=False)
    app = create_app(None, table=path)
    [page] = app.deepscope_pages
    layout = page.layout(app.deepscope_context)
    colour = next(c for c in _walk(layout) if getattr(c, "id", None) == "hparams-color")
    assert [o["value"] for o in colour.options] == ["lr", "width", "lr (metric)", "val/accuracy", "val/loss"]


def _walk(component):
    """A Dash layout's components, depth first."""
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            yield from _walk(child)
