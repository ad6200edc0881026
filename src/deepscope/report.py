"""The static HTML report of profiles, drift and anomalies: one file, no server, no internet.

A surface, like the CLI and the dashboard: it lays out the tables of ``deepscope.viz.data_tables``
and the figures of ``deepscope.viz.data`` in one document. plotly.js is inlined once. Every string
that comes from the data (feature names, values, dataset names) is HTML-escaped.

>>> import pandas as pd
>>> from deepscope.data import profile
>>> html = report_html(profile(pd.DataFrame({"<b>x</b>": [1, 2]})))
>>> "<b>x</b>" in html, "&lt;b&gt;x&lt;/b&gt;" in html
(False, True)
"""

from __future__ import annotations

import datetime as _dt
import html
import os
from pathlib import Path
from typing import Any

from deepscope.data.compare import compare
from deepscope.data.drift import DriftReport
from deepscope.data.profile import Profile
from deepscope.data.schema import Anomalies
from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.viz.data import comparison_figure, drift_feature_figure, drift_figure
from deepscope.viz.data_tables import (
    CSS,
    anomalies_table_html,
    comparison_table_html,
    drift_table_html,
)

__all__ = ["report_html", "write_report"]


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _figure_html(fig: Any, first: bool) -> str:
    return fig.to_html(
        full_html=False,
        include_plotlyjs=bool(first),
        include_mathjax=False,
        config={"displaylogo": False, "responsive": True},
    )


def report_html(
    *profiles: Any,
    drift: Any = None,
    anomalies: Any = None,
    title: str = "deepscope data report",
    sort: str = "distance",
) -> str:
    """The whole report as one HTML document (see the module docstring)."""
    if not profiles:
        raise InvalidArgumentError("profiles", "at least one Profile", "none")
    for i, p in enumerate(profiles):
        if not isinstance(p, Profile):
            raise ArgumentTypeError(f"profiles[{i}]", "a Profile", p)
    if drift is not None and not isinstance(drift, DriftReport):
        raise ArgumentTypeError("drift", "a DriftReport or None", drift)
    anomaly_list = [anomalies] if isinstance(anomalies, Anomalies) else list(anomalies or [])
    for a in anomaly_list:
        if not isinstance(a, Anomalies):
            raise ArgumentTypeError("anomalies", "Anomalies (or a list of them) or None", a)

    comparison = compare(*profiles, sort=sort)
    figures = [comparison_figure(comparison)]
    parts = [
        f"<h1>{_e(title)}</h1>",
        f"<p class='meta'>{', '.join(f'{_e(p.name)}: {p.rows:,} rows, {len(p):,} features' for p in profiles)}"
        f" &middot; generated {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}</p>",
    ]
    summary = []
    if drift is not None:
        summary.append(
            "<span class='badge bad'>drift</span>" if drift.drifted else "<span class='badge ok'>no drift</span>"
        )
    if anomaly_list:
        count = sum(len(a) for a in anomaly_list)
        failed = any(a.failed for a in anomaly_list)
        summary.append(f"<span class='badge {'bad' if failed else 'ok'}'>{count} anomalies</span>")
    if summary:
        parts.append("<p>" + " ".join(summary) + "</p>")
    parts.append("<h2>Overview</h2>")
    parts.append(comparison_table_html(comparison))
    parts.append("<h2>Distributions</h2>")
    parts.append(_figure_html(figures[0], first=True))
    if drift is not None:
        parts.append("<h2>Drift</h2>")
        parts.append(drift_table_html(drift))
        parts.append(_figure_html(drift_figure(drift), first=False))
        for feature in drift.drifted_features:
            parts.append(_figure_html(drift_feature_figure(drift, feature), first=False))
    for a in anomaly_list:
        parts.append(f"<h2>Anomalies: {_e(a.profile)}</h2>")
        parts.append(anomalies_table_html(a))
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{_e(title)}</title>"
        f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>"
    )


def write_report(
    path: str | os.PathLike,
    *profiles: Any,
    drift: Any = None,
    anomalies: Any = None,
    title: str = "deepscope data report",
) -> Path:
    """Write ``report_html(...)`` to ``path`` and return the path."""
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentTypeError("path", "a file path", path)
    target = Path(path)
    if target.parent and not target.parent.exists():
        raise InvalidArgumentError("output", "a path in an existing folder", str(target))
    target.write_text(report_html(*profiles, drift=drift, anomalies=anomalies, title=title), encoding="utf-8")
    return target
