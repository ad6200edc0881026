"""Examples chosen on another page (the Projector's selection) shown in the Evaluate page's table.

Another page links to ``/evaluate?source=<source key>&ids=<example ids>``: the ids are the index
labels of the predictions table (``3,7,10-20``: single ids and ranges of integers, separated by
commas). The page then shows that source and only those examples in its table, with a bar naming
where they came from and a button that shows all of them again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, urlencode

import dash
import pandas as pd
from dash import Input, Output, State, dcc, html

from deepscope.app.pages._evaluate import ui
from deepscope.app.plugin import AppContext

__all__ = ["href", "encode_ids", "decode_ids", "keep", "stores", "register"]

#: the most ids a link carries
MAX_IDS = 20_000
_MAX_RANGE = 1_000_000


def encode_ids(ids: Iterable[Any]) -> str:
    """``ids`` as short text: runs of consecutive integers as ``a-b``, others as themselves."""
    values = [str(v) for v in ids]
    if not all(v.lstrip("-").isdigit() for v in values):
        return ",".join(v.replace(",", "") for v in values)
    numbers = sorted({int(v) for v in values})
    parts: list[str] = []
    start = previous = None
    for n in [*numbers, None]:
        if start is not None and n is not None and previous is not None and n == previous + 1:
            previous = n
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = n
    return ",".join(parts)


def decode_ids(text: str) -> list[str]:
    """The ids of :func:`encode_ids`' text, as strings (ranges of integers expanded)."""
    ids: list[str] = []
    for part in (p.strip() for p in str(text).split(",")):
        head, dash_, tail = part[1:].partition("-")
        if dash_ and (part[0] + head).lstrip("-").isdigit() and tail.isdigit():
            low, high = int(part[0] + head), int(tail)
            if 0 <= high - low <= _MAX_RANGE:
                ids.extend(str(n) for n in range(low, high + 1))
        elif part:
            ids.append(part)
    return ids[:MAX_IDS]


def href(source_key: str, ids: Iterable[Any]) -> str:
    """The address of the Evaluate page showing only ``ids`` of the source ``source_key``."""
    return "/evaluate?" + urlencode({"source": source_key, "ids": encode_ids(ids)})


def keep(rows: pd.DataFrame, chosen: Any, key: str | None) -> pd.DataFrame:
    """The ``rows`` among the chosen examples (all rows when none were chosen for source ``key``)."""
    if not isinstance(chosen, dict) or chosen.get("source") != key or not isinstance(chosen.get("ids"), list):
        return rows
    return rows[rows.index.astype(str).isin([str(i) for i in chosen["ids"]])]


def stores() -> list[Any]:
    """The page's parts for chosen examples: their bar (under the filter's) and their store."""
    return [html.Div(id="evaluate-ids-bar", style={**ui.ROW, "margin": "0 0 6px"}), dcc.Store(id="evaluate-ids")]


def register(app: dash.Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("evaluate-ids", "data"),
        Output("evaluate-source", "value"),
        Input("app-url", "search"),
        State("evaluate-source", "options"),
        State("evaluate-source", "value"),
    )
    def read_address(search: str | None, options: Any, current: str | None) -> tuple:
        query = parse_qs((search or "").lstrip("?"))
        source = (query.get("source") or [None])[0]
        known = {o["value"] for o in options or [] if isinstance(o, dict)}
        if source is None or source not in known or not query.get("ids"):
            # the current value, never no_update: on the first load Dash holds back every callback
            # that reads the source until this one answers, and skips them all on a no_update
            return None, current
        return {"source": source, "ids": decode_ids(query["ids"][0])}, source

    @app.callback(
        Output("evaluate-ids-bar", "children"),
        Input("evaluate-ids", "data"),
        Input("evaluate-source", "value"),
    )
    def show_bar(chosen: Any, key: str | None) -> Any:
        if not isinstance(chosen, dict) or chosen.get("source") != key:
            return None
        return [
            html.Span(
                f"The Examples table below shows only the {len(chosen.get('ids') or []):,} examples "
                "selected in the Projector.",
                id="evaluate-ids-note",
                style=ui.NOTE,
            ),
            html.Button("Show all examples", id="evaluate-ids-clear", n_clicks=0, style=ui.QUIET_BUTTON),
        ]

    @app.callback(
        Output("evaluate-ids", "data", allow_duplicate=True),
        Input("evaluate-ids-clear", "n_clicks"),
        prevent_initial_call=True,
    )
    def clear(n_clicks: int | None) -> Any:
        return None if n_clicks else dash.no_update
