"""Controls, tables, numbers and messages every Data view uses, so the views look alike."""

from __future__ import annotations

import math
import numbers
from typing import Any, cast

import pandas as pd
from dash import dash_table, dcc, html

from deepscope.app.components import field  # noqa: F401  (the Data views call ui.field)

ROW = {"display": "flex", "flexWrap": "wrap", "gap": "12px 24px", "alignItems": "flex-end", "margin": "4px 0 12px"}
SECTION = {"fontSize": "15px", "fontWeight": 650, "margin": "20px 0 6px"}
NOTE = {"color": "#616E7C", "fontSize": "13px", "margin": "4px 0 8px"}
GOOD = "#117733"
BAD = "#B42318"
WARN = "#8A6100"
BAD_SURFACE = "#FEF3F2"
GRAPH_CONFIG: dcc.Graph.Config = {"displaylogo": False, "responsive": True}

_CELL = {
    "fontFamily": "var(--ds-font)",
    "fontSize": "13px",
    "padding": "6px 8px",
    "textAlign": "left",
    "backgroundColor": "transparent",
    "border": "none",
    "borderBottom": "1px solid #E4E7EB",
    "maxWidth": "520px",
    "overflow": "hidden",
    "textOverflow": "ellipsis",
    "whiteSpace": "normal",
    "height": "auto",
}
_HEADER = {
    "fontFamily": "var(--ds-font)",
    "fontWeight": 600,
    "backgroundColor": "transparent",
    "color": "#3E4C59",
    "borderBottom": "1px solid #CBD2D9",
    "whiteSpace": "normal",
    "height": "auto",
}


def dropdown(id: str, options: list, value: Any, width: str = "240px", clearable: bool = False, **kwargs: Any) -> Any:
    return dcc.Dropdown(id=id, options=options, value=value, clearable=clearable, style={"width": width}, **kwargs)


def note(text: Any, **kwargs: Any) -> Any:
    return html.P(text, style=NOTE, **kwargs)


def section(text: str, **kwargs: Any) -> Any:
    return html.H2(text, style=SECTION, **kwargs)


def graph(id: str, figure: Any, config: dcc.Graph.Config | None = None, **kwargs: Any) -> Any:
    return dcc.Graph(id=id, figure=figure, config=config or GRAPH_CONFIG, **kwargs)


def empty(title: str, *lines: Any, **kwargs: Any) -> Any:
    return html.Div(className="ds-empty", children=[html.H2(title), *[html.P(line) for line in lines]], **kwargs)


def table(id: str, columns: list[dict], data: list[dict], *, page_size: int = 25, **kwargs: Any) -> Any:
    """A DataTable in the page's style."""
    return dash_table.DataTable(
        id=id,
        columns=cast("list[dash_table.DataTable.Columns]", columns),  # each has an "id" and a "name"
        data=data,
        page_size=page_size,
        cell_selectable=False,
        style_as_list_view=True,
        style_table={"overflowX": "auto"},
        style_cell=_CELL,
        style_header=_HEADER,
        tooltip_delay=300,
        tooltip_duration=None,
        **kwargs,
    )


def number(value: Any) -> str:
    """A statistic for reading: four significant digits, thousands separated, no exponent below 1e9."""
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, bool):
        return str(value).lower()
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        return str(value)
    if not isinstance(value, numbers.Real):
        return str(value)
    value = float(value)
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if 1e4 <= abs(value) < 1e9:
        return f"{value:,.0f}"
    if abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4g}"


def percent(value: Any) -> str:
    """A fraction in [0, 1] as a percentage; tiny non-zero shares do not read as 0."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return ""
    if math.isnan(value):
        return ""
    if value == 0:
        return "0%"
    if value < 0.001:
        return "<0.1%"
    return f"{value:.1%}"
