"""Callback outputs sent only when they change.

A dropdown's options or value sent again fires every callback listening to it, and a responsive
graph whose box is resized is drawn once more: pages return these instead of the bare values.

>>> unless_shown([1, 2], [1, 2]) is dash.no_update, unless_shown([1, 2], [1])
(True, [1, 2])
>>> graph_box(360)
{'height': '360px'}
"""

from __future__ import annotations

import json
from typing import Any

import dash
from dash import Input, Output, State

__all__ = ["unless_shown", "graph_box", "fit_box", "apply_on_enter"]

# A debounced dcc.Input reports its value only once the typing pauses, even when Enter is pressed:
# Enter hands the text over at once (the same value again is no update, so nothing runs twice).
_ENTER_JS = """
function(_submits, shown) {
    const input = document.getElementById(%s);
    if (!input || input.value === (shown || '')) { return window.dash_clientside.no_update; }
    return input.value;
}
"""


def unless_shown(new: Any, shown: Any) -> Any:
    """``new``, or no update when the page shows it already."""
    return dash.no_update if new == shown else new


def graph_box(height: Any) -> dict[str, str]:
    """The style of a responsive graph's box, ``height`` pixels tall: such a graph takes its height
    from its box, which has none of its own (in a hidden tab the graph would collapse)."""
    return {"height": f"{int(height)}px"}


def fit_box(height: Any, style: dict | None) -> Any:
    """The box for a figure ``height`` pixels tall, or no update when the box has it already."""
    return unless_shown(graph_box(height), style)


def apply_on_enter(app: Any, input_id: str) -> None:
    """Make Enter in the debounced ``dcc.Input`` ``input_id`` report its value now, not after the
    debounce delay (filters stay debounced while typing, and answer at once on Enter)."""
    app.clientside_callback(
        _ENTER_JS % json.dumps(input_id),
        Output(input_id, "value", allow_duplicate=True),
        Input(input_id, "n_submit"),
        State(input_id, "value"),
        prevent_initial_call=True,
    )
