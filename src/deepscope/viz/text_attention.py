"""Attention figures: head view, model view, neuron view, head summary, rollout beside gradients.

- Head view: query tokens on one side, key tokens on the other, a line per kept query -> key link
  with opacity growing with its weight, a colour per head (click a legend entry to hide a head).
  Only the strongest keys per query are drawn (``top_k``; the title says how much of the
  attention mass that keeps); long inputs are laid out horizontally and open on their start.
- Model view: every layer x head map as a small heatmap thumbnail in one grid (one trace, so
  144 maps of a 512-token input paint at once); ``tile_at`` turns a click into (layer, head).
- Neuron view: for one query, k, q*k, the scores and the softmax, aligned by key token.

Each head's links at one opacity are one unbroken SVG path (int16 / int8 arrays, which plotly sends as
compact binary): in headless Chromium without a GPU that paints several times faster than WebGL
or than separate segments.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deepscope.errors import InvalidArgumentError
from deepscope.viz.theme import DIVERGING, PALETTE, SEQUENTIAL, TEMPLATE_NAME, symmetric_range

__all__ = [
    "attention_figure",
    "head_view_figure",
    "model_view_figure",
    "neuron_view_figure",
    "head_summary_figure",
    "rollout_comparison_figure",
    "thumbnail_size",
    "tile_at",
    "head_color",
    "HORIZONTAL_FROM",
    "LINK_BUDGET",
]

#: about how many links the head view draws with ``top_k="auto"``
LINK_BUDGET = 20_000
#: inputs longer than this are drawn horizontally by default
HORIZONTAL_FROM = 40
#: opacity steps of the head view's lines: a link's opacity is the top of its weight's bin
_BINS = np.array([0.0, 0.05, 0.1, 0.2, 0.35, 0.6, 1.0001])
_OPACITY = (0.12, 0.22, 0.35, 0.5, 0.7, 0.95)
_GAP = 2  # empty cells between model-view thumbnails
_WINDOW = 36  # tokens visible at first in the horizontal layout


def head_color(head: int) -> str:
    return PALETTE[int(head) % len(PALETTE)]


def attention_figure(attention: Any, *, view: str = "head", **options: Any) -> go.Figure:
    """``view="head"`` (default) or ``"model"``; options go to that view's function."""
    if view == "head":
        return head_view_figure(attention, **options)
    if view == "model":
        return model_view_figure(attention, **options)
    raise InvalidArgumentError("view", "'head' or 'model'", view)


def _labels(tokens: list[str]) -> list[str]:
    """Tokens as plotly text: escaped, since plotly reads a few HTML tags in labels."""
    return [html.escape(str(t), quote=False) for t in tokens]


def head_view_figure(
    attention: Any,
    *,
    layer: int | None = None,
    which: str = "self",
    heads: list[int] | None = None,
    top_k: int | str | None = "auto",
    threshold: float | None = None,
    query: int | None = None,
    queries: str = "all",
    keys: str = "all",
    orientation: str = "auto",
) -> go.Figure:
    """Lines from each query token to its strongest keys in one layer.

    ``layer``: the model's layer number (default: the last). ``top_k``: keys kept per query and
    head; ``"auto"`` keeps about ``LINK_BUDGET`` links in all (8 keys per query up to 128 tokens
    with 12 heads, 3 at 512), None keeps every key. ``query``: isolate one query
    position (all its links above ``threshold``). ``queries`` / ``keys``: ``"all"``, ``"A"`` or
    ``"B"`` (sentence filter). ``orientation``: ``"vertical"`` (two token columns),
    ``"horizontal"`` (two token rows) or ``"auto"`` (horizontal from 40 tokens on).
    """
    weights, query_tokens, key_tokens, _, _ = attention.view(which)
    layer_numbers, head_numbers = attention.numbers(which)
    layer = int(layer_numbers[-1] if layer is None else layer)
    if orientation not in ("auto", "vertical", "horizontal"):
        raise InvalidArgumentError("orientation", "'auto', 'vertical' or 'horizontal'", orientation)
    n_q, n_k = len(query_tokens), len(key_tokens)
    horizontal = orientation == "horizontal" or (orientation == "auto" and max(n_q, n_k) > HORIZONTAL_FROM)
    segments = attention.segments
    same = which in ("self", "encoder", "decoder") and len(segments) == n_q == n_k
    query_mask = _segment_mask(segments, queries, n_q, "queries", same)
    key_mask = _segment_mask(segments, keys, n_k, "keys", same or which == "cross")
    if top_k == "auto":
        n_heads = len(heads) if heads else len(head_numbers)
        top_k = int(np.clip(LINK_BUDGET // max(1, n_q * n_heads), 1, 8))
    edges = attention.edges(
        layer,
        which=which,
        top_k=top_k,
        threshold=threshold,
        heads=heads,
        query=query,
        queries=query_mask,
        keys=key_mask,
    )
    fig = go.Figure()
    many = len(edges) > 3000
    for head in edges.heads:
        mine = edges.head == head
        weight = edges.weight[mine]
        bins = np.clip(np.digitize(weight, _BINS) - 1, 0, len(_OPACITY) - 1)
        for level, opacity in enumerate(_OPACITY):
            chosen = bins == level
            if not chosen.any():
                continue
            q = edges.query[mine][chosen]
            k = edges.key[mine][chosen]
            xs, ys = _path(q, k, horizontal)
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    line={"color": head_color(head), "width": 1.5 if many else 2.0},
                    opacity=opacity,
                    name=f"head {head}",
                    legendgroup=f"head {head}",
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
        # the legend entry: a full-opacity swatch (the links' own opacity varies with weight)
        fig.add_trace(
            go.Scatter(
                x=[np.nan],
                y=[np.nan],
                mode="lines",
                line={"color": head_color(head), "width": 4},
                name=f"head {head}",
                legendgroup=f"head {head}",
                hoverinfo="skip",
            )
        )
    _token_markers(fig, query_tokens, key_tokens, horizontal, query, query_mask, key_mask)
    if not horizontal:
        _column_titles(fig)
    shown = f"top {edges.top_k} keys per query" if edges.top_k is not None else "all keys"
    if edges.threshold is not None:
        shown += f" >= {edges.threshold:g}"
    if queries != "all" or keys != "all":
        shown += f" (queries {queries}, keys {keys})"
    focus = f", query {query} '{_labels([query_tokens[query]])[0]}'" if query is not None else ""
    title = (
        f"Head view, {which + ' ' if which != 'self' else ''}layer {layer}{focus}: {shown}, "
        f"{edges.mass_kept:.0%} of the attention mass shown"
    )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=title,
        legend={"orientation": "h", "y": -0.02, "yanchor": "top"}
        if not horizontal
        else {"orientation": "v", "x": 1.01, "y": 1.0, "yanchor": "top"},
        hovermode="closest",
        clickmode="event",
        meta={"view": "head", "horizontal": horizontal, "layer": int(layer)},
    )
    hidden = {"showgrid": False, "zeroline": False, "showticklabels": False, "ticks": ""}
    if horizontal:
        window = [-0.8, min(max(n_q, n_k), _WINDOW) - 0.2]
        ticks = {"showgrid": False, "zeroline": False, "ticks": "", "tickangle": -65}
        fig.update_xaxes(
            **ticks,
            tickvals=list(range(n_k)),
            ticktext=_labels(key_tokens),
            range=window,
            title="keys (drag to pan along the text)",
        )
        # the queries' row labels: a second x axis on top, moving with the first
        fig.update_layout(
            xaxis2={
                **ticks,
                "overlaying": "x",
                "matches": "x",
                "side": "top",
                "tickvals": list(range(n_q)),
                "ticktext": _labels(query_tokens),
                "title": "queries",
            }
        )
        fig.add_trace(
            go.Scatter(
                x=[0],
                y=[1.0],
                xaxis="x2",
                mode="markers",
                opacity=0,
                showlegend=False,
                hoverinfo="skip",
            )
        )
        fig.update_yaxes(**hidden, range=[-0.08, 1.08], fixedrange=True)
        fig.update_layout(height=520, dragmode="pan", margin={"l": 24, "r": 24, "t": 150, "b": 40})
    else:
        fig.update_xaxes(**hidden, range=[-0.9, 1.9], fixedrange=True)
        fig.update_yaxes(**hidden, range=[max(n_q, n_k), -1.6], fixedrange=True)
        fig.update_layout(height=120 + 22 * max(n_q, n_k), margin={"l": 16, "r": 16, "t": 56, "b": 24})
    return fig


def _column_titles(fig: go.Figure) -> None:
    style = {"showarrow": False, "font": {"size": 12, "color": "#52606D"}}
    fig.add_annotation(text="queries", x=0, y=-1.1, yanchor="middle", **style)
    fig.add_annotation(text="keys", x=1, y=-1.1, yanchor="middle", **style)


def _segment_mask(segments: np.ndarray, choice: str, n: int, argument: str, applies: bool) -> np.ndarray | None:
    if choice not in ("all", "A", "B"):
        raise InvalidArgumentError(argument, "'all', 'A' or 'B'", choice)
    if choice == "all" or not applies:
        return None
    return np.asarray(segments) == (0 if choice == "A" else 1)


def _path(q: np.ndarray, k: np.ndarray, horizontal: bool) -> tuple[np.ndarray, np.ndarray]:
    """x and y of one unbroken line through every link: q0 -> k0, then along the key side to
    k1 -> q1, along the query side to q2 -> k2, ...; the moves along a side lie on its row of
    tokens. One path with no gaps draws several times faster than separate segments.

    Positions are whole token numbers and levels 0 or 1, so they go out as int16 and int8 (plotly
    sends typed arrays as binary): a quarter and an eighth of float64's bytes."""
    n = len(q)
    forward = np.arange(n) % 2 == 0
    small = max(int(q.max(initial=0)), int(k.max(initial=0))) < np.iinfo(np.int16).max
    position = np.empty(2 * n, dtype=np.int16 if small else np.int32)
    level = np.empty(2 * n, dtype=np.int8)
    query_level, key_level = (1, 0) if horizontal else (0, 1)
    position[0::2] = np.where(forward, q, k)
    position[1::2] = np.where(forward, k, q)
    level[0::2] = np.where(forward, query_level, key_level)
    level[1::2] = np.where(forward, key_level, query_level)
    return (position, level) if horizontal else (level, position)


def _token_markers(
    fig: go.Figure,
    query_tokens: list[str],
    key_tokens: list[str],
    horizontal: bool,
    focus: int | None,
    query_mask: np.ndarray | None,
    key_mask: np.ndarray | None,
) -> None:
    """Clickable token labels: queries (left / top) and keys (right / bottom)."""
    for side, tokens, mask in (("query", query_tokens, query_mask), ("key", key_tokens, key_mask)):
        n = len(tokens)
        positions = np.arange(n, dtype=np.float32)
        # queries on the top row (horizontal) or the left column (vertical)
        level = float(side == "query") if horizontal else float(side == "key")
        fixed = np.full(n, level, dtype=np.float32)
        colours = ["#1F2933"] * n
        if mask is not None:
            colours = ["#1F2933" if m else "#B8C2CC" for m in mask]
        if focus is not None and side == "query" and 0 <= focus < n:
            colours[focus] = PALETTE[1]
        if horizontal:
            x, y = positions, fixed
            position = "top center" if side == "query" else "bottom center"
        else:
            x, y = fixed, positions
            position = "middle left" if side == "query" else "middle right"
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="markers" if horizontal else "markers+text",
                text=_labels(tokens),
                textposition=position,
                textfont={"color": colours, "size": 12},
                marker={"size": 9, "color": colours, "symbol": "circle"},
                customdata=[[side, i] for i in range(n)],
                name=f"{side} tokens",
                showlegend=False,
                hovertemplate=f"{side} %{{customdata[1]}}: %{{text}}"
                + ("<br>click to isolate its links" if side == "query" else "")
                + "<extra></extra>",
                meta=side,
            )
        )


def thumbnail_size(n_tokens: int, n_maps: int) -> int:
    """Cells per side of each model-view thumbnail: all tokens for short inputs, fewer for many
    maps (about 150k cells in all)."""
    budget = max(8, int((150_000 / max(n_maps, 1)) ** 0.5))
    return int(min(n_tokens, budget, 48))


def tile_at(x: float, y: float, size: int, layers: list[int], heads: list[int]) -> tuple[int, int] | None:
    """(layer, head) of the model-view thumbnail under a clicked cell, or None for a gap."""
    step = size + _GAP
    column, row = int(round(x)) // step, int(round(y)) // step
    if int(round(x)) % step >= size or int(round(y)) % step >= size:
        return None
    if 0 <= row < len(layers) and 0 <= column < len(heads):
        return layers[row], heads[column]
    return None


def model_view_figure(
    attention: Any,
    *,
    which: str = "self",
    size: int | None = None,
    selected: tuple[int, int] | None = None,
) -> go.Figure:
    """Every layer (rows) x head (columns) map as a thumbnail; click one to open it.

    ``size``: cells per side of a thumbnail (default ``thumbnail_size``); each cell is the mean
    weight of its block of query x key positions.
    """
    weights, query_tokens, key_tokens, _, _ = attention.view(which)
    layer_numbers, head_numbers = attention.numbers(which)
    n_layers, n_heads = weights.shape[:2]
    size = thumbnail_size(max(weights.shape[2:]), n_layers * n_heads) if size is None else size
    thumbs = attention.thumbnails(size, which=which)
    s_q, s_k = thumbs.shape[2:]
    step_q, step_k = size + _GAP, size + _GAP
    mosaic = np.full((n_layers * step_q - _GAP, n_heads * step_k - _GAP), np.nan, dtype=np.float32)
    for i in range(n_layers):
        for j in range(n_heads):
            mosaic[i * step_q : i * step_q + s_q, j * step_k : j * step_k + s_k] = thumbs[i, j]
    fig = go.Figure(
        go.Heatmap(
            z=mosaic,
            colorscale=SEQUENTIAL,
            zmin=0.0,
            zmax=float(np.nanmax(mosaic)) if np.isfinite(mosaic).any() else 1.0,
            colorbar={"title": "mean weight", "thickness": 12},
            hovertemplate="mean weight %{z:.3f}<br>click to open in the head view<extra></extra>",
            xgap=0,
            ygap=0,
        )
    )
    centre = (size - 1) / 2
    fig.update_xaxes(
        tickvals=[j * step_k + centre for j in range(n_heads)],
        ticktext=[f"h{h}" for h in head_numbers],
        side="top",
        showgrid=False,
        zeroline=False,
        ticks="",
        constrain="domain",
    )
    fig.update_yaxes(
        tickvals=[i * step_q + centre for i in range(n_layers)],
        ticktext=[f"L{layer}" for layer in layer_numbers],
        autorange="reversed",
        showgrid=False,
        zeroline=False,
        ticks="",
        scaleanchor="x",
        constrain="domain",
    )
    if selected is not None and selected[0] in layer_numbers and selected[1] in head_numbers:
        i, j = layer_numbers.index(selected[0]), head_numbers.index(selected[1])
        fig.add_shape(
            type="rect",
            x0=j * step_k - 1,
            x1=j * step_k + size,
            y0=i * step_q - 1,
            y1=i * step_q + size,
            line={"color": PALETTE[1], "width": 3},
        )
    reduced = "" if size >= max(weights.shape[2:]) else f", each map averaged to {size}x{size}"
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=f"Model view{' (' + which + ')' if which != 'self' else ''}: "
        f"{n_layers} layers x {n_heads} heads, {len(query_tokens)} x {len(key_tokens)} tokens{reduced}",
        height=min(1100, 120 + 60 * n_layers + 6 * n_layers),
        margin={"l": 48, "r": 16, "t": 80, "b": 16},
        meta={"view": "model", "size": int(size)},
    )
    return fig


def neuron_view_figure(view: Any, *, max_tokens: int = 64) -> go.Figure:
    """For the chosen query: its q vector, each key's k and q*k (heatmaps), q.k * scale and the
    softmax (bars), one row per key token (the first ``max_tokens`` keys)."""
    n = min(len(view.tokens), max_tokens)
    tokens = [f"{j}: {t}" for j, t in enumerate(_labels(view.tokens[:n]))]
    query_token = _labels([view.tokens[view.query]])[0]
    d = view.queries.shape[1]
    query_row = view.queries[view.query][None, :]
    scores = view.scores[view.query][:n]
    weights = view.weights[view.query][:n]
    product = view.product[:n]
    dots = product.sum(axis=1)
    finite = np.isfinite(scores)
    fig = make_subplots(
        rows=2,
        cols=4,
        shared_yaxes=True,
        column_widths=[0.32, 0.32, 0.18, 0.18],
        row_heights=[0.05, 0.95],
        vertical_spacing=0.09 if n < 16 else 0.05,
        horizontal_spacing=0.03,
        specs=[[{}, {}, None, None], [{}, {}, {}, {}]],
        subplot_titles=(
            f"q of query {view.query} ('{query_token}')",
            "",
            "k (each key)",
            "q * k (elementwise)",
            f"q.k x {view.scale:.3g}",
            "softmax",
        ),
    )
    vector_range = symmetric_range(np.concatenate([query_row.ravel(), view.keys[:n].ravel()]))
    fig.add_trace(
        go.Heatmap(
            z=query_row,
            colorscale=DIVERGING,
            zmin=vector_range[0],
            zmax=vector_range[1],
            showscale=False,
            hovertemplate="q[%{x}] = %{z:.3f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Heatmap(
            z=view.keys[:n],
            y=tokens,
            colorscale=DIVERGING,
            zmin=vector_range[0],
            zmax=vector_range[1],
            showscale=False,
            hovertemplate="%{y}<br>k[%{x}] = %{z:.3f}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    product_range = symmetric_range(product)
    fig.add_trace(
        go.Heatmap(
            z=product,
            y=tokens,
            colorscale=DIVERGING,
            zmin=product_range[0],
            zmax=product_range[1],
            colorbar={"title": "q*k", "thickness": 10, "x": 1.02},
            hovertemplate="%{y}<br>q[%{x}] * k[%{x}] = %{z:.3f}<extra></extra>",
        ),
        row=2,
        col=2,
    )
    arithmetic = [
        f"sum(q*k) = {dot:.3f}<br>x {view.scale:.3g} = {score:.3f}<br>softmax -> {w:.3f}"
        if ok
        else "masked (a later token): weight 0"
        for dot, score, w, ok in zip(dots, scores, weights, finite, strict=True)
    ]
    fig.add_trace(
        go.Bar(
            x=np.where(finite, scores, 0.0),
            y=tokens,
            orientation="h",
            marker={"color": np.where(scores >= 0, DIVERGING[-2][1], DIVERGING[1][1]).tolist()},
            text=[f"{v:.2f}" if ok else "masked" for v, ok in zip(scores, finite, strict=True)],
            textposition="outside",
            cliponaxis=False,
            customdata=arithmetic,
            hovertemplate="%{y}<br>%{customdata}<extra></extra>",
            showlegend=False,
        ),
        row=2,
        col=3,
    )
    fig.add_trace(
        go.Bar(
            x=weights,
            y=tokens,
            orientation="h",
            marker={"color": PALETTE[0]},
            text=[f"{w:.2f}" for w in weights],
            textposition="outside",
            customdata=arithmetic,
            hovertemplate="%{y}<br>%{customdata}<extra></extra>",
            showlegend=False,
        ),
        row=2,
        col=4,
    )
    fig.update_yaxes(autorange="reversed", row=2)
    fig.update_yaxes(showticklabels=False, row=1, col=1)
    fig.update_xaxes(showticklabels=False, row=1, col=1)
    fig.update_xaxes(title=f"dimension (of {d})", row=2, col=1)
    fig.update_xaxes(title=f"dimension (of {d})", row=2, col=2)
    fig.update_xaxes(range=[0, 1.15], row=2, col=4)
    cut = f" (first {n} of {len(view.tokens)} keys)" if n < len(view.tokens) else ""
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=f"Neuron view, layer {view.layer} head {view.head}: "
        f"softmax(q.k x {view.scale:.3g}) for query '{query_token}'{cut}",
        height=160 + 24 * n,
        bargap=0.25,
        margin={"l": 120, "r": 48, "t": 80, "b": 48},
    )
    return fig


def head_summary_figure(summary: Any, *, measures: list[str] | None = None) -> go.Figure:
    """One layers x heads heatmap per measure, each with its own scale and the values written in."""
    from_labels = {
        "entropy": "entropy (nats)",
        "distance": "mean distance (tokens)",
        "special": "share to special tokens",
        "punctuation": "share to punctuation",
        "previous": "share to previous token",
        "next": "share to next token",
        "self": "share to itself",
    }
    names = list(summary.measures) if measures is None else list(measures)
    for name in names:
        if name not in summary.measures:
            raise InvalidArgumentError("measures", f"names among {summary.measures}", name)
    columns = min(4, len(names))
    rows = (len(names) + columns - 1) // columns
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[from_labels.get(n, n) for n in names],
        horizontal_spacing=0.05,
        vertical_spacing=0.3 if rows > 1 else 0.1,
    )
    small = len(summary.layers) * len(summary.heads) <= 144
    for i, name in enumerate(names):
        values = summary.measure(name)
        share = name not in ("entropy", "distance")
        finite = values[np.isfinite(values)]
        top = 1.0 if share else float(finite.max()) if finite.size else 1.0
        fig.add_trace(
            go.Heatmap(
                z=values,
                x=[f"h{h}" for h in summary.heads],
                y=[f"L{layer}" for layer in summary.layers],
                colorscale=SEQUENTIAL,
                zmin=0.0,
                zmax=top if top > 0 else 1.0,
                showscale=False,
                text=np.round(values, 2).astype(str) if small else None,
                texttemplate="%{text}" if small else None,
                textfont={"size": 9},
                hovertemplate=f"%{{y}} %{{x}}<br>{from_labels.get(name, name)}: %{{z:.3f}}<extra></extra>",
            ),
            row=i // columns + 1,
            col=i % columns + 1,
        )
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(showgrid=False, tickangle=0)
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=f"Head summary ({summary.which} attention over {summary.n_tokens} tokens): "
        "each panel its own scale, shares from 0 to 1",
        height=100 + rows * (90 + 22 * len(summary.layers)),
        margin={"l": 48, "r": 16, "t": 80, "b": 32},
    )
    return fig


def rollout_comparison_figure(attributions: list[Any], labels: list[str], scores: list[Any] | None = None) -> go.Figure:
    """Token maps of one text side by side (one row per method), each row scaled to its largest
    absolute value; ``scores`` (Faithfulness) add deletion / insertion areas to the row labels."""
    if len(attributions) != len(labels):
        raise InvalidArgumentError("labels", f"{len(attributions)} labels", labels)
    tokens = attributions[0].tokens[0]
    width = len(tokens)
    z = np.full((len(attributions), width), np.nan)
    raw = np.full((len(attributions), width), np.nan)
    for i, attribution in enumerate(attributions):
        values = np.asarray(attribution.values[0][:width], dtype=float)
        top = np.abs(values).max()
        raw[i, : len(values)] = values
        z[i, : len(values)] = values / top if top > 0 else values
    row_labels = []
    for i, label in enumerate(labels):
        if scores is not None and scores[i] is not None:
            label += (
                f"<br>deletion AUC {scores[i].deletion_area[0]:.3f} (lower better), "
                f"insertion AUC {scores[i].insertion_area[0]:.3f} (higher better)"
            )
        row_labels.append(label)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            text=[_labels(tokens)] * len(attributions),
            customdata=raw,
            texttemplate="%{text}",
            colorscale=DIVERGING,
            zmin=-1.0,
            zmax=1.0,
            xgap=2,
            ygap=8,
            colorbar={"title": "share of row max", "thickness": 10},
            hovertemplate="%{text}: %{customdata:.3g}<extra></extra>",
        )
    )
    fig.update_yaxes(tickvals=list(range(len(labels))), ticktext=row_labels, autorange="reversed", showgrid=False)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_layout(
        template=TEMPLATE_NAME,
        title="Token scores of one text, each row scaled to its largest |value|",
        height=120 + 70 * len(attributions),
        margin={"l": 360, "r": 16, "t": 48, "b": 24},
    )
    return fig
