"""Several datasets side by side (train, test, serving), as Facets Overview shows them.

Histograms of each feature share buckets across datasets and are normalised to percentages, so
datasets of different sizes compare. Features sort by distribution distance (the largest
Jensen-Shannon divergence from the first dataset), by missing share, by non-uniformity (one minus
the normalised entropy of the histogram: 0 uniform, 1 a single bucket) or by name. A distance needs
two datasets: with one, every distance is NaN and sorting by distance keeps the column order.

>>> import pandas as pd
>>> from deepscope.data.profile import profile
>>> a = profile(pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]}), name="a")
>>> b = profile(pd.DataFrame({"x": [1, 2, 3], "y": ["a", "a", "a"]}), name="b")
>>> compare(a, b, sort="distance").order
['y', 'x']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deepscope.data.drift import jensen_shannon
from deepscope.data.profile import FeatureProfile, Profile
from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.result import Result

__all__ = ["compare", "Comparison", "SORT_KEYS"]

SORT_KEYS = ("distance", "missing", "non_uniformity", "name")
_BINS = 10
_TOP = 10


@dataclass(frozen=True)
class Comparison(Result):
    """Profiles of several datasets feature by feature.

    ``order``: features in the chosen sort order. ``summary``: one row per (feature, dataset) with
    the statistics of ``Profile.to_frame``. ``scores``: one row per feature with ``distance``,
    ``missing`` (largest across datasets) and ``non_uniformity``; ``distance`` is NaN when there
    is one dataset (see ``has_distance``). ``histograms``: per feature, the shared buckets
    (``edges`` or ``categories``) and per dataset the percentage in each.
    """

    datasets: list[str]
    order: list[str]
    sort: str
    summary: pd.DataFrame
    scores: pd.DataFrame
    histograms: dict[str, dict[str, Any]]

    default_tag = "comparison"
    figure_function = "deepscope.viz.data:comparison_figure"

    @property
    def has_distance(self) -> bool:
        """Whether distances between distributions mean anything: two datasets or more."""
        return len(self.datasets) > 1

    def to_frame(self) -> pd.DataFrame:
        """The summary in the sort order: one row per (feature, dataset)."""
        rank = {f: i for i, f in enumerate(self.order)}
        dataset_rank = {d: i for i, d in enumerate(self.datasets)}
        frame = self.summary.assign(_f=self.summary["feature"].map(rank), _d=self.summary["dataset"].map(dataset_rank))
        return frame.sort_values(["_f", "_d"]).drop(columns=["_f", "_d"]).reset_index(drop=True)

    def sorted_by(self, sort: str) -> Comparison:
        """The same comparison in another order."""
        return Comparison(self.datasets, _order(self.scores, sort), sort, self.summary, self.scores, self.histograms)


def compare(*profiles: Profile, sort: str = "distance", normalize: bool = True) -> Comparison:
    """Side-by-side overview of several profiles; ``normalize`` gives percentages, else counts."""
    if not profiles:
        raise InvalidArgumentError("profiles", "at least one Profile", "none")
    for i, p in enumerate(profiles):
        if not isinstance(p, Profile):
            raise ArgumentTypeError(f"profiles[{i}]", "a Profile (from deepscope.data.profile)", p)
    if sort not in SORT_KEYS:
        raise InvalidArgumentError("sort", f"one of {list(SORT_KEYS)}", sort)
    names = _unique_names([p.name for p in profiles])
    features = list(dict.fromkeys(f for p in profiles for f in p.features))
    summary_rows, score_rows, histograms = [], [], {}
    for feature in features:
        present = [(name, p[feature]) for name, p in zip(names, profiles, strict=True) if feature in p]
        for name, fp in present:
            summary_rows.append({"dataset": name, **fp.to_row()})
        hist = _shared_histogram([fp for _, fp in present], [n for n, _ in present], normalize)
        histograms[feature] = hist
        shares = [np.asarray(hist["datasets"][n], float) for n, _ in present] if hist else []
        kinds = {"numeric" if fp.is_numeric else "categorical" if fp.is_categorical else fp.type for _, fp in present}
        if len(profiles) == 1:
            distance = float("nan")  # nothing to measure from: not "no difference"
        elif len(present) < len(profiles) or len(kinds) > 1:
            distance = 1.0  # absent from a dataset, or of another kind there: as far apart as it gets
        elif hist is None:
            distance = 0.0  # nothing to compare (no values anywhere, or not profiled)
        else:
            distance = max(
                (jensen_shannon(shares[0], s) for s in shares[1:] if shares[0].sum() and s.sum()), default=0.0
            )
        score_rows.append(
            {
                "feature": feature,
                "distance": distance,
                "missing": max((fp.missing / fp.rows if fp.rows else 0.0) for _, fp in present),
                "non_uniformity": max((_non_uniformity(s) for s in shares), default=0.0),
            }
        )
    scores = pd.DataFrame(score_rows, columns=["feature", "distance", "missing", "non_uniformity"])
    summary = pd.DataFrame(summary_rows)
    return Comparison(names, _order(scores, sort), sort, summary, scores, histograms)


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        result.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return result


def _order(scores: pd.DataFrame, sort: str) -> list[str]:
    if sort not in SORT_KEYS:
        raise InvalidArgumentError("sort", f"one of {list(SORT_KEYS)}", sort)
    if sort == "name":
        return sorted(scores["feature"].tolist())
    # Stable: ties (and NaN distances, last) keep the datasets' column order.
    ranked = scores.assign(_pos=range(len(scores))).sort_values([sort, "_pos"], ascending=[False, True], kind="stable")
    return ranked["feature"].tolist()


def _non_uniformity(share: np.ndarray) -> float:
    total = share.sum()
    if total <= 0 or share.size < 2:
        return 0.0
    p = share[share > 0] / total
    entropy = float(-(p * np.log(p)).sum())
    return float(max(0.0, 1.0 - entropy / np.log(share.size)))


def _shared_histogram(features: list[FeatureProfile], names: list[str], normalize: bool) -> dict[str, Any] | None:
    if all(f.is_numeric for f in features):
        finite = [f for f in features if f.min is not None]
        if not finite:
            return None
        low = min(f.min for f in finite if f.min is not None)
        high = max(f.max for f in finite if f.max is not None)
        # low*(1-t) + high*t stays finite near +-1e308, where linspace's (high - low) overflows
        t = np.linspace(0.0, 1.0, _BINS + 1)
        edges = low * (1 - t) + high * t if high > low else np.array([low, high], float)
        shares = {}
        for name, f in zip(names, features, strict=True):
            if f.min is None:
                counts = np.zeros(len(edges) - 1)
            elif high > low:
                counts = f.sketch().pmf(edges) * f.state["values"]["finite"]
            else:
                counts = np.array([float(f.state["values"]["finite"])])
            shares[name] = (_percent(counts) if normalize else counts).tolist()
        return {
            "kind": "numeric",
            "edges": edges.tolist(),
            "datasets": shares,
            "unit": "percent" if normalize else "count",
        }
    if all(f.is_categorical for f in features):
        totals: dict[str, float] = {}
        per = []
        for f in features:
            freq = dict(f.frequencies())
            per.append(freq)
            n = max(f.state["values"]["count"], 1)
            for value, count in freq.items():
                totals[value] = totals.get(value, 0.0) + count / n
        categories = sorted(totals, key=lambda c: (-totals[c], c))[:_TOP]
        shares = {}
        other = False
        for name, f, freq in zip(names, features, per, strict=True):
            counts = np.array([freq.get(c, 0) for c in categories], float)
            rest = max(0.0, f.state["values"]["count"] - counts.sum())
            other |= rest > 0
            shares[name] = np.append(counts, rest)
        labels = [*categories, "(other)"] if other else categories
        result = {}
        for name, counts in shares.items():
            counts = counts if other else counts[:-1]
            result[name] = (_percent(counts) if normalize else counts).tolist()
        return {
            "kind": "categorical",
            "categories": labels,
            "datasets": result,
            "unit": "percent" if normalize else "count",
        }
    return None


def _percent(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts * 100.0 / total if total > 0 else counts
