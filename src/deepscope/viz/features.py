"""Feature visualizations: each optimised image beside the dataset examples (and the patches)
that excite the same unit most.

>>> import numpy as np
>>> from deepscope.viz.features import picture
>>> picture(np.zeros((1, 2, 2), dtype=np.float32)).shape
(2, 2, 3)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deepscope.viz.theme import TEMPLATE_NAME

__all__ = ["visualization_figure", "picture", "trace_figure", "square_pixels"]

_OUTLINE = "#CC3311"


def picture(image: np.ndarray) -> np.ndarray:
    """An image ``[C, H, W]`` in [0, 1] as RGB uint8 ``[H, W, 3]`` (grey for one channel)."""
    array = np.nan_to_num(np.asarray(image, dtype=np.float64))
    array = array.transpose(1, 2, 0)
    if array.shape[2] != 3:
        array = array.mean(axis=2, keepdims=True).repeat(3, axis=2)
    return (np.clip(array, 0, 1) * 255).round().astype(np.uint8)


def square_pixels(fig: go.Figure) -> None:
    """Square pixels in every subplot: each y axis scales with its own x axis (anchoring all of
    them to the first would shrink subplots whose data are smaller)."""
    for name in list(fig.layout):
        if name.startswith("yaxis"):
            fig.layout[name].scaleanchor = "x" + name[len("yaxis") :]


def _box_shape(box: Any, xref: str, yref: str) -> dict:
    top, left, bottom, right = (int(v) for v in box)
    return dict(
        type="rect",
        xref=xref,
        yref=yref,
        x0=left - 0.5,
        x1=right + 0.5,
        y0=top - 0.5,
        y1=bottom + 0.5,
        line={"color": _OUTLINE, "width": 2},
    )


def visualization_figure(result: Any, *, max_examples: int = 6) -> go.Figure:
    """One row per optimised image: the visualization, then its top dataset examples with the
    patch the unit sees outlined."""
    batch = result.images.shape[0]
    examples = result.examples
    k = 0 if examples is None else min(max_examples, examples.images.shape[1])
    titles = []
    for b in range(batch):
        titles.append(f"image {b}: {result.scores[b]:.3g}" if batch > 1 else f"optimised ({result.scores[b]:.3g})")
        if examples is None:
            continue
        for j in range(k):
            label = ""
            if examples.labels[b, j] >= 0:
                names = examples.class_names
                label = names[examples.labels[b, j]] if names else str(examples.labels[b, j])
            titles.append(f"#{examples.indices[b, j]} {label} ({examples.values[b, j]:.3g})")
    fig = make_subplots(
        rows=batch,
        cols=1 + k,
        subplot_titles=titles,
        horizontal_spacing=0.015,
        vertical_spacing=0.06,
    )
    for b in range(batch):
        fig.add_trace(go.Image(z=picture(result.images[b]), hoverinfo="skip"), row=b + 1, col=1)
        if examples is None:
            continue
        for j in range(k):
            fig.add_trace(go.Image(z=picture(examples.images[b, j]), hoverinfo="skip"), row=b + 1, col=j + 2)
            box = examples.boxes[b, j]
            if box[0] >= 0:
                n = b * (1 + k) + j + 2
                suffix = "" if n == 1 else str(n)
                fig.add_shape(**_box_shape(box, f"x{suffix}", f"y{suffix}"))
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    square_pixels(fig)
    fig.update_annotations(font_size=11)
    note = " · right: the dataset examples that excite it most" if k else ""
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=f"{result.objective}{note}",
        height=90 + 190 * batch,
        width=max(360, 190 * (1 + k)),
        margin={"l": 10, "r": 10, "t": 70, "b": 10},
    )
    return fig


def trace_figure(result: Any) -> go.Figure:
    """The objective per optimisation step."""
    fig = go.Figure(go.Scatter(y=result.trace, mode="lines", name="objective"))
    fig.update_layout(
        template=TEMPLATE_NAME,
        title="objective per step",
        height=260,
        xaxis_title="step",
        yaxis_title="objective",
    )
    return fig
