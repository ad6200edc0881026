"""Figures as light, offline HTML for notebooks: plotly.js goes into a notebook once.

The first figure rendered in a Python process inlines plotly.js (about 4.7 MB, no network); every
later one refers to the ``Plotly`` object that first script defined, so a result's HTML is tens of
kB. :func:`reset` makes the next figure inline it again (a fresh notebook page in the same
kernel, or tests).
"""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

__all__ = ["figure_html", "table_html", "reset"]

TABLE_ROWS = 50

_state = {"plotly_sent": False}


def figure_html(fig: go.Figure) -> str:
    """The figure as an HTML fragment that works offline; plotly.js only in the first one."""
    first = not _state["plotly_sent"]
    html = fig.to_html(full_html=False, include_plotlyjs=first, include_mathjax=False)
    _state["plotly_sent"] = True
    return html


def table_html(frame: pd.DataFrame, title: str) -> str:
    """A result with no figure as an HTML table: its first ``TABLE_ROWS`` rows, escaped."""
    shown = frame.head(TABLE_ROWS)
    more = f" (first {TABLE_ROWS} of {len(frame):,} rows)" if len(frame) > TABLE_ROWS else ""
    head = f"<p><b>{html.escape(title)}</b>{more}</p>"
    return head + shown.to_html(escape=True, max_cols=30)


def reset() -> None:
    """Inline plotly.js again in the next figure."""
    _state["plotly_sent"] = False
