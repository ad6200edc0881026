"""Where the Evaluate page's examples come from, and how a live model is run on them.

A source is a predictions table: one logged in a run (``run.log_table("predictions", table)``, as
``ds.evaluate.predictions(..., run=run)`` does), or one computed here from a registered dataset and
a live model. Live models run on a table's input columns: text models on its text column, other
models on its numeric columns as a float32 matrix, or, when there are categorical columns, a
callable model on the DataFrame of input columns (so it can encode them itself).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deepscope.app.cache import Cache
from deepscope.app.live import MODEL_ERRORS as MODEL_ERRORS  # what the views catch from a model
from deepscope.app.plugin import AppContext
from deepscope.errors import InvalidArgumentError, UnsupportedModelError
from deepscope.evaluate.predictions import predictions
from deepscope.evaluate.query import query
from deepscope.evaluate.side_by_side import input_columns

log = logging.getLogger(__name__)

_CACHE_SIZE = 8
_MAX_CATEGORIES = 30


@dataclass(frozen=True, eq=False)
class Source:
    """A predictions table and what the page needs to know about it."""

    key: str
    name: str
    run: str | None
    table: pd.DataFrame
    inputs: list[str]
    text: str | None  # the column text models read, for text data
    classes: list[Any]  # class values, in the order of the score_<class> columns
    has_label: bool
    binary: bool  # a binary classifier's table with labels and a ``score`` column

    def position(self, example: Any) -> int | None:
        """Where the example whose index label reads ``example`` is, or None."""
        if example is None:
            return None
        found = np.flatnonzero(self.table.index.astype(str) == str(example))
        return int(found[0]) if len(found) else None

    @property
    def sliceable(self) -> list[str]:
        """Input columns to slice by: numbers (binned) and columns of a few distinct values."""
        return [c for c in self.inputs if c != self.text and _is_sliceable(self.table[c])]

    @property
    def categorical(self) -> list[str]:
        """Input columns of a few distinct values (not numbers): groups for fairness."""
        return [c for c in self.sliceable if not _is_number_column(self.table[c])]

    @property
    def numeric(self) -> list[str]:
        return [c for c in self.inputs if _is_number_column(self.table[c])]


_SOURCES = Cache(_CACHE_SIZE)


def is_predictions_tag(tag: str) -> bool:
    return "prediction" in tag.lower()


def logged_tables(ctx: AppContext) -> list[tuple[str, str]]:
    """(run, tag) of every predictions table in the logdir, in run order."""
    if ctx.logdir is None:
        return []
    found = []
    for run in ctx.logdir.run_names():
        found.extend((run, tag) for tag in ctx.logdir.tables(run) if is_predictions_tag(tag))
    return found


def has_logged_table(ctx: AppContext) -> bool:
    """Whether any run holds a predictions table; stops at the first one."""
    if ctx.logdir is None:
        return False
    from deepscope.app.series import SeriesSource

    # the shared source caches each run's tags by its signature: cheap on every navigation
    source = SeriesSource.shared(ctx.logdir)
    return any(is_predictions_tag(tag) for tags in source.tags_by_run("tables").values() for tag in tags)


def table_key(run: str, tag: str) -> str:
    return json.dumps(["table", run, tag])


def live_key(dataset: str, model: str) -> str:
    return json.dumps(["live", dataset, model])


def source_options(ctx: AppContext) -> list[dict[str, str]]:
    """Dropdown options: logged tables, then each registered dataset with each live model."""
    options = [{"label": f"{run} · {tag}", "value": table_key(run, tag)} for run, tag in logged_tables(ctx)]
    for dataset in ctx.datasets:
        for model in ctx.models:
            options.append({"label": f"{dataset} · {model} (live)", "value": live_key(dataset, model)})
    return options


def load(ctx: AppContext, key: str) -> Source:
    """The source a dropdown value names (cached; a logged table is re-read when the logdir changed)."""
    try:
        kind, first, second = json.loads(key)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError("source", "a source from the list", repr(key)) from err
    if kind == "table":
        logdir = ctx.logdir
        if logdir is None:
            raise InvalidArgumentError("source", "a logged table (the app has no logdir)", key)
        version = logdir.version()
        return _SOURCES.get(
            (id(ctx), key, version),
            lambda: describe(key, f"{first} · {second}", first, logdir.table(first, second)),
        )
    if kind == "live":
        return _SOURCES.get(
            (id(ctx), key), lambda: describe(key, f"{first} · {second}", None, _live_table(ctx, first, second))
        )
    raise InvalidArgumentError("source", "a logged or a live source", kind)


def describe(key: str, name: str, run: str | None, table: pd.DataFrame) -> Source:
    """A ``Source`` for ``table``: its input columns, text column, classes."""
    if "prediction" not in table.columns:
        raise InvalidArgumentError(
            "source", "a predictions table (with a 'prediction' column)", f"columns {list(table.columns)[:12]}"
        )
    inputs = input_columns(table)
    classes = _classes(table)
    has_label = "label" in table.columns
    binary = has_label and "score" in table.columns and len(classes) == 2
    return Source(
        key=key,
        name=name,
        run=run,
        table=table,
        inputs=inputs,
        text=_text_column(table, inputs),
        classes=classes,
        has_label=has_label,
        binary=binary,
    )


def _live_table(ctx: AppContext, dataset_name: str, model_name: str) -> pd.DataFrame:
    dataset = ctx.datasets[dataset_name]
    model = ctx.models[model_name]
    if isinstance(dataset, pd.DataFrame):
        label = "label" if "label" in dataset.columns else None
        features = [c for c in dataset.columns if c != label]
        return predictions(model, dataset, label=label, features=features, encode=_encoder(model, dataset[features]))
    if hasattr(dataset, "serving") and hasattr(dataset, "features"):  # TabularDataset: score the serving data
        frame = dataset.serving
        features = list(dataset.features)
        label = dataset.label if dataset.label in frame.columns else None
        return predictions(model, frame, label=label, features=features, encode=_encoder(model, frame[features]))
    return predictions(model, dataset)


def describe_error(err: BaseException) -> str:
    """An error as the page shows it: deepscope's own by their message, others with their type."""
    from deepscope.errors import ArgumentTypeError

    own = isinstance(err, (InvalidArgumentError, ArgumentTypeError, UnsupportedModelError))
    return str(err) if own else f"{type(err).__name__}: {err}"


def filtered(source: Source, text: str | None) -> pd.DataFrame:
    """The rows of the source that the filter query keeps (all of them without one)."""
    return source.table if not text else query(source.table, text)


def model_problem(model: Any, source: Source) -> str | None:
    """Why ``model`` cannot run on this source's examples, or None when it can."""
    if model.is_text and source.text is None:
        return f"{model.name} is a text model and this table has no text column."
    if not model.is_text and source.text is not None:
        return f"{model.name} is not a text model (it has no tokenizer) and this table holds texts."
    if (
        not model.is_text
        and _encoder_needed(source.table[_model_features(model, source)])
        and model.kind != "callable"
        and not model.accepts_frames
    ):
        return (
            f"{model.name} is a torch module and this table has categorical columns: register a "
            "callable that takes the DataFrame of input columns and encodes them."
        )
    return None


def run_model(model: Any, source: Source, frame: pd.DataFrame) -> pd.DataFrame:
    """The model's predictions table on the rows of ``frame`` (index kept, no label)."""
    problem = model_problem(model, source)
    if problem:
        raise UnsupportedModelError("model", "a model that takes this table's examples", problem)
    features = _model_features(model, source)
    strings = any(isinstance(c, str) for c in source.classes)
    return predictions(
        model,
        frame[features],
        label=None,
        features=features,
        labels=[str(c) for c in source.classes] if strings else None,
        encode=_encoder(model, frame[features]),
    )


def model_inputs_encoder(model: Any, source: Source) -> Callable[[pd.DataFrame], Any] | None:
    """The ``encode=`` that partial dependence and predictions need for ``model`` on ``source``."""
    return _encoder(model, source.table[_model_features(model, source)])


def model_features(model: Any, source: Source) -> list[str]:
    return _model_features(model, source)


def _model_features(model: Any, source: Source) -> list[str]:
    if model.is_text:
        return [source.text] if source.text else []
    return [c for c in source.inputs if c != source.text]


def _encoder(model: Any, part: pd.DataFrame) -> Callable[[pd.DataFrame], Any] | None:
    if getattr(model, "is_text", False) or not _encoder_needed(part):
        return None
    return _frame_itself


def _frame_itself(frame: pd.DataFrame) -> pd.DataFrame:
    """Callables get the DataFrame of input columns as it is, to encode themselves."""
    return frame


def _encoder_needed(part: pd.DataFrame) -> bool:
    return any(not _is_number_column(part[c]) for c in part.columns)


def _is_number_column(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)


def _is_sliceable(column: pd.Series) -> bool:
    if _is_number_column(column):
        return True  # slices() bins numbers
    return 1 <= column.nunique(dropna=True) <= _MAX_CATEGORIES


def _text_column(table: pd.DataFrame, inputs: list[str]) -> str | None:
    """The column of free text: ``text`` when it holds strings, else a string column whose values
    are mostly distinct and several words long."""
    strings = [c for c in inputs if pd.api.types.is_string_dtype(table[c].dtype) or table[c].dtype == object]
    if "text" in strings:
        return "text"
    for column in strings:
        values = table[column].dropna().astype(str)
        if len(values) and values.nunique() > 0.5 * len(values) and values.str.split().map(len).mean() >= 3:
            return column
    return None


def _classes(table: pd.DataFrame) -> list[Any]:
    names = [str(c)[len("score_") :] for c in table.columns if str(c).startswith("score_")]
    if not names:
        return []
    prediction = table["prediction"]
    if pd.api.types.is_bool_dtype(prediction.dtype):
        return [name == "True" for name in names]
    if pd.api.types.is_integer_dtype(prediction.dtype) and all(n.lstrip("-").isdigit() for n in names):
        return [int(n) for n in names]
    return names
