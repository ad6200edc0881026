"""Named groups of examples, each defined by a query, with how much of the error they explain.

For a group G of a table with errors E (prediction != label), as in Errudite:

- coverage: |G| / |all|, the share of examples in the group;
- error coverage: |G and E| / |E|, the share of all errors that fall in the group;
- local error rate: |G and E| / |G|, how often the model errs inside the group;
- global error rate: |G and E| / |all|, the error the group adds to the whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from deepscope.errors import ArgumentTypeError, NotFoundError
from deepscope.evaluate._common import require_column, require_frame, wilson_interval
from deepscope.evaluate.query.evaluate import mask, query
from deepscope.result import Result

__all__ = ["groups", "Groups"]


@dataclass(frozen=True, eq=False)
class Groups(Result):
    """Named groups and their error statistics; save it in a run with ``save(run, tag)``.

    ``frame``: one row per group: ``name, query, n, errors, coverage, error_coverage,
    local_error_rate`` (with ``_low``/``_high`` Wilson bounds) and ``global_error_rate``.
    """

    frame: pd.DataFrame
    queries: dict[str, str]
    n: int
    n_errors: int

    def to_frame(self) -> pd.DataFrame:
        """One row per group."""
        return self.frame.copy()

    def rows(self, table: pd.DataFrame, name: str) -> pd.DataFrame:
        """The rows of ``table`` in the group ``name`` (original index kept)."""
        if name not in self.queries:
            raise NotFoundError("group", name, list(self.queries))
        return query(table, self.queries[name])

    default_tag = "groups"
    #: Each group's local error rate (with interval) against its coverage.
    figure_function = "deepscope.viz.evaluate:groups_figure"


def groups(
    table: pd.DataFrame,
    definitions: Mapping[str, str],
    *,
    label: str = "label",
    prediction: str = "prediction",
    confidence: float = 0.95,
) -> Groups:
    """Statistics of each named group (name -> query) of a predictions table.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"text": ["not good", "good", "not bad", "bad"],
    ...                   "label": [0, 1, 1, 0], "prediction": [1, 1, 0, 0]})
    >>> g = groups(t, {"negated": 'has_token(text, "not")'})
    >>> g.to_frame()[["name", "n", "coverage", "error_coverage", "local_error_rate"]].values.tolist()
    [['negated', 2, 0.5, 1.0, 1.0]]
    """
    table = require_frame(table)
    if not isinstance(definitions, Mapping) or not definitions:
        raise ArgumentTypeError("definitions", "a non-empty mapping of group name -> query", definitions)
    truth = require_column(table, label, "label")
    guess = require_column(table, prediction, "prediction")
    wrong = (guess != truth).to_numpy(dtype=bool)
    total, total_errors = len(table), int(wrong.sum())
    rows = []
    for name, text in definitions.items():
        if not isinstance(name, str) or not isinstance(text, str):
            raise ArgumentTypeError("definitions", "group names and queries as text", f"{name!r}: {text!r}")
        member = mask(table, text)
        size, errors = int(member.sum()), int((member & wrong).sum())
        rows.append(
            {
                "name": name,
                "query": text,
                "n": size,
                "errors": errors,
                "coverage": size / total if total else np.nan,
                "error_coverage": errors / total_errors if total_errors else np.nan,
                "local_error_rate": errors / size if size else np.nan,
                "global_error_rate": errors / total if total else np.nan,
            }
        )
    frame = pd.DataFrame(rows)
    low, high = wilson_interval(frame["errors"].to_numpy(), frame["n"].to_numpy(), confidence)
    # Column names are unique here, so get_loc gives a position.
    frame.insert(cast(int, frame.columns.get_loc("local_error_rate")) + 1, "local_error_rate_low", low)
    frame.insert(cast(int, frame.columns.get_loc("local_error_rate_low")) + 1, "local_error_rate_high", high)
    return Groups(frame=frame, queries=dict(definitions), n=total, n_errors=total_errors)
