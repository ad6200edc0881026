"""Figures of the numerics debugger: per-layer tensor health over steps as a heat map.

Input is the debugger's statistics (``NumericsDebugger.stats()``, saved in a run as the table
``"numerics"``): one row per step, module and direction with min, max, mean, std and the counts
of NaN, +Inf, -Inf and zeros. Layers are rows in execution order, steps are columns; cells where
a layer produced NaN or Inf are marked, whatever statistic is shown, and the first offender is
ringed.

>>> import pandas as pd
>>> from deepscope.viz.numerics import health_heatmap
>>> stats = pd.DataFrame({"step": [0, 0], "module": ["fc", "act"], "min": [-1.0, 0.0],
...     "max": [2.0, 2.0], "mean": [0.1, 0.5], "std": [1.0, 0.7], "nan": [0, 0], "pos_inf": [0, 0],
...     "neg_inf": [0, 0], "zeros": [0, 3], "direction": ["forward"] * 2, "numel": [8, 8]})
>>> health_heatmap(stats, "max_abs").data[0].type
'heatmap'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from deepscope.errors import InvalidArgumentError
from deepscope.escape import escape
from deepscope.viz.theme import DIVERGING, SEQUENTIAL, TEMPLATE_NAME

__all__ = ["STATS", "health_heatmap", "module_label"]

# stat -> (label, kind): "magnitude" and "count" use a sequential scale, "signed" a diverging one
# centred on zero.
STATS: dict[str, tuple[str, str]] = {
    "max_abs": ("max |value|", "magnitude"),
    "std": ("standard deviation", "magnitude"),
    "mean": ("mean", "signed"),
    "min": ("min", "signed"),
    "max": ("max", "signed"),
    "nonfinite": ("NaN + Inf count", "count"),
    "nan": ("NaN count", "count"),
    "pos_inf": ("+Inf count", "count"),
    "neg_inf": ("-Inf count", "count"),
    "zero_fraction": ("fraction of zeros", "magnitude"),
}
NONFINITE_MARK = "#B42318"
MAX_COLUMNS = 400


def module_label(module: str) -> str:
    """A module path as shown: the model itself ("") is "(model)"."""
    return module if module else "(model)"


def stat_values(stats: pd.DataFrame, stat: str) -> pd.Series:
    """The column to draw for ``stat``, derived where the debugger stores its parts."""
    if stat == "max_abs":
        return cast(pd.Series, np.maximum(stats["min"].abs(), stats["max"].abs()))  # a ufunc keeps the Series
    if stat == "nonfinite":
        return stats["nan"] + stats["pos_inf"] + stats["neg_inf"]
    if stat == "zero_fraction":
        return stats["zeros"] / stats["numel"].where(stats["numel"] > 0)
    return stats[stat].astype(float)


def health_heatmap(
    stats: pd.DataFrame,
    stat: str = "max_abs",
    *,
    direction: str = "forward",
    first: Mapping[str, Any] | None = None,
    max_columns: int = MAX_COLUMNS,
) -> go.Figure:
    """Layers x steps heat map of one statistic, non-finite cells marked with a red cross.

    first: the debugger's first offender (``NonFinite.to_dict()``: module, step, kind, ...),
    ringed on the map and named in the title. More steps than ``max_columns`` are grouped into
    bins of consecutive steps, keeping each bin's extreme (largest magnitude or count), so a
    spike in one step still shows.
    """
    if stat not in STATS:
        raise InvalidArgumentError("stat", f"one of {sorted(STATS)}", stat)
    label, kind = STATS[stat]
    rows = stats[stats["direction"] == direction] if "direction" in stats else stats
    modules = list(dict.fromkeys(rows["module"]))  # execution order of the first step they ran
    steps = np.sort(rows["step"].unique())
    bins = _bins(steps, max_columns)
    values = stat_values(rows, stat).to_numpy(dtype=float)
    bad = (rows["nan"] + rows["pos_inf"] + rows["neg_inf"]).to_numpy() > 0
    row_of = {m: i for i, m in enumerate(modules)}
    col = np.searchsorted(bins[:, 0], rows["step"].to_numpy(), side="right") - 1
    cells = pd.DataFrame({
        "r": rows["module"].map(row_of).to_numpy(), "c": col, "v": values,
        "size": np.abs(values), "bad": bad,
    })  # fmt: skip
    grid = np.full((len(modules), len(bins)), np.nan)
    flagged = np.zeros_like(grid, dtype=bool)
    marks = cells[cells["bad"]]
    flagged[marks["r"].to_numpy(), marks["c"].to_numpy()] = True
    # Keep each cell's most extreme value, so a spike inside a bin of steps stays visible.
    valid = cells.dropna(subset=["v"])
    if len(valid):
        pick = valid.loc[valid.groupby(["r", "c"])["size"].idxmax()]
        grid[pick["r"].to_numpy(), pick["c"].to_numpy()] = pick["v"].to_numpy()
    x = bins[:, 0] if len(bins) == len(steps) else (bins[:, 0] + bins[:, 1]) / 2
    step_text = [f"{a}" if a == b else f"{a}–{b}" for a, b in bins]
    labels = [escape(module_label(m)) for m in modules]  # tick labels render markup
    colour, scale, colorbar, zrange = _colour(grid, kind, label)
    hover = np.array([[f"{labels[r]}<br>step {step_text[c]}<br>{label}: "
                       f"{_number(grid[r, c])}{'<br><b>NaN/Inf present</b>' if flagged[r, c] else ''}"
                       for c in range(len(bins))] for r in range(len(modules))])  # fmt: skip
    figure = go.Figure(
        go.Heatmap(
            z=colour, x=x, y=labels, colorscale=scale, zmin=zrange[0], zmax=zrange[1],
            colorbar=colorbar, hovertext=hover, hoverinfo="text", xgap=0, ygap=1,
        )
    )  # fmt: skip
    rr, cc = np.nonzero(flagged)
    if len(rr):
        figure.add_trace(go.Scatter(
            x=x[cc], y=[labels[r] for r in rr], mode="markers", name="NaN or Inf in the output",
            marker={"symbol": "x-thin", "size": 9, "line": {"width": 2, "color": NONFINITE_MARK}},
            hoverinfo="skip",
        ))  # fmt: skip
    title = f"{label} per layer and step ({direction})"
    if first and first.get("direction", "forward") == direction and first.get("module") in row_of:
        fx = x[max(int(np.searchsorted(bins[:, 0], int(first["step"]), side="right")) - 1, 0)]
        figure.add_trace(go.Scatter(
            x=[fx], y=[escape(module_label(first["module"]))], mode="markers", name="first non-finite value",
            marker={"symbol": "circle-open", "size": 20, "color": "#1F2933", "line": {"width": 3}},
            hoverinfo="skip",
        ))  # fmt: skip
    figure.update_layout(
        template=TEMPLATE_NAME, title={"text": title},
        height=min(1400, max(320, 120 + 22 * len(modules))),
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        margin={"l": 16, "r": 16, "t": 64, "b": 48},
    )  # fmt: skip
    figure.update_xaxes(title_text="step", showgrid=False, zeroline=False)
    figure.update_yaxes(autorange="reversed", showgrid=False, type="category", tickfont={"family": "monospace"})
    return figure


def _bins(steps: np.ndarray, max_columns: int) -> np.ndarray:
    """[first step, last step] of each column: one per step, or consecutive groups of steps."""
    if len(steps) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if len(steps) <= max_columns:
        return np.stack([steps, steps], axis=1)
    edges = np.array_split(steps, max_columns)
    return np.array([[part[0], part[-1]] for part in edges if len(part)], dtype=np.int64)


def _colour(grid: np.ndarray, kind: str, label: str) -> tuple[np.ndarray, Any, dict, tuple[float, float]]:
    finite = grid[np.isfinite(grid)]
    if kind == "signed":
        m = float(np.abs(finite).max()) if finite.size else 1.0
        m = m or 1.0
        return grid, DIVERGING, {"title": {"text": label, "side": "right"}}, (-m, m)
    positive = finite[finite > 0]
    # Magnitudes spanning decades (activations blowing up) read better on a log scale.
    if kind == "magnitude" and positive.size and finite.min() > 0 and positive.max() / positive.min() >= 100:
        logs = np.log10(np.where(grid > 0, grid, np.nan))
        lo, hi = math.floor(np.nanmin(logs)), math.ceil(np.nanmax(logs))
        decades = list(range(lo, hi + 1, max(1, math.ceil((hi - lo + 1) / 8))))
        colorbar = {
            "title": {"text": f"{label} (log)", "side": "right"},
            "tickvals": decades,
            "ticktext": [f"{10.0**d:g}" for d in decades],
        }
        return logs, SEQUENTIAL, colorbar, (float(lo), float(hi))
    hi = float(finite.max()) if finite.size else 1.0
    lo = 0.0 if not finite.size or finite.min() >= 0 else float(finite.min())
    return grid, SEQUENTIAL, {"title": {"text": label, "side": "right"}}, (lo, hi if hi > lo else lo + 1)


def _number(value: float) -> str:
    return "no finite values" if math.isnan(value) else f"{value:.4g}"
