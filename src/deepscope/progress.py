"""The progress bar every long computation uses: ``tqdm``, as a widget only where it can be one.

``tqdm.auto`` picks the notebook widget inside Jupyter, but without ``ipywidgets`` it warns on
import (with a link to install instructions) in every notebook that imports deepscope. So the
widget is used when ``ipywidgets`` is installed, and the plain text bar otherwise.
"""

from __future__ import annotations

import importlib.util

if importlib.util.find_spec("ipywidgets") is not None:
    from tqdm.auto import tqdm
else:
    from tqdm.std import tqdm

__all__ = ["tqdm"]
