"""Every evaluate result draws a figure, renders in a notebook and survives a trip through a run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import deepscope as ds
from tests.evaluate.conftest import binary_table, multiclass_table


def _results() -> dict[str, object]:
    binary, multi = binary_table(n=400), multiclass_table(n=300)
    other = multiclass_table(n=300, seed=9)
    numeric = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 2)), columns=["a", "b"])
    texts = ds.evaluate.predictions(
        lambda t: np.array([[0.2, 0.8] if "good" in s else [0.7, 0.3] for s in t]),
        pd.DataFrame({"text": ["very good", "not good", "bad", "very bad"], "label": [1, 0, 0, 0]}),
        features="text",
    )
    return {
        "slices": ds.evaluate.slices(binary, by=["group", ("group", "region")]),
        "thresholds": ds.evaluate.thresholds(binary, group="group", strategy="equal_opportunity"),
        "counterfactual": ds.evaluate.nearest_counterfactual(binary, 3, features=["age", "income", "region"]),
        "partial_dependence": ds.evaluate.partial_dependence(lambda x: x[:, 0] * x[:, 1], numeric, feature="a"),
        "confusion": ds.evaluate.confusion_matrix(multi, normalize="true"),
        "performance": ds.evaluate.compare_performance({"one": multi, "two": other}),
        "agreement": ds.evaluate.compare_predictions({"one": multi, "two": other}),
        "thresholding": ds.evaluate.confidence_thresholding({"one": multi, "two": other}),
        "data_vs_accuracy": ds.evaluate.data_vs_accuracy(multi),
        "surface": ds.evaluate.two_thresholds(multi, other),
        "calibration": ds.evaluate.calibration({"one": multi}),
        "curves": ds.evaluate.roc_pr({"one": multi, "two": other}),
        "frequency": ds.evaluate.frequency_vs_f1({"one": multi, "two": other}),
        "multimetric": ds.evaluate.multiclass_metrics({"one": multi, "two": other}),
        "groups": ds.evaluate.groups(
            texts, {"negated": "has_token(text, 'not')", "intense": "has_token(text, 'very')"}
        ),
        "rewrite": ds.evaluate.rewrite(
            lambda t: np.array([[0.2, 0.8] if "good" in s else [0.7, 0.3] for s in t]),
            texts,
            'replace(text, "good", "bad")',
        ),
    }


RESULTS = _results()


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_every_result_draws(name):
    result = RESULTS[name]
    figure = result.figure()
    assert isinstance(figure, go.Figure) and len(figure.data) >= 1
    assert figure.layout.title.text


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_every_result_survives_a_run(tmp_path, name):
    result = RESULTS[name]
    with ds.Run(tmp_path, name="r") as run:
        result.save(run, name)
    loaded = ds.open_logdir(tmp_path).result("r", name)
    assert type(loaded) is type(result)
    if hasattr(result, "to_frame"):
        pd.testing.assert_frame_equal(loaded.to_frame(), result.to_frame(), check_dtype=False)


def test_notebook_rendering_is_offline():
    html = RESULTS["slices"]._repr_html_()
    assert "<div" in html and "Plotly.newPlot" in html
    assert 'src="http' not in html  # plotly.js is inlined, so it draws with no network


def test_figure_options():
    assert RESULTS["surface"].figure(kind="3d").data[0].type == "surface"
    assert RESULTS["curves"].figure(kind="pr").layout.title.text.startswith("Precision")
    slices = RESULTS["slices"].figure(metric="roc_auc")
    assert list(slices.layout.xaxis.range) == [0, 1.02]
    with pytest.raises(ds.errors.InvalidArgumentError, match="metric"):
        RESULTS["slices"].figure(metric="auc")
