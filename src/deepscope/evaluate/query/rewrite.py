"""Rewrite rules: change the text of a group of examples, re-run the model, count the flips.

A rule is an expression of the query language that gives text, such as
``remove_token(text, "very")``, ``replace(text, "not", "")`` or ``swap_names(text)``. It is applied
to the rows of a group (a query); rows the rule leaves unchanged are not re-run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import ArgumentTypeError
from deepscope.evaluate._common import require_column, require_frame
from deepscope.evaluate._model import Encoder
from deepscope.evaluate.query.evaluate import evaluate, mask
from deepscope.result import Result

__all__ = ["rewrite", "Rewrite"]


@dataclass(frozen=True, eq=False)
class Rewrite(Result):
    """What a rewrite rule did to a group.

    ``examples``: one row per changed example (original index): ``original, rewritten, label,
    prediction, new_prediction, confidence, new_confidence, flipped, fixed, broken``
    (fixed: wrong before, right after; broken: the reverse).
    """

    rule: str
    where: str | None
    n_group: int
    n_changed: int
    n_flipped: int
    examples: pd.DataFrame

    @property
    def flip_rate(self) -> float:
        """Share of the changed examples whose prediction changed (NaN when none changed)."""
        return self.n_flipped / self.n_changed if self.n_changed else float("nan")

    def to_frame(self) -> pd.DataFrame:
        """The changed examples, flips first."""
        return self.examples.copy()

    default_tag = "rewrite"
    #: Counts: unchanged, changed without a flip, flips that fixed and that broke a prediction.
    figure_function = "deepscope.viz.evaluate:rewrite_figure"


def rewrite(
    model: Any,
    table: pd.DataFrame,
    rule: str,
    *,
    where: str | None = None,
    text: str = "text",
    label: str | None = "label",
    prediction: str = "prediction",
    labels: Sequence[str] | None = None,
    encode: Encoder | None = None,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> Rewrite:
    """Apply ``rule`` to the ``text`` column of the rows matching ``where`` and re-run ``model``.

    Args:
        model: the model that made ``table`` (anything ``deepscope.Model`` accepts).
        table: its predictions table, with the input texts in column ``text``.
        rule: a text expression, e.g. ``'remove_token(text, "very")'``.
        where: a query choosing the group (default: every row).
        labels, encode: as given to ``predictions`` when the table was made, so new predictions
            use the same class values.

    >>> import numpy as np, pandas as pd
    >>> t = pd.DataFrame({"text": ["not good", "good"], "label": [0, 1], "prediction": [0, 1]})
    >>> negative = lambda texts: np.array([[1.0, 0.0] if "not" in s else [0.0, 1.0] for s in texts])
    >>> rewrite(negative, t, 'remove_token(text, "not")').flip_rate
    1.0
    """
    from deepscope.evaluate.predictions import predictions

    table = require_frame(table)
    if not isinstance(rule, str):
        raise ArgumentTypeError("rule", "a rewrite rule as text, e.g. 'remove_token(text, \"very\")'", rule)
    original = require_column(table, text, "text")
    before = require_column(table, prediction, "prediction")
    truth = require_column(table, label, "label") if label is not None else None
    group = table if where is None else table[mask(table, where)]

    new_text = pd.Series(evaluate(group, rule, kind="text"), index=group.index, dtype=object)
    old_text = original.loc[group.index].astype(object)
    changed = (new_text != old_text).to_numpy(dtype=bool) & new_text.notna().to_numpy()
    changed_index = group.index[changed]

    columns = [
        "original",
        "rewritten",
        "label",
        "prediction",
        "new_prediction",
        "confidence",
        "new_confidence",
        "flipped",
        "fixed",
        "broken",
    ]
    if len(changed_index) == 0:
        examples = pd.DataFrame(columns=columns)
        return Rewrite(rule=rule, where=where, n_group=len(group), n_changed=0, n_flipped=0, examples=examples)

    edited = pd.DataFrame({text: new_text.loc[changed_index].astype(str)}, index=changed_index)
    fresh = predictions(
        model,
        edited,
        label=None,
        features=[text],
        labels=labels,
        encode=encode,
        batch_size=batch_size,
        progress=progress,
    )
    old_prediction = before.loc[changed_index].to_numpy()
    new_prediction = fresh["prediction"].to_numpy()
    flipped = old_prediction != new_prediction
    examples = pd.DataFrame(
        {
            "original": old_text.loc[changed_index].to_numpy(),
            "rewritten": edited[text].to_numpy(),
            "label": truth.loc[changed_index].to_numpy() if truth is not None else np.nan,
            "prediction": old_prediction,
            "new_prediction": new_prediction,
            "confidence": table["confidence"].loc[changed_index].to_numpy() if "confidence" in table else np.nan,
            "new_confidence": fresh["confidence"].to_numpy() if "confidence" in fresh else np.nan,
            "flipped": flipped,
        },
        index=changed_index,
    )
    if truth is not None:
        right_before = examples["prediction"].to_numpy() == examples["label"].to_numpy()
        right_after = examples["new_prediction"].to_numpy() == examples["label"].to_numpy()
        examples["fixed"] = ~right_before & right_after
        examples["broken"] = right_before & ~right_after
    else:
        examples["fixed"] = False
        examples["broken"] = False
    examples = examples.sort_values("flipped", ascending=False, kind="stable")
    return Rewrite(
        rule=rule,
        where=where,
        n_group=len(group),
        n_changed=len(changed_index),
        n_flipped=int(flipped.sum()),
        examples=examples,
    )
