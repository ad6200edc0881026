"""The run and tag dropdowns that pages showing one kind of logged data share.

A page lays out two dropdowns, ``{prefix}-run`` and ``{prefix}-tag``, and calls
:func:`register_run_tag_pickers`: the run list holds the runs that logged that kind, the tag list
the chosen run's tags, both kept current as the logdir grows and keeping the user's choice while it
still exists.
"""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State

from deepscope.track.series import SeriesSource


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
        return runs, _keep(current, runs)

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
        return tags, _keep(current, tags)


def _keep(current: str | None, options: list[str]) -> str | None:
    """The current choice while it is still offered, else the first option."""
    return current if current in options else (options[0] if options else None)
