"""Figures of attributions: modes, colour ranges, kinds."""

from __future__ import annotations

import numpy as np
import pytest

import deepscope as ds
from deepscope.errors import InvalidArgumentError
from deepscope.viz.attribution import attribution_figure


def heatmaps(fig):
    return [t for t in fig.data if t.type == "heatmap"]


def test_image_modes(cnn, images):
    result = ds.explain.integrated_gradients(cnn, images, n_steps=4)
    signed = heatmaps(result.figure("signed"))
    assert len(signed) == 5
    m = np.abs(result.map()).max()
    assert signed[0].zmid == 0 and signed[0].zmin == pytest.approx(-m) and signed[0].zmax == pytest.approx(m)
    positive = heatmaps(result.figure("positive"))[0]
    assert positive.zmin == 0 and np.nanmin(np.asarray(positive.z, float)) >= 0
    absolute = heatmaps(result.figure("absolute"))[0]
    np.testing.assert_allclose(np.asarray(absolute.z, float), np.abs(result.map()[0]))
    blended = result.figure(style="blended")
    assert [t.type for t in blended.data[:2]] == ["image", "heatmap"]
    assert [t.type for t in result.figure(style="heatmap").data] == ["heatmap"] * 5
    assert len(result.figure(style="side", index=[0, 1]).data) == 4
    with pytest.raises(InvalidArgumentError, match="mode"):
        result.figure("loud")


def test_text_highlights(text_model):
    model, texts = text_model
    fig = ds.explain.saliency(model, texts).figure()
    (trace,) = fig.data
    assert trace.type == "heatmap" and trace.zmid == 0
    assert list(trace.text[0][:4]) == model.tokens(texts)[0]


def test_tables(mlp, table):
    result = ds.explain.kernel_shap(mlp, table, background=table, n_samples=40)
    assert result.figure(index=0).data[0].type == "bar"
    waterfall = result.figure(chart="waterfall", index=1).data[0]
    assert waterfall.type == "waterfall" and waterfall.base == pytest.approx(result.base_value[1])
    swarm = result.figure()
    assert all(t.type == "scatter" for t in swarm.data) and len(swarm.data) == 6
    with pytest.raises(InvalidArgumentError, match="chart"):
        attribution_figure(result, chart="pie")


def test_coarse_maps_cover_the_picture():
    a = ds.explain.Attribution(
        values=np.arange(4.0).reshape(1, 1, 2, 2),
        method="grad_cam",
        target=np.zeros(1, np.int64),
        inputs=np.zeros((1, 3, 8, 8)),
        kind="image",
    )
    (heatmap,) = heatmaps(a.figure())
    assert (heatmap.dx, heatmap.dy, heatmap.x0) == (4.0, 4.0, 1.5)
