"""Figures of attributions: image overlays, token highlights, bars, waterfalls and beeswarms.

Pure functions from results (``Attribution``, ``SanityCheck``, ``Faithfulness``) to plotly
figures; nothing here computes an attribution. Signed values use the diverging scale centred on
zero with a symmetric range (white means "no effect"); ``positive`` and ``absolute`` modes use
the sequential scale from zero.

>>> import numpy as np
>>> from deepscope.explain import Attribution
>>> a = Attribution(values=np.array([[0.5, -1.0]]), method="saliency", target=np.array([0]),
...                 inputs=np.array([[1.0, 2.0]]), kind="tabular", feature_names=["a", "b"])
>>> attribution_figure(a).data[0].type
'bar'
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deepscope.errors import InvalidArgumentError
from deepscope.viz.notebook import figure_html
from deepscope.viz.theme import DIVERGING, SEQUENTIAL, TEMPLATE_NAME, symmetric_range

__all__ = [
    "MODES",
    "attribution_figure",
    "image_figure",
    "text_figure",
    "bar_figure",
    "waterfall_figure",
    "beeswarm_figure",
    "sanity_figure",
    "faithfulness_figure",
    "figure_html",
]

MODES = ("signed", "positive", "absolute")
STYLES = ("blended", "heatmap", "side")
CHARTS = ("bar", "waterfall", "beeswarm")
_POSITIVE = DIVERGING[-1][1]
_NEGATIVE = DIVERGING[0][1]


def scale(values: np.ndarray, mode: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Values for ``mode`` and the colour settings that go with them.

    >>> scale(np.array([-2.0, 1.0]), "signed")[1]["zmin"]
    -2.0
    """
    if mode not in MODES:
        raise InvalidArgumentError("mode", f"one of {', '.join(map(repr, MODES))}", mode)
    values = np.asarray(values, dtype=float)
    if mode == "signed":
        low, high = symmetric_range(values)
        return values, {"colorscale": DIVERGING, "zmin": low, "zmax": high, "zmid": 0.0}
    values = np.clip(values, 0, None) if mode == "positive" else np.abs(values)
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    return values, {"colorscale": SEQUENTIAL, "zmin": 0.0, "zmax": top}


def _rows(attribution: Any, index: Any, limit: int) -> list[int]:
    n = len(attribution)
    if index is None:
        return list(range(min(n, limit)))
    rows = np.atleast_1d(np.arange(n)[index]).tolist()
    return rows


def _title(attribution: Any, row: int) -> str:
    name = attribution.target_names()[row]
    score = attribution.score
    return f"{name} ({score[row]:.3g})" if score is not None else name


def _layout(fig: go.Figure, title: str, **layout: Any) -> go.Figure:
    fig.update_layout(template=TEMPLATE_NAME, title=title, **layout)
    return fig


def attribution_figure(
    attribution: Any,
    *,
    mode: str = "signed",
    index: int | slice | list[int] | None = None,
    max_examples: int = 6,
    style: str = "blended",
    chart: str | None = None,
    top_k: int = 20,
    opacity: float = 0.6,
) -> go.Figure:
    """The figure that suits the attribution's kind.

    Images: one panel per example (``style`` ``blended``: the map over the input; ``heatmap``:
    the map alone; ``side``: input and map side by side). Text: tokens coloured by their value.
    Tables: a bar chart (or ``chart="waterfall"``) of one example, a beeswarm of many.
    ``index`` picks examples (default the first ``max_examples``; for tables the first).
    """
    if attribution.kind == "image":
        return image_figure(
            attribution,
            mode=mode,
            index=index,
            max_examples=max_examples,
            style=style,
            opacity=opacity,
        )
    if attribution.kind == "text":
        return text_figure(attribution, mode=mode, index=index, max_examples=max_examples)
    if attribution.kind == "tabular":
        if chart is not None and chart not in CHARTS:
            raise InvalidArgumentError("chart", f"one of {', '.join(map(repr, CHARTS))}", chart)
        many = index is None and len(attribution) > 1
        if chart == "beeswarm" or (chart is None and many):
            return beeswarm_figure(attribution, top_k=top_k, index=index)
        row = 0 if index is None else _rows(attribution, index, 1)[0]
        if chart == "waterfall":
            return waterfall_figure(attribution, index=row, top_k=top_k)
        return bar_figure(attribution, index=row, mode=mode, top_k=top_k)
    values = attribution.values.reshape(len(attribution), -1)
    z, colours = scale(values, mode)
    fig = go.Figure(go.Heatmap(z=z, **colours, colorbar={"title": attribution.method}))
    return _layout(fig, attribution.method, xaxis_title="feature", yaxis_title="example")


def _picture(inputs: np.ndarray) -> np.ndarray:
    """An example [C, H, W] as an RGB uint8 picture [H, W, 3] (min-max scaled; grey if C != 3)."""
    image = np.asarray(inputs, dtype=float)
    image = image.transpose(1, 2, 0) if image.shape[0] == 3 else image.mean(axis=0)[..., None].repeat(3, -1)
    low, high = np.nanmin(image), np.nanmax(image)
    image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    return (image * 255).round().astype(np.uint8)


def _pixel_grid(shape: tuple[int, ...], inputs: Any, show_input: bool) -> dict[str, float]:
    """Heat-map cell size and offset so a coarser map (Grad-CAM at its layer's resolution)
    covers the whole picture."""
    if not show_input or inputs is None or tuple(inputs.shape[2:]) == tuple(shape):
        return {}
    dy, dx = inputs.shape[2] / shape[0], inputs.shape[3] / shape[1]
    return {"dx": dx, "dy": dy, "x0": (dx - 1) / 2, "y0": (dy - 1) / 2}


def image_figure(
    attribution: Any,
    *,
    mode: str = "signed",
    index: Any = None,
    max_examples: int = 6,
    style: str = "blended",
    opacity: float = 0.6,
) -> go.Figure:
    """Maps of images, one panel per example, all on one colour range (so they compare)."""
    if style not in STYLES:
        raise InvalidArgumentError("style", f"one of {', '.join(map(repr, STYLES))}", style)
    rows = _rows(attribution, index, max_examples)
    maps, colours = scale(attribution.map()[rows], mode)
    inputs = attribution.inputs
    has_inputs = inputs is not None and inputs.ndim == 4
    show_input = has_inputs and style != "heatmap"
    per_example = 2 if style == "side" and has_inputs else 1
    columns = min(len(rows), max(1, 6 // per_example)) * per_example
    grid_rows = math.ceil(len(rows) * per_example / columns)
    titles = []
    for row in rows:
        titles += [_title(attribution, row)] + ([""] if per_example == 2 else [])
    fig = make_subplots(
        rows=grid_rows,
        cols=columns,
        subplot_titles=titles,
        horizontal_spacing=0.02,
        vertical_spacing=0.08,
    )
    for i, row in enumerate(rows):
        slot = i * per_example
        r, c = slot // columns + 1, slot % columns + 1
        if show_input and inputs is not None:
            fig.add_trace(go.Image(z=_picture(inputs[row]), hoverinfo="skip"), row=r, col=c)
            if per_example == 2:
                c += 1
        fig.add_trace(
            go.Heatmap(
                z=maps[i],
                **_pixel_grid(maps[i].shape, attribution.inputs, show_input),
                **colours,
                showscale=i == 0,
                opacity=opacity if show_input and per_example == 1 else 1.0,
                colorbar={"title": mode, "len": 0.8},
                hovertemplate="x %{x}, y %{y}: %{z:.3g}<extra></extra>",
            ),
            row=r,
            col=c,
        )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed", scaleanchor="x")
    height = 60 + 200 * grid_rows
    return _layout(fig, f"{attribution.method} ({mode})", height=height)


def text_figure(attribution: Any, *, mode: str = "signed", index: Any = None, max_examples: int = 6) -> go.Figure:
    """Tokens coloured by their attribution, one line per example."""
    rows = _rows(attribution, index, max_examples)
    tokens = attribution.tokens or [[str(j) for j in range(attribution.values.shape[1])]] * len(attribution)
    width = max(len(tokens[r]) for r in rows) if rows else 1
    z = np.full((len(rows), width), np.nan)
    text = [[""] * width for _ in rows]
    for i, r in enumerate(rows):
        n = len(tokens[r])
        z[i, :n] = attribution.values[r, :n]
        text[i][:n] = tokens[r]
    z, colours = scale(z, mode)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            text=text,
            texttemplate="%{text}",
            **colours,
            xgap=2,
            ygap=6,
            hovertemplate="%{text}: %{z:.3g}<extra></extra>",
            colorbar={"title": mode},
        )
    )
    labels = [f"{r}: {_title(attribution, r)}" for r in rows]
    fig.update_yaxes(tickvals=list(range(len(rows))), ticktext=labels, autorange="reversed", showgrid=False)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    return _layout(fig, f"{attribution.method} per token ({mode})", height=120 + 48 * len(rows))


def _features(attribution: Any) -> list[str]:
    return attribution.feature_names or [f"x{i}" for i in range(attribution.values.shape[1])]


def _top(values: np.ndarray, top_k: int) -> np.ndarray:
    return np.argsort(-np.abs(values), kind="stable")[:top_k]


def bar_figure(attribution: Any, *, index: int = 0, mode: str = "signed", top_k: int = 20) -> go.Figure:
    """One example's features, largest |value| on top, coloured by sign."""
    values = np.asarray(attribution.values[index], dtype=float)
    names = _features(attribution)
    order = _top(values, top_k)[::-1]
    shown, _ = scale(values[order], mode) if mode != "signed" else (values[order], None)
    labels = [_feature_label(attribution, index, j, names) for j in order]
    colours = [_POSITIVE if v >= 0 else _NEGATIVE for v in values[order]]
    fig = go.Figure(
        go.Bar(
            x=shown,
            y=labels,
            orientation="h",
            marker_color=colours,
            hovertemplate="%{y}: %{x:.3g}<extra></extra>",
        )
    )
    fig.update_xaxes(title=f"attribution ({mode})", zeroline=True)
    return _layout(fig, f"{attribution.method}: {_title(attribution, index)}", height=120 + 22 * len(order))


def _feature_label(attribution: Any, row: int, j: int, names: list[str]) -> str:
    if attribution.inputs is not None and attribution.inputs.ndim == 2:
        return f"{names[j]} = {attribution.inputs[row, j]:.3g}"
    return names[j]


def waterfall_figure(attribution: Any, *, index: int = 0, top_k: int = 20) -> go.Figure:
    """From the base value (E[f(background)], or 0) to the output, one step per feature."""
    values = np.asarray(attribution.values[index], dtype=float)
    names = _features(attribution)
    order = _top(values, top_k)
    rest = values.sum() - values[order].sum()
    base = float(attribution.base_value[index]) if attribution.base_value is not None else 0.0
    steps = [values[j] for j in order] + ([rest] if len(order) < len(values) else [])
    labels = [_feature_label(attribution, index, j, names) for j in order]
    if len(order) < len(values):
        labels.append(f"{len(values) - len(order)} other features")
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            base=base,
            x=steps[::-1],
            y=labels[::-1],
            measure=["relative"] * len(steps),
            increasing={"marker": {"color": _POSITIVE}},
            decreasing={"marker": {"color": _NEGATIVE}},
            hovertemplate="%{y}: %{x:+.3g}<extra></extra>",
        )
    )
    fig.add_vline(x=base, line_dash="dot", annotation_text=f"base {base:.3g}")
    fig.add_vline(x=base + values.sum(), line_dash="dash", annotation_text=f"output {base + values.sum():.3g}")
    fig.update_xaxes(title="model output")
    return _layout(fig, f"{attribution.method}: {_title(attribution, index)}", height=140 + 22 * len(steps))


def beeswarm_figure(attribution: Any, *, top_k: int = 20, index: Any = None) -> go.Figure:
    """Many rows: one line per feature (largest mean |value| on top), a dot per example at its
    attribution, coloured by the feature's value (low to high within the feature)."""
    rows = list(range(len(attribution))) if index is None else _rows(attribution, index, len(attribution))
    values = np.asarray(attribution.values[rows], dtype=float)
    names = _features(attribution)
    order = np.argsort(-np.abs(values).mean(axis=0), kind="stable")[:top_k][::-1]
    inputs = attribution.inputs[rows] if attribution.inputs is not None and attribution.inputs.ndim == 2 else None
    fig = go.Figure()
    for line, j in enumerate(order):
        column = values[:, j]
        jitter = _swarm_offsets(column)
        if inputs is not None:
            feature = inputs[:, j].astype(float)
            low, high = feature.min(), feature.max()
            colour = (feature - low) / (high - low) if high > low else np.full(len(feature), 0.5)
        else:
            colour = np.full(len(column), 0.5)
        fig.add_trace(
            go.Scatter(
                x=column,
                y=line + jitter,
                mode="markers",
                name=names[j],
                showlegend=False,
                marker={
                    "color": colour,
                    "colorscale": SEQUENTIAL,
                    "cmin": 0,
                    "cmax": 1,
                    "size": 5,
                    "showscale": line == 0,
                    "colorbar": {
                        "title": "feature value",
                        "tickvals": [0, 1],
                        "ticktext": ["low", "high"],
                    },
                },
                hovertemplate=f"{names[j]}: %{{x:.3g}}<extra></extra>",
            )
        )
    fig.update_yaxes(tickvals=list(range(len(order))), ticktext=[names[j] for j in order], showgrid=False)
    fig.add_vline(x=0, line_color="#9AA5B1")
    fig.update_xaxes(title="attribution")
    return _layout(fig, f"{attribution.method} over {len(rows)} examples", height=140 + 28 * len(order))


def _swarm_offsets(column: np.ndarray, width: float = 0.35, bins: int = 40) -> np.ndarray:
    """Vertical offsets that spread dots with similar values apart (deterministic)."""
    if len(column) < 2 or np.ptp(column) == 0:
        return np.zeros(len(column))
    which = np.minimum(((column - column.min()) / np.ptp(column) * bins).astype(int), bins - 1)
    offsets = np.zeros(len(column))
    most = max(1, np.bincount(which).max())
    for b in np.unique(which):
        members = np.flatnonzero(which == b)
        k = np.arange(len(members))
        offsets[members] = ((k + 1) // 2) * np.where(k % 2, 1, -1) * (width / most)
    return offsets


def sanity_figure(check: Any) -> go.Figure:
    """Rank correlation with the trained model's maps as layers are randomized, top down."""
    steps = ["trained"] + list(check.layers)
    fig = go.Figure()
    for row in check.per_example.T:
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=[1.0, *row],
                mode="lines",
                line={"color": "#CBD2D9", "width": 1},
                hoverinfo="skip",
                showlegend=False,
            )
        )
    fig.add_trace(
        go.Scatter(
            x=steps,
            y=[1.0, *check.correlation],
            mode="lines+markers",
            name="mean",
            line={"width": 3},
        )
    )
    fig.add_hline(y=check.threshold, line_dash="dash", annotation_text=f"threshold {check.threshold}")
    verdict = "passed" if check.passed else "flagged: the maps do not depend on the model"
    fig.update_yaxes(title="Spearman rank correlation", range=[-1.05, 1.05])
    fig.update_xaxes(title="layers randomized (cumulative, from the output)")
    return _layout(fig, f"Sanity check of {check.method}: {verdict}")


def faithfulness_figure(result: Any) -> go.Figure:
    """Mean deletion and insertion curves with their areas (deletion low, insertion high is good)."""
    fig = go.Figure()
    for name, curve, area in (
        ("deletion", result.deletion, result.deletion_area),
        ("insertion", result.insertion, result.insertion_area),
    ):
        fig.add_trace(
            go.Scatter(
                x=result.fractions,
                y=curve.mean(axis=0),
                mode="lines",
                name=f"{name} (area {area.mean():.3f})",
            )
        )
    fig.update_xaxes(title="fraction of features removed / inserted", range=[0, 1])
    title = "probability of the target" if result.output == "probability" else "target output"
    fig.update_yaxes(title=title, rangemode="tozero" if result.output == "probability" else "normal")
    return _layout(fig, f"Deletion and insertion: {result.method}")
