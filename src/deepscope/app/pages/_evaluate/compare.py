"""Compare view (after LIT): models side by side on the same examples, disagreements first;
generators that make new examples and every live model's prediction on them; token salience."""

from __future__ import annotations

import json
import logging
from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, dcc, html

from deepscope.app.cache import Cache
from deepscope.app.pages._evaluate import data, ui
from deepscope.app.plugin import AppContext
from deepscope.errors import InvalidArgumentError
from deepscope.evaluate.generators import rule_generator, scrambler, token_ablation, word_replacer
from deepscope.evaluate.side_by_side import compare_generated, from_tables, salience

log = logging.getLogger(__name__)

MAX_LIVE_ROWS = 3000  # live models are run on at most this many examples of the table
MAX_ROWS_SHOWN = 500
MAX_CANDIDATES = 12
MAX_GENERATOR_SOURCES = 5
GENERATOR_NAMES = {
    "word_replacer": "Word replacer",
    "scrambler": "Scrambler",
    "token_ablation": "Token ablation",
    "rule": "Rewrite rule",
}
DEFAULT_INPUT = {
    "word_replacer": "good -> bad, bad -> good, not -> ",
    "scrambler": "",
    "token_ablation": "",
    "rule": 'remove_token(text, "not")',
}
DISAGREE = "#FBEAEC"
FLIPPED = "#FCEFD9"

_LIVE = Cache(16)


def layout(ctx: AppContext, source: data.Source, state: dict) -> Any:
    entries = candidates(ctx, source)
    default = [e["value"] for e in entries if e["kind"] == "table"] or [e["value"] for e in entries]
    generators = source.text is not None
    return html.Div(
        [
            html.Div(
                style=ui.ROW,
                children=[
                    ui.field(
                        f"Compare {entry_name(ctx, source, None)} with",
                        dcc.Dropdown(
                            id="evaluate-compare-with",
                            options=[{"label": e["label"], "value": e["value"]} for e in entries],
                            value=default,
                            multi=True,
                            style={"minWidth": "420px"},
                            placeholder="other predictions tables of these examples, or live models",
                        ),
                        "evaluate-compare-with",
                    ),
                ],
            ),
            html.Div(id="evaluate-compare-message"),
            ui.figure_slot("evaluate-compare-figure"),
            ui.table("evaluate-compare-table", page_size=10, wide=("c0",)),
            html.H3("Generators", style=ui.SECTION),
            html.Div(
                hidden=not generators,
                children=[
                    ui.note(
                        "New examples from the picked example (or the first five shown), and every live model's "
                        "prediction on them."
                    ),
                    html.Div(
                        style=ui.ROW,
                        children=[
                            ui.field(
                                "Generator",
                                ui.dropdown(
                                    "evaluate-compare-generator",
                                    [{"label": v, "value": k} for k, v in GENERATOR_NAMES.items()],
                                    "word_replacer",
                                ),
                                "evaluate-compare-generator",
                            ),
                            ui.field(
                                "Pairs (old -> new, ...) or rule",
                                dcc.Input(
                                    id="evaluate-compare-generator-input",
                                    type="text",
                                    value=DEFAULT_INPUT["word_replacer"],
                                    className="ds-input",
                                    style={"width": "360px"},
                                ),
                                "evaluate-compare-generator-input",
                            ),
                            html.Button("Generate", id="evaluate-compare-generate", n_clicks=0, style=ui.BUTTON),
                        ],
                    ),
                    html.Div(id="evaluate-compare-generated-message"),
                    ui.figure_slot("evaluate-compare-generated-figure"),
                    ui.table("evaluate-compare-generated-table", page_size=10, wide=("c2",)),
                ],
            ),
            html.Div(hidden=generators, children=ui.note("Generators work on text examples.")),
            html.H3("Salience", style=ui.SECTION),
            html.Div(id="evaluate-compare-salience-message"),
            ui.figure_slot("evaluate-compare-salience"),
        ]
    )


def register(app: dash.Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("evaluate-compare-figure", "children"),
        Output("evaluate-compare-table", "data"),
        Output("evaluate-compare-table", "columns"),
        Output("evaluate-compare-table", "style_data_conditional"),
        Output("evaluate-compare-message", "children"),
        Input("evaluate-compare-with", "value"),
        Input("evaluate-filter", "data"),
        Input("evaluate-selected", "data"),
        State("evaluate-source", "value"),
    )
    def update(chosen: list | None, filter_text: str | None, selected: Any, key: str) -> tuple:
        source = data.load(ctx, key)
        if not chosen:
            return None, [], [], [], ui.note("Choose another predictions table or a live model to compare with.")
        try:
            rows = data.filtered(source, filter_text)
            if rows.empty:
                raise InvalidArgumentError("filter", "a filter that keeps at least one example", "no examples")
            result, capped = comparison(ctx, source, chosen, rows.index)
        except data.MODEL_ERRORS as err:
            return None, [], [], [], ui.error_box(data.describe_error(err))
        frame = result.frame
        shown = _shown(frame, result)
        columns, records = ui.records(ui.rounded_confidences(shown.head(MAX_ROWS_SHOWN)), digits=6)
        agree = next(c["id"] for c in columns if c["name"] == "all agree")
        styles = [
            {"if": {"filter_query": f'{{{agree}}} = "no"'}, "backgroundColor": DISAGREE},
            *ui.selected_style(selected),
        ]
        where = "examples the filter keeps" if filter_text else "examples"
        notes = [
            f"The models disagree on {int((~frame['agree']).sum()):,} of the {len(frame):,} {where}; "
            "the table lists those first (shaded). Click a row to pick an example for salience and the "
            "generators."
        ]
        if capped:
            notes.append(f"Live models ran on the first {MAX_LIVE_ROWS:,} examples of the table.")
        if len(frame) > MAX_ROWS_SHOWN:
            notes.append(f"The table lists the first {MAX_ROWS_SHOWN} (filter to see others).")
        return (
            ui.filled_slot("evaluate-compare-figure", result.figure()),
            records,
            columns,
            styles,
            ui.note(" ".join(notes)),
        )

    @app.callback(
        Output("evaluate-selected", "data", allow_duplicate=True),
        Input("evaluate-compare-table", "active_cell"),
        prevent_initial_call=True,
    )
    def pick(cell: dict | None) -> Any:
        return cell["row_id"] if cell and cell.get("row_id") is not None else dash.no_update

    @app.callback(
        Output("evaluate-compare-generator-input", "value"),
        Output("evaluate-compare-generator-input", "disabled"),
        Input("evaluate-compare-generator", "value"),
        prevent_initial_call=True,
    )
    def default_input(generator: str) -> tuple:
        return DEFAULT_INPUT.get(generator, ""), generator in ("scrambler", "token_ablation")

    @app.callback(
        Output("evaluate-compare-generated-figure", "children"),
        Output("evaluate-compare-generated-table", "data"),
        Output("evaluate-compare-generated-table", "columns"),
        Output("evaluate-compare-generated-table", "style_data_conditional"),
        Output("evaluate-compare-generated-message", "children"),
        Input("evaluate-compare-generate", "n_clicks"),
        State("evaluate-compare-generator", "value"),
        State("evaluate-compare-generator-input", "value"),
        State("evaluate-compare-with", "value"),
        State("evaluate-selected", "data"),
        State("evaluate-filter", "data"),
        State("evaluate-source", "value"),
        State("evaluate-model", "value"),
        prevent_initial_call=True,
    )
    def generate(
        _n: int,
        generator: str,
        text_input: str | None,
        chosen: list | None,
        selected: Any,
        filter_text: str | None,
        key: str,
        model: str | None,
    ) -> tuple:
        source = data.load(ctx, key)
        models = live_models(ctx, source, chosen or [], model)
        if not models:
            return (
                None,
                [],
                [],
                [],
                ui.note("Register live text models (ds.serve(..., models=...)) to run them on new examples."),
            )
        try:
            texts = _target_texts(source, selected, filter_text)
            generated = _generate(generator, texts, text_input or "")
            result = compare_generated(models, generated, labels=_labels(source))
        except data.MODEL_ERRORS as err:
            return None, [], [], [], ui.error_box(data.describe_error(err))
        if not len(result.frame):
            return (
                None,
                [],
                [],
                [],
                ui.note(f"The {GENERATOR_NAMES[generator].lower()} made no new example from the {len(texts)} chosen."),
            )
        shown = pd.DataFrame(
            {
                "source #": result.frame["source"].astype(str),
                "change": result.frame["change"],
                "new example": result.frame["text"],
            }
        )
        for name in result.models:
            shown[f"{name}"] = [
                _arrow(old, new)
                for old, new in zip(
                    result.frame[f"original_prediction_{name}"], result.frame[f"prediction_{name}"], strict=True
                )
            ]
        columns, records = ui.records(shown, row_ids=False)
        styles = [
            {
                "if": {"filter_query": f'{{{c["id"]}}} contains "→"', "column_id": c["id"]},
                "backgroundColor": FLIPPED,
                "fontWeight": 600,
            }
            for c in columns[3:]
        ]
        note = ui.note(
            f"{len(result.frame)} new examples from {len(texts)} example(s); a cell with → is a "
            "prediction the change flipped (before → after)."
        )
        figure = result.figure().update_layout(height=320)
        return ui.filled_slot("evaluate-compare-generated-figure", figure), records, columns, styles, note

    @app.callback(
        Output("evaluate-compare-salience", "children"),
        Output("evaluate-compare-salience-message", "children"),
        Input("evaluate-selected", "data"),
        Input("evaluate-compare-with", "value"),
        State("evaluate-filter", "data"),
        State("evaluate-source", "value"),
        State("evaluate-model", "value"),
    )
    def show_salience(
        selected: Any, chosen: list | None, filter_text: str | None, key: str, model: str | None
    ) -> tuple:
        source = data.load(ctx, key)
        if source.text is None:
            return None, ui.note("Token salience is for text examples.")
        models = {
            name: m
            for name, m in live_models(ctx, source, chosen or [], model).items()
            if m.module is not None and m.is_text
        }
        if not models:
            return None, ui.note(
                "Register live text models (torch modules with a tokenizer) to see which tokens each one relied on."
            )
        try:
            texts = _target_texts(source, selected, filter_text, limit=1)
            result = salience(models, texts.tolist())
        except data.MODEL_ERRORS as err:
            return None, ui.error_box(data.describe_error(err))
        note = ui.note(
            f"Example #{texts.index[0]}: gradient × input at the token embeddings, towards each "
            "model's predicted class (red pushes towards it, blue away)."
        )
        return ui.filled_slot("evaluate-compare-salience", result.figure(example=0)), note


def candidates(ctx: AppContext, source: data.Source) -> list[dict[str, str]]:
    """What the source can be compared with: logged tables over the same examples, live models."""
    entries = []
    for run, tag in data.logged_tables(ctx):
        key = data.table_key(run, tag)
        if key == source.key or len(entries) >= MAX_CANDIDATES:
            continue
        try:
            other = data.load(ctx, key)
        except (InvalidArgumentError, OSError, ValueError):
            log.warning("predictions table %s of run %s could not be read", tag, run)
            continue
        if _same_examples(source, other):
            entries.append({"kind": "table", "value": key, "label": f"{run} · {tag}"})
    runs = {source.run, *(json.loads(e["value"])[1] for e in entries)}
    for name in ctx.models:
        if name in runs:
            continue  # registered under its run's name: the model that made that run's table
        try:
            problem = data.model_problem(ctx.models[name], source)
        except data.MODEL_ERRORS:  # a model that fails to load is left out; the page goes on
            log.exception("live model %r could not be loaded", name)
            continue
        if problem is None:
            entries.append({"kind": "model", "value": json.dumps(["model", name]), "label": f"{name} (live)"})
    return entries


def entry_name(ctx: AppContext, source: data.Source, value: str | None) -> str:
    """The column name of an entry: the source's run, another table's run, or a live model's name."""
    if value is None:
        return source.run or source.name
    kind, *rest = json.loads(value)
    if kind == "table":
        return rest[0]
    return f"{rest[0]} (live)"


def comparison(ctx: AppContext, source: data.Source, chosen: list[str], index: Any) -> tuple[Any, bool]:
    """The side-by-side result of the source and the chosen entries on the examples of ``index``
    (with live models, only those among the table's first ``MAX_LIVE_ROWS``)."""
    live = [v for v in chosen if json.loads(v)[0] == "model"]
    capped = bool(live) and len(source.table) > MAX_LIVE_ROWS
    first = source.table.index[:MAX_LIVE_ROWS] if capped else source.table.index
    index = first[first.isin(index)]
    if len(index) == 0:
        raise InvalidArgumentError("filter", f"examples among the first {MAX_LIVE_ROWS:,}", "none")
    tables = {entry_name(ctx, source, None): source.table.loc[index]}
    for value in chosen:
        name = entry_name(ctx, source, value)
        kind, *rest = json.loads(value)
        if kind == "table":
            tables[name] = data.load(ctx, value).table.loc[index]
        else:
            tables[name] = _live_predictions(ctx, source, rest[0], len(first)).loc[index]
    inputs = [source.text] if source.text else source.inputs[:4]
    return from_tables(tables, inputs=inputs, label="label" if source.has_label else None), capped


def live_models(ctx: AppContext, source: data.Source, chosen: list[str], model: str | None) -> dict[str, Any]:
    """Live models for the compared entries: the page's model for the source, a table's run's model
    when registered under the run's name, and the chosen live models."""
    names: dict[str, str] = {}
    if model:
        names[entry_name(ctx, source, None)] = model
    for value in chosen:
        kind, *rest = json.loads(value)
        registered = rest[0] if rest[0] in ctx.models else None
        if registered and registered not in names.values():
            names[entry_name(ctx, source, value)] = registered
    found = {}
    for shown, name in names.items():
        if name in ctx.models and data.model_problem(ctx.models[name], source) is None:
            found[shown] = ctx.models[name]
    return found


def _live_predictions(ctx: AppContext, source: data.Source, name: str, n: int) -> pd.DataFrame:
    model = ctx.models[name]
    return _LIVE.get((id(ctx), source.key, name, n), lambda: data.run_model(model, source, source.table.iloc[:n]))


def _same_examples(source: data.Source, other: data.Source) -> bool:
    a, b = source.table, other.table
    if len(a) != len(b) or not a.index.equals(b.index):
        return False
    if source.text is not None:
        return other.text == source.text and a[source.text].equals(b[source.text])
    return True


def _shown(frame: pd.DataFrame, result: Any) -> pd.DataFrame:
    shown = frame[list(result.inputs)].copy()
    if "label" in frame:
        shown["label"] = frame["label"]
    for name in result.models:
        shown[f"prediction · {name}"] = frame[f"prediction_{name}"]
        shown[f"confidence · {name}"] = frame[f"confidence_{name}"]
    shown["all agree"] = frame["agree"]
    return shown


def _target_texts(
    source: data.Source, selected: Any, filter_text: str | None, limit: int = MAX_GENERATOR_SOURCES
) -> pd.Series:
    """The picked example's text, else the first ``limit`` texts the filter keeps."""
    position = source.position(selected)
    if position is not None:
        return source.table[source.text].iloc[[position]].astype(str)
    rows = data.filtered(source, filter_text)
    if rows.empty:
        raise InvalidArgumentError("filter", "a filter that keeps at least one example", "no examples")
    return rows[source.text].iloc[:limit].astype(str)


def _generate(generator: str, texts: pd.Series, text_input: str) -> Any:
    if generator == "word_replacer":
        return word_replacer(texts, text_input)
    if generator == "scrambler":
        return scrambler(texts, n=3)
    if generator == "token_ablation":
        return token_ablation(texts)
    if generator == "rule":
        return rule_generator(texts, text_input)
    raise InvalidArgumentError("generator", f"one of {list(GENERATOR_NAMES)}", generator)


def _labels(source: data.Source) -> list[str] | None:
    return [str(c) for c in source.classes] if any(isinstance(c, str) for c in source.classes) else None


def _arrow(old: Any, new: Any) -> str:
    return str(new) if old == new else f"{old} → {new}"
