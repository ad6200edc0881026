"""Text: what a transformer attends to and what a language model computes, one tab per view.

The tabs live in ``deepscope.app.pages._text`` (attention views, logit lens, generation, neuron
factors, co-clusters); a tab shows when it has a live text model or a logged result to draw.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from deepscope.app.pages._text import discover_tabs
from deepscope.app.plugin import AppContext, Page


def is_active(ctx: AppContext) -> bool:
    return any(tab.is_active(ctx) for tab in discover_tabs())


def layout(ctx: AppContext) -> Any:
    tabs = [tab for tab in discover_tabs() if tab.is_active(ctx)]
    return html.Div(
        className="ds-page",
        children=[
            html.Div(className="ds-page-head", children=[html.H1("Text")]),
            dcc.Tabs(
                id="text-tabs",
                value=tabs[0].value if tabs else None,
                children=[dcc.Tab(label=tab.label, value=tab.value, children=tab.layout(ctx)) for tab in tabs],
            ),
        ],
    )


def register_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    for tab in discover_tabs():
        tab.register_callbacks(app, ctx)


PAGE = Page(
    name="Text",
    path="/text",
    order=47,
    is_active=is_active,
    layout=layout,
    register_callbacks=register_callbacks,
)
