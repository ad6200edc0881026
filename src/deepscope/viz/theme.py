"""One look for every figure: the plotly template, the colour palettes and a stable colour per run.

- ``PALETTE``: categorical, colour-blind safe (Paul Tol's "muted" scheme), for runs, classes, slices.
- ``DIVERGING``: signed values (attributions, differences); centre it on zero with ``symmetric_range``.
- ``SEQUENTIAL``: magnitudes (counts, probabilities, |attribution|): viridis, perceptually uniform.
- ``run_color(name)``: the same colour for a run on every page and in every session.

>>> from deepscope.viz.theme import run_color, PALETTE
>>> run_color("baseline") == run_color("baseline") and run_color("baseline") in PALETTE
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable
from typing import TypeVar

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

__all__ = [
    "PALETTE",
    "DIVERGING",
    "SEQUENTIAL",
    "TEMPLATE",
    "TEMPLATE_NAME",
    "FONT_FAMILY",
    "run_color",
    "category_colors",
    "symmetric_range",
]

K = TypeVar("K", bound=Hashable)

# Paul Tol's "muted" qualitative scheme: nine colours distinguishable under the common forms of
# colour blindness and readable as lines on white. Dark colours first so small sets stay legible.
PALETTE: tuple[str, ...] = (
    "#332288",  # indigo
    "#CC6677",  # rose
    "#117733",  # green
    "#88CCEE",  # cyan
    "#882255",  # wine
    "#44AA99",  # teal
    "#DDCC77",  # sand
    "#AA4499",  # purple
    "#999933",  # olive
)

# ColorBrewer RdBu reversed: negative blue, zero white, positive red (colour-blind safe).
DIVERGING: list[list[float | str]] = [
    [0.0, "#2166AC"],
    [0.1, "#4393C3"],
    [0.2, "#92C5DE"],
    [0.35, "#D1E5F0"],
    [0.5, "#F7F7F7"],
    [0.65, "#FDDBC7"],
    [0.8, "#F4A582"],
    [0.9, "#D6604D"],
    [1.0, "#B2182B"],
]

SEQUENTIAL = "Viridis"

FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
_TEXT = "#1F2933"
_GRID = "#E4E7EB"
_AXIS = "#9AA5B1"

TEMPLATE_NAME = "deepscope"
TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font={"family": FONT_FAMILY, "size": 13, "color": _TEXT},
        title={"font": {"size": 15}, "x": 0.0, "xanchor": "left"},
        paper_bgcolor="white",
        plot_bgcolor="white",
        colorway=list(PALETTE),
        colorscale={"sequential": SEQUENTIAL, "diverging": DIVERGING},
        margin={"l": 56, "r": 16, "t": 40, "b": 48},
        hoverlabel={"font": {"family": FONT_FAMILY}},
        legend={"bgcolor": "rgba(255,255,255,0)", "borderwidth": 0},
        xaxis={
            "gridcolor": _GRID,
            "linecolor": _AXIS,
            "zerolinecolor": _AXIS,
            "ticks": "outside",
            "tickcolor": _AXIS,
            "automargin": True,
        },
        yaxis={
            "gridcolor": _GRID,
            "linecolor": _AXIS,
            "zerolinecolor": _AXIS,
            "ticks": "outside",
            "tickcolor": _AXIS,
            "automargin": True,
        },
    )
)
pio.templates[TEMPLATE_NAME] = TEMPLATE


def run_color(name: str) -> str:
    """The palette colour of a run, stable across pages, processes and sessions.

    A hash of the name (not Python's salted ``hash``) picks the colour, so a run keeps its colour
    when other runs come and go. Two runs can share a colour; pages that show many runs at once
    should also label them.
    """
    digest = hashlib.blake2b(str(name).encode("utf-8"), digest_size=8).digest()
    return PALETTE[int.from_bytes(digest, "big") % len(PALETTE)]


def category_colors(categories: Iterable[K]) -> dict[K, str]:
    """Palette colours for a fixed set of categories (classes, slices), in the order given.

    Unlike ``run_color`` this assigns colours by position, so the first nine categories never
    collide; beyond nine the palette repeats.
    """
    return {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(dict.fromkeys(categories))}


def symmetric_range(values: object) -> tuple[float, float]:
    """``(-m, m)`` with ``m`` the largest finite absolute value, for diverging colour scales.

    Centring on zero keeps white meaning "no effect"; an all-zero or empty input gives ``(-1, 1)``.
    """
    array = np.asarray(values, dtype=float)
    finite = np.abs(array[np.isfinite(array)])
    m = float(finite.max()) if finite.size else 0.0
    if m == 0.0:
        m = 1.0
    return (-m, m)
