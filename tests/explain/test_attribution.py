"""The Attribution result: selection, frames, saving into a run and loading it back, HTML."""

from __future__ import annotations

import numpy as np
import pytest

import deepscope as ds
from deepscope.errors import InvalidArgumentError


def test_fields_are_plain_data(cnn, images):
    result = ds.explain.integrated_gradients(cnn, images, n_steps=4)
    assert isinstance(result.values, np.ndarray) and result.values.shape == tuple(images.shape)
    assert np.array_equal(result.inputs, images.numpy())
    assert result.target.dtype == np.int64 and result.delta.shape == (5,)
    with pytest.raises(AttributeError):
        result.method = "x"  # frozen
    one = result.select(2)
    assert len(one) == 1 and one.target[0] == result.target[2]
    np.testing.assert_array_equal(one.values[0], result.values[2])
    assert result.map().shape == (5, 10, 10)
    with pytest.raises(InvalidArgumentError, match="to_frame"):
        result.to_frame()


def test_save_into_a_run_and_load_back(tmp_path, mlp, table):
    result = ds.explain.kernel_shap(mlp, table, background=table, n_samples=50, feature_names=list("abcdef"))
    with ds.Run(tmp_path, name="r") as run:
        tag = result.save(run)
    assert tag == "explain/kernel_shap"
    loaded = ds.open_logdir(tmp_path).result("r", tag)
    assert isinstance(loaded, ds.explain.Attribution)
    np.testing.assert_array_equal(loaded.values, result.values)
    np.testing.assert_array_equal(loaded.base_value, result.base_value)
    assert loaded.feature_names == list("abcdef") and loaded.options == result.options


def test_save_calls_log_result():
    calls = []

    class FakeRun:
        def log_result(self, tag, value):
            calls.append((tag, value))

    result = ds.explain.Attribution(values=np.zeros((1, 2)), method="lime", target=np.zeros(1, np.int64))
    assert result.save(FakeRun(), "mine") == "mine"
    assert calls == [("mine", result)]


def test_repr_html_is_offline(cnn, images):
    html = ds.explain.saliency(cnn, images[:1])._repr_html_()
    assert "<div" in html and 'src="http' not in html  # plotly.js is inlined, not fetched
