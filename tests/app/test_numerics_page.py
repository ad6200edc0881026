"""The Numerics page: a real debugger run where one layer divides by zero from step k on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepscope.app.pages.numerics import nonfinite_alerts, runs_with_numerics
from deepscope.debug import numerics
from deepscope.track import Run, open_logdir
from deepscope.viz.numerics import health_heatmap
from tests.conftest import eventually
from tests.debug.numerics_models import make_model

pytestmark = pytest.mark.filterwarnings("ignore:Full backward hook is firing:UserWarning")

K = 3
STEPS = 8


def _train(logdir, name: str, k: int | None, *, backward: bool = False) -> None:
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    generator = torch.Generator().manual_seed(1)
    with Run(logdir, name=name, hparams={"lr": 0.01}) as run, numerics(model, run=run, backward=backward) as dbg:
        for step in range(STEPS):
            model.block[2].denominator = 0.0 if k is not None and step >= k else 1.0
            loss = model(torch.randn(16, 4, generator=generator)).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            run.log({"train/loss": loss.item()}, step=step)
            dbg.step()


@pytest.fixture(scope="module")
def numerics_logdir(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("numerics") / "logs"
    _train(logdir, "healthy", None)
    _train(logdir, "divides-by-zero", K, backward=True)
    with Run(logdir, name="no-debugger") as run:
        run.log({"train/loss": 1.0})
    return logdir


def test_alerts_start_with_the_module_that_divides_by_zero(numerics_logdir):
    stats = open_logdir(numerics_logdir).table("divides-by-zero", "numerics")
    alerts = nonfinite_alerts(stats)
    first = alerts.iloc[0]
    assert (first["module"], first["direction"], first["first_step"], first["last_step"]) == (
        "block.2",
        "forward",
        K,
        STEPS - 1,
    )
    assert first["kinds"] == "NaN, +Inf" and first["steps"] == STEPS - K
    assert (alerts["first_step"] >= K).all()
    healthy = open_logdir(numerics_logdir).table("healthy", "numerics")
    assert nonfinite_alerts(healthy).empty


def test_heatmap_marks_exactly_the_non_finite_cells(numerics_logdir):
    stats = open_logdir(numerics_logdir).table("divides-by-zero", "numerics")
    figure = health_heatmap(
        stats, "std", direction="forward", first={"module": "block.2", "step": K, "direction": "forward"}
    )
    heat, marks, ring = figure.data
    forward = stats[stats["direction"] == "forward"]
    bad = forward[(forward["nan"] + forward["pos_inf"] + forward["neg_inf"]) > 0]
    drawn = {(int(x), y) for x, y in zip(marks.x, marks.y, strict=True)}
    expected = {(int(s), m if m else "(model)") for s, m in zip(bad["step"], bad["module"], strict=True)}
    assert drawn == expected
    assert (ring.x[0], ring.y[0]) == (K, "block.2")
    # Rows in execution order, columns the steps; a cell holds that layer's std at that step.
    assert list(heat.y)[:3] == ["embed", "act", "block.0"]
    row = list(heat.y).index("embed")
    expected_std = forward[forward["module"] == "embed"].sort_values("step")["std"].to_numpy()
    np.testing.assert_allclose(np.asarray(heat.z)[row], expected_std)


def test_runs_with_numerics_lists_only_debugged_runs(numerics_logdir):
    from deepscope.app.plugin import AppContext

    ctx = AppContext(logdir_path=numerics_logdir, logdir=open_logdir(numerics_logdir))
    assert runs_with_numerics(ctx) == ["healthy", "divides-by-zero"]


@pytest.mark.browser
def test_page_names_the_offending_module(browser_page, live_server, numerics_logdir, plots_drew, tmp_path):
    page = browser_page
    page.set_default_timeout(30_000)  # the machine is shared: allow a slow first draw
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server(numerics_logdir) + "numerics")
    plots_drew(page, count=1, timeout=30_000)
    # The run with an alert opens first, and its first offender is shown up front.
    eventually(lambda: page.locator("#numerics-offender-module").inner_text(), "block.2")
    offender = eventually(lambda: page.locator("#numerics-offender").inner_text())
    assert f"produced NaN in its output at step {K}" in offender
    assert "Its inputs were finite" in offender
    page.locator("#numerics-alerts td[data-dash-column=module]").first.wait_for()
    eventually(lambda: page.locator("#numerics-alerts td[data-dash-column=module]").first.inner_text(), "block.2")
    eventually(lambda: "Numerics" in page.locator(".ds-nav-link").all_inner_texts())
    page.screenshot(path=str(tmp_path / "numerics.png"), full_page=True)

    graph = "document.querySelector('#numerics-heatmap .js-plotly-plot')"
    eventually(lambda: page.evaluate(f"() => {graph}.data[0].colorbar.title.text").startswith("max |value|"))
    page.locator("#numerics-stat").click()
    page.get_by_role("option", name="standard deviation", exact=True).click()
    page.wait_for_function(f"() => {graph}.data[0].colorbar.title.text.startsWith('standard deviation')")

    page.locator("#numerics-direction").get_by_text("backward", exact=True).click()
    page.wait_for_function(f"() => {graph}.layout.title.text.includes('(backward)')")

    page.locator("#numerics-run").click()
    page.get_by_role("option", name="healthy", exact=True).click()
    page.locator("#numerics-first").get_by_text("All finite.").wait_for()
    eventually(lambda: page.locator("#numerics-no-alerts").is_visible())
    assert errors == []


@pytest.mark.browser
def test_page_is_hidden_without_a_numerics_table(browser_page, live_server, sample_logdir):
    page = browser_page
    page.goto(live_server(sample_logdir) + "numerics")
    page.get_by_text("The logdir has nothing for Numerics yet.").wait_for()
    eventually(lambda: "Numerics" not in page.locator(".ds-nav-link").all_inner_texts())


def test_many_steps_are_binned_keeping_each_bins_extreme():
    import pandas as pd

    steps = np.arange(1000)
    values = np.full(1000, 0.5)
    values[637] = -40.0  # one spike, inside a bin of steps
    stats = pd.DataFrame({
        "step": steps, "module": "fc", "min": values, "max": np.abs(values), "mean": values,
        "std": 1.0, "nan": 0, "pos_inf": 0, "neg_inf": 0, "zeros": 0, "direction": "forward",
        "numel": 10,
    })  # fmt: skip
    figure = health_heatmap(stats, "mean", max_columns=100)
    heat = figure.data[0]
    z = np.asarray(heat.z)[0]
    assert z.shape == (100,)
    assert z.min() == -40.0 and np.sum(z == -40.0) == 1  # the spike survives binning
    assert heat.zmin == -heat.zmax == -40.0  # signed: diverging, centred on zero
    assert "630–639" in np.asarray(heat.hovertext)[0][int(np.argmin(z))]
