"""Results that also live in a JSON file of their own (``Profile``, ``Schema``).

``save(run, tag=None)`` logs into a run like every result; ``to_file(path)``/``read(path)`` are
the file forms. The old ``save(path)`` and ``load(path)`` still work for one release, with a
DeprecationWarning.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from deepscope.errors import ArgumentTypeError
from deepscope.result import Result

__all__ = ["FileResult"]


class FileResult(Result):
    """A :class:`~deepscope.result.Result` with a JSON file form: ``to_json`` and ``read``."""

    def to_json(self) -> str:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    @classmethod
    def read(cls, path: str | os.PathLike) -> Any:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def to_file(self, path: str | os.PathLike) -> Path:
        """Write the result as JSON to ``path`` (read it back with ``read``)."""
        path = Path(path)
        path.write_text(self.to_json() + "\n", encoding="utf-8")
        return path

    def save(self, run: Any, tag: str | None = None) -> str:
        """Log into a run under ``tag`` (default :attr:`default_tag`); return the tag used.

        A path (the old form) still writes JSON, with a DeprecationWarning: use ``to_file``.
        """
        name = type(self).__name__
        if isinstance(run, (str, os.PathLike)):
            warnings.warn(
                f"{name}.save(path) is deprecated; use {name}.to_file(path)",
                DeprecationWarning,
                stacklevel=2,
            )
            self.to_file(run)
            return str(run)
        if not hasattr(run, "log_result"):
            raise ArgumentTypeError("run", "a deepscope Run", run)
        return super().save(run, tag)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Any:
        """Deprecated: use ``read``."""
        warnings.warn(
            f"{cls.__name__}.load(path) is deprecated; use {cls.__name__}.read(path)",
            DeprecationWarning,
            stacklevel=2,
        )
        return cls.read(path)
