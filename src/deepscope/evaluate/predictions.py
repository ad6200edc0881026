"""A predictions table: one row per example with its label, the model's prediction and scores.

Every other evaluate function reads this table, so its column names are the defaults they use:
``label``, ``prediction``, ``score_<class>`` for each class, ``score`` (the positive class of a
binary classifier), ``confidence``, ``correct`` and ``loss``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, ShapeError
from deepscope.evaluate._common import require_column
from deepscope.evaluate._model import Encoder, model_inputs, model_outputs

__all__ = ["predictions", "RESERVED_COLUMNS"]

RESERVED_COLUMNS = ("label", "prediction", "score", "confidence", "correct", "loss", "error")
_TASKS = ("auto", "classification", "regression")
_EPS = np.finfo(np.float64).eps


def predictions(
    model: Any,
    data: Any,
    *,
    label: str | Sequence[Any] | np.ndarray | None = "label",
    features: str | Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    task: str = "auto",
    encode: Encoder | None = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    run: Any = None,
    tag: str = "predictions",
) -> pd.DataFrame:
    """Run ``model`` on ``data`` and return one row per example (the index of ``data`` is kept).

    Args:
        model: anything ``deepscope.Model`` accepts (a torch module, a Hugging Face model, a
            callable on numpy arrays such as a fitted estimator's ``predict_proba``).
        data: a DataFrame of features (and label), a ``TextDataset``/``ImageDataset``, a list of
            texts or an array of inputs.
        label: the label column of ``data``, an array of labels, or None for unlabelled data.
        features: the columns the model reads (default: every column but the label). One text
            column is passed as a list of strings; numeric columns as a float32 matrix.
        labels: class names, needed when the labels are strings (else ``Model.labels`` is used).
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (two or more outputs, or one
            output with 0/1 labels, is a classifier).
        encode: turns ``data[features]`` into model inputs (for example one-hot categories).
        run: when given, the table is also stored with ``run.log_table(tag, table)``.

    Returns:
        The feature columns, then ``label``, ``prediction``, and for classifiers ``score_<class>``
        per class (plus ``score`` for the positive class of a binary one), ``confidence``,
        ``correct`` and ``loss`` (cross-entropy); for regressors ``error`` and ``loss`` (squared).

    >>> import numpy as np, pandas as pd
    >>> frame = pd.DataFrame({"x": [-2.0, -1.0, 1.0, 3.0], "label": [0, 0, 1, 0]})
    >>> logits = lambda x: np.column_stack([-x[:, 0], x[:, 0]])
    >>> predictions(logits, frame)[["prediction", "correct"]].to_numpy().tolist()
    [[0, True], [0, True], [1, True], [1, False]]
    """
    from deepscope.model import Model

    if task not in _TASKS:
        raise InvalidArgumentError("task", f"one of {_TASKS}", task)
    adapter = Model(model)
    table, inputs, label_values = _gather(data, label, features, encode)
    outputs = model_outputs(adapter, inputs, batch_size=batch_size, progress=progress)
    if len(outputs) != len(table):
        raise ShapeError("model", f"one output row per example ({len(table)})", outputs)
    if task == "auto":
        task = _infer_task(outputs, label_values)
    if task == "regression":
        _add_regression(table, outputs, label_values)
    else:
        names = list(labels) if labels is not None else getattr(adapter, "labels", None)
        _add_classification(table, adapter.probabilities(outputs), label_values, names)
    if run is not None:
        run.log_table(tag, table)
    return table


def _gather(
    data: Any, label: Any, features: Any, encode: Encoder | None
) -> tuple[pd.DataFrame, Any, np.ndarray | None]:
    """(table of feature columns, model inputs, label values) from any supported ``data``."""
    if hasattr(data, "frame") and hasattr(data, "texts"):  # TextDataset
        data, features = data.frame, "text" if features is None else features
    if hasattr(data, "images") and hasattr(data, "labels"):  # ImageDataset
        label = data.labels if isinstance(label, str) else label
        data = data.images
    if isinstance(data, pd.DataFrame):
        return _gather_frame(data, label, features, encode)
    if isinstance(label, str):
        raise ArgumentTypeError("label", "an array of labels (or None) when data is not a DataFrame", label)
    if isinstance(data, (list, tuple)) and all(isinstance(t, str) for t in data):
        table = pd.DataFrame({"text": list(data)})
        inputs: Any = list(data)
    else:
        inputs = data
        array = np.asarray(inputs) if not hasattr(inputs, "detach") else inputs.detach().cpu().numpy()
        if array.ndim == 0:
            raise ShapeError("data", "one input per row", data)
        table = (
            pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
            if array.ndim == 2
            else pd.DataFrame(index=pd.RangeIndex(len(array)))
        )
    label_values = None if label is None else _label_array(label, len(table))
    return table, inputs, label_values


def _gather_frame(
    frame: pd.DataFrame, label: Any, features: Any, encode: Encoder | None
) -> tuple[pd.DataFrame, Any, np.ndarray | None]:
    label_values = None
    label_name = None
    if isinstance(label, str):
        label_values = require_column(frame, label, "label").to_numpy()
        label_name = label
    elif label is not None:
        label_values = _label_array(label, len(frame))
    if features is None:
        features = [c for c in frame.columns if c != label_name]
    elif isinstance(features, str):
        features = [features]
    features = list(features)
    for name in features:
        require_column(frame, name, "features")
    clash = [f for f in features if f in RESERVED_COLUMNS or str(f).startswith("score_")]
    if clash:
        raise InvalidArgumentError(
            "features",
            f"feature names other than {RESERVED_COLUMNS} and score_*",
            f"{clash!r}",
            "Rename those columns before calling predictions().",
        )
    if not features:
        raise InvalidArgumentError("features", "at least one feature column", "none")
    inputs = model_inputs(frame, features, encode)
    return frame[features].copy(), inputs, label_values


def _label_array(label: Any, n: int) -> np.ndarray:
    values = label.detach().cpu().numpy() if hasattr(label, "detach") else np.asarray(label)
    if values.ndim != 1 or len(values) != n:
        raise ShapeError("label", f"one label per example ({n})", values)
    return values


def _infer_task(outputs: np.ndarray, label_values: np.ndarray | None) -> str:
    if outputs.shape[1] >= 2:
        return "classification"
    if label_values is not None and set(pd.unique(label_values).tolist()) <= {0, 1}:
        return "classification"
    return "regression"


def _add_regression(table: pd.DataFrame, outputs: np.ndarray, label_values: np.ndarray | None) -> None:
    if outputs.shape[1] != 1:
        raise ShapeError("model", "one output per example for task='regression'", outputs)
    prediction = outputs[:, 0]
    if label_values is not None:
        truth = np.asarray(label_values, dtype=np.float64)
        table["label"] = truth
        table["prediction"] = prediction
        table["error"] = prediction - truth
        table["loss"] = (prediction - truth) ** 2
    else:
        table["prediction"] = prediction


def _add_classification(
    table: pd.DataFrame,
    probabilities: np.ndarray,
    label_values: np.ndarray | None,
    names: Sequence[str] | None,
) -> None:
    n_classes = probabilities.shape[1]
    string_labels = label_values is not None and any(isinstance(v, str) for v in label_values)
    if string_labels:
        if names is None:
            raise InvalidArgumentError(
                "labels",
                "class names, since the labels are strings",
                "None",
                "Pass labels=[...] in the order of the model's outputs.",
            )
        classes: list[Any] = list(names)
    elif label_values is not None and label_values.dtype == bool and n_classes == 2:
        classes = [False, True]
    else:
        classes = list(range(n_classes))
    if len(classes) != n_classes:
        raise ShapeError("labels", f"one name per model output ({n_classes})", list(classes))
    order = np.argmax(probabilities, axis=1)
    prediction = np.asarray(classes, dtype=object)[order]
    if label_values is not None:
        known = pd.Series(label_values).isin(classes).to_numpy()
        if not known.all():
            unknown = pd.unique(label_values[~known])[:5].tolist()
            raise InvalidArgumentError(
                "label",
                f"labels among the model's classes {classes!r}",
                f"labels {unknown!r}",
            )
        table["label"] = label_values
    table["prediction"] = pd.Series(prediction, index=table.index).infer_objects()
    for i, c in enumerate(classes):
        table[f"score_{c}"] = probabilities[:, i]
    if n_classes == 2:
        table["score"] = probabilities[:, 1]
    table["confidence"] = probabilities[np.arange(len(order)), order]
    if label_values is not None:
        index = pd.Index(classes).get_indexer(pd.Index(label_values))
        table["correct"] = order == index
        p_true = np.clip(probabilities[np.arange(len(index)), index], _EPS, 1.0 - _EPS)
        table["loss"] = -np.log(p_true)
