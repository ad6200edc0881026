"""Controls, tables and messages every Evaluate view uses, so the views look alike."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd
from dash import dash_table, dcc, html

from deepscope.app.components import LABEL, field  # noqa: F401  (the Evaluate views call ui.field and ui.LABEL)

ROW = {"display": "flex", "flexWrap": "wrap", "gap": "12px 24px", "alignItems": "flex-end", "margin": "4px 0 12px"}
SECTION = {"fontSize": "15px", "fontWeight": 650, "margin": "20px 0 6px"}
BUTTON = {
    "font": "inherit",
    "fontSize": "14px",
    "padding": "7px 14px",
    "border": "1px solid #332288",
    "borderRadius": "6px",
    "background": "#332288",
    "color": "white",
    "cursor": "pointer",
}
QUIET_BUTTON = {**BUTTON, "background": "white", "color": "#332288", "padding": "3px 10px", "fontSize": "13px"}
ERROR_BOX = {
    "background": "#FEF3F2",
    "border": "1px solid #FECDCA",
    "borderLeft": "4px solid #B42318",
    "borderRadius": "6px",
    "padding": "10px 14px",
    "color": "#7A271A",
    "margin": "8px 0",
    "fontFamily": "var(--ds-mono)",
    "fontSize": "13px",
    "whiteSpace": "pre",
    "overflowX": "auto",
}
NOTE = {"color": "#616E7C", "fontSize": "13px", "margin": "4px 0 8px"}
GRAPH_CONFIG: dcc.Graph.Config = {"displaylogo": False, "responsive": True}
SELECTED_ROW = "#EBE9F6"

_CELL = {
    "fontFamily": "var(--ds-font)",
    "fontSize": "13px",
    "padding": "6px 8px",
    "textAlign": "left",
    "backgroundColor": "transparent",
    "border": "none",
    "borderBottom": "1px solid #E4E7EB",
    "maxWidth": "420px",
    "overflow": "hidden",
    "textOverflow": "ellipsis",
    "whiteSpace": "nowrap",
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


def dropdown(id: str, options: list, value: Any, width: str = "220px", **kwargs: Any) -> Any:
    return dcc.Dropdown(id=id, options=options, value=value, clearable=False, style={"width": width}, **kwargs)


def note(text: Any, **kwargs: Any) -> Any:
    return html.P(text, style=NOTE, **kwargs)


def graph(id: str, figure: Any = None, **kwargs: Any) -> Any:
    return dcc.Graph(id=id, figure=figure if figure is not None else {}, config=GRAPH_CONFIG, **kwargs)


def figure_slot(id: str) -> Any:
    """Where a figure appears once computed: the graph is made with its figure, so it is sized
    while visible (a graph drawn hidden and shown later keeps a collapsed height)."""
    return html.Div(id=id)


def filled_slot(id: str, figure: Any) -> Any:
    """The children of a ``figure_slot``: a graph holding ``figure``."""
    return graph(f"{id}-graph", figure)


def error_box(message: str, **kwargs: Any) -> Any:
    """A message in a monospace block: a query's caret line stays under the query. Dash escapes it."""
    return html.Pre(message, style=ERROR_BOX, role="alert", **kwargs)


def table(
    id: str,
    frame: pd.DataFrame | None = None,
    *,
    page_size: int = 10,
    row_ids: bool = True,
    wide: tuple[str, ...] = (),
    **kwargs: Any,
) -> Any:
    """A DataTable in the page's style; ``frame`` fills it (its index becomes the row ids)."""
    columns, data = records(frame, row_ids=row_ids) if frame is not None else ([], [])
    return dash_table.DataTable(
        id=id,
        columns=columns,
        data=data,
        page_size=page_size,
        cell_selectable=True,
        style_as_list_view=True,
        style_table={"overflowX": "auto"},
        style_cell=_CELL,
        style_header=_HEADER,
        style_cell_conditional=[
            {"if": {"column_id": c}, "maxWidth": "560px", "minWidth": "240px", "whiteSpace": "normal"} for c in wide
        ],
        tooltip_delay=300,
        tooltip_duration=None,
        **kwargs,
    )


def records(
    frame: pd.DataFrame, *, row_ids: bool = True, digits: int = 4
) -> tuple[list[dash_table.DataTable.Columns], list[dict]]:
    """DataTable ``columns`` and ``data`` for a frame: plain JSON values, floats rounded to
    ``digits`` significant digits (metrics read best with few; raw values need more).

    Column ids are positional (``c0``, ``c1``...) since column names may hold any character; the
    row id (``id``) is the index label as text, and ``_row`` shows it.
    """
    columns: list[dash_table.DataTable.Columns] = []
    if row_ids:
        columns.append({"id": "_row", "name": "#"})
    columns.extend(
        {"id": f"c{i}", "name": str(name), "type": "numeric" if _is_numeric(frame[name]) else "text"}
        for i, name in enumerate(frame.columns)
    )
    values = [frame[name].tolist() for name in frame.columns]
    data = []
    for r, label in enumerate(frame.index):
        row: dict[str, Any] = {"id": str(label), "_row": str(label)} if row_ids else {"id": str(r)}
        for i, column in enumerate(values):
            row[f"c{i}"] = plain(column[r], digits)
        data.append(row)
    return columns, data


def rounded_confidences(frame: pd.DataFrame, decimals: int = 3) -> pd.DataFrame:
    """Confidence columns to ``decimals`` places, so a table that keeps every digit of the inputs
    does not print probabilities as 0.999934."""
    columns = [c for c in frame.columns if "confidence" in str(c) and _is_numeric(frame[c])]
    return frame.round({c: decimals for c in columns}) if columns else frame


def plain(value: Any, digits: int = 3) -> Any:
    """A JSON value for a table cell: floats rounded to ``digits`` significant digits."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isnan(value):
            return None
        return float(f"{value:.{digits}g}") if math.isfinite(value) else str(value)
    if value is None or (not isinstance(value, str) and pd.isna(value) is True):
        return None
    return str(value)


def selected_style(row_id: Any) -> list[dict]:
    """Conditional style that marks the row whose id is ``row_id``."""
    if row_id is None:
        return []
    text = str(row_id).replace("\\", "\\\\").replace('"', '\\"')
    return [{"if": {"filter_query": f'{{_row}} = "{text}"'}, "backgroundColor": SELECTED_ROW}]


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)
