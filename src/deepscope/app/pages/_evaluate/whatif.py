"""What-if view (after the What-If Tool): edit an example and re-run the live model, keeping the
history of edits; the nearest counterfactual in the table; partial dependence of a feature."""

from __future__ import annotations

from typing import Any

import dash
import numpy as np
import pandas as pd
from dash import Input, Output, State, dcc, html

from deepscope.app.pages._evaluate import data, ui
from deepscope.app.plugin import AppContext
from deepscope.errors import InvalidArgumentError, UnsupportedModelError
from deepscope.evaluate.counterfactual import nearest_counterfactual
from deepscope.evaluate.dependence import partial_dependence
from deepscope.evaluate.query import QueryError

PDP_ROWS = 200
PDP_BATCH = 1024
CHANGED = "#FCEFD9"


def layout(ctx: AppContext, source: data.Source, state: dict) -> Any:
    text = source.text is not None
    features = [c for c in source.inputs if c != source.text]
    return html.Div(
        [
            html.H3("Example editor", style={**ui.SECTION, "marginTop": "8px"}),
            html.P(id="evaluate-whatif-which", style=ui.NOTE),
            html.Div(
                hidden=not text,
                children=dcc.Textarea(
                    id="evaluate-whatif-text",
                    value="",
                    spellCheck=False,
                    style={"width": "720px", "maxWidth": "100%", "height": "64px", "fontSize": "15px"},
                ),
            ),
            html.Div(
                hidden=text, children=ui.table("evaluate-whatif-editor", page_size=1, row_ids=False, editable=True)
            ),
            html.Div(
                style=ui.ROW,
                children=[
                    html.Button("Run model", id="evaluate-whatif-run", n_clicks=0, style=ui.BUTTON),
                    html.Div(id="evaluate-whatif-result", style={"fontSize": "15px"}),
                ],
            ),
            ui.note("Every run is kept below: the logged prediction first, then each edit."),
            ui.table("evaluate-whatif-history", page_size=10, row_ids=False, wide=("c1",)),
            html.Div(
                hidden=text,
                children=[
                    html.H3("Nearest counterfactual", style=ui.SECTION),
                    ui.note(
                        "The most similar example in the table that the model predicts differently "
                        "(L1 over standardised numbers; a changed category counts 1)."
                    ),
                    html.Div(id="evaluate-whatif-counterfactual-message"),
                    ui.figure_slot("evaluate-whatif-counterfactual"),
                    ui.table("evaluate-whatif-counterfactual-table", page_size=20, row_ids=False),
                    html.H3("Partial dependence", style=ui.SECTION),
                    html.Div(
                        style=ui.ROW,
                        children=[
                            ui.field(
                                "Feature",
                                ui.dropdown("evaluate-whatif-pdp-feature", features, features[0] if features else None),
                                "evaluate-whatif-pdp-feature",
                            ),
                        ],
                    ),
                    html.Div(id="evaluate-whatif-pdp-message"),
                    ui.figure_slot("evaluate-whatif-pdp"),
                ],
            ),
        ]
    )


def register(app: dash.Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("evaluate-whatif-which", "children"),
        Output("evaluate-whatif-text", "value"),
        Output("evaluate-whatif-editor", "data"),
        Output("evaluate-whatif-editor", "columns"),
        Output("evaluate-whatif-editor", "dropdown"),
        Input("evaluate-selected", "data"),
        Input("evaluate-filter", "data"),
        State("evaluate-source", "value"),
    )
    def fill_editor(selected: Any, filter_text: str | None, key: str) -> tuple:
        source = data.load(ctx, key)
        try:
            label, row = _example(source, selected, filter_text)
        except (InvalidArgumentError, QueryError) as err:
            return str(err), "", [], [], {}
        which = [
            f"Example #{label}",
            f" (label {ui.plain(row['label'], 6)})" if source.has_label else "",
            ". Pick another by clicking a row of the examples table.",
        ]
        features = [c for c in source.inputs if c != source.text]
        columns, dropdown = [], {}
        for i, name in enumerate(features):
            column = {"id": f"c{i}", "name": str(name), "editable": True}
            if name in source.categorical:
                column["presentation"] = "dropdown"
                values = sorted(str(v) for v in source.table[name].dropna().unique())
                dropdown[f"c{i}"] = {"options": [{"label": v, "value": v} for v in values], "clearable": False}
            elif name in source.numeric:
                column["type"] = "numeric"
            columns.append(column)
        record = {f"c{i}": ui.plain(row[name], 6) for i, name in enumerate(features)}
        text = str(row[source.text]) if source.text else ""
        return which, text, [record], columns, dropdown

    @app.callback(
        Output("evaluate-history", "data", allow_duplicate=True),
        Output("evaluate-whatif-result", "children"),
        Input("evaluate-whatif-run", "n_clicks"),
        State("evaluate-whatif-text", "value"),
        State("evaluate-whatif-editor", "data"),
        State("evaluate-selected", "data"),
        State("evaluate-filter", "data"),
        State("evaluate-source", "value"),
        State("evaluate-model", "value"),
        State("evaluate-history", "data"),
        prevent_initial_call=True,
    )
    def run(
        _n: int,
        text: str | None,
        editor: list | None,
        selected: Any,
        filter_text: str | None,
        key: str,
        model: str | None,
        history: list | None,
    ) -> tuple:
        if not _n:  # the view was just drawn: nothing was clicked
            return dash.no_update, dash.no_update
        source = data.load(ctx, key)
        if not model:
            return dash.no_update, ui.note("Choose a live model (top of the page) to re-run edited examples.")
        try:
            label, row = _example(source, selected, filter_text)
            edited = _edited(source, row, text, editor)
            fresh = data.run_model(ctx.models[model], source, edited).iloc[0]
        except data.MODEL_ERRORS as err:
            return dash.no_update, ui.error_box(data.describe_error(err))
        changes = [
            f"{c}: {ui.plain(row[c], 6)} → {ui.plain(edited.iloc[0][c], 6)}"
            for c in source.inputs
            if not _same(row[c], edited.iloc[0][c])
        ]
        entries = [h for h in (history or []) if h.get("example") == str(label)]
        entry = {
            "example": str(label),
            "edit": len(entries) + 1,
            "model": model,
            "changes": "; ".join(changes) if changes else "no change",
            "prediction": ui.plain(fresh["prediction"], 6),
            "confidence": ui.plain(fresh.get("confidence", np.nan), 3),
            "values": {str(c): ui.plain(edited.iloc[0][c], 12) for c in source.inputs},
        }
        before = ui.plain(row["prediction"], 6)
        flipped = entry["prediction"] != before
        result = [
            html.Strong(f"{model} predicts {entry['prediction']}", id="evaluate-whatif-prediction"),
            f" (confidence {entry['confidence']})" if entry["confidence"] is not None else "",
            html.Span(
                f" · logged prediction {before}" + (": changed" if flipped else ""),
                style={"color": "#B42318" if flipped else "#616E7C", "fontWeight": 600 if flipped else 400},
            ),
        ]
        return [*(history or []), entry], result

    @app.callback(
        Output("evaluate-whatif-history", "data"),
        Output("evaluate-whatif-history", "columns"),
        Output("evaluate-whatif-history", "style_data_conditional"),
        Input("evaluate-history", "data"),
        Input("evaluate-selected", "data"),
        Input("evaluate-filter", "data"),
        State("evaluate-source", "value"),
    )
    def show_history(history: list | None, selected: Any, filter_text: str | None, key: str) -> tuple:
        source = data.load(ctx, key)
        try:
            label, row = _example(source, selected, filter_text)
        except (InvalidArgumentError, QueryError):
            return [], [], []
        rows = [
            {
                "edit": "logged",
                "changes": "as in the table",
                "model": source.run or "",
                "prediction": row["prediction"],
                "confidence": row.get("confidence", np.nan),
            }
        ]
        rows += [
            {k: h[k] for k in ("edit", "changes", "model", "prediction", "confidence")}
            for h in (history or [])
            if h.get("example") == str(label)
        ]
        history_frame = ui.rounded_confidences(pd.DataFrame(rows).astype({"edit": str, "confidence": float}))
        columns, records = ui.records(history_frame, row_ids=False, digits=6)
        first = ui.plain(row["prediction"], 6)
        differs = f"{{c3}} != {filter_string(first)}" if isinstance(first, str) else f"{{c3}} != {first}"
        styles = [
            {
                "if": {"filter_query": f'{differs} && {{c0}} != "logged"', "column_id": "c3"},
                "backgroundColor": CHANGED,
                "fontWeight": 600,
            }
        ]
        return records, columns, styles

    @app.callback(
        Output("evaluate-whatif-counterfactual", "children"),
        Output("evaluate-whatif-counterfactual-table", "data"),
        Output("evaluate-whatif-counterfactual-table", "columns"),
        Output("evaluate-whatif-counterfactual-message", "children"),
        Input("evaluate-selected", "data"),
        Input("evaluate-history", "data"),
        Input("evaluate-filter", "data"),
        State("evaluate-source", "value"),
    )
    def counterfactual(selected: Any, history: list | None, filter_text: str | None, key: str) -> tuple:
        source = data.load(ctx, key)
        features = [c for c in source.inputs if c != source.text]
        if source.text is not None or not features:
            return None, [], [], None
        if not source.classes:
            return (
                None,
                [],
                [],
                ui.note("Counterfactuals look for a different predicted class: they need a classifier's table."),
            )
        try:
            label, row = _example(source, selected, filter_text)
            edits = [h for h in (history or []) if h.get("example") == str(label)]
            example: Any = label
            what = f"example #{label}"
            if edits:
                last = edits[-1]
                example = {
                    **{c: last["values"].get(str(c)) for c in features},
                    "prediction": _typed(source, last["prediction"]),
                }
                what = f"edit {last['edit']} of example #{label}"
            missing = [c for c in features if _is_missing(example, source, c)]
            if missing:
                return (
                    None,
                    [],
                    [],
                    ui.note(f"The {what} has no value for {', '.join(missing)}: distances need every feature."),
                )
            # rows with a missing feature have no distance; leave them out rather than rank them
            complete = source.table.dropna(subset=features)
            result = nearest_counterfactual(complete, example, features=features)
        except (InvalidArgumentError, QueryError, KeyError, TypeError) as err:
            return None, [], [], ui.error_box(str(err))
        frame = result.to_frame()[["feature", "example", "counterfactual", "differs"]]
        columns, records = ui.records(frame, row_ids=False, digits=6)
        note = ui.note(
            f"Nearest to {what}: #{result.counterfactual_index}, predicted "
            f"{result.counterfactual_prediction} instead of {result.example_prediction}."
        )
        return ui.filled_slot("evaluate-whatif-counterfactual", result.figure()), records, columns, note

    @app.callback(
        Output("evaluate-whatif-pdp", "children"),
        Output("evaluate-whatif-pdp-message", "children"),
        Input("evaluate-whatif-pdp-feature", "value"),
        Input("evaluate-model", "value"),
        State("evaluate-source", "value"),
    )
    def dependence(feature: str | None, model: str | None, key: str) -> tuple:
        source = data.load(ctx, key)
        if source.text is not None or not feature:
            return None, None
        if not model:
            return None, ui.note("Choose a live model (top of the page) to see partial dependence.")
        live = ctx.models[model]
        try:
            problem = data.model_problem(live, source)
            if problem:
                raise UnsupportedModelError("model", "a model for this table", problem)
            features = data.model_features(live, source)
            target = None if len(source.classes) <= 2 else 0
            result = partial_dependence(
                live,
                source.table[features],
                feature=feature,
                features=features,
                target=target,
                sample=PDP_ROWS,
                batch_size=PDP_BATCH,
                encode=data.model_inputs_encoder(live, source),
            )
        except data.MODEL_ERRORS as err:
            return None, ui.error_box(data.describe_error(err))
        shown = source.classes[result.target] if result.target < len(source.classes) else result.target
        return ui.filled_slot("evaluate-whatif-pdp", result.figure()), ui.note(
            f"Probability of class {shown} as {feature} varies, on {len(result.rows)} "
            "examples (faint lines: each example; bold: their mean)."
        )


def _example(source: data.Source, selected: Any, filter_text: str | None) -> tuple[Any, pd.Series]:
    """The picked example (index label, row), else the first one the filter keeps."""
    position = source.position(selected)
    if position is None:
        rows = data.filtered(source, filter_text)
        if rows.empty:
            raise InvalidArgumentError("filter", "a filter that keeps at least one example", "no examples")
        position = source.table.index.get_loc(rows.index[0])
    return source.table.index[position], source.table.iloc[position]


def _edited(source: data.Source, row: pd.Series, text: str | None, editor: list | None) -> pd.DataFrame:
    """A one-row frame of the example's inputs with the editor's values."""
    values = {c: row[c] for c in source.inputs}
    if source.text is not None:
        values[source.text] = text if text is not None else row[source.text]
    features = [c for c in source.inputs if c != source.text]
    if editor:
        for i, name in enumerate(features):
            value = editor[0].get(f"c{i}", values[name])
            values[name] = _cast(source.table[name], value)
    frame = pd.DataFrame([values], index=[row.name])
    for name in features:  # keep the table's dtypes, so numbers stay numbers
        if name in source.numeric:
            frame[name] = frame[name].astype(np.float64)
    return frame


def _cast(column: pd.Series, value: Any) -> Any:
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        if value is None or value == "":
            raise InvalidArgumentError(str(column.name), "a number", "an empty cell")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InvalidArgumentError(str(column.name), "a number", repr(value)) from None
    return value


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) or (pd.isna(a) and pd.isna(b))
    except (TypeError, ValueError):
        return False


def _is_missing(example: Any, source: data.Source, column: str) -> bool:
    value: Any = example.get(column) if isinstance(example, dict) else source.table.at[example, column]
    return value is None or bool(pd.isna(value))


def _typed(source: data.Source, prediction: Any) -> Any:
    """A prediction read back from the history store, as the table's own class value."""
    for value in source.classes:
        if str(value) == str(prediction) or ui.plain(value) == prediction:
            return value
    return prediction


def filter_string(text: str) -> str:
    """``text`` as a quoted string of a DataTable ``filter_query`` (quotes and backslashes escaped),
    so a class label such as ``say "hi"`` cannot end the string early and break the table."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
