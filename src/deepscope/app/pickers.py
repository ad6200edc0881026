"""Dropdowns that follow the logdir: their options are read again on each new logdir version (the
shell's poll, ``app-logdir-version``), keeping the user's choice while it is still offered.

- :func:`register_run_tag_pickers`: the run and tag dropdowns of pages showing one kind of logged
  data: ``{prefix}-run`` holds the runs that logged that kind, ``{prefix}-tag`` the chosen run's tags.
- :func:`register_option_refresh`: any dropdown whose options a function lists (single or multi).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dash import Input, Output, State

from deepscope.app.series import SeriesSource
from deepscope.app.updates import unless_shown


def register_run_tag_pickers(app: Any, source: SeriesSource, prefix: str, kind: str) -> None:
    """Wire ``{prefix}-run`` and ``{prefix}-tag`` to the runs and tags of ``kind`` in ``source``."""

    @app.callback(
        Output(f"{prefix}-run", "options"),
        Output(f"{prefix}-run", "value"),
        Input("app-logdir-version", "data"),
        State(f"{prefix}-run", "value"),
    )
    def update_runs(version: Any, current: str | None) -> tuple:
        runs = source.runs_with(kind, source.version(version))
        return runs, keep_choice(current, runs)

    @app.callback(
        Output(f"{prefix}-tag", "options"),
        Output(f"{prefix}-tag", "value"),
        Input(f"{prefix}-run", "value"),
        Input("app-logdir-version", "data"),
        State(f"{prefix}-tag", "value"),
    )
    def update_tags(run: str | None, version: Any, current: str | None) -> tuple:
        if run is None:
            return [], None
        tags = source.run_tags(run, kind, source.version(version))
        return tags, keep_choice(current, tags)


def register_option_refresh(
    app: Any,
    dropdown: str,
    options: Callable[[], list[dict[str, Any]]],
    default: Callable[[list[dict[str, Any]]], Any] | None = None,
) -> None:
    """Make ``dropdown`` offer what ``options()`` lists, read again at each new logdir version.

    The user's choice stays while it is still offered (for a multi-select, the chosen values that
    are); when none is left, ``default(options)`` (default: the first option) is chosen. Options
    and value are sent only when they changed, so callbacks on the value do not run again. The
    layout gives the dropdown its first options; this only follows the logdir from there.
    """

    @app.callback(
        Output(dropdown, "options"),
        Output(dropdown, "value"),
        Input("app-logdir-version", "data"),
        State(dropdown, "options"),
        State(dropdown, "value"),
        prevent_initial_call=True,
    )
    def refresh(_version: Any, shown: list | None, current: Any) -> tuple:
        offered = options()
        values = [o["value"] for o in offered]
        if isinstance(current, list):
            kept = [v for v in current if v in values]
            chosen = kept if kept or not current else _default(offered, default, multi=True)
        else:
            chosen = current if current in values else _default(offered, default, multi=False)
        return unless_shown(offered, shown), unless_shown(chosen, current)


def _default(offered: list[dict[str, Any]], default: Callable | None, *, multi: bool) -> Any:
    if default is not None:
        return default(offered)
    first = offered[0]["value"] if offered else None
    return ([first] if first is not None else []) if multi else first


def keep_choice(current: str | None, options: list[str]) -> str | None:
    """The current choice while it is still offered, else the first option."""
    return current if current in options else (options[0] if options else None)
