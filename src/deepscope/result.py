"""The one result protocol every deepscope result type follows.

A result is a frozen dataclass of plain data (numpy arrays, DataFrames, small dataclasses and
JSON-able values) that mixes in :class:`Result`. It then answers the same five calls everywhere:

- ``to_frame()``: a tidy DataFrame where the result is tabular;
- ``figure(**options)``: a plotly figure, built in ``deepscope.viz`` (the one lazy hook upward:
  the drawing function is named by the class attribute ``figure_function``, a
  ``"module:function"`` string, so compute packages never import ``viz``);
- ``save(run, tag=None) -> str``: logs the result into a run under ``tag`` (``default_tag`` when
  omitted) and returns the tag it used;
- ``Logdir.load(run, tag)`` rebuilds it (same type, equal contents; no pickle);
- ``_repr_html_()``: the figure as light, offline HTML for notebooks (plotly.js goes into a
  notebook once; later results reuse it).

>>> import dataclasses
>>> @dataclasses.dataclass(frozen=True)
... class Answer(Result):
...     value: int
...     default_tag = "answer"
>>> Answer(42).tag_or_default(None)
'answer'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, ClassVar

from deepscope.errors import InvalidArgumentError

if TYPE_CHECKING:  # pandas only names a return type here; importing it costs a quarter second
    import pandas as pd

__all__ = ["Result"]


class Result:
    """Mixin for result dataclasses: ``to_frame``, ``figure``, ``save``, ``_repr_html_``."""

    #: tag used by :meth:`save` when none is given
    default_tag: ClassVar[str] = "result"
    #: ``"deepscope.viz.<module>:<function>"`` drawing this result: ``function(result, **options)``
    figure_function: ClassVar[str | None] = None

    def tag_or_default(self, tag: str | None) -> str:
        return tag if tag is not None else self.default_tag

    def to_frame(self) -> pd.DataFrame:
        """A tidy table of the result (override where the result is tabular)."""
        raise InvalidArgumentError("to_frame", "a result with a tabular form", f"a {type(self).__name__}")

    def figure(self, **options: Any) -> Any:
        """A plotly figure of the result, drawn by ``deepscope.viz``."""
        if not self.figure_function:
            raise InvalidArgumentError("figure", "a result type that has a figure", f"a {type(self).__name__}")
        module, _, name = self.figure_function.partition(":")
        draw = getattr(importlib.import_module(module), name)
        return draw(self, **options)

    def save(self, run: Any, tag: str | None = None) -> str:
        """Log into ``run`` (``run.log_result``) under ``tag``; return the tag used.

        Read it back with ``deepscope.open_logdir(path).load(run_name, tag)``.
        """
        tag = self.tag_or_default(tag)
        run.log_result(tag, self)
        return tag

    def _repr_html_(self) -> str:
        notebook = importlib.import_module("deepscope.viz.notebook")
        if not self.figure_function:
            return notebook.table_html(self.to_frame(), type(self).__name__)
        return notebook.figure_html(self.figure())
