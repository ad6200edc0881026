"""Debugging tools for training: the numerics debugger that finds the first NaN/Inf.

>>> from deepscope import debug
>>> callable(debug.numerics)
True
"""

from __future__ import annotations

from deepscope.debug.numerics import Health, NonFinite, NonFiniteError, NumericsDebugger, numerics

__all__ = ["Health", "NonFinite", "NonFiniteError", "NumericsDebugger", "numerics"]
