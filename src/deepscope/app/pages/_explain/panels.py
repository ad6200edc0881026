"""The Explain page's building blocks: gallery items, and a map panel with its score card."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
from dash import dcc, html

from deepscope.app.components import field  # noqa: F401  (the Explain views call panels.field)
from deepscope.app.pages._explain.data import Examples
from deepscope.viz.attribution_map import TokenColours, method_label, thumbnail_src

ROW = {"display": "flex", "flexWrap": "wrap", "gap": "12px 28px", "alignItems": "flex-end", "margin": "4px 0 12px"}
SECTION = {"fontSize": "15px", "fontWeight": 650, "margin": "18px 0 6px"}
NOTE = {"color": "#616E7C", "fontSize": "13px", "margin": "2px 0 8px"}
GRAPH_CONFIG: dcc.Graph.Config = {"displaylogo": False, "responsive": True, "displayModeBar": False}
_ACCENT = "#332288"
_GOOD = "#117733"
_BAD = "#882255"
_THUMB = 64

# (column, label, better, what it measures)
SCORES = (
    (
        "sanity_spearman",
        "Sanity check",
        None,
        "Spearman rank correlation between this map and the map once every layer is re-initialised "
        "at random (cascading, Adebayo et al. 2018). Low: the map depends on what the model "
        "learned. High: it would look the same for an untrained model.",
    ),
    (
        "deletion_area",
        "Deletion AUC",
        "lower",
        "Area under the target's probability as the most important pixels are removed first. "
        "Lower: the map found what the prediction rests on.",
    ),
    (
        "insertion_area",
        "Insertion AUC",
        "higher",
        "Area under the target's probability as the most important pixels are added to a blank "
        "image first. Higher is better.",
    ),
    (
        "infidelity",
        "Infidelity",
        "lower",
        "Mean squared error of the map at predicting how the output changes under random "
        "perturbations (Yeh et al. 2019), in squared output units.",
    ),
    (
        "max_sensitivity",
        "Max-sensitivity",
        "lower",
        "Largest relative change of the map under small input perturbations: lower is steadier.",
    ),
    (
        "pointing_game",
        "Pointing game",
        None,
        "Whether the map's highest pixel (the cross) falls inside the object's mask (the dotted outline).",
    ),
    (
        "energy_in_mask",
        "Energy in mask",
        "higher",
        "Share of the map's positive mass that lies inside the object's mask.",
    ),
)
_ARROWS = {"lower": " ↓", "higher": " ↑", None: ""}


def fmt(value: Any) -> str:
    """A number with three significant digits; '–' for a missing one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    value = float(value)
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-3):
        return f"{value:.2e}"
    return f"{value:.3g}"


# -- gallery ------------------------------------------------------------------------------------


def html_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """HTML attributes with dashes (aria-*, data-*) as keywords of a dash component; typed as a
    plain mapping, which the components' typed keywords accept."""
    return attributes


def gallery_item(examples: Examples, row: int, prediction: int | None, selected: bool) -> Any:
    """A button showing example ``row``: the image (or the text), its label and prediction."""
    label = examples.labels[row] if examples.labels is not None else None
    caption = _caption(examples, label, prediction)
    correct = None if label is None or prediction is None else int(label) == int(prediction)
    if examples.kind == "image":
        body: Any = html.Img(
            src=thumbnail_src(examples.images[row]),
            alt="",
            width=_THUMB,
            height=_THUMB,
            style={"imageRendering": "pixelated", "display": "block"},
        )
        width = f"{_THUMB + 16}px"
    else:
        text = cast(list[str], examples.texts)[row]  # text examples hold their texts
        body = html.Span(
            text if len(text) <= 90 else text[:87] + "…",
            style={"display": "block", "textAlign": "left", "fontSize": "13px", "width": "100%"},
        )
        width = "220px"
    wrong = html.Span(
        f"✗ {examples.class_name(prediction)}" if correct is False else ("✓" if correct else "\u00a0"),
        style={"color": _BAD if correct is False else _GOOD},
    )
    return html.Button(
        id={"type": "explain-thumb", "index": int(row)},
        n_clicks=0,
        title=f"example {row}: {caption}",
        className="explain-thumb" + (" selected" if selected else ""),
        **html_attributes({"aria-pressed": "true" if selected else "false"}),
        style={
            "border": f"2px solid {_ACCENT if selected else '#E4E7EB'}",
            "background": "#EBE9F6" if selected else "white",
            "borderRadius": "6px",
            "padding": "4px",
            "cursor": "pointer",
            "width": width,
            "display": "flex",
            "flexDirection": "column",
            "alignItems": "center",
            "gap": "1px",
            "font": "inherit",
            "fontSize": "11px",
            "lineHeight": "1.3",
        },
        children=[
            body,
            html.Span(
                examples.class_name(label) if label is not None else "", style={"color": "#1F2933", "marginTop": "2px"}
            ),
            wrong,
        ],
    )


def _caption(examples: Examples, label: Any, prediction: int | None) -> str:
    parts = []
    if label is not None:
        parts.append(f"label {examples.class_name(label)}")
    if prediction is not None:
        parts.append(f"predicted {examples.class_name(prediction)}")
    return ", ".join(parts)


# -- map panels ---------------------------------------------------------------------------------


def map_view(method: str, figure: Any = None, tokens: TokenColours | None = None) -> Any:
    """The map itself: a plotly figure (images), or the tokens highlighted in place (text)."""
    if figure is not None:
        return dcc.Graph(
            id=f"explain-map-{method}",
            figure=figure,
            config=GRAPH_CONFIG,
            className="explain-map",
            style={"height": f"{figure.layout.height}px"},
        )
    tokens = cast(TokenColours, tokens)  # callers pass a figure or the tokens
    spans = [
        html.Span(
            token,
            title=f"{token}: {value:+.3g}",
            style={
                "background": back,
                "color": fore,
                "padding": "1px 4px",
                "borderRadius": "3px",
                "margin": "0 1px 4px 0",
                "display": "inline-block",
            },
        )
        for token, value, back, fore in zip(
            tokens.tokens, tokens.values, tokens.backgrounds, tokens.foregrounds, strict=True
        )
    ]
    middle = "0" if tokens.low < 0 else fmt((tokens.low + tokens.high) / 2)
    legend = html.Div(
        style={"display": "flex", "alignItems": "center", "gap": "6px", "fontSize": "11px", "color": "#52606D"},
        children=[
            html.Span(fmt(tokens.low)),
            html.Span(
                style={"flex": "0 1 160px", "height": "8px", "borderRadius": "4px", "background": tokens.gradient}
            ),
            html.Span(fmt(tokens.high)),
            html.Span(f"(middle {middle})"),
        ],
    )
    return html.Div(
        id=f"explain-map-{method}",
        className="explain-map explain-tokens",
        style={"lineHeight": "1.7", "fontSize": "14px", "padding": "6px 0"},
        children=[html.Div(spans), legend],
    )


def map_panel(
    method: str,
    *,
    view: Any = None,
    subtitle: str = "",
    source: str = "",
    card: Any = None,
    message: str | None = None,
    flat: str | None = None,
) -> Any:
    """One method's panel: its name, what it explains, the map, and its scores (``card``)."""
    body: list[Any] = []
    if message is not None:
        body.append(
            html.P(
                message,
                className="explain-panel-message",
                style={
                    **NOTE,
                    "padding": "24px 8px",
                    "textAlign": "center",
                    "background": "#F5F7FA",
                    "borderRadius": "6px",
                },
            )
        )
    if view is not None and flat:
        body.append(html.P(flat, className="explain-panel-message", style={**NOTE, "margin": 0}))
    if view is not None:
        body.append(view)
    if card is not None:
        body.append(card)
    return html.Section(
        className="explain-panel",
        **html_attributes({"data-method": method}),
        style={
            "border": "1px solid #E4E7EB",
            "borderRadius": "8px",
            "padding": "10px 12px 12px",
            "display": "flex",
            "flexDirection": "column",
            "gap": "6px",
            "minWidth": 0,
        },
        children=[
            html.H3(method_label(method), style={"fontSize": "15px", "margin": 0}),
            html.Span(
                " · ".join(p for p in (subtitle, source) if p), className="explain-source", style={**NOTE, "margin": 0}
            ),
            *body,
        ],
    )


def score_slot(method: str, request: dict[str, Any]) -> Any:
    """Where scores computed by the live model appear once ready (the map does not wait)."""
    return html.Div(
        children=[
            dcc.Store(id={"type": "explain-score-request", "method": method}, data=request),
            html.Div(
                id={"type": "explain-scores", "method": method},
                children=html.P("Computing the scores with the live model…", style=NOTE),
            ),
        ]
    )


def score_card(
    scores: dict[str, Any], extra: Sequence[tuple[str, str, str]] = (), threshold: float | None = None
) -> Any:
    """The scores of one example as a two-column list; hover a name for what it measures."""
    rows: list[Any] = []
    for column, label, better, meaning in SCORES:
        if column not in scores:
            continue
        rows += _score_row(label + _ARROWS[better], _score_value(column, scores, threshold), meaning, column)
    for label, value, meaning in extra:
        rows += _score_row(label, value, meaning, "extra")
    if not rows:
        return html.P("No scores for this map.", style=NOTE)
    return html.Dl(
        className="explain-scores",
        children=rows,
        style={
            "display": "grid",
            "gridTemplateColumns": "max-content 1fr",
            "gap": "3px 14px",
            "margin": "4px 0 0",
            "fontSize": "13px",
        },
    )


def _score_row(label: str, value: Any, meaning: str, column: str) -> list[Any]:
    return [
        html.Dt(
            label,
            title=meaning,
            style={"color": "#52606D", "cursor": "help", "textDecoration": "underline dotted #CBD2D9"},
        ),
        html.Dd(
            value, style={"margin": 0, "fontVariantNumeric": "tabular-nums"}, **html_attributes({"data-score": column})
        ),
    ]


def _score_value(column: str, scores: dict[str, Any], threshold: float | None) -> Any:
    value = scores[column]
    if column == "sanity_spearman":
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        passed = threshold is None or float(value) < threshold
        verdict = "passed" if passed else "⚠ flagged: barely depends on the weights"
        return html.Span(
            [
                html.Span(verdict, style={"color": _GOOD if passed else _BAD, "fontWeight": 600}),
                f" · ρ = {float(value):.2f}" + (f" (threshold {threshold:g})" if threshold is not None else ""),
            ]
        )
    if column == "pointing_game":
        hit = bool(value)
        return html.Span(
            "hit: peak inside the object" if hit else "miss: peak outside the object",
            style={"color": _GOOD if hit else _BAD, "fontWeight": 600},
        )
    if column == "energy_in_mask":
        return "–" if value is None or np.isnan(value) else f"{100 * float(value):.0f}%"
    return fmt(value)


def completeness(attribution: Any, row: int) -> list[tuple[str, str, str]]:
    """Integrated gradients' completeness gap, where the map has one."""
    if attribution is None or attribution.delta is None:
        return []
    delta = float(np.asarray(attribution.delta)[row])
    total = float(np.asarray(attribution.values[row], dtype=float).sum())
    return [
        (
            "Completeness gap",
            f"{fmt(delta)} (map sums to {fmt(total)})",
            "Sum of the map minus the change of the target output from the baseline to the "
            "input. Near zero: the map accounts for the whole prediction.",
        )
    ]
