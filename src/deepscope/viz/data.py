"""Figures for dataset statistics: overview histograms, drift, Dive.

Pure functions from a result (``Profile``, ``Comparison``, ``DriftReport``, ``Dive`` from ``deepscope.data``)
to a plotly Figure; nothing here computes statistics. Histograms are percentages of each
dataset, so datasets of different sizes overlay; bar heights start at zero. A numeric bucket's
bars sit between its edges, one slice per dataset.

>>> import pandas as pd
>>> from deepscope.data import compare, profile
>>> fig = comparison_figure(compare(profile(pd.DataFrame({"x": [1.0, 2.0, 2.5]}))))
>>> fig.data[0].type
'bar'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deepscope.data.compare import compare
from deepscope.escape import escape, escape_all
from deepscope.png import thumbnail_data_uri
from deepscope.viz.theme import PALETTE, TEMPLATE_NAME, category_colors

__all__ = [
    "comparison_figure",
    "profile_figure",
    "feature_figure",
    "sparkline_figure",
    "drift_figure",
    "drift_feature_figure",
    "dive_figure",
]

_DRIFTED = PALETTE[1]
_STEADY = PALETTE[5]
_MAX_LABEL = 24


def _short(text: Any) -> str:
    """A user string (feature, category, dataset) shortened and escaped for a figure."""
    text = str(text)
    return escape(text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…")


def _bars(
    hist: dict[str, Any], datasets: list[str], colors: Mapping[Any, str], *, legend: bool, group: str = ""
) -> list[go.Bar]:
    """One bar trace per dataset; a numeric bucket's bars split it between its edges.

    Positions and widths are explicit, so plotly's grouping never moves a bar off its bucket.
    Buckets of unequal width (drift cuts at the reference's deciles) are drawn as labelled
    buckets of equal room instead, so a bar's height alone carries its share.
    """
    traces = []
    unit = "%" if hist.get("unit", "percent") == "percent" else ""
    shown = [name for name in datasets if name in hist["datasets"]]
    hover: list[str] = []
    labels: list[str] | None = None
    centers = widths = np.zeros(0)
    if hist["kind"] == "numeric":
        edges = np.asarray(hist["edges"], float)
        hover = [f"{a:.4g} to {b:.4g}: %{{y:.1f}}{unit}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
        labels = None if _equal_width(edges) else _bucket_labels(edges)
        if edges.size == 2 and edges[0] == edges[1]:
            centers, widths = edges[:1], np.array([1.0])
        else:
            centers, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    for k, name in enumerate(shown):
        heights = np.asarray(hist["datasets"][name], float)
        style = {
            "y": heights,
            "name": escape(name),
            "marker_color": colors[name],
            "showlegend": legend,
            "legendgroup": name + group,
        }
        if hist["kind"] != "numeric":
            traces.append(
                go.Bar(
                    x=[_short(c) for c in hist["categories"]],
                    **style,
                    hovertemplate=f"%{{x}}: %{{y:.1f}}{unit}<extra>{escape(name)}</extra>",
                )
            )
            continue
        extra = [h + f"<extra>{escape(name)}</extra>" for h in hover]
        if labels is not None:
            traces.append(go.Bar(x=labels, **style, hovertemplate=extra))
        else:
            share = widths / len(shown)
            traces.append(go.Bar(x=centers, width=share, offset=-widths / 2 + k * share, **style, hovertemplate=extra))
    return traces


def _equal_width(edges: np.ndarray) -> bool:
    widths = np.diff(edges)
    return widths.size <= 1 or bool(np.allclose(widths, widths[0], rtol=1e-6, atol=0.0))


def _bucket_labels(edges: np.ndarray) -> list[str]:
    """Distinct labels such as "3.8k–23k", with as few digits as tell the buckets apart."""
    pairs = list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))
    labels: list[str] = []
    for digits in range(3, 9):
        labels = [_compact(a, digits) if a == b else f"{_compact(a, digits)}–{_compact(b, digits)}" for a, b in pairs]
        if len(set(labels)) == len(labels):
            return labels
    return [f"{i + 1}: {label}" for i, label in enumerate(labels)]


def _compact(value: float, digits: int) -> str:
    size = abs(value)
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if size >= scale:
            return f"{value / scale:.{digits}g}{suffix}"
    return f"{value:.{digits}g}"


def _labelled(hist: dict[str, Any] | None) -> bool:
    """Whether the histogram's x axis holds labels (categories or labelled buckets), not numbers."""
    return bool(hist) and (hist["kind"] != "numeric" or not _equal_width(np.asarray(hist["edges"], float)))


def profile_figure(profile: Any, **options: Any) -> go.Figure:
    """Small multiples of every feature's histogram in one profile (``comparison_figure``)."""
    return comparison_figure(compare(profile), **options)


def comparison_figure(
    comparison: Any, *, features: list[str] | None = None, max_features: int = 24, columns: int = 4
) -> go.Figure:
    """Small multiples: one histogram per feature, datasets overlaid, in the comparison's order."""
    names = [f for f in (features or comparison.order) if comparison.histograms.get(f)][:max_features]
    colors = category_colors(comparison.datasets)
    if not names:
        fig = go.Figure()
        fig.update_layout(template=TEMPLATE_NAME, title="No features with values to draw")
        return fig
    columns = max(1, min(columns, len(names)))
    rows = math.ceil(len(names) / columns)
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[_short(n) for n in names],
        vertical_spacing=min(0.12, 0.5 / rows),
        horizontal_spacing=0.06,
    )
    for i, feature in enumerate(names):
        hist, row, col = comparison.histograms[feature], i // columns + 1, i % columns + 1
        for trace in _bars(hist, comparison.datasets, colors, legend=i == 0):
            fig.add_trace(trace, row=row, col=col)
        if _labelled(hist):
            fig.update_xaxes(type="category", row=row, col=col)
    # the first feature with a histogram says the unit (an all-null or nested column has none)
    first = next((hist for hist in comparison.histograms.values() if hist), {})
    unit = "%" if first.get("unit", "percent") == "percent" else "count"
    fig.update_yaxes(rangemode="tozero", ticksuffix="%" if unit == "%" else "")
    fig.update_layout(
        template=TEMPLATE_NAME,
        barmode="group",
        bargap=0.05,
        height=max(260, 210 * rows),
        title=f"Feature distributions ({', '.join(escape_all(comparison.datasets))})",
        legend={"orientation": "h", "y": 1.0 + 0.12 / rows, "x": 1.0, "xanchor": "right"},
        showlegend=len(comparison.datasets) > 1,
    )
    return fig


def feature_figure(comparison: Any, feature: str) -> go.Figure:
    """One feature's histogram, datasets overlaid as percentages."""
    hist = comparison.histograms.get(feature)
    colors = category_colors(comparison.datasets)
    fig = go.Figure(_bars(hist, comparison.datasets, colors, legend=True) if hist else [])
    if _labelled(hist):
        fig.update_xaxes(type="category")
    fig.update_yaxes(
        rangemode="tozero", title="% of examples" if not hist or hist.get("unit") == "percent" else "count"
    )
    fig.update_layout(template=TEMPLATE_NAME, barmode="group", bargap=0.05, title=_short(feature), height=320)
    return fig


def sparkline_figure(comparison: Any, feature: str, *, width: int = 160, height: int = 48) -> go.Figure:
    """A tiny histogram without axes, for a table cell."""
    hist = comparison.histograms.get(feature)
    colors = category_colors(comparison.datasets)
    fig = go.Figure(_bars(hist, comparison.datasets, colors, legend=False) if hist else [])
    if _labelled(hist):
        fig.update_xaxes(type="category")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, rangemode="tozero")
    fig.update_layout(
        template=TEMPLATE_NAME,
        barmode="group",
        bargap=0.0,
        width=width,
        height=height,
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        showlegend=False,
    )
    return fig


def drift_figure(report: Any) -> go.Figure:
    """Per feature, its most decisive metric as a multiple of the threshold; 1 is the line."""
    features = report.features.dropna(subset=["score"]).sort_values("score", ascending=True)
    fig = go.Figure()
    if len(features):
        detail = report.metrics.set_index(["feature", "metric"])
        text = []
        for feature, metric in zip(features["feature"], features["metric"], strict=True):
            row = detail.loc[(feature, metric)]
            text.append(f"{metric} = {row['value']:.4g} (threshold {row['threshold']:.4g})")
        fig.add_trace(
            go.Bar(
                x=features["score"],
                y=[_short(f) for f in features["feature"]],
                orientation="h",
                marker_color=[_DRIFTED if d else _STEADY for d in features["drifted"]],
                customdata=text,
                hovertemplate="%{y}: %{customdata}<extra></extra>",
                showlegend=False,
            )
        )
        fig.add_vline(x=1.0, line_dash="dash", line_color="#52606D")
    verdict = "drift" if report.drifted else "no drift"
    fig.update_xaxes(title="metric / threshold (above 1: drifted)", rangemode="tozero")
    fig.update_layout(
        template=TEMPLATE_NAME,
        height=max(240, 28 * len(features) + 120),
        title=f"{escape(report.current)} against {escape(report.reference)}: {verdict} "
        f"({report.drifted_share:.0%} of features drifted)",
    )
    return fig


def drift_feature_figure(report: Any, feature: str) -> go.Figure:
    """Reference and current frequencies of one feature over the buckets drift compared."""
    hist = report.histograms[feature]
    data = {
        "kind": hist["kind"],
        "unit": "percent",
        "datasets": {
            report.reference: [100 * v for v in hist["reference"]],
            report.current: [100 * v for v in hist["current"]],
        },
    }
    data["edges" if hist["kind"] == "numeric" else "categories"] = hist.get("edges", hist.get("categories"))
    names = [report.reference, report.current]
    if names[0] == names[1]:
        names = [names[0]]
    fig = go.Figure(_bars(data, names, category_colors(names), legend=True))
    if _labelled(data):
        fig.update_xaxes(type="category")
    fig.update_yaxes(rangemode="tozero", title="% of examples")
    fig.update_layout(template=TEMPLATE_NAME, barmode="group", bargap=0.05, title=_short(feature), height=320)
    return fig


def dive_figure(dive: Any, *, point_size: float | None = None, max_images: int = 400) -> go.Figure:
    """Every example a WebGL point; facet labels on the cells; thumbnails for small image sets."""
    points = dive.points
    colors = category_colors(dive.color_labels)
    fig = go.Figure()
    size = point_size or float(np.clip(600 / max(1.0, math.sqrt(len(points) + 1)), 2.0, 12.0))
    for label in dive.color_labels:
        chosen = points[points["color"] == label]
        fig.add_trace(
            go.Scattergl(
                x=chosen["x"],
                y=chosen["y"],
                mode="markers",
                name=_short(label),
                marker={"color": colors[label], "size": size, "symbol": "square"},
                customdata=chosen["index"],
                hovertemplate="example %{customdata}<extra>" + _short(label) + "</extra>",
                showlegend=dive.color is not None,
            )
        )
    gap_x, gap_y = dive.cell_width * 0.15, dive.cell_height * 0.15
    for j, label in enumerate(dive.column_labels):
        if dive.column is not None:
            fig.add_annotation(
                x=j * (dive.cell_width + gap_x) + dive.cell_width / 2,
                y=1.0,
                yref="paper",
                yanchor="bottom",
                text=_short(label),
                showarrow=False,
            )
    n_rows = len(dive.row_labels)
    for i, label in enumerate(dive.row_labels):
        if dive.row is not None:
            fig.add_annotation(
                x=0.0,
                xref="paper",
                xanchor="right",
                text=_short(label),
                showarrow=False,
                y=(n_rows - 1 - i) * (dive.cell_height + gap_y) + dive.cell_height / 2,
            )
    if dive.images is not None and len(points) <= max_images:
        fig.update_layout(
            images=[
                {
                    "source": thumbnail_data_uri(dive.images[i], size=32),
                    "x": x,
                    "y": y,
                    "xref": "x",
                    "yref": "y",
                    "sizex": 0.9,
                    "sizey": 0.9,
                    "xanchor": "center",
                    "yanchor": "middle",
                    "layer": "above",
                }
                for i, x, y in zip(points["index"], points["x"], points["y"], strict=True)
            ]
        )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x" if dive.positioning == "stacked" else None)
    title = f"{len(points):,} examples"
    if dive.row or dive.column:
        title += " by " + " and ".join(escape(f) for f in (dive.row, dive.column) if f)
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=title,
        height=640,
        dragmode="pan",
        legend={"title": {"text": escape(dive.color or "")}},
    )
    return fig
