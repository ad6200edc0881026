"""Side-by-side models (after LIT): two or more models on the same examples, disagreements first.

- ``side_by_side(models, data)``: run every model on the same data; one row per example with each
  model's prediction and confidence.
- ``from_tables(tables)``: the same from predictions tables already made (e.g. logged in runs).
- ``compare_generated(models, generated)``: every model on the new examples of a generator
  (``deepscope.evaluate.generators``), with each model's prediction on the original next to it.
- ``salience(models, texts)``: per-token salience of each model (gradient x input at the token
  embeddings, or any method of ``deepscope.explain``), so you see what each one looked at.

>>> import numpy as np, pandas as pd
>>> a = pd.DataFrame({"x": [1, 2, 3], "label": [0, 1, 1], "prediction": [0, 1, 0]})
>>> b = pd.DataFrame({"x": [1, 2, 3], "label": [0, 1, 1], "prediction": [0, 0, 0]})
>>> from_tables({"a": a, "b": b}).to_frame().index.tolist()  # disagreements first
[1, 0, 2]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    NotFoundError,
    UnsupportedModelError,
)
from deepscope.evaluate._common import require_column, require_frame
from deepscope.evaluate._model import Encoder
from deepscope.evaluate.generators import Generated
from deepscope.evaluate.predictions import RESERVED_COLUMNS
from deepscope.result import Result
from deepscope.validation import check_int

__all__ = [
    "SideBySide",
    "Salience",
    "side_by_side",
    "from_tables",
    "compare_generated",
    "salience",
    "input_columns",
]

PROVENANCE = ("source", "generator", "change", "original")


@dataclass(frozen=True, eq=False)
class SideBySide(Result):
    """Every model's prediction on the same examples, the examples where they disagree first.

    ``frame`` (original index): the input columns, ``label`` when known, then per model
    ``prediction_<m>``, ``confidence_<m>`` (and ``correct_<m>`` with labels), then ``agree``
    (every model predicts the same) and ``n_predictions`` (how many different predictions).
    Generated examples (``kind="generated"``) start with their provenance (``source, generator,
    change, original``) and add ``original_prediction_<m>`` and ``flipped_<m>`` per model.
    """

    frame: pd.DataFrame
    models: list[str]
    inputs: list[str]
    kind: str = "examples"  # "examples" | "generated"

    def to_frame(self) -> pd.DataFrame:
        """One row per example, disagreements first."""
        return self.frame.copy()

    def disagreements(self) -> pd.DataFrame:
        """The examples on which the models do not all predict the same."""
        return self.frame[~self.frame["agree"]].copy()

    @property
    def agreement_rate(self) -> float:
        """Share of the examples on which every model predicts the same (NaN with none)."""
        return float(self.frame["agree"].mean()) if len(self.frame) else float("nan")

    def agreement(self) -> pd.DataFrame:
        """Pairwise agreement: the share of examples on which model i and model j agree."""
        predictions = [self.frame[f"prediction_{m}"].to_numpy(dtype=object) for m in self.models]
        k = len(self.models)
        matrix = np.ones((k, k))
        for i in range(k):
            for j in range(i + 1, k):
                same = float(np.mean(predictions[i] == predictions[j])) if len(self.frame) else np.nan
                matrix[i, j] = matrix[j, i] = same
        return pd.DataFrame(matrix, index=self.models, columns=self.models)

    def accuracy(self) -> pd.Series | None:
        """Each model's accuracy on these examples (None without labels)."""
        if "label" not in self.frame or self.kind != "examples":
            return None
        return pd.Series({m: float(self.frame[f"correct_{m}"].mean()) for m in self.models}, name="accuracy")

    def flip_rates(self) -> pd.DataFrame:
        """Generated examples: per generator and model, the share whose prediction differs from the
        model's prediction on the original (``generator, model, n, flipped, flip_rate``)."""
        if self.kind != "generated":
            raise InvalidArgumentError("kind", "a comparison of generated examples", self.kind)
        rows = []
        for generator, part in self.frame.groupby("generator", sort=False):
            for m in self.models:
                flipped = int(part[f"flipped_{m}"].sum())
                rows.append(
                    {
                        "generator": generator,
                        "model": m,
                        "n": len(part),
                        "flipped": flipped,
                        "flip_rate": flipped / len(part) if len(part) else np.nan,
                    }
                )
        return pd.DataFrame(rows, columns=["generator", "model", "n", "flipped", "flip_rate"])

    default_tag = "side_by_side"
    #: Pairwise agreement (and accuracy) of the models; flip rates for generated examples.
    figure_function = "deepscope.viz.side_by_side:side_by_side_figure"


@dataclass(frozen=True, eq=False)
class Salience(Result):
    """Per-token salience of each model on each text.

    ``frame``: one row per model, example and token: ``model, example, position, token,
    salience, target, target_name`` (``target``: the class explained, by default each model's
    prediction; positive salience pushes towards it).
    """

    frame: pd.DataFrame
    texts: list[str]
    models: list[str]
    method: str

    def to_frame(self) -> pd.DataFrame:
        """One row per model, example and token."""
        return self.frame.copy()

    def tokens(self, model: str, example: int = 0) -> list[str]:
        """The tokens ``model`` saw in text number ``example``."""
        return self._part(model, example)["token"].tolist()

    def values(self, model: str, example: int = 0) -> np.ndarray:
        """One salience value per token of text number ``example`` for ``model``."""
        return self._part(model, example)["salience"].to_numpy(dtype=np.float64)

    default_tag = "salience"
    #: One row per model: its tokens coloured by salience (diverging, centred on zero).
    figure_function = "deepscope.viz.side_by_side:salience_figure"

    def _part(self, model: str, example: int) -> pd.DataFrame:
        if model not in self.models:
            raise NotFoundError("model", model, self.models)
        example = check_int(example, "example", low=0, high=len(self.texts) - 1)
        frame = self.frame
        return frame[(frame["model"] == model) & (frame["example"] == example)].sort_values("position")


# -- comparing predictions -------------------------------------------------------------------------


def side_by_side(
    models: Mapping[str, Any] | Sequence[Any],
    data: Any,
    *,
    label: str | Sequence[Any] | np.ndarray | None = "label",
    features: str | Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    encode: Encoder | None = None,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> SideBySide:
    """Run every model on ``data`` and line their predictions up, disagreements first.

    ``data``, ``label``, ``features``, ``labels`` and ``encode`` are as in
    ``deepscope.evaluate.predictions``; every model must take the same inputs.

    >>> import numpy as np
    >>> sign = lambda x: np.column_stack([-x[:, 0], x[:, 0]])
    >>> late = lambda x: np.column_stack([1 - x[:, 0], x[:, 0] - 1])
    >>> r = side_by_side({"sign": sign, "late": late}, np.array([[-1.0], [0.5], [2.0]]), label=None)
    >>> r.to_frame()[["prediction_sign", "prediction_late"]].values.tolist()
    [[1, 0], [0, 0], [1, 1]]
    """
    from deepscope.evaluate.predictions import predictions

    named = _named_models(models)
    tables = {
        name: predictions(
            model,
            data,
            label=label,
            features=features,
            labels=labels,
            encode=encode,
            batch_size=batch_size,
            progress=progress,
        )
        for name, model in named.items()
    }
    return from_tables(tables)


def from_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    inputs: Sequence[str] | None = None,
    label: str | None = "label",
    prediction: str = "prediction",
    confidence: str = "confidence",
) -> SideBySide:
    """Line up predictions tables of two or more models over the same examples (same index).

    ``inputs``: the columns shown for each example (default: the first table's input columns,
    see ``input_columns``). ``label=None`` leaves correctness out.
    """
    named = _named_tables(tables)
    first = next(iter(named.values()))
    index = first.index
    if index.has_duplicates:
        raise InvalidArgumentError("tables", "tables whose index names each example once", "a duplicated index")
    inputs = input_columns(first) if inputs is None else list(inputs)
    for column in inputs:
        require_column(first, column, "inputs")
    frame = first[inputs].copy()
    truth = None
    if label is not None and label in first.columns:
        truth = first[label]
        frame["label"] = truth
    for name, table in named.items():
        if not table.index.equals(index):
            if len(table) != len(index) or not table.index.sort_values().equals(index.sort_values()):
                raise InvalidArgumentError(
                    "tables",
                    "tables over the same examples (the same index)",
                    f"{name!r} has {len(table)} rows with other index labels than the {len(index)} of the first",
                )
            table = table.reindex(index)
        guess = require_column(table, prediction, "prediction")
        frame[f"prediction_{name}"] = guess.to_numpy()
        frame[f"confidence_{name}"] = table[confidence].to_numpy(dtype=np.float64) if confidence in table else np.nan
        if truth is not None:
            frame[f"correct_{name}"] = (guess == truth).to_numpy(dtype=bool)
    return SideBySide(frame=_order(frame, list(named)), models=list(named), inputs=inputs)


def compare_generated(
    models: Mapping[str, Any] | Sequence[Any],
    generated: Generated,
    *,
    labels: Sequence[str] | None = None,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> SideBySide:
    """Every text model's prediction on the new examples of a generator and on their originals.

    ``flipped_<m>`` says where the new example changed model ``m``'s prediction. Rows where the
    models disagree come first, then rows with a flip.

    >>> from deepscope.evaluate.generators import word_replacer
    >>> import numpy as np
    >>> likes = lambda texts: np.array([[0.0, 1.0] if "good" in t else [1.0, 0.0] for t in texts])
    >>> g = word_replacer(["a good film"], {"good": "bad"})
    >>> compare_generated({"likes": likes}, g).to_frame()["flipped_likes"].tolist()
    [True]
    """
    from deepscope.evaluate.predictions import predictions

    if not isinstance(generated, Generated):
        raise ArgumentTypeError("generated", "new examples from deepscope.evaluate.generators", generated)
    named = _named_models(models)
    examples = generated.examples.reset_index(drop=True)
    columns = [c for c in (*PROVENANCE, "text") if c in examples]
    frame = examples[columns].copy()
    if examples.empty:
        for name in named:
            frame[f"prediction_{name}"] = pd.Series(dtype=object)
            frame[f"confidence_{name}"] = pd.Series(dtype=np.float64)
            frame[f"original_prediction_{name}"] = pd.Series(dtype=object)
            frame[f"flipped_{name}"] = pd.Series(dtype=bool)
        frame["agree"], frame["n_predictions"] = pd.Series(dtype=bool), pd.Series(dtype=np.int64)
        return SideBySide(frame=frame, models=list(named), inputs=["text"], kind="generated")
    originals = list(dict.fromkeys(examples["original"].tolist()))
    for name, model in named.items():
        new = predictions(
            model, examples["text"].tolist(), label=None, labels=labels, batch_size=batch_size, progress=progress
        )
        old = predictions(model, originals, label=None, labels=labels, batch_size=batch_size, progress=progress)
        before = dict(zip(originals, old["prediction"].tolist(), strict=True))
        frame[f"prediction_{name}"] = new["prediction"].to_numpy()
        frame[f"confidence_{name}"] = new["confidence"].to_numpy() if "confidence" in new else np.nan
        frame[f"original_prediction_{name}"] = examples["original"].map(before).to_numpy()
        frame[f"flipped_{name}"] = frame[f"prediction_{name}"] != frame[f"original_prediction_{name}"]
    frame = _order(frame, list(named), then=[f"flipped_{n}" for n in named])
    return SideBySide(frame=frame, models=list(named), inputs=["text"], kind="generated")


def input_columns(table: pd.DataFrame) -> list[str]:
    """The columns of a predictions table that describe the example: all but ``label``,
    ``prediction``, ``score*``, ``confidence``, ``correct``, ``loss`` and ``error``."""
    table = require_frame(table)
    return [c for c in table.columns if c not in RESERVED_COLUMNS and not str(c).startswith("score_")]


# -- salience --------------------------------------------------------------------------------------


def salience(
    models: Mapping[str, Any] | Sequence[Any],
    texts: Sequence[str],
    *,
    target: Any = None,
    method: str = "gradient_x_input",
    batch_size: int | None = None,
    progress: bool | None = None,
) -> Salience:
    """Per-token salience of each text model on ``texts``.

    The default, gradient x input, is ``embedding · d logit[target] / d embedding`` for each
    token: for a model that is linear in the sum of its token embeddings, exactly each token's
    contribution to the logit. Any other name of ``deepscope.explain.methods()`` runs that method.

    Args:
        models: text models (``deepscope.Model`` with a tokenizer), by name.
        target: the class to explain (index or label) for every text; default each model's
            predicted class on each text.

    >>> import torch, deepscope as ds  # doctest: +SKIP
    >>> salience({"gru": gru_model}, ["not bad at all"]).values("gru", 0)  # doctest: +SKIP
    """
    from deepscope.model import Model

    named = _named_models(models)
    if isinstance(texts, str) or not isinstance(texts, Sequence) or not texts:
        raise ArgumentTypeError("texts", "a non-empty list of texts", texts)
    texts = list(texts)
    if not isinstance(method, str):
        raise ArgumentTypeError("method", "the name of an attribution method", method)
    frames = []
    for name, raw in named.items():
        model = Model(raw)
        if not model.is_text or model.module is None:
            raise UnsupportedModelError(
                "models",
                "text models with a module and a tokenizer (salience needs gradients)",
                f"{name!r}: {model!r}",
            )
        if method == "gradient_x_input":
            tokens, values, targets = _gradient_x_input(model, texts, target, batch_size, progress)
        else:
            tokens, values, targets = _explain(model, texts, method, target, batch_size, progress)
        names = model.labels
        for i, (row_tokens, row_values) in enumerate(zip(tokens, values, strict=True)):
            t = int(targets[i])
            frames.append(
                pd.DataFrame(
                    {
                        "model": name,
                        "example": i,
                        "position": np.arange(len(row_tokens)),
                        "token": row_tokens,
                        "salience": np.asarray(row_values, dtype=np.float64),
                        "target": t,
                        "target_name": names[t] if names and t < len(names) else str(t),
                    }
                )
            )
    frame = pd.concat(frames, ignore_index=True)
    return Salience(frame=frame, texts=texts, models=list(named), method=method)


def _gradient_x_input(
    model: Any, texts: list[str], target: Any, batch_size: int | None, progress: bool | None
) -> tuple[list[list[str]], list[np.ndarray], np.ndarray]:
    import torch

    encoded = model.encode(texts)
    with torch.no_grad():
        embeddings = model.input_embeddings()(encoded["input_ids"]).float().cpu().numpy()
        outputs = torch.as_tensor(model.predict(texts, batch_size=batch_size, progress=progress))
        chosen = model.resolve_target(target, outputs).cpu().numpy()
    gradients = model.gradient(texts, target=chosen.tolist(), batch_size=batch_size, progress=progress)
    if gradients.shape != embeddings.shape:
        raise UnsupportedModelError(
            "models",
            "gradients shaped like the token embeddings",
            f"gradients {gradients.shape} and embeddings {embeddings.shape} for {model.name!r}",
        )
    per_token = (gradients * embeddings).sum(axis=-1)
    mask = encoded["attention_mask"].bool().cpu().numpy()
    tokens = [list(map(str, row)) for row in model.tokens(texts)]
    values = [per_token[i][mask[i]] for i in range(len(texts))]
    for i, (row_tokens, row_values) in enumerate(zip(tokens, values, strict=True)):
        if len(row_tokens) != len(row_values):
            raise UnsupportedModelError(
                "models",
                "a tokenizer whose tokens line up with the attention mask",
                f"{len(row_tokens)} tokens and {len(row_values)} positions in text {i} for {model.name!r}",
            )
    return tokens, values, chosen


def _explain(
    model: Any, texts: list[str], method: str, target: Any, batch_size: int | None, progress: bool | None
) -> tuple[list[list[str]], list[np.ndarray], np.ndarray]:
    from deepscope.explain import attribute

    result = attribute(model, texts, method, target=target, batch_size=batch_size, progress=progress)
    tokens = [list(map(str, row)) for row in (result.tokens or model.tokens(texts))]
    values = [np.asarray(result.values[i][: len(tokens[i])], dtype=np.float64) for i in range(len(texts))]
    return tokens, values, np.asarray(result.target)


# -- helpers ---------------------------------------------------------------------------------------


def _named_models(models: Any) -> dict[str, Any]:
    """Models by name from a mapping or a list (named by ``Model.name``)."""
    from deepscope.model import Model

    if isinstance(models, Mapping):
        named = dict(models)
    elif isinstance(models, Sequence) and not isinstance(models, str):
        wrapped = [Model(m) for m in models]
        named = {m.name: m for m in wrapped}
        if len(named) != len(wrapped):
            raise InvalidArgumentError("models", "models with different names (pass a dict)", [m.name for m in wrapped])
    else:
        raise ArgumentTypeError("models", "a dict of name -> model (or a list of models)", models)
    if not named:
        raise InvalidArgumentError("models", "at least one model", "none")
    for name in named:
        if not isinstance(name, str) or not name:
            raise ArgumentTypeError("models", "model names as non-empty text", name)
    return named


def _named_tables(tables: Any) -> dict[str, pd.DataFrame]:
    if not isinstance(tables, Mapping):
        raise ArgumentTypeError("tables", "a dict of model name -> predictions table", tables)
    if len(tables) < 2:
        raise InvalidArgumentError("tables", "the tables of two or more models", f"{len(tables)} table(s)")
    for name, table in tables.items():
        if not isinstance(name, str) or not name:
            raise ArgumentTypeError("tables", "model names as non-empty text", name)
        require_frame(table, "tables")
    return dict(tables)


def _order(frame: pd.DataFrame, models: list[str], then: Sequence[str] = ()) -> pd.DataFrame:
    """Add ``agree`` and ``n_predictions``; disagreements first, then rows where any ``then``
    column holds, each group in its original order."""
    predictions = frame[[f"prediction_{m}" for m in models]].astype(object)
    distinct = predictions.nunique(axis=1, dropna=False).to_numpy(dtype=np.int64)
    frame["agree"] = distinct <= 1
    frame["n_predictions"] = distinct
    keys = [frame["agree"].to_numpy()]
    if then:
        keys.append(~frame[list(then)].any(axis=1).to_numpy())
    order = np.lexsort([np.arange(len(frame)), *reversed(keys)])
    return frame.iloc[order]
