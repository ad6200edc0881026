"""Small layout pieces every dashboard page uses the same way.

>>> field("Run", html.Span("control")).children[0].children
'Run'
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html

__all__ = ["FIELD", "LABEL", "field"]

FIELD = {"display": "flex", "flexDirection": "column", "gap": "4px"}
LABEL = {
    "fontSize": "12px",
    "fontWeight": 600,
    "color": "#52606D",
    "textTransform": "uppercase",
    "letterSpacing": "0.04em",
}


def field(label: str, control: Any, html_for: str | None = None, **style: Any) -> Any:
    """A control with its label above it (``html_for``: the control's id, for screen readers)."""
    return html.Div(style={**FIELD, **style}, children=[html.Label(label, htmlFor=html_for, style=LABEL), control])


def input_field(label: str, control_id: str, value: Any, *, width: str, **props: Any) -> Any:
    """A labelled ``dcc.Input`` that reports its value when the user presses Enter or leaves it."""
    return field(
        label, dcc.Input(id=control_id, value=value, debounce=True, style={"width": width}, **props), control_id
    )
