"""The main job: a demo logdir with real, finished runs whose curves were logged while training."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope.demo import DEMO_RUNS, DemoRun, build_demo
from deepscope.track import open_logdir

pytestmark = pytest.mark.slow


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("DEEPSCOPE_CACHE_DIR", str(path))
    return path


def test_demo_plan_sweeps_each_model_over_hparams():
    by_model: dict[str, list[dict]] = {}
    for spec in DEMO_RUNS:
        by_model.setdefault(spec.model, []).append(spec.hparams)
    assert len({spec.run for spec in DEMO_RUNS}) == len(DEMO_RUNS)
    swept = [m for m, hps in by_model.items() if len(hps) > 1]
    assert len(swept) >= 3, "comparisons need several runs of the same model"


def test_build_demo_logs_finished_runs_with_learning_curves(tmp_path, cache_dir):
    plan = [
        DemoRun("loans-a", "loans_mlp", {"hidden": 16}),
        DemoRun("loans-b", "loans_mlp", {"hidden": 32}),
    ]
    logdir, models = build_demo(tmp_path / "logs", runs=plan, progress=False)
    runs = open_logdir(logdir).runs()
    assert sorted(runs["run"]) == ["loans-a", "loans-b"]
    assert set(runs["status"]) == {"finished"}
    assert runs.set_index("run").loc["loans-b", "hparams"]["hidden"] == 32

    scalars = open_logdir(logdir).scalars(tags=["train/loss"])
    for name in ("loans-a", "loans-b"):
        loss = scalars.loc[scalars["run"] == name].sort_values("step")["value"].to_numpy()
        assert len(loss) >= 2 and np.all(np.isfinite(loss))
        assert loss[-1] < loss[0], "training loss should fall over the logged epochs"
    assert set(models) == {"loans-a", "loans-b"}

    # A second call keeps the finished runs instead of training them again.
    _, again = build_demo(logdir, runs=plan, progress=False)
    assert len(open_logdir(logdir).runs()) == 2
    assert set(again) == {"loans-a", "loans-b"}


@pytest.mark.browser
def test_demo_dashboard_lists_the_demo_runs_and_filters_them(tmp_path, cache_dir, browser_page, live_server):
    plan = [
        DemoRun("loans_mlp-h16", "loans_mlp", {"hidden": 16}),
        DemoRun("loans_mlp-h32", "loans_mlp", {"hidden": 32}),
        DemoRun("digits_cnn-lr0.003", "digits_cnn", {"lr": 3e-3, "epochs": 2}),
    ]
    logdir, models = build_demo(tmp_path / "logs", runs=plan, progress=False)
    page = browser_page
    page.goto(live_server(logdir, models=models))
    table = page.locator("#runs-table")
    for spec in plan:
        table.get_by_text(spec.run, exact=True).wait_for()
    assert page.locator("#runs-summary").inner_text() == "3 runs"
    page.fill("#runs-filter", "^loans")
    page.locator("#runs-summary").get_by_text("2 of 3 runs").wait_for()
    assert table.get_by_text("digits_cnn-lr0.003", exact=True).count() == 0
