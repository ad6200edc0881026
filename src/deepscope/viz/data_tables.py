"""HTML tables of data results (profiles, comparisons, drift, anomalies), with inline SVG sparklines.

They are what data results show in a notebook (``_repr_html_``) and the tables of the static
report (``deepscope.report``); they read even where scripts are blocked. Every string that comes
from the data (feature names, values, dataset names) is HTML-escaped.

>>> import pandas as pd
>>> from deepscope.data.profile import profile
>>> html = profile_table_html([profile(pd.DataFrame({"<b>x</b>": [1, 2]}))])
>>> "<b>x</b>" in html, "&lt;b&gt;x&lt;/b&gt;" in html
(False, True)
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

from deepscope.data.compare import compare
from deepscope.viz.theme import category_colors

__all__ = [
    "CSS",
    "sparkline_svg",
    "profile_table_html",
    "comparison_table_html",
    "drift_table_html",
    "anomalies_table_html",
]

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1F2933;margin:24px auto;
max-width:1200px;padding:0 16px;line-height:1.4}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #E4E7EB}
.meta{color:#52606D;font-size:13px}
table.ds{border-collapse:collapse;font-size:13px;margin:8px 0;width:100%}
table.ds th,table.ds td{padding:4px 8px;border-bottom:1px solid #E4E7EB;text-align:right;vertical-align:middle}
table.ds th{background:#F5F7FA;position:sticky;top:0}
table.ds td.l,table.ds th.l{text-align:left}
.bad{color:#B2182B;font-weight:600}.ok{color:#117733;font-weight:600}.warn{color:#8D6E00;font-weight:600}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-size:12px;color:white}
.badge.bad{background:#B2182B;color:white}.badge.ok{background:#117733;color:white}
svg.spark{display:block}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    try:
        if value is np.nan or (isinstance(value, float) and math.isnan(value)):
            return ""
    except TypeError:
        pass
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.3e}"
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if value is not None and str(value) == "<NA>":
        return ""
    return _e(value)


def _pct(value: Any) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(value) else f"{value:.1%}"


def sparkline_svg(shares: list[list[float]], colors: list[str], *, width: int = 120, height: int = 32) -> str:
    """Inline SVG bars: one group per bucket, one bar per dataset; heights relative to the tallest."""
    if not shares or not shares[0]:
        return ""
    buckets = len(shares[0])
    tallest = max((max(s) for s in shares if s), default=0.0) or 1.0
    slot = width / buckets
    bar = slot / len(shares)
    rects = []
    for d, series in enumerate(shares):
        for i, value in enumerate(series):
            h = max(0.0, float(value)) / tallest * (height - 2)
            rects.append(
                f'<rect x="{i * slot + d * bar:.2f}" y="{height - h:.2f}" width="{max(bar - 0.5, 0.5):.2f}" '
                f'height="{h:.2f}" fill="{colors[d % len(colors)]}"/>'
            )
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" role="img">{"".join(rects)}</svg>'
    )


def _colors(names: list[str]) -> list[str]:
    mapping = category_colors(names)
    return [mapping[n] for n in names]


def comparison_table_html(comparison: Any) -> str:
    """Features in the comparison's order, one row per dataset, with sparkline histograms."""
    colors = _colors(comparison.datasets)
    frame = comparison.to_frame()
    scores = comparison.scores.set_index("feature")
    distance = comparison.has_distance  # one dataset: no distance to show, not a column of zeros
    head = (
        "<tr><th class='l'>feature</th><th class='l'>dataset</th><th class='l'>type</th><th>count</th>"
        "<th>missing</th><th>mean</th><th>std</th><th>zeros</th><th>min</th><th>median</th><th>max</th>"
        "<th title='values that are +inf or -inf (not in mean, std, min, max)'>infinite</th>"
        "<th>unique</th><th class='l'>top</th><th class='l'>histogram</th>"
        + ("<th>distance</th>" if distance else "")
        + "<th class='l'>notes</th></tr>"
    )
    body = []
    for feature in comparison.order:
        rows = frame[frame["feature"] == feature]
        hist = comparison.histograms.get(feature)
        spark = ""
        if hist:
            shares = [hist["datasets"][d] for d in comparison.datasets if d in hist["datasets"]]
            used = [colors[i] for i, d in enumerate(comparison.datasets) if d in hist["datasets"]]
            spark = sparkline_svg(shares, used)
        for k, (_, row) in enumerate(rows.iterrows()):
            first = k == 0
            span = f" rowspan='{len(rows)}'" if first else ""
            cells = [
                f"<td class='l'{span}><b>{_e(feature)}</b></td>" if first else "",
                f"<td class='l'>{_e(row['dataset'])}</td>",
                f"<td class='l'>{_e(row['type'])}</td>",
                f"<td>{_fmt(row['count'])}</td>",
                f"<td>{_pct(row['missing'])}</td>",
                f"<td>{_fmt(row['mean'])}</td>",
                f"<td>{_fmt(row['std'])}</td>",
                f"<td>{_pct(row['zeros'])}</td>",
                f"<td>{_fmt(row['min'])}</td>",
                f"<td>{_fmt(row['median'])}</td>",
                f"<td>{_fmt(row['max'])}</td>",
                f"<td>{_fmt(row.get('infinite')) if row.get('infinite') else ''}</td>",
                f"<td>{_fmt(row['unique'])}</td>",
                f"<td class='l'>{_e(row['top']) if row['top'] is not None and str(row['top']) != 'nan' else ''}</td>",
                f"<td class='l'{span}>{spark}</td>" if first else "",
                f"<td{span}>{_fmt(scores.loc[feature, 'distance'])}</td>" if first and distance else "",
                f"<td class='l'>{_e(row['notes'])}</td>",
            ]
            body.append("<tr>" + "".join(cells) + "</tr>")
    legend = " ".join(
        f"<span style='color:{c}'>&#9632;</span> {_e(d)}" for d, c in zip(comparison.datasets, colors, strict=True)
    )
    if comparison.sort == "distance" and not distance:
        order = "in column order (a distribution distance needs two datasets)"
    else:
        order = f"sorted by {_e(comparison.sort)}"
    return f"<div class='meta'>{legend} &middot; {order}</div><table class='ds'>{head}{''.join(body)}</table>"


def profile_table_html(profiles: list[Any]) -> str:
    comparison = compare(*profiles)
    style = f"<style>{CSS}</style>"
    rows = ", ".join(f"{_e(p.name)}: {p.rows:,} rows" for p in profiles)
    return f"{style}<div class='meta'>{rows}</div>{comparison_table_html(comparison)}"


def drift_table_html(report: Any) -> str:
    verdict = "<span class='badge bad'>drift</span>" if report.drifted else "<span class='badge ok'>no drift</span>"
    head = (
        "<tr><th class='l'>feature</th><th class='l'>metric</th><th>value</th><th>threshold</th>"
        "<th class='l'>verdict</th></tr>"
    )
    body = []
    for _, row in report.metrics.iterrows():
        judged = row["threshold"] is not None and not (
            isinstance(row["threshold"], float) and math.isnan(row["threshold"])
        )
        verdict_cell = (
            "<span class='bad'>drifted</span>"
            if row["drifted"]
            else ("<span class='ok'>ok</span>" if judged else "<span class='meta'>reported</span>")
        )
        body.append(
            f"<tr><td class='l'>{_e(row['feature'])}</td><td class='l'>{_e(row['metric'])}</td>"
            f"<td>{_fmt(row['value'])}</td><td>{_fmt(row['threshold']) if judged else ''}</td>"
            f"<td class='l'>{verdict_cell}</td></tr>"
        )
    skipped = "".join(f"<li><b>{_e(f)}</b>: {_e(why)}</li>" for f, why in report.skipped.items())
    skipped_html = f"<p class='meta'>Not compared:</p><ul class='meta'>{skipped}</ul>" if skipped else ""
    return (
        f"<style>{CSS}</style><p>{_e(report.current)} against {_e(report.reference)}: {verdict} "
        f"({report.drifted_share:.0%} of {len(report.features)} features drifted)</p>"
        f"<table class='ds'>{head}{''.join(body)}</table>{skipped_html}"
    )


def anomalies_table_html(anomalies: Any) -> str:
    if not len(anomalies):
        return f"<style>{CSS}</style><p><span class='badge ok'>no anomalies</span> in {_e(anomalies.profile)}</p>"
    head = (
        "<tr><th class='l'>feature</th><th class='l'>kind</th><th class='l'>severity</th>"
        "<th class='l'>description</th><th class='l'>examples</th></tr>"
    )
    body = []
    for a in anomalies:
        css = "bad" if a.severity == "error" else "warn"
        examples = ", ".join(_e(x) for x in a.examples)
        body.append(
            f"<tr><td class='l'>{_e(a.feature)}</td><td class='l'>{_e(a.kind)}</td>"
            f"<td class='l'><span class='{css}'>{_e(a.severity)}</span></td>"
            f"<td class='l'>{_e(a.description)}</td><td class='l'>{examples}</td></tr>"
        )
    return (
        f"<style>{CSS}</style><p>{len(anomalies)} anomalies in {_e(anomalies.profile)}</p>"
        f"<table class='ds'>{head}{''.join(body)}</table>"
    )
