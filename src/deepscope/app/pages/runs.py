"""Runs: the home page. Every run of the logdir with its hyper-parameters, status, timing and the
last value of each scalar; a filter box narrows the list, column headers sort it.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from dash import Input, Output, dash_table, dcc, html

from deepscope.app.plugin import AppContext, Page, always_active
from deepscope.patterns import compile_filter

# Column ids are positional ("hp0", "sc0"): hparam names and tags may hold any character.
_BASE_COLUMNS: list[dash_table.DataTable.Columns] = [
    {"id": "run", "name": ["", "Run"], "type": "text"},
    {"id": "status", "name": ["", "Status"], "type": "text"},
    {"id": "start", "name": ["", "Started"], "type": "text"},
    {"id": "duration", "name": ["", "Duration"], "type": "text"},
]
_TIME_FORMAT = "%Y-%m-%d %H:%M"


def layout(ctx: AppContext) -> Any:
    return html.Div(
        className="ds-page",
        children=[
            html.Div(
                className="ds-page-head",
                children=[
                    html.H1("Runs"),
                    html.Span(id="runs-summary", className="ds-muted"),
                ],
            ),
            html.Div(
                id="runs-controls",
                className="ds-controls",
                children=[
                    html.Label("Filter runs", htmlFor="runs-filter", className="ds-visually-hidden"),
                    dcc.Input(
                        id="runs-filter",
                        type="search",
                        debounce=0.3,
                        placeholder="Filter by run name or hyper-parameter (text or regex), e.g. lr=0.01 or ^cnn",
                        className="ds-input",
                    ),
                    html.Div(id="runs-filter-message", className="ds-muted"),
                ],
            ),
            html.Div(
                id="runs-table-wrap",
                children=dash_table.DataTable(
                    id="runs-table",
                    columns=_BASE_COLUMNS,
                    data=[],
                    sort_action="native",
                    sort_mode="single",
                    merge_duplicate_headers=True,
                    page_action="none",
                    tooltip_delay=300,
                    tooltip_duration=None,
                    cell_selectable=False,
                    style_as_list_view=True,
                    style_table={"overflowX": "auto"},
                    style_cell={
                        "fontFamily": "var(--ds-font)",
                        "fontSize": "14px",
                        "padding": "7px 8px",
                        "backgroundColor": "transparent",
                        "textAlign": "left",
                        "border": "none",
                        "borderBottom": "1px solid #E4E7EB",
                        "maxWidth": "320px",
                        "overflow": "hidden",
                        "textOverflow": "ellipsis",
                    },
                    style_header={
                        "fontFamily": "var(--ds-font)",
                        "whiteSpace": "normal",
                        "height": "auto",
                        "verticalAlign": "bottom",
                        "fontWeight": "600",
                        "backgroundColor": "transparent",
                        "color": "#3E4C59",
                        "borderBottom": "1px solid #CBD2D9",
                    },
                    style_header_conditional=[
                        {
                            "if": {"header_index": 0},
                            "textAlign": "left",
                            "color": "#7B8794",
                            "fontWeight": "500",
                            "fontSize": "12px",
                            "borderBottom": "none",
                            "textTransform": "uppercase",
                            "letterSpacing": "0.04em",
                        },
                    ],
                    style_cell_conditional=[
                        {"if": {"column_type": "numeric"}, "textAlign": "right", "fontVariantNumeric": "tabular-nums"},
                        {"if": {"column_id": "run"}, "fontWeight": "600"},
                    ],
                    style_data_conditional=[
                        {
                            "if": {
                                "filter_query": '{status} = "failed" || {status} = "crashed"',
                                "column_id": "status",
                            },
                            "color": "#B42318",
                            "fontWeight": "600",
                        },
                        {
                            "if": {"filter_query": '{status} = "running"', "column_id": "status"},
                            "color": "#175CD3",
                            "fontWeight": "600",
                        },
                    ],
                ),
            ),
            html.Div(id="runs-empty", className="ds-empty", hidden=True),
        ],
    )


def register_callbacks(app: Any, ctx: AppContext) -> None:
    # The table changes only when the logdir does: typing in the filter re-uses it. With 1,000 runs
    # reading runs() and last_scalars() takes seconds, so it happens once per logdir version.
    built: list[tuple[Any, RunsTable | None]] = []  # one (version, table); replaced whole, so
    # concurrent callbacks (the server has several threads) never see half an update

    def table_for_version() -> RunsTable | None:
        version = ctx.logdir.version() if ctx.logdir is not None else None
        if built and built[-1][0] == version:
            return built[-1][1]
        runs, last = _read(ctx)
        table = None if runs is None or len(runs) == 0 else runs_table(runs, last)
        built[:] = [(version, table)]
        return table

    @app.callback(
        Output("runs-table", "data"),
        Output("runs-table", "columns"),
        Output("runs-table", "tooltip_data"),
        Output("runs-summary", "children"),
        Output("runs-filter-message", "children"),
        Output("runs-table-wrap", "hidden"),
        Output("runs-controls", "hidden"),
        Output("runs-empty", "hidden"),
        Output("runs-empty", "children"),
        Input("runs-filter", "value"),
        Input("app-logdir-version", "data"),
    )
    def update_table(pattern: str | None, _version: Any) -> tuple:
        table = table_for_version()
        if table is None:
            return [], _BASE_COLUMNS, [], "", "", True, True, False, empty_state(ctx)
        keep, message = match_runs(table.haystacks, pattern)
        rows = [row for row, k in zip(table.rows, keep, strict=True) if k]
        tips = [tip for tip, k in zip(table.tooltips, keep, strict=True) if k]
        # Columns no shown run has a value in are clutter: leave them out.
        columns = [c for c in table.columns if c in _BASE_COLUMNS or any(c["id"] in row for row in rows)]
        total = len(table.rows)
        if not rows:
            message = f"{message} No run matches the filter.".strip()
        summary = f"{len(rows)} of {total} runs" if len(rows) != total else f"{total} run{'s' if total != 1 else ''}"
        return rows, columns if rows else table.columns, tips, summary, message, False, False, True, None


def _read(ctx: AppContext) -> tuple[Any, Any]:
    if ctx.logdir is None:
        return None, None
    # last_scalars() first: a run whose index turns out damaged there is then listed as damaged
    last = ctx.logdir.last_scalars()
    return ctx.logdir.runs(), last


def empty_state(ctx: AppContext) -> Any:
    """What to show before the first run: where runs go and how to log one."""
    where = str(ctx.logdir_path) if ctx.logdir_path is not None else "logs"
    snippet = (
        "import deepscope as ds\n\n"
        f'with ds.Run({where!r}, hparams={{"lr": 0.01}}) as run:\n'
        "    for step in range(100):\n"
        '        run.log({"loss": 1 / (step + 1)})'
    )
    return [
        html.H2("No runs yet"),
        html.P(["Runs logged into ", html.Code(where), " appear here as they start."]),
        html.P("Log one from Python:"),
        html.Pre(html.Code(snippet)),
        html.P(["Or train the example models: ", html.Code(f"deepscope demo --logdir {where}")]),
    ]


@dataclass(frozen=True)
class RunsTable:
    """The runs table as DataTable wants it, plus the texts the filter searches per run."""

    columns: list[dash_table.DataTable.Columns]
    rows: list[dict]
    tooltips: list[dict]
    haystacks: list[list[str]]


def runs_table(runs: Any, last: Any) -> RunsTable:
    """The table for ``Logdir.runs()`` and ``Logdir.last_scalars()``, one row per run."""
    hparams = [h if isinstance(h, Mapping) else {} for h in runs["hparams"]]
    hparam_names = list(dict.fromkeys(k for h in hparams for k in h))
    tags: list[Any] = []
    last_by_run: dict[str, dict[str, tuple[Any, Any]]] = {}
    if last is not None and len(last):
        tags = sorted(set(last["tag"]))
        for run, tag, step, value in zip(last["run"], last["tag"], last["step"], last["value"], strict=True):
            last_by_run.setdefault(str(run), {})[tag] = (step, value)

    numeric = [all(_is_number(h[name]) for h in hparams if name in h) for name in hparam_names]
    columns = list(_BASE_COLUMNS)
    for i, name in enumerate(hparam_names):
        columns.append(
            {
                "id": f"hp{i}",
                "name": ["hyper-parameters", _breakable(name)],
                "type": "numeric" if numeric[i] else "text",
            }
        )
    for i, tag in enumerate(tags):
        columns.append({"id": f"sc{i}", "name": ["last value", _breakable(tag)], "type": "numeric"})

    rows, tooltips, haystacks = [], [], []
    for (_, run), hp in zip(runs.iterrows(), hparams, strict=True):
        name = str(run["run"])
        row: dict[str, Any] = {
            "id": name,
            "run": name,
            "status": str(run.get("status") or ""),
            "start": _format_time(run.get("start_time")),
            "duration": _format_duration(run.get("duration")),
        }
        for i, key in enumerate(hparam_names):
            if key in hp:
                row[f"hp{i}"] = _plain(hp[key]) if numeric[i] else _text(hp[key])
        tips: dict[str, str] = {}
        problem = run.get("problem")
        if isinstance(problem, str) and problem:
            tips["status"] = problem  # why a run is damaged, or which of its fields are not JSON
        for i, tag in enumerate(tags):
            if tag not in last_by_run.get(name, {}):
                continue
            step, value = last_by_run[name][tag]
            # Four significant digits, no padding zeros (0.05, not 0.05000); the tooltip has all.
            # A diverged run shows NaN / inf rather than looking as if it never logged the tag.
            row[f"sc{i}"] = float(f"{value:.4g}") if _is_number(value) else _text(value)
            tips[f"sc{i}"] = f"{tag} = {_text(value)} at step {step}"
        rows.append(row)
        tooltips.append(tips)
        haystacks.append([name, *(f"{k}={_text(v)}" for k, v in hp.items())])
    return RunsTable(columns, rows, tooltips, haystacks)


def match_runs(haystacks: list[list[str]], pattern: str | None) -> tuple[list[bool], str]:
    """Which runs match ``pattern`` (a case-insensitive regex; plain text when it is not one)."""
    compiled = compile_filter(pattern)
    if compiled is None:
        return [True] * len(haystacks), ""
    return [any(compiled.search(text) for text in texts) for texts in haystacks], compiled.message


def _breakable(label: Any) -> str:
    """A header label that may wrap after '/', '_' and '.' (zero-width spaces), so that many
    columns fit the page instead of hiding off its right edge."""
    return re.sub(r"([/_.])(?=.)", "\\1\u200b", str(label))


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)


def _plain(value: Any) -> int | float:
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        if math.isnan(value):
            return "NaN"
        return ("-inf" if value < 0 else "inf") if math.isinf(value) else str(value)
    if value is None or isinstance(value, (bool, np.bool_, numbers.Number)):
        return str(value)
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


def _format_time(value: Any) -> str:
    """Local wall-clock time; numbers are epoch seconds, naive timestamps are shown as they are."""
    if _is_number(value):
        return datetime.fromtimestamp(float(value)).strftime(_TIME_FORMAT)
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return "" if value is None else str(value)
    if pd.isna(stamp):
        return ""
    moment = stamp.floor("s").to_pydatetime()
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime(_TIME_FORMAT)


def _format_duration(value: Any) -> str:
    """``HH:MM:SS`` (zero-padded, so the text sorts like the number)."""
    if isinstance(value, pd.Timedelta):
        value = value.total_seconds()
    if not _is_number(value) or value < 0:
        return ""
    seconds = int(round(value))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


PAGE = Page(
    name="Runs",
    path="/",
    order=0,
    is_active=always_active,
    layout=layout,
    register_callbacks=register_callbacks,
)
