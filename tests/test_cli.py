"""The deepscope command line: version, serve, demo, import-tensorboard and its error messages."""

from __future__ import annotations

import sys
import threading
import types
import urllib.request
from pathlib import Path

import pytest

import deepscope
from deepscope import cli
from deepscope.errors import MissingDependencyError


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"deepscope {deepscope.__version__}"


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert "serve" in out and "demo" in out and "import-tensorboard" in out


def test_missing_logdir_is_one_clear_line(capsys, tmp_path):
    missing = tmp_path / "nope"
    assert cli.main(["serve", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"deepscope: error: no logdir at {missing}")
    assert f"deepscope demo --logdir {missing}" in lines[0]  # the next command to type
    assert "Traceback" not in captured.err


def test_serving_a_missing_csv_is_one_clear_line(capsys, tmp_path):
    # Serving an existing results table opens the explorer: tests/hparams/test_cli_serve.py.
    assert cli.main(["serve", str(tmp_path / "results.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deepscope: error: no results table at ")
    assert len(err.strip().splitlines()) == 1


def test_non_loopback_host_without_token_is_refused(capsys, sample_logdir, monkeypatch):
    monkeypatch.delenv("DEEPSCOPE_TOKEN", raising=False)
    assert cli.main(["serve", str(sample_logdir), "--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deepscope: error: host:") and "--token" in err
    assert len(err.strip().splitlines()) == 1


def test_deepscope_errors_print_one_line(capsys, monkeypatch, tmp_path):
    def no_tensorboard(source, logdir):
        raise MissingDependencyError("tensorboard", "tensorboard", "importing TensorBoard logs")

    monkeypatch.setattr("deepscope.track.import_tensorboard", no_tensorboard)
    assert cli.main(["import-tensorboard", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == (
        "deepscope: error: importing TensorBoard logs needs the 'tensorboard' package; "
        "install it with pip install 'deepscope[tensorboard]'\n"
    )


def test_import_tensorboard_calls_the_importer(capsys, monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr("deepscope.track.import_tensorboard", lambda *a: calls.append(a))
    out_dir = tmp_path / "out"
    assert cli.main(["import-tensorboard", str(tmp_path), "--logdir", str(out_dir)]) == 0
    assert calls == [(tmp_path, str(out_dir))]
    assert f"Next: deepscope serve {out_dir}" in capsys.readouterr().out


def test_import_tensorboard_missing_source(capsys, tmp_path):
    assert cli.main(["import-tensorboard", str(tmp_path / "none")]) == 2
    assert "no TensorBoard logs at" in capsys.readouterr().err


@pytest.fixture
def fake_demo(monkeypatch, sample_logdir):
    """deepscope.demo.build_demo replaced by one that returns the sample logdir and one model."""
    calls = []

    def build_demo(logdir, progress=None):
        calls.append((logdir, progress))
        return Path(sample_logdir), {"identity": lambda x: x}

    module = types.ModuleType("deepscope.demo")
    module.build_demo = build_demo
    module.demo_datasets = dict  # no datasets to register
    monkeypatch.setitem(sys.modules, "deepscope.demo", module)
    return calls


def test_demo_no_serve_builds_and_says_what_next(capsys, fake_demo, sample_logdir):
    assert cli.main(["demo", "--logdir", "here", "--no-serve"]) == 0
    assert fake_demo == [("here", True)]
    out = capsys.readouterr().out
    assert out.strip().endswith(f"Next: deepscope serve {sample_logdir}")


def test_demo_serves_with_the_models_registered(capsys, fake_demo, monkeypatch):
    """The demo serves until interrupted; here the interrupt comes once the page answered."""
    from deepscope import app as app_module

    served = {}
    real_serve = app_module.serve

    def serve_and_check(logdir, **kwargs):
        handle = real_serve(logdir, **kwargs)
        served["models"] = list(kwargs["models"])
        served["status"] = urllib.request.urlopen(handle.url, timeout=20).status

        def ctrl_c():  # the user presses Ctrl-C while the CLI waits on the server
            raise KeyboardInterrupt

        handle.wait = ctrl_c
        return handle

    monkeypatch.setattr(app_module, "serve", serve_and_check)
    assert cli.main(["demo", "--port", "0"]) == 0
    assert served == {"models": ["identity"], "status": 200}
    out = capsys.readouterr().out
    assert "with 1 live model at http://127.0.0.1:" in out
    assert "stopped" in out
    assert not any(t.name.startswith("deepscope-server") for t in threading.enumerate())


def test_models_from_logdir_reads_zoo_meta_lazily(tmp_path, monkeypatch):
    from deepscope.track import Run

    monkeypatch.setenv("DEEPSCOPE_CACHE_DIR", str(tmp_path))  # weights load only from the cache

    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"")
    with Run(tmp_path / "logs", name="trained") as run:
        run.set_meta(
            "zoo_model", {"name": "digits_cnn", "seed": 0, "hparams": {"lr": 0.1}, "weights": str(weights)}
        )  # as zoo.train records it
    with Run(tmp_path / "logs", name="plain") as run:
        run.log({"loss": 1.0})
    with Run(tmp_path / "logs", name="weights-gone") as run:
        run.set_meta("zoo_model", {"name": "digits_cnn", "weights": str(tmp_path / "x")})
    models = cli.models_from_logdir(tmp_path / "logs")
    assert list(models) == ["trained"]  # nothing is loaded yet: loading is deferred
