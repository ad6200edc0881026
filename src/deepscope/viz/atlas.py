"""The activation atlas as a zoomable mosaic: each cell's visualization at its grid position,
drawn larger the more points fell in it (log scale), its class and count on hover, filterable by class.

>>> from deepscope.viz.atlas import TILE
>>> TILE
48
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from deepscope.viz.features import picture
from deepscope.viz.theme import TEMPLATE_NAME, category_colors

__all__ = ["atlas_figure", "TILE"]

TILE = 48  # pixels per grid square in the mosaic


def _resize(image: np.ndarray, side: int) -> np.ndarray:
    """Nearest-neighbour resize of an RGB ``[H, W, 3]`` picture to ``side`` x ``side``."""
    rows = (np.arange(side) * image.shape[0] / side).astype(int)
    cols = (np.arange(side) * image.shape[1] / side).astype(int)
    return image[rows][:, cols]


def atlas_figure(result: Any, *, label: Any = None, sized: bool = True) -> go.Figure:
    """The mosaic of ``result``'s cells (only those labelled ``label`` when given: a class atlas);
    with ``sized`` a cell's tile grows with the log of its count."""
    shown = result if label is None else result.filter(label)
    grid = result.grid
    mosaic = np.full((grid * TILE, grid * TILE, 3), 255, dtype=np.uint8)
    top = max(int(shown.counts.max()) if len(shown.counts) else 1, 1)
    for i in range(len(shown.counts)):
        side = TILE - 2
        if sized:
            share = np.log1p(shown.counts[i]) / np.log1p(top)
            side = max(12, int(round((TILE - 2) * share)))
        tile = _resize(picture(shown.images[i]), side)
        y0 = int(grid - 1 - shown.cell_y[i]) * TILE + (TILE - side) // 2
        x0 = int(shown.cell_x[i]) * TILE + (TILE - side) // 2
        mosaic[y0 : y0 + side, x0 : x0 + side] = tile
    fig = go.Figure(go.Image(z=mosaic, hoverinfo="skip"))
    names = [result._name(int(v)) for v in shown.labels]
    colours = category_colors(result.class_names)
    fig.add_trace(
        go.Scatter(
            x=(shown.cell_x + 0.5) * TILE,
            y=(grid - 1 - shown.cell_y + 0.5) * TILE,
            mode="markers",
            marker={
                "size": 14,
                "color": [colours.get(n, "#999999") for n in names],
                "opacity": 0.0,
            },
            customdata=np.stack([names, shown.counts], axis=1) if len(names) else None,
            hovertemplate="class %{customdata[0]}<br>%{customdata[1]} points<extra></extra>",
            showlegend=False,
        )
    )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="", range=[0, grid * TILE])
    fig.update_yaxes(
        showticklabels=False,
        showgrid=False,
        zeroline=False,
        ticks="",
        range=[grid * TILE, 0],
        scaleanchor="x",
    )
    which = "" if label is None else f" · class {label if isinstance(label, str) else result._name(int(label))}"
    fig.update_layout(
        template=TEMPLATE_NAME,
        height=640,
        dragmode="zoom",
        title=f"Activation atlas of {result.layer} ({result.method}, {len(shown.counts)} cells, "
        f"{int(shown.counts.sum())} points){which}",
        margin={"l": 10, "r": 10, "t": 48, "b": 10},
    )
    return fig
