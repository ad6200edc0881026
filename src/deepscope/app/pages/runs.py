"""Runs: the home page. Every run of the logdir with its hyper-parameters, status, timing and the
last value of each scalar; a filter box narrows the list, column headers sort it.

The table is paged on the server: the browser holds one page of ``PAGE_SIZE`` rows, and the
filter, the sort and the page are applied to the whole table in the callback (built once per
logdir version, each filter and sort kept for the next page), so 10,000 runs filter and sort as
fast as ten; the table itself comes from the logdir's cached run summaries (see
``deepscope.track._summary``), so a fresh server does not open every run. Each run's name
carries its colour, the one its lines have on the Scalars page (``deepscope.viz.scalars.run_colors``,
by the run's place among the logdir's runs).
"""

from __future__ import annotations

import json
import math
import numbers
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dash
import numpy as np
import pandas as pd
from dash import Input, Output, State, dash_table, dcc, html

from deepscope.app.plugin import AppContext, Page, always_active
from deepscope.app.updates import apply_on_enter
from deepscope.patterns import MAX_PATTERN_LENGTH, compile_filter
from deepscope.viz.scalars import RUN_PALETTE, run_colors

PAGE_SIZE = 50  # rows the browser holds; the rest stay on the server
_VIEWS_KEPT = 16  # (filter, sort) results kept per table version, so paging through one is cheap

# Column ids are positional ("hp0", "sc0"): hparam names and tags may hold any character.
_BASE_COLUMNS: list[dash_table.DataTable.Columns] = [
    {"id": "run", "name": ["", "Run"], "type": "text"},
    {"id": "status", "name": ["", "Status"], "type": "text"},
    {"id": "start", "name": ["", "Started"], "type": "text"},
    {"id": "duration", "name": ["", "Duration"], "type": "text"},
]
_TIME_FORMAT = "%Y-%m-%d %H:%M"
COLOR_FIELD = "color"  # a row's field (not a column): its run's colour, as a place in RUN_PALETTE


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
                    sort_action="custom",
                    sort_mode="single",
                    sort_by=[],
                    merge_duplicate_headers=True,
                    page_action="custom",
                    page_current=0,
                    page_size=PAGE_SIZE,
                    page_count=1,
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
                    style_data_conditional=_STATUS_STYLES + _COLOR_STYLES,
                ),
            ),
            html.Div(id="runs-empty", className="ds-empty", hidden=True),
        ],
    )


_STATUS_STYLES: list[dict] = [
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
]
# Each run's name carries its colour: one style per palette colour, the same for every page of the
# table (the table works its conditional styles out again only when they change, for every cell).
_COLOR_STYLES: list[dict] = [
    {"if": {"filter_query": f"{{{COLOR_FIELD}}} = {i}", "column_id": "run"}, "boxShadow": f"inset 4px 0 0 {color}"}
    for i, color in enumerate(RUN_PALETTE)
]


def register_callbacks(app: Any, ctx: AppContext) -> None:
    # The table changes only when the logdir does: typing in the filter, sorting and paging re-use
    # it. With 1,000 runs reading runs() and last_scalars() takes seconds, so it happens once per
    # logdir version (the one the shell's poll saw: no stat of every run per keystroke).
    built: list[tuple[Any, RunsTable | None]] = []  # one (version, table); replaced whole, so
    # concurrent callbacks (the server has several threads) never see half an update
    lock = threading.Lock()

    def table_for_version(version: Any) -> RunsTable | None:
        if version is None and ctx.logdir is not None:
            version = ctx.logdir.version()
        if built and built[-1][0] == version:
            return built[-1][1]
        with lock:  # one thread reads the logdir; the others wait for its table
            if built and built[-1][0] == version:
                return built[-1][1]
            runs, last = _read(ctx)
            table = None if runs is None or len(runs) == 0 else runs_table(runs, last)
            built[:] = [(version, table)]
            return table

    apply_on_enter(app, "runs-filter")

    @app.callback(
        Output("runs-table", "data"),
        Output("runs-table", "columns"),
        Output("runs-table", "tooltip_data"),
        Output("runs-table", "page_count"),
        Output("runs-table", "page_current"),
        Output("runs-summary", "children"),
        Output("runs-filter-message", "children"),
        Output("runs-table-wrap", "hidden"),
        Output("runs-controls", "hidden"),
        Output("runs-empty", "hidden"),
        Output("runs-empty", "children"),
        Input("runs-filter", "value"),
        Input("app-logdir-version", "data"),
        Input("runs-table", "page_current"),
        Input("runs-table", "sort_by"),
        State("runs-table", "columns"),
    )
    def update_table(pattern: str | None, version: Any, page: Any, sort_by: Any, shown_columns: Any) -> tuple:
        table = table_for_version(version)
        if table is None:
            return [], _BASE_COLUMNS, [], 1, 0, "", "", True, True, False, empty_state(ctx)
        if dash.ctx.triggered_id == "runs-filter":
            page = 0  # a new filter starts at its first page
        view = table.view(pattern, sort_by)
        pages = max(1, math.ceil(len(view.order) / PAGE_SIZE))
        page = min(max(int(page), 0), pages - 1) if isinstance(page, int) else 0
        shown = view.order[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        rows = [table.rows[i] for i in shown]
        tips = [table.tooltips[i] for i in shown]
        total = len(table.rows)
        message = view.message
        if not view.order:
            message = f"{message} No run matches the filter.".strip()
        matched = len(view.order)
        summary = f"{matched:,} of {total:,} runs" if matched != total else f"{total:,} run{'s' if total != 1 else ''}"
        if pages > 1:
            summary += f" · {PAGE_SIZE} a page"
        columns = view.columns if view.order else table.columns
        return (
            rows,
            dash.no_update if columns == shown_columns else columns,
            tips,
            pages,
            page,
            summary,
            message,
            False,
            False,
            True,
            None,
        )


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
class RunsView:
    """A filter and a sort of the table: the rows' positions in order, the columns any has a value
    in, and the filter's message."""

    order: list[int]
    columns: list[dash_table.DataTable.Columns]
    message: str


@dataclass(frozen=True)
class RunsTable:
    """The runs table as DataTable wants it, plus the texts the filter searches per run and each
    run's colour."""

    columns: list[dash_table.DataTable.Columns]
    rows: list[dict]
    tooltips: list[dict]
    haystacks: list[list[str]]
    colors: list[str] = field(default_factory=list)
    _views: OrderedDict = field(default_factory=OrderedDict, repr=False, compare=False)
    _lock: Any = field(default_factory=threading.Lock, repr=False, compare=False)

    def view(self, pattern: str | None, sort_by: Any = None) -> RunsView:
        """The rows ``pattern`` keeps (see :func:`match_runs`), sorted by ``sort_by`` (DataTable's
        ``[{"column_id", "direction"}]``; blanks last either way), and the columns they fill."""
        sort = _sort_key(sort_by)
        key = ((pattern or "").strip(), sort)
        with self._lock:
            if key in self._views:
                self._views.move_to_end(key)
                return self._views[key]
        keep, message = self._match(key[0])
        order = [i for i, k in enumerate(keep) if k]
        if sort is not None:
            order = _sorted(self.rows, order, *sort)
        present: set[str] = set()
        for i in order:
            present.update(self.rows[i])
        columns = [c for c in self.columns if c in _BASE_COLUMNS or c["id"] in present]
        view = RunsView(order, columns, message)
        with self._lock:
            self._views[key] = view
            while len(self._views) > _VIEWS_KEPT:
                self._views.popitem(last=False)
        return view

    def _match(self, pattern: str) -> tuple[list[bool], str]:
        for (kept, sort), view in list(self._views.items()):
            if kept == pattern and sort is None:  # the same filter, sorted otherwise: reuse it
                keep = [False] * len(self.rows)
                for i in view.order:
                    keep[i] = True
                return keep, view.message
        return match_runs(self.haystacks, pattern)


def _sort_key(sort_by: Any) -> tuple[str, bool] | None:
    if not isinstance(sort_by, list) or not sort_by or not isinstance(sort_by[0], Mapping):
        return None
    column = sort_by[0].get("column_id")
    if not isinstance(column, str):
        return None
    return column, sort_by[0].get("direction") == "desc"


def _sorted(rows: list[dict], order: list[int], column: str, descending: bool) -> list[int]:
    """``order`` sorted by ``column``: numbers by value, then text (NaN, "auto") by text, blanks last."""
    numbers, texts, blanks = [], [], []
    for i in order:
        value = rows[i].get(column)
        if value is None or value == "":
            blanks.append(i)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers.append(i)
        else:
            texts.append(i)
    numbers.sort(key=lambda i: rows[i][column], reverse=descending)
    texts.sort(key=lambda i: str(rows[i][column]).casefold(), reverse=descending)
    return numbers + texts + blanks


def runs_table(runs: Any, last: Any) -> RunsTable:
    """The table for ``Logdir.runs()`` and ``Logdir.last_scalars()``, one row per run."""
    hparams = [h if isinstance(h, Mapping) else {} for h in runs["hparams"]]
    hparam_names = list(dict.fromkeys(k for h in hparams for k in h))
    tags: list[Any] = []
    last_by_run: dict[str, dict[str, tuple[Any, Any]]] = {}
    if last is not None and len(last):
        tags = sorted(set(last["tag"]))
        columns = (last[name].tolist() for name in ("run", "tag", "step", "value"))
        for run, tag, step, value in zip(*columns, strict=True):
            last_by_run.setdefault(str(run), {})[tag] = (step, value)

    numeric = [all(_is_number(h[name]) for h in hparams if name in h) for name in hparam_names]
    # Fractions (learning rates, dropout) show four significant digits, as the last values do,
    # not a float's seventeen; the tooltip has the value in full. Integers show as they are.
    fractional = [
        numeric[i] and any(not float(h[name]).is_integer() for h in hparams if name in h)
        for i, name in enumerate(hparam_names)
    ]
    columns = list(_BASE_COLUMNS)
    for i, name in enumerate(hparam_names):
        spec: dash_table.DataTable.Columns = {
            "id": f"hp{i}",
            "name": ["hyper-parameters", _breakable(name)],
            "type": "numeric" if numeric[i] else "text",
        }
        if fractional[i]:
            spec["format"] = {"specifier": ".4~g"}
        columns.append(spec)
    for i, tag in enumerate(tags):
        columns.append({"id": f"sc{i}", "name": ["last value", _breakable(tag)], "type": "numeric"})

    count = len(runs)
    names = [str(name) for name in runs["run"]]
    statuses = _column(runs, "status", count)
    starts = _format_times(runs["start_time"]) if "start_time" in runs else [""] * count
    durations = [_format_duration(value) for value in _column(runs, "duration", count, None)]
    problems = _column(runs, "problem", count, None)
    scalar_columns = {tag: f"sc{i}" for i, tag in enumerate(tags)}
    hparam_columns = [(key, f"hp{i}", numeric[i], fractional[i]) for i, key in enumerate(hparam_names)]
    rows, tooltips, haystacks = [], [], []
    for name, status, start, duration, problem, hp in zip(
        names, statuses, starts, durations, problems, hparams, strict=True
    ):
        row: dict[str, Any] = {
            "id": name,
            "run": name,
            "status": str(status or ""),
            "start": start,
            "duration": duration,
        }
        tips: dict[str, str] = {}
        for key, column, is_numeric, is_fraction in hparam_columns:
            if key in hp:
                row[column] = _plain(hp[key]) if is_numeric else _text(hp[key])
                if is_fraction and f"{row[column]:.4g}" != repr(row[column]):
                    tips[column] = f"{key} = {row[column]!r}"
        if isinstance(problem, str) and problem:
            tips["status"] = problem  # why a run is damaged, or which of its fields are not JSON
        for tag, (step, value) in last_by_run.get(name, {}).items():
            column = scalar_columns[tag]
            # Four significant digits, no padding zeros (0.05, not 0.05000); the tooltip has all.
            # A diverged run shows NaN / inf rather than looking as if it never logged the tag.
            row[column] = float(f"{value:.4g}") if _is_number(value) else _text(value)
            tips[column] = f"{tag} = {_text(value)} at step {step}"
        rows.append(row)
        tooltips.append(tips)
        haystacks.append([name, *(f"{k}={_text(v)}" for k, v in hp.items())])
    colors = run_colors([row["run"] for row in rows])
    palette = {color: i for i, color in enumerate(RUN_PALETTE)}
    for row in rows:
        row[COLOR_FIELD] = palette[colors[row["run"]]]
    return RunsTable(columns, rows, tooltips, haystacks, [colors[row["run"]] for row in rows])


def match_runs(haystacks: list[list[str]], pattern: str | None) -> tuple[list[bool], str]:
    """Which runs match ``pattern`` (a case-insensitive regex; plain text when it is not one)."""
    compiled = compile_filter(pattern)
    if compiled is None:
        return [True] * len(haystacks), ""
    if compiled.message and "\n" not in compiled.text:  # plain text cannot reach across a line
        return [compiled.search("\n".join(texts)) for texts in haystacks], compiled.message
    if len(compiled.text) + 4 <= MAX_PATTERN_LENGTH:
        # One search per run over its texts a line each, ^ and $ anchoring at every line: five
        # times fewer calls than a search per text (10,000 runs filter in a few milliseconds).
        lines = compile_filter("(?m)" + compiled.text)
        if lines is not None and not lines.message:
            return [lines.search("\n".join(texts)) for texts in haystacks], ""
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


def _column(frame: pd.DataFrame, name: str, count: int, default: Any = "") -> list:
    return frame[name].tolist() if name in frame else [default] * count


def _format_times(values: pd.Series) -> list[str]:
    """:func:`_format_time` of each value; UTC timestamps (what ``Logdir.runs()`` has) without a
    pandas object per value."""
    if not isinstance(values.dtype, pd.DatetimeTZDtype):
        return [_format_time(value) for value in values]
    seconds = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[s]")
    missing = np.isnat(seconds)
    return [
        "" if gone else time.strftime(_TIME_FORMAT, time.localtime(second))
        for second, gone in zip(seconds.astype(np.int64).tolist(), missing.tolist(), strict=True)
    ]


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
