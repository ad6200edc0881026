"""Figures of projections: WebGL traces, legend per category (capped), highlights, density image."""

from __future__ import annotations

import numpy as np

from deepscope.embed import density_image, neighbors, project
from deepscope.viz.embedding import MAX_CATEGORIES, MUTED, density_figure, projection_figure


def test_categories_beyond_the_cap_share_one_grey_entry_and_every_point_is_drawn_once():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    words = np.array([f"w{i}" for i in range(50)])[np.arange(200) % 50]
    fig = projection_figure(project(x), color=words, color_name="word")
    assert len(fig.data) == MAX_CATEGORIES
    assert fig.data[-1].name == f"(other {50 - MAX_CATEGORIES + 1} values)"
    assert fig.data[-1].marker.color == MUTED
    drawn = sorted(i for trace in fig.data for i in trace.customdata)
    assert drawn == list(range(200))
    assert {trace.type for trace in fig.data} == {"scattergl"}


def test_up_to_sixteen_categories_get_sixteen_different_colours():
    x = np.random.default_rng(3).normal(size=(160, 4))
    labels = np.array([f"class {i}" for i in range(16)])[np.arange(160) % 16]
    fig = projection_figure(project(x), color=labels, color_name="label")
    colours = [trace.marker.color for trace in fig.data]
    assert len(colours) == 16
    assert len(set(colours)) == 16
    assert MUTED not in colours


def test_highlight_selected_and_neighbours_are_marked_on_top():
    x = np.random.default_rng(1).normal(size=(60, 3))
    near = neighbors(x, 5, k=4).indices[0]
    fig = projection_figure(project(x), highlight=[1, 2, 3], selected=5, neighbors=near)
    names = [trace.name for trace in fig.data]
    assert names == ["points", "matches (3)", "neighbours", "selected #5"]
    assert list(fig.data[2].customdata) == near.tolist()
    assert fig.data[0].marker.color == MUTED  # the rest is dimmed while matches show


def test_density_figure_places_the_image_on_the_data_axes():
    coords = np.random.default_rng(2).normal(size=(1000, 2))
    image = density_image(coords, x_range=(-3, 3), y_range=(-2, 2), width=60, height=40)
    fig = density_figure(image)
    (placed,) = fig.layout.images
    assert (placed.x, placed.y, placed.sizex, placed.sizey) == (-3, 2, 6, 4)
    assert placed.source.startswith("data:image/png;base64,")
    assert list(fig.layout.xaxis.range) == [-3, 3]
