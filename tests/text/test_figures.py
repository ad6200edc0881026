"""The attention figures draw what the results hold (no computing in viz beyond layout)."""

from __future__ import annotations

import numpy as np
import pytest

import deepscope as ds
from deepscope.errors import InvalidArgumentError
from deepscope.model import Model
from deepscope.viz import notebook
from deepscope.viz.text_attention import (
    HORIZONTAL_FROM,
    head_summary_figure,
    head_view_figure,
    model_view_figure,
    neuron_view_figure,
    rollout_comparison_figure,
    thumbnail_size,
    tile_at,
)

TEXT = "the movie was not good, and the acting wasn't great."


@pytest.fixture(scope="module")
def found(minilm: Model) -> ds.text.Attention:
    return ds.text.attention(minilm, TEXT, "it was bad.")


def _links(fig, horizontal: bool = False) -> set[tuple[str, int, int]]:
    """(head, query, key) of every drawn link: consecutive path points on opposite sides."""
    links = set()
    for trace in fig.data:
        if trace.mode != "lines" or trace.showlegend is not False:
            continue
        xs, ys = np.asarray(trace.x), np.asarray(trace.y)
        position, level = (xs, ys) if horizontal else (ys, xs)
        query_level = 1.0 if horizontal else 0.0
        for i in range(0, len(position), 2):
            a, b = i, i + 1
            q, k = (a, b) if level[a] == query_level else (b, a)
            links.add((trace.name, int(position[q]), int(position[k])))
    return links


def test_head_view_draws_exactly_the_kept_links(found: ds.text.Attention) -> None:
    fig = head_view_figure(found, layer=3, top_k=2, heads=[0, 5])
    edges = found.edges(3, top_k=2, heads=[0, 5])
    expected = {(f"head {h}", q, k) for h, q, k in zip(edges.head, edges.query, edges.key, strict=True)}
    assert _links(fig) == expected
    assert f"{edges.mass_kept:.0%} of the attention mass shown" in fig.layout.title.text
    legend = [t.name for t in fig.data if t.showlegend is not False and t.mode == "lines"]
    assert legend == ["head 0", "head 5"]
    # opacity grows with the weight: the strongest link is in the most opaque trace
    strongest = int(np.argmax(edges.weight))
    top = (f"head {edges.head[strongest]}", int(edges.query[strongest]), int(edges.key[strongest]))
    opacities: dict[float, set] = {}
    for trace in fig.data:
        if trace.mode == "lines" and trace.showlegend is False:
            opacities.setdefault(trace.opacity, set()).update(_links(type(fig)(data=[trace])))
    assert top in opacities[max(opacities)]


def test_sentence_filter_and_horizontal_layout(found: ds.text.Attention) -> None:
    fig = head_view_figure(found, layer=0, top_k=None, queries="A", keys="B")
    segments = found.segments
    for _, q, k in _links(fig):
        assert segments[q] == 0 and segments[k] == 1
    assert fig.layout.meta["horizontal"] is False
    wide = head_view_figure(found, layer=0, orientation="horizontal")
    assert wide.layout.meta["horizontal"] is True
    assert _links(wide, horizontal=True) == _links(head_view_figure(found, layer=0))
    assert HORIZONTAL_FROM < 100
    with pytest.raises(InvalidArgumentError, match="orientation"):
        head_view_figure(found, orientation="diagonal")


def test_model_view_tiles_and_clicks(found: ds.text.Attention) -> None:
    n = len(found.tokens)
    fig = model_view_figure(found, size=8)
    z = np.asarray(fig.data[0].z, dtype=float)
    thumbs = found.thumbnails(8)
    step = 8 + 2
    np.testing.assert_allclose(z[2 * step : 2 * step + 8, 7 * step : 7 * step + 8], thumbs[2, 7], atol=1e-6)
    assert tile_at(7 * step + 3, 2 * step + 5, 8, found.layers, found.heads) == (2, 7)
    assert tile_at(7 * step + 9, 2 * step, 8, found.layers, found.heads) is None  # a gap
    assert thumbnail_size(n, 72) == n  # short inputs keep every token
    assert thumbnail_size(512, 144) < 48


def test_neuron_and_summary_figures(minilm: Model, found: ds.text.Attention) -> None:
    view = ds.text.neuron_view(minilm, TEXT, layer=2, head=3, query=4)
    fig = neuron_view_figure(view)
    bars = [t for t in fig.data if t.type == "bar"]
    np.testing.assert_allclose(bars[-1].x, view.weights[4], atol=1e-7)
    np.testing.assert_allclose(np.asarray(fig.data[0].z)[0], view.queries[4])
    assert any("q.k x" in note.text for note in fig.layout.annotations)
    summary = ds.text.head_summary(found)
    fig = head_summary_figure(summary)
    assert len(fig.data) == len(summary.measures)
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), summary.measure("entropy"))


def test_rollout_beside_gradients_labels_and_scales(reviews_transformer: Model) -> None:
    rollout = ds.text.attention_rollout(reviews_transformer, "not good")
    ig = ds.explain.integrated_gradients(reviews_transformer, ["not good"], target=int(rollout.target[0]))
    fig = rollout_comparison_figure([rollout, ig], ["rollout (attention-based)", "IG"])
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.nanmax(np.abs(z), axis=1) == pytest.approx([1.0, 1.0])
    np.testing.assert_allclose(np.asarray(fig.data[0].customdata)[0], rollout.values[0])


def test_results_render_offline_in_notebooks(found: ds.text.Attention) -> None:
    notebook.reset()
    first = found._repr_html_()
    later = ds.text.head_summary(found)._repr_html_()
    assert "https://" not in first.split("<script")[1][:200]  # plotly.js inlined, not fetched
    assert len(later) < len(first) / 10
