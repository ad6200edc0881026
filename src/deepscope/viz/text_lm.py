"""Figures of language-model internals: logit/tuned lens, generation attributions, neuron
factors and hidden-state co-clusters (results of ``deepscope.text``).

>>> import numpy as np
>>> from deepscope.viz.text_lm import rank_ticks
>>> rank_ticks(120)[1][:4]
['1', '2', '5', '10']
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import plotly.graph_objects as go

from deepscope.errors import InvalidArgumentError
from deepscope.validation import check_int
from deepscope.viz.theme import DIVERGING, PALETTE, SEQUENTIAL, TEMPLATE_NAME, symmetric_range

__all__ = [
    "lens_figure",
    "lens_grid_figure",
    "lens_watch_figure",
    "lens_kl_figure",
    "tuned_lens_figure",
    "generation_figure",
    "factors_figure",
    "cocluster_figure",
    "cocluster_words_figure",
    "cocluster_examples_figure",
    "rank_ticks",
]

LENS_VIEWS = ("grid", "watch", "kl")


def _layout(fig: go.Figure, title: str, **layout: Any) -> go.Figure:
    fig.update_layout(template=TEMPLATE_NAME, title=title, **layout)
    return fig


def _esc(text: Any) -> str:
    """A token as hover/cell text: HTML-escaped, whitespace made visible."""
    shown = str(text).replace("\n", "\\n")
    if shown.strip() == "" and shown:
        shown = "\u2423" * len(shown)
    return html.escape(shown, quote=False)


def _empty(title: str, message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title, height=220)


def rank_ticks(largest: int) -> tuple[list[float], list[str]]:
    """Colour-bar ticks (log10 positions and labels) for ranks 1 .. ``largest``."""
    values = [v for v in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000, 50000)]
    kept = [v for v in values if v <= max(largest, 1)]
    return [float(np.log10(v)) for v in kept], [str(v) for v in kept]


# -- logit lens --------------------------------------------------------------------------------


def lens_figure(lens: Any, *, view: str = "grid", max_positions: int = 40) -> go.Figure:
    """A lens result: ``view`` ``grid`` (layers x positions by rank), ``watch`` (watched tokens'
    ranks by layer) or ``kl`` (KL to the final distribution by layer)."""
    if view == "grid":
        return lens_grid_figure(lens, max_positions=max_positions)
    if view == "watch":
        return lens_watch_figure(lens)
    if view == "kl":
        return lens_kl_figure(lens)
    raise InvalidArgumentError("view", "one of " + ", ".join(map(repr, LENS_VIEWS)), view)


def lens_grid_figure(lens: Any, *, max_positions: int = 40) -> go.Figure:
    """Layers (bottom: embeddings, top: the model's output) x positions, each cell coloured by
    the rank of the token that actually comes next (log scale) and showing the layer's top token;
    hover lists the top-k with probabilities."""
    n_layers, length = lens.ranks.shape
    start = max(0, length - max_positions)
    positions = range(start, length)
    ranks = lens.ranks[:, start:].astype(float)
    z = np.where(ranks > 0, np.log10(np.maximum(ranks, 1)), np.nan)
    cell_text = [[_esc(lens.top_tokens[layer, p, 0]) for p in positions] for layer in range(n_layers)]
    nexts = lens.next_tokens
    hover = []
    for layer in range(n_layers):
        row = []
        for p in positions:
            top = "<br>".join(
                f"{_esc(t)}: {prob:.3f}"
                for t, prob in zip(lens.top_tokens[layer, p], lens.top_probs[layer, p], strict=True)
            )
            actual = (
                f"next {_esc(nexts[p])!s}: rank {int(lens.ranks[layer, p])}, p={float(lens.next_probs[layer, p]):.3f}"
                if nexts[p] is not None
                else "last position: no next token"
            )
            row.append(
                f"<b>{_esc(lens.layers[layer])}</b>, after {_esc(lens.tokens[p])!s} ({p})<br>"
                f"{actual}<br>top tokens:<br>{top}"
            )
        hover.append(row)
    tickvals, ticktext = rank_ticks(int(max(lens.ranks.max(), 1)))
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(len(positions))),
            y=list(range(n_layers)),
            text=cell_text,
            texttemplate="%{text}",
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
            colorscale=SEQUENTIAL,
            reversescale=True,
            zmin=0.0,
            zmax=max(float(np.nanmax(z)) if np.isfinite(z).any() else 1.0, 1.0),
            xgap=2,
            ygap=2,
            colorbar={"title": "rank of<br>next token", "tickvals": tickvals, "ticktext": ticktext},
        )
    )
    fig.update_xaxes(
        tickvals=list(range(len(positions))),
        ticktext=[_esc(lens.tokens[p]) for p in positions],
        title="input token (each column predicts the token after it)",
        showgrid=False,
        zeroline=False,
    )
    fig.update_yaxes(
        tickvals=list(range(n_layers)),
        ticktext=list(lens.layers),
        showgrid=False,
        zeroline=False,
        title="",
    )
    title = f"{'Tuned' if lens.lens == 'tuned' else 'Logit'} lens of {_esc(lens.model_name)}"
    return _layout(
        fig,
        title + ": each layer's top next token, coloured by the rank of the actual next token",
        height=170 + 44 * n_layers,
    )


def lens_watch_figure(lens: Any) -> go.Figure:
    """The rank of each watched token at the last position, layer by layer (rank 1 on top)."""
    if not lens.watch:
        return _empty("Watched tokens", "No watched tokens: give watch=[...] to logit_lens.")
    fig = go.Figure()
    for index, token in enumerate(lens.watch):
        fig.add_trace(
            go.Scatter(
                x=list(lens.layers),
                y=lens.watch_ranks[:, index],
                mode="lines+markers",
                name=_esc(token),
                line={"color": PALETTE[index % len(PALETTE)]},
                customdata=lens.watch_probs[:, index],
                hovertemplate=f"{_esc(token)}: rank %{{y}}, p=%{{customdata:.3f}}<extra></extra>",
            )
        )
    _, labels = rank_ticks(int(lens.watch_ranks.max()))
    fig.update_yaxes(
        type="log",
        autorange="reversed",
        tickvals=[int(v) for v in labels],
        title="rank (1 = top prediction)",
    )
    fig.update_xaxes(title="layer")
    last = _esc(lens.tokens[-1])
    return _layout(fig, f"Rank of watched tokens after {last!s}, by layer", height=340)


def lens_kl_figure(lens: Any, *, other: Any = None) -> go.Figure:
    """Mean KL divergence (nats) from the final distribution to each layer's, over positions;
    with ``other`` (the same text read through the other lens) both side by side."""
    fig = go.Figure()
    shown = [lens] if other is None else sorted([lens, other], key=lambda r: r.lens)
    for result in shown:
        fig.add_trace(
            go.Bar(
                x=list(result.layers),
                y=result.kl_to_final.mean(axis=1),
                name=f"{result.lens} lens",
                marker_color=PALETTE[1] if result.lens == "logit" else PALETTE[0],
                hovertemplate=f"{result.lens} lens, %{{x}}: %{{y:.3f}} nats<extra></extra>",
            )
        )
    fig.update_yaxes(title="KL to final (nats)", rangemode="tozero")
    which = "logit and tuned lens" if other is not None else f"{lens.lens} lens"
    return _layout(
        fig,
        f"How far each layer is from the output ({which})",
        height=320,
        barmode="group",
        showlegend=other is not None,
    )


def tuned_lens_figure(tuned: Any) -> go.Figure:
    """Mean KL to the final distribution per translated layer: logit lens vs tuned lens."""
    layers = ["embeddings"] + [f"block {i}" for i in range(1, tuned.n_translators)]
    fig = go.Figure(
        [
            go.Bar(x=layers, y=tuned.kl_before, name="logit lens", marker_color=PALETTE[1]),
            go.Bar(x=layers, y=tuned.kl_after, name="tuned lens", marker_color=PALETTE[0]),
        ]
    )
    fig.update_yaxes(title="mean KL to final (nats)", rangemode="tozero")
    return _layout(fig, f"Tuned lens of {_esc(tuned.model_name)} ({tuned.steps} steps)", barmode="group")


# -- generation --------------------------------------------------------------------------------


def _wrapped(n: int, per_row: int) -> tuple[np.ndarray, np.ndarray]:
    positions = np.arange(n)
    return positions // per_row, positions % per_row


def generation_figure(generation: Any, *, step: int | None = None, per_row: int = 10) -> go.Figure:
    """The prompt and the generated tokens; the earlier tokens shaded by their attribution to
    generated token ``step`` (default: the last), which is outlined. Generated tokens are
    underlined; each cell's ``customdata`` is its position (the page's click target)."""
    tokens = generation.tokens
    n = len(tokens)
    n_steps = int(generation.n_generated)
    if n_steps == 0:
        return _empty("Generation", "Nothing was generated (the prompt ended the text).")
    if step is None:
        step = n_steps - 1
    step = check_int(step, "step", low=0, high=n_steps - 1, hint="a generated token index")
    rows, cols = _wrapped(n, per_row)
    n_rows = int(rows.max()) + 1
    values = generation.attributions[step] if generation.method else np.full(n, np.nan)
    z = np.full((n_rows, per_row), np.nan)
    text = [[""] * per_row for _ in range(n_rows)]
    custom = [[-1] * per_row for _ in range(n_rows)]
    hover = [[""] * per_row for _ in range(n_rows)]
    target = generation.n_prompt + step
    for position in range(n):
        r, c = int(rows[position]), int(cols[position])
        z[r, c] = values[position]
        text[r][c] = _esc(tokens[position]) if position <= target else ""
        custom[r][c] = position
        where = "prompt" if position < generation.n_prompt else "generated"
        if position < target and np.isfinite(values[position]):
            detail = f"attribution to {_esc(tokens[target])!s}: {values[position]:.3g}"
        elif position == target:
            detail = f"selected: p={generation.probabilities[step]:.3f}, logit {generation.logits[step]:.3g}"
            if np.isfinite(generation.deltas[step]):
                detail += f", IG delta {generation.deltas[step]:.2g}"
        else:
            detail = "after the selected token"
        hover[r][c] = f"{_esc(tokens[position])!s} ({where}, position {position})<br>{detail}"
    signed = generation.method != "saliency"
    if signed:
        zmin, zmax = symmetric_range(z)
        colours: dict[str, Any] = {"colorscale": DIVERGING, "zmin": zmin, "zmax": zmax}
    else:
        finite = z[np.isfinite(z)]
        colours = {
            "colorscale": SEQUENTIAL,
            "zmin": 0.0,
            "zmax": float(finite.max()) if finite.size else 1.0,
        }
    fig = go.Figure(
        go.Heatmap(
            z=z,
            text=text,
            texttemplate="%{text}",
            customdata=custom,
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            xgap=3,
            ygap=14,
            colorbar={"title": (generation.method or "no attribution").replace("_", " ")},
            **colours,
        )
    )
    later = list(range(target + 1, n))
    if later:
        # cells without a value draw no heatmap text: write the later tokens on top, in grey
        fig.add_trace(
            go.Scatter(
                x=[int(cols[p]) for p in later],
                y=[int(rows[p]) for p in later],
                text=[_esc(tokens[p]) for p in later],
                mode="text",
                textfont={"color": "#9AA5B1"},
                hoverinfo="skip",
                showlegend=False,
            )
        )
    for position in range(generation.n_prompt, n):
        r, c = int(rows[position]), int(cols[position])
        fig.add_shape(
            type="line",
            x0=c - 0.45,
            x1=c + 0.45,
            y0=r + 0.42,
            y1=r + 0.42,
            line={"color": PALETTE[1], "width": 3},
        )
    r, c = int(rows[target]), int(cols[target])
    fig.add_shape(
        type="rect",
        x0=c - 0.5,
        x1=c + 0.5,
        y0=r - 0.5,
        y1=r + 0.5,
        line={"color": "#1F2933", "width": 3},
    )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed", ticks="")
    method = (generation.method or "no attribution").replace("_", " ")
    return _layout(
        fig,
        f"What {_esc(tokens[target])!s} (generated token {step + 1} of {n_steps}) depended on: {method}",
        height=140 + 56 * n_rows,
    )


# -- neuron factors ----------------------------------------------------------------------------


def factors_figure(factors: Any, *, factor: int | None = None, max_texts: int = 10) -> go.Figure:
    """Each text on a line, each token coloured by its strongest factor (or, with ``factor``,
    shaded by that factor's activation alone); the relative reconstruction error in the title."""
    k = factors.n_components
    if factor is not None and not 0 <= factor < k:
        raise InvalidArgumentError("factor", f"a factor index in [0, {k})", factor)
    count = min(len(factors.tokens), max_texts)
    width = max(len(t) for t in factors.tokens[:count])
    z = np.full((count, width), np.nan)
    text = [[""] * width for _ in range(count)]
    hover = [[""] * width for _ in range(count)]
    for row in range(count):
        activations = factors.token_factors[row]
        for position, token in enumerate(factors.tokens[row]):
            strongest = int(activations[position].argmax())
            z[row, position] = activations[position, factor] if factor is not None else strongest
            text[row][position] = _esc(token)
            top = ", ".join(f"{j}: {activations[position, j]:.2f}" for j in range(k))
            hover[row][position] = f"{_esc(token)!s}<br>strongest factor {strongest}<br>factors {top}"
    if factor is None:
        colours = [PALETTE[j % len(PALETTE)] for j in range(k)]
        scale = []
        for j, colour in enumerate(colours):
            scale += [[j / k, colour], [(j + 1) / k, colour]]
        colouring: dict[str, Any] = {
            "colorscale": scale,
            "zmin": -0.5,
            "zmax": k - 0.5,
            "colorbar": {"title": "factor", "tickvals": list(range(k))},
        }
        title = "Tokens by their strongest neuron factor"
    else:
        column = np.concatenate([f[:, factor] for f in factors.token_factors])
        colouring = {
            "colorscale": [[0, "#FFFFFF"], [1, PALETTE[factor % len(PALETTE)]]],
            "zmin": 0.0,
            "zmax": float(column.max()) or 1.0,
            "colorbar": {"title": f"factor {factor}"},
        }
        title = f"Factor {factor} alone"
    fig = go.Figure(
        go.Heatmap(
            z=z,
            text=text,
            texttemplate="%{text}",
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            xgap=2,
            ygap=8,
            **colouring,
        )
    )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    fig.update_yaxes(
        tickvals=list(range(count)),
        ticktext=[f"text {i + 1}" for i in range(count)],
        autorange="reversed",
        showgrid=False,
        zeroline=False,
    )
    layers = ", ".join(str(layer + 1) for layer in factors.layers)
    return _layout(
        fig,
        f"{title} ({k} factors of the MLP units of block {layers}; "
        f"relative reconstruction error {factors.relative_error:.1%})",
        height=140 + 40 * count,
    )


# -- co-clusters -------------------------------------------------------------------------------


def _cluster_order(clusters: Any) -> tuple[np.ndarray, np.ndarray]:
    units = np.argsort(clusters.unit_clusters, kind="stable")
    strength = np.abs(clusters.responses).mean(axis=0)
    words = np.lexsort((-strength, clusters.word_clusters))
    return units, words


def cocluster_figure(clusters: Any, *, cluster: int | None = None, max_words: int = 80) -> go.Figure:
    """Units x words, both ordered by co-cluster, coloured by the mean response (signed); each
    co-cluster's block is outlined (``cluster`` is drawn thicker)."""
    units, words = _cluster_order(clusters)
    strength = np.abs(clusters.responses).mean(axis=0)
    if len(words) > max_words:
        keep = set(np.argsort(-strength)[:max_words].tolist())
        words = np.array([w for w in words if w in keep])
    z = clusters.responses[np.ix_(units, words)]
    zmin, zmax = symmetric_range(z)
    word_labels = [_esc(clusters.words[w]) for w in words]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(len(words))),
            y=list(range(len(units))),
            customdata=[[int(clusters.unit_clusters[u])] * len(words) for u in units],
            text=[[word_labels[j] for j in range(len(words))] for _ in units],
            hovertemplate="unit %{y}, word %{text}: %{z:.3f}<br>unit cluster %{customdata}<extra></extra>",
            colorscale=DIVERGING,
            zmin=zmin,
            zmax=zmax,
            colorbar={"title": "mean<br>response"},
        )
    )
    unit_sorted = clusters.unit_clusters[units]
    word_sorted = clusters.word_clusters[words]
    for c in range(clusters.n_clusters):
        rows = np.flatnonzero(unit_sorted == c)
        cols = np.flatnonzero(word_sorted == c)
        if len(rows) == 0 or len(cols) == 0:
            continue
        fig.add_shape(
            type="rect",
            x0=cols.min() - 0.5,
            x1=cols.max() + 0.5,
            y0=rows.min() - 0.5,
            y1=rows.max() + 0.5,
            line={"color": PALETTE[c % len(PALETTE)], "width": 4 if c == cluster else 1.5},
        )
    fig.update_xaxes(
        tickvals=list(range(len(words))),
        ticktext=word_labels,
        tickangle=-60,
        showgrid=False,
        zeroline=False,
    )
    fig.update_yaxes(
        tickvals=list(range(len(units))),
        ticktext=[f"u{int(u)}" for u in units],
        autorange="reversed",
        showgrid=False,
        zeroline=False,
        title="unit",
    )
    return _layout(
        fig,
        f"Co-clusters of {_esc(clusters.layer)} units and words ({clusters.n_clusters} clusters)",
        height=max(360, 200 + 10 * len(units)),
    )


def cocluster_words_figure(clusters: Any, cluster: int, *, top: int = 15) -> go.Figure:
    """The cluster's words ranked by its units' mean response (bars)."""
    cluster = check_int(cluster, "cluster", low=0, high=clusters.n_clusters - 1)
    ranked = clusters.cluster_words(cluster).head(top)
    colour = PALETTE[cluster % len(PALETTE)]
    fig = go.Figure(
        go.Bar(
            x=ranked["response"],
            y=[_esc(w) for w in ranked["word"]],
            orientation="h",
            marker_color=colour,
            customdata=ranked["count"],
            hovertemplate="%{y}: %{x:.3f} (seen %{customdata} times)<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="mean response of the cluster's units", zeroline=True)
    n_units = len(clusters.cluster_units(cluster))
    return _layout(
        fig,
        f"Cluster {cluster}: {len(clusters.cluster_words(cluster))} words, {n_units} units",
        height=180 + 20 * max(len(ranked), 1),
    )


def cocluster_examples_figure(clusters: Any, cluster: int, *, max_texts: int = 8) -> go.Figure:
    """Example texts with the words of ``cluster`` highlighted."""
    members = {clusters.words[j] for j in np.flatnonzero(clusters.word_clusters == cluster)}
    tokens = clusters.example_tokens[:max_texts]
    if not tokens:
        return _empty(f"Cluster {cluster} in context", "No example texts were kept.")
    width = max(len(t) for t in tokens)
    z = np.full((len(tokens), width), np.nan)
    text = [[""] * width for _ in tokens]
    for row, line in enumerate(tokens):
        for position, token in enumerate(line):
            z[row, position] = 1.0 if token in members else 0.0
            text[row][position] = _esc(token)
    colour = PALETTE[cluster % len(PALETTE)]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            text=text,
            texttemplate="%{text}",
            hovertemplate="%{text}<extra></extra>",
            colorscale=[[0, "#F5F7FA"], [1, colour]],
            zmin=0,
            zmax=1,
            showscale=False,
            textfont={"size": 12},
            xgap=2,
            ygap=6,
        )
    )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed")
    return _layout(fig, f"Cluster {cluster}'s words in context", height=120 + 36 * len(tokens))
