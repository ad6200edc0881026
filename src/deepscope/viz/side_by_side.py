"""Figures of side-by-side comparisons: how often models agree, what flips them, what they read.

Pure functions ``result -> plotly Figure``; nothing here computes a prediction or a gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deepscope.validation import check_int
from deepscope.viz.theme import (
    DIVERGING,
    SEQUENTIAL,
    TEMPLATE_NAME,
    category_colors,
    symmetric_range,
)

__all__ = ["side_by_side_figure", "agreement_figure", "flip_rate_figure", "salience_figure"]

_MAX_SALIENCE_TOKENS = 60


def side_by_side_figure(result: Any, **options: Any) -> go.Figure:
    """Agreement of the models (with their accuracy), or flip rates for generated examples."""
    if result.kind == "generated":
        return flip_rate_figure(result, **options)
    return agreement_figure(result, **options)


def agreement_figure(result: Any, **_: Any) -> go.Figure:
    """Pairwise agreement as a heatmap on [0, 1]; beside it each model's accuracy when known."""
    agreement = result.agreement()
    names = [str(m) for m in agreement.index]
    matrix = agreement.to_numpy(dtype=float, copy=True)
    np.fill_diagonal(matrix, np.nan)  # a model always agrees with itself: leave those cells blank
    accuracy = result.accuracy()
    n = len(result.frame)
    disagree = int((~result.frame["agree"]).sum()) if n else 0
    heat = go.Heatmap(
        z=matrix,
        x=names,
        y=names,
        colorscale=SEQUENTIAL,
        zmin=0,
        zmax=1,
        text=[["" if np.isnan(v) else f"{v:.1%}" for v in row] for row in matrix],
        texttemplate="%{text}",
        colorbar={"title": {"text": "agree"}, "tickformat": ".0%", "len": 0.9},
        hovertemplate="%{y} and %{x} agree on %{z:.1%} of the examples<extra></extra>",
    )
    title = f"Side by side: the models disagree on {disagree} of {n} examples"
    if accuracy is None:
        fig = go.Figure(heat)
        fig.update_xaxes(type="category")
        fig.update_yaxes(type="category", autorange="reversed")
        return _layout(fig, title, height=max(300, 60 * len(names) + 160), margin={"t": 70})
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.55, 0.45],
        horizontal_spacing=0.2,
        subplot_titles=("pairwise agreement", "accuracy on these examples"),
    )
    heat.update(colorbar={"x": 0.47})
    fig.add_trace(heat, row=1, col=1)
    colors = category_colors(names)
    fig.add_trace(
        go.Bar(
            x=accuracy.to_numpy(dtype=float),
            y=names,
            orientation="h",
            showlegend=False,
            marker={"color": [colors[m] for m in names]},
            text=[f"{v:.1%}" for v in accuracy],
            textposition="auto",
            hovertemplate="%{y}: accuracy %{x:.1%}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.update_xaxes(type="category", row=1, col=1)
    fig.update_yaxes(type="category", autorange="reversed", row=1, col=1)
    fig.update_xaxes(range=[0, 1], tickformat=".0%", row=1, col=2)
    fig.update_yaxes(type="category", autorange="reversed", row=1, col=2)
    return _layout(fig, title, height=max(300, 60 * len(names) + 160), margin={"t": 80})


def flip_rate_figure(result: Any, **_: Any) -> go.Figure:
    """Per generator, the share of new examples that changed each model's prediction."""
    rates = result.flip_rates()
    colors = category_colors(result.models)
    fig = go.Figure()
    for model in result.models:
        part = rates[rates["model"] == model]
        fig.add_trace(
            go.Bar(
                x=part["generator"].astype(str).str.replace("_", " "),
                y=part["flip_rate"],
                name=str(model),
                marker={"color": colors[model]},
                customdata=np.column_stack([part["flipped"], part["n"]]) if len(part) else None,
                hovertemplate=f"{model}: %{{y:.1%}} flipped (%{{customdata[0]}} of %{{customdata[1]}})<extra></extra>",
            )
        )
    return _layout(
        fig,
        f"New examples that changed the prediction ({len(result.frame)} generated)",
        barmode="group",
        yaxis={"title": "flip rate", "range": [0, 1.02], "tickformat": ".0%"},
        xaxis={"type": "category"},
        legend={"title": {"text": "model"}},
    )


def salience_figure(result: Any, example: int = 0, **_: Any) -> go.Figure:
    """One row per model, one cell per token, coloured by salience on a shared symmetric scale.

    Models may tokenise differently, so each row holds that model's own tokens; the colour scale
    is shared, so a pale row means that model's gradients are small, not that it read nothing.
    """
    example = check_int(example, "example", low=0, high=len(result.texts) - 1, hint="a text number")
    rows = [(m, result.tokens(m, example), result.values(m, example)) for m in result.models]
    width = min(max((len(tokens) for _, tokens, _ in rows), default=1), _MAX_SALIENCE_TOKENS)
    z = np.full((len(rows), width), np.nan)
    text = [[""] * width for _ in rows]
    for r, (_, tokens, values) in enumerate(rows):
        k = min(len(tokens), width)
        z[r, :k] = values[:k]
        text[r][:k] = tokens[:k]
    low, high = symmetric_range(z)
    targets = result.frame[result.frame["example"] == example].groupby("model", sort=False)["target_name"].first()
    labels = [f"{m} → {targets.get(m, '')}" for m, _, _ in rows]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(width)),
            y=labels,
            text=text,
            texttemplate="%{text}",
            colorscale=DIVERGING,
            zmin=low,
            zmax=high,
            xgap=2,
            ygap=6,
            colorbar={"title": {"text": "salience"}, "len": 0.9},
            hovertemplate="%{y}<br>token %{text}: %{z:.4g}<extra></extra>",
        )
    )
    shown = result.texts[example]
    title = f"Token salience ({result.method.replace('_', ' ')}, towards each model's class): {_shorten(shown)}"
    return _layout(
        fig,
        title,
        height=max(200, 56 * len(rows) + 130),
        xaxis={"title": "token position", "showgrid": False, "dtick": 1 if width <= 30 else 5},
        yaxis={"autorange": "reversed", "type": "category", "showgrid": False},
    )


def _shorten(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _layout(fig: go.Figure, title: str, **layout: Any) -> go.Figure:
    fig.update_layout(template=TEMPLATE_NAME, title=title, **layout)
    return fig
