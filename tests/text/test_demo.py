"""The attention demo run: logged attentions of the live models, negations included."""

from __future__ import annotations

import numpy as np

import deepscope as ds
from deepscope.app.pages._text import attention as attention_tabs
from deepscope.app.plugin import AppContext, LazyModels
from deepscope.text.demo import ATTENTION_RUN, DEMO_REVIEWS, log_attention_run


def test_demo_logs_attentions_and_returns_live_models(tmp_path) -> None:
    models = log_attention_run(tmp_path)
    assert set(models) == {"reviews_transformer", "minilm"}
    assert any(" not " in review or "n't" in review for review in DEMO_REVIEWS)
    reader = ds.open_logdir(tmp_path)
    tags = reader.results(ATTENTION_RUN)
    assert len([t for t in tags if t.startswith("text/attention/")]) == 2 * len(DEMO_REVIEWS)
    logged = reader.load(ATTENTION_RUN, "text/attention/minilm/0")
    assert logged.text == DEMO_REVIEWS[0] and logged.weights.dtype == np.float16
    fresh = ds.text.attention(models["minilm"], DEMO_REVIEWS[0]).weights
    np.testing.assert_allclose(logged.weights, fresh, atol=1e-3)
    summary = reader.load(ATTENTION_RUN, "text/head_summary/minilm/0")
    assert summary.values.shape == (7, 6, 12)
    # the page's tabs see the run and the models
    ctx = AppContext(tmp_path, reader, LazyModels(models))
    assert all(tab.is_active(ctx) for tab in attention_tabs.TABS)
    # a second call keeps the finished run
    log_attention_run(tmp_path)
    assert len(ds.open_logdir(tmp_path).runs()) == 1
