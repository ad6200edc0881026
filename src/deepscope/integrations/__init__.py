"""Training integrations: log from a plain PyTorch loop, PyTorch Lightning or a Hugging Face Trainer.

- ``Tracker(run, model=None, log_every=1, histograms=False)``: call ``tracker.log_step(loss=...)``
  in your loop.
- ``DeepscopeLogger(logdir, name=None)``: ``lightning.Trainer(logger=DeepscopeLogger("logs"))``.
- ``DeepscopeCallback(run_or_logdir)``: ``transformers.Trainer(..., callbacks=[DeepscopeCallback("logs")])``.

Lightning and transformers are imported only when their integration is used.

>>> from deepscope.integrations import Tracker
>>> Tracker.__name__
'Tracker'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deepscope.integrations.hf_callback import DeepscopeCallback
    from deepscope.integrations.lightning_logger import DeepscopeLogger
    from deepscope.integrations.torch_loop import Tracker

__all__ = ["Tracker", "DeepscopeLogger", "DeepscopeCallback"]

_LAZY = {
    "Tracker": "deepscope.integrations.torch_loop",
    "DeepscopeLogger": "deepscope.integrations.lightning_logger",
    "DeepscopeCallback": "deepscope.integrations.hf_callback",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'deepscope.integrations' has no attribute {name!r}")
