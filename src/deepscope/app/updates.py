"""Callback outputs sent only when they change.

A dropdown's options or value sent again fires every callback listening to it, and a responsive
graph whose box is resized is drawn once more: pages return these instead of the bare values.

>>> unless_shown([1, 2], [1, 2]) is dash.no_update, unless_shown([1, 2], [1])
(True, [1, 2])
>>> graph_box(360)
{'height': '360px'}
"""

from __future__ import annotations

from typing import Any

import dash

__all__ = ["unless_shown", "graph_box", "fit_box"]


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
