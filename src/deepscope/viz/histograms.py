"""Histograms over steps, in TensorBoard's two views.

- ``histogram_offset_figure``: one ridge per step, stacked by step (the earliest at the back, at
  the top), each the distribution's density, so a drifting or widening distribution shows as
  ridges that move or spread.
- ``histogram_distribution_figure``: percentile bands over steps (min-max, 7-93%, 16-84%,
  31-69%, and the median as a line): for a normal distribution the bands are evenly spaced.

Both draw a :class:`~deepscope.track.charts.HistogramSeries`; nothing here computes a percentile.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from deepscope.track.charts import HistogramSeries
from deepscope.viz.scalars import hex_to_rgba
from deepscope.viz.theme import TEMPLATE_NAME, run_color

__all__ = ["histogram_offset_figure", "histogram_distribution_figure", "blend"]

RIDGE_OVERLAP = 2.2  # the tallest ridge spans this many gaps between shown steps
HEIGHT = 460


def blend(color: str, alpha: float) -> str:
    """``color`` laid over white at ``alpha``, as an opaque colour (so a ridge hides those behind).

    >>> blend("#332288", 0.0), blend("#332288", 1.0)
    ('#ffffff', '#332288')
    """
    value = color.lstrip("#")
    rgb = [int(value[i : i + 2], 16) for i in (0, 2, 4)]
    mixed = [round(255 + (c - 255) * alpha) for c in rgb]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def _empty(fig: go.Figure, text: str) -> go.Figure:
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False, font={"color": "#616E7C"})
    return fig


def histogram_offset_figure(series: HistogramSeries) -> go.Figure:
    """Ridges offset by step: x is the value, each ridge's height its density at that step."""
    color = run_color(series.run)
    fig = go.Figure()
    fig.update_layout(
        template=TEMPLATE_NAME,
        height=HEIGHT,
        margin={"l": 64, "r": 16, "t": 16, "b": 48},
        showlegend=False,
        hovermode="closest",
        xaxis={"title": {"text": series.tag or "value"}, "zeroline": False},
        yaxis={"title": {"text": "step"}, "autorange": "reversed", "zeroline": False, "showgrid": False},
        uirevision=f"offset|{series.run}|{series.tag}",
    )
    steps = series.steps
    if steps.size == 0:
        return _empty(fig, "No histograms")
    peak = max((float(d.max()) for d in series.density if d.size), default=0.0)
    gap = float(np.median(np.diff(steps))) if steps.size > 1 else 1.0
    scale = RIDGE_OVERLAP * gap / peak if peak > 0 else 0.0
    for i, step in enumerate(steps):
        centers, density = series.centers[i], series.density[i]
        if centers.size == 0:
            continue
        age = (i + 1) / steps.size  # older ridges are paler
        half = (centers[1] - centers[0]) / 2 if centers.size > 1 else 0.5
        x = np.r_[centers[0] - half, centers, centers[-1] + half]
        y = np.r_[step, step - density * scale, step]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines",
                fill="toself",
                fillcolor=blend(color, 0.06 + 0.16 * age),
                line={"color": blend(color, 0.3 + 0.7 * age), "width": 1.2},
                customdata=np.r_[0.0, density, 0.0],
                hovertemplate=(f"step {int(step)}<br>value %{{x:.4g}}<br>density %{{customdata:.3g}}<extra></extra>"),
                hoveron="points",
            )
        )
    return fig


_BAND_ALPHA = 0.2


def histogram_distribution_figure(series: HistogramSeries) -> go.Figure:
    """Percentile bands over steps, the median as a line; hover lists every percentile."""
    color = run_color(series.run)
    fig = go.Figure()
    fig.update_layout(
        template=TEMPLATE_NAME,
        height=HEIGHT,
        margin={"l": 64, "r": 16, "t": 16, "b": 48},
        showlegend=False,
        hovermode="x unified",
        xaxis={"title": {"text": "step"}},
        yaxis={"title": {"text": series.tag or "value"}},
        uirevision=f"distribution|{series.run}|{series.tag}",
    )
    if series.steps.size == 0:
        return _empty(fig, "No histograms")
    levels = list(series.levels)
    values = series.percentiles
    x = series.steps
    count = len(levels)
    median = count // 2
    # Pairs from the outside in: (0, 100), (6.68, 93.32), ...; each band fills to its lower edge.
    for low in range(median):
        high = count - 1 - low
        for position, fill in ((high, None), (low, "tonexty")):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=values[:, position],
                    mode="lines",
                    line={"width": 0, "color": color},
                    fill=fill,
                    fillcolor=hex_to_rgba(color, _BAND_ALPHA) if fill else None,
                    name=_level_name(levels[position]),
                    hoverinfo="skip",
                )
            )
    # One hover block per step that lists the percentiles from the top down.
    rows = "<br>".join(f"{_level_name(levels[j])}: %{{customdata[{j}]:.4g}}" for j in reversed(range(count)))
    fig.add_trace(
        go.Scatter(
            x=x,
            y=values[:, median],
            customdata=values,
            mode="lines",
            line={"width": 2, "color": color},
            name="median",
            hovertemplate=rows + "<extra></extra>",
        )
    )
    return fig


def _level_name(level: float) -> str:
    if level <= 0:
        return "min"
    if level >= 100:
        return "max"
    return f"{level:.0f}%"
