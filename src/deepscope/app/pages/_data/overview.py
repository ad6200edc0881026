"""Overview, as Facets Overview: a table of features with their statistics and a histogram each,
several datasets overlaid (as percentages, so datasets of different sizes compare), sorted by
distribution distance, missing share, non-uniformity or name. Distribution distance is shown and
offered only when two or more datasets are chosen: one dataset has nothing to be distant from."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from deepscope.app.cache import Cache
from deepscope.app.pages._data import sources, ui
from deepscope.app.plugin import AppContext
from deepscope.data import Comparison, compare
from deepscope.patterns import compile_filter
from deepscope.viz.data import feature_figure, sparkline_figure
from deepscope.viz.theme import category_colors

SORTS = [
    {"label": "distribution distance", "value": "distance"},
    {"label": "missing", "value": "missing"},
    {"label": "non-uniformity", "value": "non_uniformity"},
    {"label": "name", "value": "name"},
]
# With one dataset: what "distribution distance" says instead, and the sort used in its place.
DISTANCE_NEEDS_TWO = "distribution distance (choose 2+ datasets)"
ONE_DATASET_SORT = "non_uniformity"
SCORE_TITLES = {
    "distance": (
        "Distance",
        "Jensen-Shannon divergence (bits) of each dataset's histogram from the first "
        "dataset's, the largest; 1 when the feature is absent or of another type",
    ),
    "missing": ("Missing (max)", "the largest missing share across the datasets"),
    "non_uniformity": (
        "Non-uniformity",
        "1 minus the normalised entropy of the histogram: 0 when values spread "
        "evenly over the buckets, 1 when they fall in one",
    ),
}
NUMERIC_STATS = [
    ("count", "Count", ui.number),
    ("missing", "Missing", ui.percent),
    ("mean", "Mean", ui.number),
    ("std", "Std dev", ui.number),
    ("zeros", "Zeros", ui.percent),
    ("min", "Min", ui.number),
    ("median", "Median", ui.number),
    ("max", "Max", ui.number),
]
CATEGORICAL_STATS = [
    ("count", "Count", ui.number),
    ("missing", "Missing", ui.percent),
    ("unique", "Unique", ui.number),
    ("top", "Top value", str),
    ("top_fraction", "Top share", ui.percent),
    ("avg_length", "Avg length", ui.number),
]
OTHER_STATS = [
    ("type", "Type", str),
    ("count", "Count", ui.number),
    ("missing", "Missing", ui.percent),
    ("notes", "Notes", str),
]
MAX_FEATURES = 40
SPARK_WIDTH, SPARK_HEIGHT = 200, 52
_CELL = {"padding": "3px 10px", "textAlign": "right", "fontVariantNumeric": "tabular-nums", "whiteSpace": "nowrap"}
_HEAD = {**_CELL, "fontWeight": 600, "color": "#3E4C59", "borderBottom": "1px solid #CBD2D9", "verticalAlign": "bottom"}
_GROUP = {"borderTop": "1px solid #E4E7EB"}
_COMPARISONS = Cache(16)


def layout(ctx: AppContext) -> Any:
    options = sources.profile_options(ctx)
    if not options:
        return ui.empty(
            "No profiles",
            "Log one with run.log_result('profile/train', ds.data.profile(frame)), "
            "or register a dataset with ds.serve(..., datasets={...}).",
            id="data-overview-empty",
        )
    chosen = sources.default_profiles(ctx, options)
    sorts, sort = sort_choices(len(chosen), "distance")
    return html.Div(
        [
            html.Div(
                style=ui.ROW,
                children=[
                    ui.field(
                        "Datasets",
                        ui.dropdown("data-overview-datasets", options, chosen, width="520px", multi=True),
                        "data-overview-datasets",
                    ),
                    ui.field(
                        "Sort by", ui.dropdown("data-overview-sort", sorts, sort, width="300px"), "data-overview-sort"
                    ),
                    ui.field(
                        "Find features",
                        dcc.Input(
                            id="data-overview-filter",
                            type="search",
                            debounce=0.3,
                            placeholder="name or regex",
                            className="ds-input",
                            style={"width": "200px"},
                        ),
                        "data-overview-filter",
                    ),
                    dcc.Checklist(
                        id="data-overview-percent",
                        value=["percent"],
                        style={"paddingBottom": "6px"},
                        options=[{"label": " Histograms as percentages of each dataset", "value": "percent"}],
                    ),
                ],
            ),
            html.Div(id="data-overview-summary", style=ui.NOTE),
            html.Div(id="data-overview-tables"),
            ui.section("One feature, with axes"),
            html.Div(
                style=ui.ROW,
                children=[
                    ui.field(
                        "Feature",
                        ui.dropdown("data-overview-feature", [], None, width="320px"),
                        "data-overview-feature",
                    ),
                ],
            ),
            html.Div(id="data-overview-detail"),
        ]
    )


def sort_choices(count: int, current: str | None) -> tuple[list[dict[str, Any]], str]:
    """The sort options for ``count`` chosen datasets and the sort to use: with fewer than two,
    distribution distance is shown disabled, with why, and ``current`` moves off it."""
    if count > 1:
        return SORTS, current or "distance"
    options = [{**o, "label": DISTANCE_NEEDS_TWO, "disabled": True} if o["value"] == "distance" else o for o in SORTS]
    return options, ONE_DATASET_SORT if current in (None, "distance") else current


def register(app: dash.Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("data-overview-sort", "options"),
        Output("data-overview-sort", "value"),
        Input("data-overview-datasets", "value"),
        State("data-overview-sort", "value"),
        prevent_initial_call=True,  # the layout starts with the choices of its default datasets
    )
    def offer_sorts(chosen: list[str] | None, current: str | None) -> tuple:
        options, sort = sort_choices(len(chosen or []), current)
        return options, sort if sort != current else dash.no_update

    @app.callback(
        Output("data-overview-tables", "children"),
        Output("data-overview-summary", "children"),
        Output("data-overview-feature", "options"),
        Output("data-overview-feature", "value"),
        Input("data-overview-datasets", "value"),
        Input("data-overview-sort", "value"),
        Input("data-overview-percent", "value"),
        Input("data-overview-filter", "value"),
        State("data-overview-feature", "value"),
    )
    def show_tables(
        chosen: list[str] | None, sort: str | None, percent: list[str] | None, pattern: str | None, feature: str | None
    ) -> tuple:
        if not chosen:
            return ui.note("Choose one or more datasets."), "", [], None
        comparison = comparison_of(ctx, chosen, bool(percent)).sorted_by(sort or "distance")
        shown, message = _matching(comparison.order, pattern)
        tables = feature_tables(comparison, shown[:MAX_FEATURES])
        summary = _summary(ctx, chosen, comparison, len(shown), message)
        options = [{"label": f, "value": f} for f in comparison.order]
        keep = feature if feature in comparison.order else (shown or comparison.order)[0]
        return tables, summary, options, keep

    @app.callback(
        Output("data-overview-detail", "children"),
        Input("data-overview-feature", "value"),
        Input("data-overview-datasets", "value"),
        Input("data-overview-percent", "value"),
    )
    def show_feature(feature: str | None, chosen: list[str] | None, percent: list[str] | None) -> Any:
        if not feature or not chosen:
            return None
        comparison = comparison_of(ctx, chosen, bool(percent))
        if feature not in comparison.histograms or comparison.histograms[feature] is None:
            return ui.note(f"{feature} has no values to draw a histogram of.")
        return ui.graph("data-overview-detail-graph", feature_figure(comparison, feature))


def comparison_of(ctx: AppContext, chosen: list[str], percent: bool) -> Comparison:
    """The chosen profiles side by side (cached: sorting only reorders it)."""
    version = ctx.logdir.version() if ctx.logdir is not None else None
    return _COMPARISONS.get(
        (tuple(chosen), percent, id(ctx), version),
        lambda: compare(*sources.named_profiles(ctx, chosen), normalize=percent),
    )


def _matching(order: list[str], pattern: str | None) -> tuple[list[str], str]:
    compiled = compile_filter(pattern)
    if compiled is None:
        return order, ""
    message = " (not a valid regular expression: matched as text)" if compiled.message else ""
    return [f for f in order if compiled.search(f)], message


def _summary(ctx: AppContext, chosen: list[str], comparison: Comparison, matched: int, message: str) -> str:
    rows = ", ".join(f"{p.name}: {p.rows:,} rows" for p in sources.named_profiles(ctx, chosen))
    total = len(comparison.order)
    count = f"{total} features" if matched == total else f"{matched} of {total} features match{message}"
    if matched > MAX_FEATURES:
        count += f"; the first {MAX_FEATURES} in this order are shown"
    if not comparison.has_distance:
        count += " · choose a second dataset to compare distributions"
    return f"{rows} · {count}"


def feature_tables(comparison: Comparison, features: list[str]) -> list[Any]:
    """Numeric, categorical and other features in three tables, each in the comparison's order."""
    summary = comparison.summary
    kind = {}
    for feature in features:
        hist = comparison.histograms.get(feature) or {}
        types = set(summary.loc[summary["feature"] == feature, "type"])
        kind[feature] = hist.get("kind") or ("numeric" if types <= {"int", "float", "bool"} and types else "other")
    colors = category_colors(comparison.datasets)
    legend = (
        html.Div(
            style={"display": "flex", "gap": "16px", "fontSize": "13px", "margin": "0 0 6px"},
            children=[html.Span([_swatch(colors[name]), name]) for name in comparison.datasets],
        )
        if len(comparison.datasets) > 1
        else None
    )
    parts: list[Any] = [legend]
    for title, wanted, stats in (
        ("Numeric features", "numeric", NUMERIC_STATS),
        ("Categorical features", "categorical", CATEGORICAL_STATS),
        ("Other features", "other", OTHER_STATS),
    ):
        chosen = [f for f in features if kind[f] == wanted]
        if chosen:
            parts.append(ui.section(f"{title} ({len(chosen)})"))
            parts.append(_table(comparison, chosen, stats, colors, histogram=wanted != "other"))
    if len(parts) == 1:
        parts.append(ui.note("No feature matches."))
    return parts


def _swatch(color: str) -> Any:
    return html.Span(
        style={
            "display": "inline-block",
            "width": "10px",
            "height": "10px",
            "background": color,
            "marginRight": "6px",
            "borderRadius": "2px",
        }
    )


def _table(comparison: Comparison, features: list[str], stats: list, colors: dict[str, str], *, histogram: bool) -> Any:
    many = len(comparison.datasets) > 1
    score_key = comparison.sort if comparison.sort != "name" else "distance"
    if score_key == "missing" or (score_key == "distance" and not comparison.has_distance):
        score_key = None  # missing: its column shows it per dataset; distance: needs two datasets
    head = [html.Th("Feature", style={**_HEAD, "textAlign": "left"})]
    if many:
        head.append(html.Th("Dataset", style={**_HEAD, "textAlign": "left"}))
    head += [html.Th(title, style=_HEAD) for _, title, _ in stats]
    if score_key:
        title, explanation = SCORE_TITLES[score_key]
        head.append(html.Th(title, title=explanation, style={**_HEAD, "cursor": "help"}))
    if histogram:
        head.append(html.Th("Histogram", style={**_HEAD, "textAlign": "left"}))
    scores = comparison.scores.set_index("feature")
    bodies = []
    for feature in features:
        rows = comparison.summary[comparison.summary["feature"] == feature]
        span = len(rows)
        trs = []
        for i, (_, row) in enumerate(rows.iterrows()):
            cells = []
            if i == 0:
                cells.append(
                    html.Td(
                        feature,
                        rowSpan=span,
                        style={
                            **_CELL,
                            "textAlign": "left",
                            "fontWeight": 600,
                            "whiteSpace": "normal",
                            "maxWidth": "220px",
                            "overflowWrap": "anywhere",
                        },
                    )
                )
            if many:
                cells.append(
                    html.Td(
                        [_swatch(colors[row["dataset"]]), row["dataset"]],
                        style={**_CELL, "textAlign": "left", "color": "#52606D"},
                    )
                )
            for name, _, fmt in stats:
                value = row[name]
                text = fmt(value) if value is not None and str(value) not in ("nan", "<NA>", "None") else ""
                style = {**_CELL, "textAlign": "left"} if fmt is str else _CELL
                if name == "missing" and value and value > 0:
                    style = {**style, "color": ui.BAD}
                cells.append(html.Td(text, style=style))
            if i == 0 and score_key:
                cells.append(html.Td(ui.number(scores.loc[feature, score_key]), rowSpan=span, style=_CELL))
            if i == 0 and histogram:
                cells.append(html.Td(_spark(comparison, feature), rowSpan=span, style={**_CELL, "padding": "2px 8px"}))
            trs.append(html.Tr(cells))
        attributes: dict[str, Any] = {"data-feature": feature}  # Dash takes data-* only as **kwargs
        bodies.append(html.Tbody(trs, style=_GROUP, **attributes))
    return html.Div(
        style={"overflowX": "auto"},
        children=html.Table(
            [html.Thead(html.Tr(head)), *bodies],
            className="data-overview-table",
            style={"borderCollapse": "collapse", "fontSize": "13px", "width": "100%"},
        ),
    )


def _spark(comparison: Comparison, feature: str) -> Any:
    if not comparison.histograms.get(feature):
        return html.Span("no values", style={"color": "#9AA5B1"})
    return dcc.Graph(
        figure=sparkline_figure(comparison, feature, width=SPARK_WIDTH, height=SPARK_HEIGHT),
        config={"displayModeBar": False},
        style={"width": f"{SPARK_WIDTH}px", "height": f"{SPARK_HEIGHT}px"},
    )
