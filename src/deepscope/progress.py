"""The progress bar every long computation uses: ``tqdm``, as a widget only where it can be one.

``tqdm.auto`` picks the notebook widget inside Jupyter, but without ``ipywidgets`` it warns on
import (with a link to install instructions) in every notebook that imports deepscope. So the
widget is used when ``ipywidgets`` is installed, and the plain text bar otherwise.
"""

from __future__ import annotations

import importlib.util
import sys

from tqdm import std as _std  # the bar's type, whichever front end draws it

from deepscope.validation import check_bool

if importlib.util.find_spec("ipywidgets") is not None:
    from tqdm.auto import tqdm
else:
    from tqdm.std import tqdm

__all__ = ["progress_bar", "tqdm"]


class _Hidden(_std.tqdm):
    """A bar that is never shown, made without tqdm's set-up: the first tqdm of a process, even a
    disabled one, creates a multiprocessing lock, which starts a resource-tracker process (about
    0.1 s that every first call of a method would pay). Every method of a disabled bar is a no-op."""

    def __new__(cls, *args: object, **kwargs: object) -> _Hidden:
        return object.__new__(cls)

    def __init__(self, total: int, desc: str) -> None:
        self.disable = True
        self.iterable = None
        self.n = 0
        self.total = total
        self.desc = desc
        self.leave = False


def progress_bar(total: int, progress: bool | None, desc: str) -> _std.tqdm:
    """A progress bar over ``total`` steps: shown when asked (``progress=True``), or, when
    ``progress`` is None, on an interactive terminal once the work has taken a second."""
    progress = check_bool(progress, "progress", allow_none=True, hint="None: automatic")
    show = progress if progress is not None else sys.stderr.isatty()
    if not show:
        return _Hidden(total, desc)
    return tqdm(total=total, desc=desc, leave=False, delay=0 if progress else 1.0)
