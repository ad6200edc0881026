"""Figures: pure functions from a result object to a plotly Figure, all in one theme.

Modules in this package never compute; they draw. Importing the package registers the
``"deepscope"`` plotly template; figure functions pass ``template=TEMPLATE_NAME``.

>>> from deepscope.viz import run_color
>>> run_color("my-run").startswith("#")
True
"""

from __future__ import annotations

from deepscope.viz.theme import (
    DIVERGING,
    PALETTE,
    SEQUENTIAL,
    TEMPLATE,
    TEMPLATE_NAME,
    category_colors,
    run_color,
    symmetric_range,
)

__all__ = [
    "DIVERGING",
    "PALETTE",
    "SEQUENTIAL",
    "TEMPLATE",
    "TEMPLATE_NAME",
    "category_colors",
    "run_color",
    "symmetric_range",
]
