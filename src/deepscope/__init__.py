"""deepscope: make sense of deep-learning models by looking at them.

>>> import deepscope as ds
>>> ds.__version__ >= "0.1"
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from deepscope import errors

# Heavy modules (torch, dash) load on first use so `import deepscope` stays fast.
_LAZY = {
    "Model": ("deepscope.model", "Model"),
    "Run": ("deepscope.track", "Run"),
    "open_logdir": ("deepscope.track", "open_logdir"),
    "serve": ("deepscope.app", "serve"),
    "create_app": ("deepscope.app", "create_app"),
}
_SUBMODULES = {
    "datasets",
    "zoo",
    "track",
    "app",
    "explain",
    "text",
    "data",
    "evaluate",
    "debug",
    "hparams",
    "viz",
    "integrations",
    "features",
    "embed",
}

if TYPE_CHECKING:
    from deepscope._version import __version__
    from deepscope.app import create_app, serve
    from deepscope.model import Model
    from deepscope.track import Run, open_logdir

__all__ = ["Model", "Run", "open_logdir", "serve", "create_app", "errors", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "__version__":  # importlib.metadata costs a tenth of `import deepscope`: read on first use
        from deepscope._version import __version__

        globals()[name] = __version__
        return __version__
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = importlib.import_module(f"deepscope.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'deepscope' has no attribute {name!r}")
