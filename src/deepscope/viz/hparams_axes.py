"""Columns placed on plotly axes for the hyper-parameter figures: positions, ticks and slots.

Plotly's parallel coordinates have no log or categorical axes, so each column is placed on an
:class:`Axis` here: numeric values as they are, log-numeric values as log10 with ticks at the
decades, categories as codes with their labels as ticks. NaN and infinite values get their own
labelled slot below (or above) an axis instead of disappearing. :meth:`Axis.selection` turns a
brush (plotly's ``constraintrange``, in axis positions) into a selection in data terms, which
``deepscope.hparams.brushed_rows`` applies to the table.

>>> import pandas as pd
>>> axis = make_axis("lr", pd.Series([1e-4, 1e-3, float("nan")]), "log-numeric")
>>> axis.label, axis.ticktext
('lr (log)', ['0.0001', '0.001', 'NaN'])
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import NotFoundError
from deepscope.hparams.parallel import (
    MISSING,
    NAN,
    NEG_INF,
    POS_INF,
    category_label,
    is_missing,
    normalize_ranges,
    within_spans,
)
from deepscope.hparams.table import CATEGORICAL, LOG_NUMERIC, NUMERIC

__all__ = ["Axis", "make_axis", "make_axes"]

# Where non-finite values sit, as a fraction of the finite span beyond the axis' ends.
_SLOT_GAP = 0.12
# Relative tolerance of a log axis' brush, in value units.
_LOG_ROUNDING = 1e-12


@dataclass(frozen=True)
class Axis:
    """One column placed on a parallel-coordinates axis.

    name: the column; label: what the axis says (``"lr (log)"`` for a log axis).
    kind: "numeric", "log-numeric" or "categorical".
    positions: each row's position on the axis (log10 of the value for a log axis, the category
        code for a categorical one, a slot for NaN and infinities).
    tickvals, ticktext: the ticks, or empty for plotly's own (numeric axes without slots).
    range: the axis' extent in positions.
    categories: a categorical axis' labels, by code.
    slots: position of each non-finite kind present (``"NaN"``, ``"+inf"``, ``"-inf"``).
    """

    name: str
    label: str
    kind: str
    positions: np.ndarray
    tickvals: list[float]
    ticktext: list[str]
    range: tuple[float, float]
    categories: tuple[str, ...] = ()
    slots: dict[str, float] = field(default_factory=dict)

    def selection(self, ranges: Any) -> dict[str, Any] | None:
        """A brush (``constraintrange``: ``[lo, hi]`` or ``[[lo, hi], ...]`` in positions) in data
        terms: ``{"ranges": [[lo, hi], ...], "special": [...]}`` for numbers (value units; NaN and
        inf slots the brush covers in ``special``), ``{"labels": [...]}`` for categories.

        ``None`` for no brush.
        """
        spans = normalize_ranges(ranges)
        if not spans:
            return None
        if self.kind == CATEGORICAL:
            codes = np.arange(len(self.categories), dtype=float)
            inside = within_spans(codes, spans)
            return {"labels": [c for c, keep in zip(self.categories, inside, strict=True) if keep]}
        special = [kind for kind, slot in self.slots.items() if within_spans(np.array([slot]), spans)[0]]
        # Only NaN/inf slots: an empty extent, so no value range is selected.
        low, high = self._finite_extent() or (math.inf, -math.inf)
        values: list[list[float]] = []
        for lo, hi in spans:
            # A brush reaching into a NaN/inf slot covers the finite values up to the axis' end.
            lo, hi = max(lo, low), min(hi, high)
            if lo > hi:
                continue
            if self.kind == LOG_NUMERIC:
                # 10**log10(v) can land an ulp below v: widen by a rounding error, so a brush
                # reaching the axis' end keeps the value drawn there.
                lo, hi = 10.0**lo * (1 - _LOG_ROUNDING), 10.0**hi * (1 + _LOG_ROUNDING)
            values.append([float(lo), float(hi)])
        return {"ranges": values, "special": special}

    def constraint(self, selection: Mapping[str, Any] | None) -> list[list[float]] | None:
        """Positions for a selection made by :meth:`selection` (on this axis or an earlier
        drawing of the same column), as plotly's ``constraintrange``; None when it selects nothing
        this axis can show."""
        if not selection:
            return None
        spans: list[list[float]] = []
        if self.kind == CATEGORICAL:
            wanted = {str(label) for label in selection.get("labels", [])}
            codes = [i for i, label in enumerate(self.categories) if label in wanted]
            for start, stop in _runs(codes):
                spans.append([start - 0.25, stop + 0.25])
        else:
            for lo, hi in selection.get("ranges", []):
                if self.kind == LOG_NUMERIC:
                    lo = math.log10(lo) if lo > 0 else self.range[0]
                    hi = math.log10(hi) if hi > 0 else self.range[0]
                spans.append([float(lo), float(hi)])
            gap = (self.range[1] - self.range[0]) * 0.02
            for kind in selection.get("special", []):
                if kind in self.slots:
                    spans.append([self.slots[kind] - gap, self.slots[kind] + gap])
        return spans or None

    def _finite_extent(self) -> tuple[float, float] | None:
        finite = self.positions[~np.isin(self.positions, list(self.slots.values()))]
        if self.kind == CATEGORICAL or finite.size == 0:
            return None
        return float(finite.min()), float(finite.max())


def make_axis(name: str, values: pd.Series, kind: str) -> Axis:
    """Place one column on an axis of the given kind."""
    if kind == CATEGORICAL:
        return _categorical_axis(name, values)
    numbers_ = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(numbers_)
    if kind == LOG_NUMERIC and finite.any() and (numbers_[finite] <= 0).any():
        kind = NUMERIC  # a log axis cannot show zero or negatives; the caller's type was stale
    scaled = np.log10(numbers_, where=finite, out=np.full_like(numbers_, np.nan)) if kind == LOG_NUMERIC else numbers_
    masks = {NAN: np.isnan(numbers_), NEG_INF: numbers_ == -np.inf, POS_INF: numbers_ == np.inf}
    masks = {kind_: mask for kind_, mask in masks.items() if mask.any()}
    if finite.any():
        lo, hi = float(scaled[finite].min()), float(scaled[finite].max())
        # Ticks enclose the data (whole decades on a log axis), so the axis line spans every line.
        if kind == LOG_NUMERIC:
            tickvals, ticktext = _decade_ticks(lo, hi)
        elif masks:
            tickvals, ticktext = _nice_ticks(lo, hi)
        else:
            tickvals, ticktext = [], []
        bottom = min([lo, *tickvals[:1]])
        top = max([hi, *tickvals[-1:]])
        if top == bottom:
            half = max(abs(top), 1.0) / 2
            bottom, top = bottom - half, top + half
    else:  # nothing finite: only the slots
        tickvals, ticktext = [], []
        bottom, top = -0.5, 0.5
    span = top - bottom
    positions = scaled.copy()
    slots: dict[str, float] = {}
    places = {NAN: bottom - _SLOT_GAP * span, NEG_INF: bottom - 2 * _SLOT_GAP * span,
              POS_INF: top + _SLOT_GAP * span}  # fmt: skip
    if not finite.any():
        places = {NAN: 0.0, NEG_INF: -0.5, POS_INF: 0.5}
    for kind_, mask in masks.items():
        slots[kind_] = places[kind_]
        positions[mask] = places[kind_]
        tickvals.append(places[kind_])
        ticktext.append(kind_)
    low_end = min([bottom, *slots.values()])
    high_end = max([top, *slots.values()])
    label = f"{name} (log)" if kind == LOG_NUMERIC else name
    return Axis(
        name=name, label=label, kind=kind, positions=positions, tickvals=tickvals,
        ticktext=ticktext, range=(float(low_end), float(high_end)), slots=slots,
    )  # fmt: skip


def make_axes(frame: pd.DataFrame, types: Mapping[str, str], columns: Sequence[str]) -> list[Axis]:
    """An :class:`Axis` per column of ``columns``."""
    for name in columns:
        if name not in frame.columns:
            raise NotFoundError("column", str(name), [str(c) for c in frame.columns])
    return [make_axis(str(name), frame[name], types.get(name, NUMERIC)) for name in columns]


def _categorical_axis(name: str, values: pd.Series) -> Axis:
    labels = [category_label(v) for v in values]
    present = [v for v in values if not is_missing(v)]
    if present and all(isinstance(v, (numbers.Real, np.bool_)) for v in present):
        order = [category_label(v) for v in sorted(dict.fromkeys(present), key=float)]
    else:
        order = sorted({category_label(v) for v in present})
    if len(present) < len(labels):
        order = [MISSING, *order]  # missing at the bottom, like NaN on a numeric axis
    code = {label: i for i, label in enumerate(order)}
    positions = np.asarray([code[label] for label in labels], dtype=float)
    step = max(1, math.ceil(len(order) / 25))  # at most ~25 labels, so they stay readable
    shown = range(0, len(order), step)
    return Axis(
        name=name, label=name, kind=CATEGORICAL, positions=positions,
        tickvals=[float(i) for i in shown], ticktext=[_short(order[i]) for i in shown],
        range=(-0.5, len(order) - 0.5) if len(order) > 1 else (-1.0, 1.0), categories=tuple(order),
    )  # fmt: skip


def _runs(codes: list[int]) -> list[tuple[int, int]]:
    """Consecutive integers grouped: [0, 1, 2, 5] -> [(0, 2), (5, 5)]."""
    groups: list[tuple[int, int]] = []
    for code in sorted(codes):
        if groups and code == groups[-1][1] + 1:
            groups[-1] = (groups[-1][0], code)
        else:
            groups.append((code, code))
    return groups


def _short(text: str, limit: int = 18) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _nice_ticks(lo: float, hi: float, count: int = 5) -> tuple[list[float], list[str]]:
    """Round ticks from below ``lo`` to above ``hi``, about ``count`` of them."""
    if hi <= lo:
        return [lo], [_format(lo)]
    raw = (hi - lo) / count
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(lo / step + 1e-9) * step
    last = math.ceil(hi / step - 1e-9) * step
    ticks = [first + i * step for i in range(int(round((last - first) / step)) + 1)]
    return ticks, [_format(t) for t in ticks]


def _decade_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Whole decades from below ``lo`` to above ``hi`` (log10 positions), at most ~9 labelled."""
    first, last = math.floor(lo + 1e-9), math.ceil(hi - 1e-9)
    if last == first:
        first, last = first - 1, last + 1
    every = max(1, math.ceil((last - first + 1) / 9))
    decades = list(range(first, last + 1, every))
    if decades[-1] != last:
        decades.append(last)
    return [float(d) for d in decades], [_format(10.0**d) for d in decades]


def _format(value: float) -> str:
    if value == 0:
        return "0"
    return f"{value:.3g}"
