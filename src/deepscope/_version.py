"""The installed version of deepscope (a leaf module: anything may import it)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("deepscope")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
