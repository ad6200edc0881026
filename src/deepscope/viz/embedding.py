"""Figures of the embedding projector: a projection as a WebGL scatter (2-D or 3-D), its clusters
and density contours, a point's neighbours, and a server-rendered density image.

>>> import numpy as np
>>> from deepscope.embed import project
>>> fig = projection_figure(project(np.random.default_rng(0).normal(size=(50, 4))))
>>> fig.data[0].type
'scattergl'
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from deepscope.viz.images import image_src
from deepscope.viz.theme import PALETTE, SEQUENTIAL, TEMPLATE_NAME

if TYPE_CHECKING:
    from deepscope.embed import Clusters, DensityImage, Neighbors, Projection

__all__ = [
    "projection_figure",
    "clusters_figure",
    "neighbors_figure",
    "density_figure",
    "MAX_CATEGORIES",
    "thumbnail_images",
]

#: a colour column with more distinct values than this is drawn on a sequential scale
MAX_CATEGORIES = 20
HIGHLIGHT = "#D55E00"
NEIGHBOUR = "#CC79A7"
MUTED = "#C4CAD1"
#: colours of categories: the theme's nine, then seven more of Paul Tol's schemes that none of
#: them resembles, so a label with ten to sixteen values repeats no colour
CATEGORY_COLOURS: tuple[str, ...] = (
    *PALETTE,
    "#EE8866",  # orange
    "#77AADD",  # light blue
    "#BBCC33",  # pear
    "#FFAABB",  # pink
    "#4477AA",  # blue
    "#EE3377",  # magenta
    "#CC3311",  # red
)
_HEIGHT = 560
_LEGEND_WIDTH = 230
_LEGEND_CHARS = 28


def _legend_name(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _LEGEND_CHARS else text[: _LEGEND_CHARS - 1] + "…"


def _marker_size(count: int) -> float:
    return float(np.clip(9 - 1.3 * np.log10(max(count, 1)), 2.5, 7))


def _is_categorical(values: pd.Series) -> bool:
    if values.dtype.kind in "fc":
        return False
    if values.dtype.kind in "iu":
        return values.nunique() <= MAX_CATEGORIES
    return True


def _points_trace(coords: np.ndarray, dims: int, **kwargs: Any) -> go.Scattergl | go.Scatter3d:
    if dims == 3:
        return go.Scatter3d(x=coords[:, 0], y=coords[:, 1], z=coords[:, 2], **kwargs)
    return go.Scattergl(x=coords[:, 0], y=coords[:, 1], **kwargs)


def projection_figure(
    projection: Projection,
    *,
    color: Any = None,
    color_name: str = "",
    highlight: Sequence[int] | np.ndarray | None = None,
    selected: int | None = None,
    neighbors: Sequence[int] | np.ndarray | None = None,
    visible: np.ndarray | None = None,
    title: str | None = None,
    height: int = _HEIGHT,
) -> go.Figure:
    """The points of ``projection`` as a WebGL scatter, coloured by ``color`` (one value per point).

    Categorical colours (text, or at most 20 distinct integers) get one legend entry per value from
    the colour-blind-safe palette (the 19 commonest; the rest share a grey entry); numbers a
    sequential scale. ``highlight`` (search matches) are
    drawn on top in orange, other points muted; ``selected`` and its ``neighbors`` are marked.
    ``visible`` (a boolean mask) restricts what is drawn (isolated selections). Each point's index
    is its ``customdata``, an int32 array that plotly sends binary-encoded (as it does the float32
    coordinates), so 100,000 points cost about 1.6 MB and no per-point Python objects; the page
    maps a click back to a row by reading the decoded customdata in the browser.
    """
    coords = np.asarray(projection.coords, dtype=np.float32)
    dims = projection.dims
    index = np.arange(len(coords), dtype=np.int32)
    if visible is not None:
        index = index[np.asarray(visible, dtype=bool)]
    size = _marker_size(len(index))
    dimmed = highlight is not None and len(highlight) > 0
    fig = go.Figure()
    hover = "#%{customdata}<extra>%{fullData.name}</extra>"
    if color is None:
        fig.add_trace(
            _points_trace(
                coords[index],
                dims,
                mode="markers",
                name="points",
                customdata=index,
                hovertemplate=hover,
                marker={"size": size, "color": MUTED if dimmed else PALETTE[0], "opacity": 0.8},
                showlegend=False,
            )
        )
    else:
        values = pd.Series(np.asarray(color)[index])
        if _is_categorical(values):
            codes, uniques = pd.factorize(values.astype(str), sort=False)
            counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
            ranked = np.argsort(-counts, kind="stable")  # commonest first
            order = [str(uniques[r]) for r in ranked]
            lumped = len(order) > MAX_CATEGORIES
            groups = [codes == r for r in ranked]
            if lumped:  # the rarest values share one grey entry
                rest = ranked[MAX_CATEGORIES - 1 :]
                order = [*order[: MAX_CATEGORIES - 1], f"(other {len(rest):,} values)"]
                groups = [*groups[: MAX_CATEGORIES - 1], np.isin(codes, rest)]
            for number, (category, members) in enumerate(zip(order, groups, strict=True)):
                colour = CATEGORY_COLOURS[number % len(CATEGORY_COLOURS)]
                if lumped and number == len(order) - 1:
                    colour = MUTED
                fig.add_trace(
                    _points_trace(
                        coords[index[members]],
                        dims,
                        mode="markers",
                        name=_legend_name(category),
                        legendgroup=str(category),
                        customdata=index[members],
                        hovertemplate=hover,
                        marker={
                            "size": size,
                            "color": MUTED if dimmed else colour,
                            "opacity": 0.8,
                        },
                    )
                )
        else:
            numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            fig.add_trace(
                _points_trace(
                    coords[index],
                    dims,
                    mode="markers",
                    name=color_name or "value",
                    customdata=index,
                    text=[f"{v:.4g}" for v in numbers] if len(numbers) <= 20_000 else None,
                    hovertemplate="#%{customdata}" + (" %{text}" if len(numbers) <= 20_000 else "") + "<extra></extra>",
                    marker={
                        "size": size,
                        "color": MUTED if dimmed else numbers,
                        "colorscale": SEQUENTIAL,
                        "colorbar": None if dimmed else {"title": {"text": color_name}},
                        "opacity": 0.8,
                    },
                    showlegend=False,
                )
            )
    if dimmed:
        marked = np.asarray(highlight, dtype=np.int64)
        fig.add_trace(
            _points_trace(
                coords[marked],
                dims,
                mode="markers",
                name=f"matches ({len(marked)})",
                customdata=marked.astype(np.int32),
                hovertemplate=hover,
                marker={"size": size + 3, "color": HIGHLIGHT, "line": {"width": 0}},
            )
        )
    if neighbors is not None and len(neighbors):
        near = np.asarray(neighbors, dtype=np.int64)
        fig.add_trace(
            _points_trace(
                coords[near],
                dims,
                mode="markers",
                name="neighbours",
                customdata=near.astype(np.int32),
                hovertemplate=hover,
                marker={
                    "size": size + 5,
                    "color": "rgba(0,0,0,0)",
                    "line": {"width": 2, "color": NEIGHBOUR},
                },
            )
        )
    if selected is not None:
        fig.add_trace(
            _points_trace(
                coords[[selected]],
                dims,
                mode="markers",
                name=f"selected #{selected}",
                customdata=[selected],
                hovertemplate=hover,
                marker={
                    "size": size + 9,
                    "color": "#000000",
                    "symbol": "diamond" if dims == 3 else "star",
                },
            )
        )
    labels = projection.axis_labels
    layout: dict[str, Any] = {
        "template": TEMPLATE_NAME,
        "height": height,
        "title": title,
        "uirevision": f"{projection.method}-{dims}",
        "legend": {"title": {"text": color_name}, "itemsizing": "constant"},
        "clickmode": "event",
    }
    if dims == 3:
        layout["scene"] = {
            "xaxis": {"title": {"text": labels[0]}},
            "yaxis": {"title": {"text": labels[1]}},
            "zaxis": {"title": {"text": labels[2]}},
        }
        layout["margin"] = {"l": 0, "r": 0, "t": 40, "b": 0}
    else:
        layout["xaxis"] = {"title": {"text": labels[0]}, "zeroline": False}
        layout["yaxis"] = {"title": {"text": labels[1]}, "zeroline": False}
        layout["dragmode"] = "pan"
        # Room for the legend (names cut to 28 characters) or the colour bar from the start: a
        # legend that pushed the margin out would make plotly draw the whole figure twice, the
        # costliest part of the first paint of 100,000 points.
        layout["margin"] = {"l": 70, "r": _LEGEND_WIDTH, "t": 50, "b": 60, "autoexpand": False}
    fig.update_layout(**layout)
    return fig


def clusters_figure(
    clusters: Clusters,
    *,
    contours: bool = True,
    labels: bool = True,
    figure: go.Figure | None = None,
) -> go.Figure:
    """Density contours and cluster names over ``figure`` (a projection figure), or alone."""
    fig = go.Figure() if figure is None else go.Figure(figure)
    if figure is None:
        count = len(clusters.names)
        colours = [CATEGORY_COLOURS[c % len(CATEGORY_COLOURS)] for c in range(count)] + [MUTED]
        groups = np.where(clusters.labels < 0, count, clusters.labels)
        fig.add_trace(
            go.Scattergl(
                x=clusters.coords[:, 0],
                y=clusters.coords[:, 1],
                mode="markers",
                name="points",
                marker={
                    "size": _marker_size(len(groups)),
                    "color": [colours[g] for g in groups],
                    "opacity": 0.7,
                },
                showlegend=False,
            )
        )
        fig.update_layout(template=TEMPLATE_NAME, height=_HEIGHT)
    if contours:
        x = (clusters.x_edges[:-1] + clusters.x_edges[1:]) / 2
        y = (clusters.y_edges[:-1] + clusters.y_edges[1:]) / 2
        fig.add_trace(
            go.Contour(
                x=x,
                y=y,
                z=clusters.density.T,
                name="density",
                contours={"coloring": "lines", "showlabels": False},
                colorscale=[[0, "#7B8794"], [1, "#1F2933"]],
                line={"width": 1},
                ncontours=8,
                showscale=False,
                hoverinfo="skip",
                opacity=0.6,
            )
        )
    if labels:
        # annotations, not a text trace: a light box keeps each name readable over the points
        for name, centre, size in zip(clusters.names, clusters.centers, clusters.sizes, strict=True):
            fig.add_annotation(
                x=float(centre[0]),
                y=float(centre[1]),
                text=f"<b>{html.escape(name)}</b>",
                hovertext=f"{html.escape(name)}: {int(size)} points",
                showarrow=False,
                font={"size": 12, "color": "#1F2933"},
                bgcolor="rgba(255,255,255,0.8)",
                borderpad=2,
            )
    return fig


def neighbors_figure(neighbors: Neighbors, *, query: int = 0, names: Sequence[str] | None = None) -> go.Figure:
    """Distances from query ``query`` (a row of ``neighbors``) to its neighbours, nearest on top."""
    found = neighbors.indices[query]
    distances = neighbors.distances[query]
    shown = [f"#{i} {names[i]}" if names is not None else f"#{i}" for i in found]
    fig = go.Figure(
        go.Bar(
            x=distances,
            y=shown,
            orientation="h",
            marker={"color": NEIGHBOUR},
            hovertemplate="%{y}: %{x:.4g}<extra></extra>",
        )
    )
    kind = "exact" if neighbors.exact else f"approximate, recall {neighbors.recall:.2f}"
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=f"Nearest neighbours of #{neighbors.queries[query]} ({neighbors.metric}, {kind})",
        xaxis={"title": {"text": f"{neighbors.metric} distance"}, "rangemode": "tozero"},
        yaxis={"autorange": "reversed"},
        height=max(200, 28 * len(found) + 90),
    )
    return fig


def density_figure(image: DensityImage, *, x_title: str = "x", y_title: str = "y", height: int = _HEIGHT) -> go.Figure:
    """A density image rendered on the server, placed on data axes so zoom and pan ask for a new one."""
    (x0, x1), (y0, y1) = image.x_range, image.y_range
    fig = go.Figure(
        go.Scattergl(
            x=[x0, x1],
            y=[y0, y1],
            mode="markers",
            marker={"size": 0.1, "opacity": 0},
            hoverinfo="skip",
            showlegend=False,
            name="view",
        )
    )
    fig.add_layout_image(
        source=image_src(image.rgba),
        xref="x",
        yref="y",
        x=x0,
        y=y1,
        sizex=x1 - x0,
        sizey=y1 - y0,
        sizing="stretch",
        layer="below",
    )
    fig.update_layout(
        template=TEMPLATE_NAME,
        height=height,
        xaxis={"title": {"text": x_title}, "range": [x0, x1], "showgrid": False, "zeroline": False},
        yaxis={"title": {"text": y_title}, "range": [y0, y1], "showgrid": False, "zeroline": False},
        dragmode="zoom",
        title=f"{image.count:,} points in view: density (log scale), rendered by {image.engine}",
    )
    return fig


def thumbnail_images(
    coords: np.ndarray,
    indices: Sequence[int] | np.ndarray,
    images: np.ndarray,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
) -> list[dict[str, Any]]:
    """Layout images showing the thumbnails of the points ``indices`` at their 2-D ``coords``, each
    a 24th of the view wide, for a plot zoomed in on a few points (``images`` [N, H, W, C])."""
    width = (x_range[1] - x_range[0]) / 24
    height = (y_range[1] - y_range[0]) / 18
    return [
        {
            "source": image_src(images[int(i)]),
            "xref": "x",
            "yref": "y",
            "x": float(coords[int(i), 0]),
            "y": float(coords[int(i), 1]),
            "sizex": width,
            "sizey": height,
            "xanchor": "center",
            "yanchor": "middle",
            "sizing": "contain",
            "layer": "above",
            "name": f"thumbnail {int(i)}",
        }
        for i in indices
    ]
