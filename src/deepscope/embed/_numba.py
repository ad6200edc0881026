"""UMAP with numba's compiled code kept on disk, so its JIT cost is paid once per machine.

umap-learn compiles dozens of numba functions on first use (tens of seconds); most are declared
without ``cache=True``, so by default every new process compiles them again. deepscope points
``NUMBA_CACHE_DIR`` at its cache folder and, while umap is imported, makes ``cache=True`` the
default of ``numba.njit``/``numba.jit``; functions numba cannot cache are compiled as before.
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
from pathlib import Path
from typing import Any

from deepscope.errors import MissingDependencyError

__all__ = ["numba_cache_dir", "import_umap"]

_lock = threading.Lock()


def numba_cache_dir() -> Path:
    """Where numba keeps UMAP's compiled code: ``$NUMBA_CACHE_DIR`` or deepscope's cache folder."""
    configured = os.environ.get("NUMBA_CACHE_DIR")
    if configured:
        return Path(configured)
    from deepscope.zoo.cache import cache_dir

    return cache_dir() / "numba"


def _caching(decorator: Any) -> Any:
    @functools.wraps(decorator)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cache", True)
        return decorator(*args, **kwargs)

    return wrapper


@functools.lru_cache(maxsize=1)
def import_umap() -> Any:
    """The ``umap`` module, imported with numba's on-disk cache switched on."""
    with _lock:
        folder = numba_cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        try:
            import numba
            from numba.core import config
        except ImportError as exc:
            raise MissingDependencyError("umap-learn", "embed", "UMAP projection") from exc
        os.environ.setdefault("NUMBA_CACHE_DIR", str(folder))
        # numba read the variable when it was imported; its config module sets it at run time
        config.CACHE_DIR = str(folder)  # pyright: ignore[reportAttributeAccessIssue]
        njit, jit = numba.njit, numba.jit
        numba.njit, numba.jit = _caching(njit), _caching(jit)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "cannot cache ... dynamic globals" and TF notices
                import umap
        except ImportError as exc:
            raise MissingDependencyError("umap-learn", "embed", "UMAP projection") from exc
        finally:
            numba.njit, numba.jit = njit, jit
        return umap
