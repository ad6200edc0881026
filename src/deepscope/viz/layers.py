"""The layer explorer's figures: a layer's feature maps as a column of thumbnails, a unit's
receptive field on the image and on the previous layer, and its arithmetic (CNN Explainer).

>>> import numpy as np
>>> from deepscope.viz.layers import column_figure
>>> len(column_figure(np.zeros((3, 4, 4)), "conv1").data)
3
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deepscope.viz.features import picture, square_pixels
from deepscope.viz.theme import DIVERGING, TEMPLATE_NAME, symmetric_range

__all__ = [
    "column_figure",
    "layer_maps_figure",
    "receptive_field_figure",
    "unit_arithmetic_figure",
    "softmax_figure",
]

_OUTLINE = "#CC3311"
THUMB = 84  # pixels per thumbnail in a layer column


def _bare(fig: go.Figure) -> None:
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    fig.update_yaxes(
        showticklabels=False,
        showgrid=False,
        zeroline=False,
        ticks="",
        autorange="reversed",
    )
    square_pixels(fig)


def _colours(values: np.ndarray) -> dict[str, Any]:
    low, high = symmetric_range(values)
    return {"colorscale": DIVERGING, "zmin": low, "zmax": high}


def column_figure(
    maps: np.ndarray,
    layer: str,
    *,
    selected: tuple[int, int, int] | None = None,
    max_channels: int = 32,
) -> go.Figure:
    """Channels of one layer's output ``[C, H, W]`` stacked as thumbnails on one diverging scale
    (white is zero); the selected unit (channel, row, col) is outlined. Clicking a cell gives the
    channel (curve number) and position (x = column, y = row)."""
    channels = min(len(maps), max_channels)
    fig = make_subplots(
        rows=channels,
        cols=1,
        vertical_spacing=0.012 if channels > 1 else 0,
        subplot_titles=[f"{c}" for c in range(channels)],
    )
    colours = _colours(maps[:channels])
    for c in range(channels):
        fig.add_trace(
            go.Heatmap(
                z=maps[c],
                **colours,
                showscale=False,
                name=f"channel {c}",
                hovertemplate=f"{layer} channel {c}<br>row %{{y}}, col %{{x}}: %{{z:.3g}}<extra></extra>",
            ),
            row=c + 1,
            col=1,
        )
    if selected is not None and selected[0] < channels:
        c, r, col = selected
        suffix = "" if c == 0 else str(c + 1)
        fig.add_shape(
            type="rect",
            xref=f"x{suffix}",
            yref=f"y{suffix}",
            x0=col - 0.5,
            x1=col + 0.5,
            y0=r - 0.5,
            y1=r + 0.5,
            line={"color": _OUTLINE, "width": 2},
        )
    _bare(fig)
    fig.update_annotations(font_size=9, yshift=-2)
    fig.update_layout(
        template=TEMPLATE_NAME,
        height=24 + channels * (THUMB + 14),
        width=THUMB + 20,
        margin={"l": 4, "r": 4, "t": 16, "b": 4},
    )
    return fig


def layer_maps_figure(result: Any, *, max_channels: int = 8) -> go.Figure:
    """Every spatial layer as a column of its first ``max_channels`` maps, the input first."""
    spatial = [i for i, m in enumerate(result.maps) if m.ndim == 3]
    rows = min(max_channels, max(len(result.maps[i]) for i in spatial)) if spatial else 1
    fig = make_subplots(
        rows=rows,
        cols=1 + len(spatial),
        horizontal_spacing=0.01,
        vertical_spacing=0.01,
        column_titles=["input"] + [result.names[i] for i in spatial],
    )
    fig.add_trace(go.Image(z=picture(_unit_range(result.image)), hoverinfo="skip"), row=1, col=1)
    for j, i in enumerate(spatial, start=2):
        colours = _colours(result.maps[i][:rows])
        for c in range(min(rows, len(result.maps[i]))):
            fig.add_trace(
                go.Heatmap(
                    z=result.maps[i][c],
                    **colours,
                    showscale=False,
                    hovertemplate=f"{result.names[i]} ch {c}: %{{z:.3g}}<extra></extra>",
                ),
                row=c + 1,
                col=j,
            )
    _bare(fig)
    label = result.class_names[result.prediction] if result.class_names else result.prediction
    fig.update_layout(
        template=TEMPLATE_NAME,
        height=60 + 90 * rows,
        title=f"Layer outputs (predicted {label}, p={result.probabilities.max():.2f})",
        margin={"l": 10, "r": 10, "t": 70, "b": 10},
    )
    return fig


def _unit_range(image: np.ndarray) -> np.ndarray:
    low, high = float(image.min()), float(image.max())
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def _rect(box: Any, xref: str = "x", yref: str = "y") -> dict:
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


def _outline(fig: go.Figure, box: Any, xref: str, yref: str) -> None:
    """A red box with a white halo, visible on any image."""
    halo = _rect(box, xref, yref)
    halo["line"] = {"color": "white", "width": 5}
    fig.add_shape(**halo)
    fig.add_shape(**_rect(box, xref, yref))


def receptive_field_figure(maps: Any, unit: Any) -> go.Figure:
    """The image and the previous layer's output with the unit's receptive field outlined."""
    previous = maps.map(unit.previous) if unit.previous in maps.names else None
    prev_2d = None
    if previous is not None and previous.ndim == 3:
        same = unit.kind in ("relu", "maxpool", "avgpool", "identity") and unit.channel < len(previous)
        prev_2d = previous[unit.channel] if same else previous.mean(axis=0)
    titles = ["image" + (" (whole image)" if unit.image_box[0] < 0 else "")]
    if prev_2d is not None and previous is not None:
        titles.append(
            f"{unit.previous}"
            + (
                f" ch {unit.channel}"
                if prev_2d is previous[min(unit.channel, len(previous) - 1)]
                else " (mean of channels)"
            )
        )
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles, horizontal_spacing=0.06)
    fig.add_trace(go.Image(z=picture(_unit_range(maps.image)), hoverinfo="skip"), row=1, col=1)
    if unit.image_box[0] >= 0:
        _outline(fig, unit.image_box, "x", "y")
    if prev_2d is not None:
        fig.add_trace(
            go.Heatmap(
                z=prev_2d,
                **_colours(prev_2d),
                showscale=False,
                hovertemplate="row %{y}, col %{x}: %{z:.3g}<extra></extra>",
            ),
            row=1,
            col=2,
        )
        if unit.input_box[0] >= 0:
            _outline(fig, unit.input_box, "x2", "y2")
    _bare(fig)
    fig.update_layout(template=TEMPLATE_NAME, height=300, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def unit_arithmetic_figure(unit: Any, *, max_channels: int = 6) -> go.Figure:
    """The arithmetic as CNN Explainer lays it out: per input channel the patch, the kernel and
    their elementwise products (conv); the window and its max or mean (pooling); the input and
    max(0, x) (ReLU); products of a linear unit; logits, exponentials and probabilities (softmax)."""
    if unit.kind == "softmax":
        return softmax_figure(unit)
    title = _equation(unit)
    if unit.kind == "conv":
        channels = min(len(unit.patch), max_channels)
        fig = make_subplots(
            rows=channels,
            cols=3,
            horizontal_spacing=0.05,
            vertical_spacing=0.04,
            column_titles=["input patch", "kernel", "patch × kernel"],
        )
        for c in range(channels):
            for j, values in enumerate((unit.patch[c], unit.kernel[c], unit.products[c])):
                fig.add_trace(
                    go.Heatmap(
                        z=values,
                        **_colours(values),
                        showscale=False,
                        text=np.round(values, 2),
                        texttemplate="%{text}" if values.size <= 25 else None,
                        hovertemplate="%{z:.4g}<extra></extra>",
                    ),
                    row=c + 1,
                    col=j + 1,
                )
        _bare(fig)
        more = f" (first {channels} of {len(unit.patch)} input channels)" if channels < len(unit.patch) else ""
        fig.update_layout(
            template=TEMPLATE_NAME,
            title=title + more,
            height=80 + 110 * channels,
            width=540,
            margin={"l": 40, "r": 10, "t": 70, "b": 10},
        )
        return fig
    if unit.kind in ("maxpool", "avgpool"):
        window = unit.patch[0]
        fig = go.Figure(
            go.Heatmap(
                z=window,
                **_colours(window),
                showscale=False,
                text=np.round(window, 2),
                texttemplate="%{text}" if window.size <= 64 else None,
                hovertemplate="%{z:.4g}<extra></extra>",
            )
        )
        _bare(fig)
        fig.update_layout(template=TEMPLATE_NAME, title=title, height=320)
        return fig
    values = unit.products if unit.kind == "linear" else unit.patch
    fig = go.Figure(
        go.Bar(
            y=values,
            marker_color=np.where(values >= 0, DIVERGING[-1][1], DIVERGING[0][1]),
            hovertemplate="input %{x}: %{y:.4g}<extra></extra>",
        )
    )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=title,
        height=300,
        xaxis_title="input unit" if unit.kind == "linear" else "",
        yaxis_title="input × weight" if unit.kind == "linear" else "input",
    )
    return fig


def _equation(unit: Any) -> str:
    if unit.kind in ("conv", "linear"):
        return (
            f"{unit.layer}[{unit.channel}]: Σ products {unit.total - unit.bias:.4g} + bias "
            f"{unit.bias:.4g} = {unit.total:.4g} (model: {unit.value:.4g})"
        )
    if unit.kind == "maxpool":
        return f"{unit.layer}[{unit.channel}]: max of the window = {unit.total:.4g} (model: {unit.value:.4g})"
    if unit.kind == "avgpool":
        return f"{unit.layer}[{unit.channel}]: mean of the window = {unit.total:.4g} (model: {unit.value:.4g})"
    if unit.kind == "relu":
        return f"{unit.layer}[{unit.channel}]: max(0, {unit.patch[0]:.4g}) = {unit.total:.4g}"
    return f"{unit.layer}[{unit.channel}] ({unit.type}): {unit.patch[0]:.4g} → {unit.value:.4g}"


def softmax_figure(unit: Any) -> go.Figure:
    """Logits, their exponentials (shifted by the largest logit) and the probabilities."""
    names = unit.class_names or [str(i) for i in range(len(unit.patch))]
    probabilities = unit.products / unit.exp_sum
    fig = make_subplots(
        rows=1,
        cols=3,
        column_titles=["logit", "exp(logit − max)", "probability"],
        horizontal_spacing=0.08,
    )
    for j, values in enumerate((unit.patch, unit.products, probabilities)):
        colours = ["#CC3311" if i == unit.channel else "#9AA5B1" for i in range(len(values))]
        fig.add_trace(
            go.Bar(
                x=values,
                y=names,
                orientation="h",
                marker_color=colours,
                hovertemplate="%{y}: %{x:.4g}<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=j + 1,
        )
    fig.update_yaxes(autorange="reversed")
    name = names[unit.channel]
    fig.update_layout(
        template=TEMPLATE_NAME,
        height=80 + 26 * len(names),
        title=f"softmax: p({name}) = exp / Σ exp = {unit.products[unit.channel]:.4g} / "
        f"{unit.exp_sum:.4g} = {unit.total:.4g}",
        margin={"l": 80, "r": 10, "t": 70, "b": 30},
    )
    return fig
