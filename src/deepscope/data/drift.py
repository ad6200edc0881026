"""Drift and skew between a reference dataset (train) and a current one (serving, test).

Per feature, from two profiles:

- categorical (string, categorical, bool): ``linf``, the L-infinity distance between the value
  frequencies (as TFDV), ``jensen_shannon`` and ``psi`` over the same frequencies;
- numeric: ``jensen_shannon`` and ``psi`` over ten buckets cut at the reference's deciles,
  ``wasserstein``, the 1-Wasserstein distance divided by the reference's standard deviation
  (normed, as Evidently), and ``ks``, the Kolmogorov-Smirnov statistic from the quantile sketches;
  with raw samples (DataFrames or Arrow tables passed instead of profiles) ``ks`` is exact and
  ``ks_pvalue`` is the two-sample KS test's p-value.

``jensen_shannon`` is the Jensen-Shannon **divergence** in bits (log base 2), in [0, 1]: it equals
``scipy.spatial.distance.jensenshannon(p, q, base=2) ** 2`` on the histograms kept in
``DriftReport.histograms`` (scipy returns the distance, the square root of the divergence).

A metric drifts when its value exceeds its threshold (for ``ks_pvalue``: falls below it); a
threshold of None reports the metric without judging it. Small samples differ by chance, so the
threshold applied to ``linf`` and ``wasserstein`` is never below three standard errors of the
metric between two samples of the same distribution (``0.5 * s`` and ``s`` with
``s = sqrt(1/n_reference + 1/n_current)``); the ``threshold`` column shows the value applied.
A feature drifts when any of its metrics does; the dataset drifts when the share of drifted
features exceeds ``dataset_share`` (default 0: any drifted feature).

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> ref = pd.DataFrame({"x": rng.normal(0, 1, 5000)})
>>> cur = pd.DataFrame({"x": rng.normal(1, 1, 5000)})
>>> drift(ref, cur).drifted
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from deepscope.data.profile import FeatureProfile, Profile, profile
from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.result import Result
from deepscope.validation import check_number

__all__ = ["drift", "DriftReport", "DEFAULT_THRESHOLDS", "jensen_shannon", "psi", "linf"]

DEFAULT_THRESHOLDS: dict[str, float | None] = {
    "linf": 0.1,
    "jensen_shannon": 0.05,
    "psi": 0.2,
    "wasserstein": 0.1,
    "ks": None,
    "ks_pvalue": None,
    "dataset_share": 0.0,
}
"""Defaults: PSI 0.2 is the usual "significant shift"; normed Wasserstein 0.1 is Evidently's;
L-infinity 0.1 and JS divergence 0.05 bits stay above the sampling noise of a few hundred rows
against a few thousand. KS statistics and p-values over-flag on large samples, so they are
reported without a threshold unless one is given (for example ``{"ks_pvalue": 0.05}``)."""

_PSI_FLOOR = 1e-4  # empty buckets get this share, so PSI stays finite
_NOISE_Z = 3.0
# Standard error of each metric between two samples of one distribution, per sqrt(1/n1 + 1/n2):
# a difference of proportions has at most 0.5; the normed 1-Wasserstein distance about 1.
_NOISE_SCALE = {"linf": 0.5, "wasserstein": 1.0}
_QUANTILE_LEVELS = 256


def _normalise(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total > 0 else counts


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits between two histograms (normalised here)."""
    p, q = _normalise(np.asarray(p, float)), _normalise(np.asarray(q, float))
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / m[mask])))

    return max(0.0, 0.5 * kl(p) + 0.5 * kl(q))


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index; empty buckets count as a share of 1e-4."""
    e = np.clip(_normalise(np.asarray(expected, float)), _PSI_FLOOR, None)
    a = np.clip(_normalise(np.asarray(actual, float)), _PSI_FLOOR, None)
    return float(np.sum((a - e) * np.log(a / e)))


def linf(p: np.ndarray, q: np.ndarray) -> float:
    """L-infinity distance: the largest difference between two frequencies."""
    p, q = _normalise(np.asarray(p, float)), _normalise(np.asarray(q, float))
    return float(np.max(np.abs(p - q))) if p.size else 0.0


@dataclass(frozen=True)
class DriftReport(Result):
    """Drift metrics per feature with thresholds and verdicts.

    ``metrics``: one row per (feature, metric) with ``value, threshold, drifted``;
    ``features``: one row per feature with its type, verdict and the metric that decided;
    ``histograms``: per feature the buckets (``edges`` or ``categories``) and the reference and
    current frequencies the distribution metrics were computed on.
    """

    reference: str
    current: str
    metrics: pd.DataFrame
    features: pd.DataFrame
    histograms: dict[str, dict[str, Any]]
    thresholds: dict[str, float | None]
    drifted: bool
    drifted_share: float
    skipped: dict[str, str]

    default_tag = "drift"
    figure_function = "deepscope.viz.data:drift_figure"

    def to_frame(self) -> pd.DataFrame:
        """Columns ``feature, metric, value, threshold, drifted``."""
        return self.metrics.copy()

    @property
    def drifted_features(self) -> list[str]:
        return self.features.loc[self.features["drifted"], "feature"].tolist()


def _as_profile(data: Any, argument: str, label: str) -> tuple[Profile, pd.DataFrame | None]:
    if isinstance(data, Profile):
        return data, None
    import pyarrow as pa

    raw: pd.DataFrame | None = None
    if isinstance(data, pd.DataFrame):
        raw = data
    elif isinstance(data, (pa.Table, pa.RecordBatch)):
        raw = data.to_pandas()
    try:
        return profile(data, name=label, progress=False), raw
    except (TypeError, ValueError) as error:
        if isinstance(error, (ArgumentTypeError, InvalidArgumentError)) and error.argument == "source":
            raise type(error)(argument, error.expected, error.got) from None
        raise


def _check_thresholds(thresholds: dict[str, float | None] | None) -> dict[str, float | None]:
    merged = dict(DEFAULT_THRESHOLDS)
    if thresholds is None:
        return merged
    if not isinstance(thresholds, dict):
        raise ArgumentTypeError("thresholds", "a dict of metric name to number or None", thresholds)
    for key, value in thresholds.items():
        if key not in DEFAULT_THRESHOLDS:
            raise InvalidArgumentError("thresholds", f"keys among {list(DEFAULT_THRESHOLDS)}", key)
        merged[key] = check_number(value, f"thresholds[{key!r}]", low=0, allow_none=True)
    return merged


def drift(reference: Any, current: Any, *, thresholds: dict[str, float | None] | None = None) -> DriftReport:
    """Compare ``current`` to ``reference`` feature by feature (see the module docstring).

    Both are Profiles or anything ``profile`` accepts; DataFrames and Arrow tables also give
    exact KS statistics and p-values. Only features present in both are compared; the others are
    listed in ``skipped`` with the reason.
    """
    limits = _check_thresholds(thresholds)
    ref, ref_raw = _as_profile(reference, "reference", "reference")
    cur, cur_raw = _as_profile(current, "current", "current")
    rows, verdicts, histograms, skipped = [], [], {}, {}
    for name in ref.features:
        if name not in cur:
            skipped[name] = "absent from current"
            continue
        a, b = ref[name], cur[name]
        if a.is_numeric and b.is_numeric:
            if a.min is None or b.min is None:
                skipped[name] = "no finite values in " + ("reference" if a.min is None else "current")
                continue
            values, hist = _numeric_metrics(a, b)
            raw = _raw_pair(ref_raw, cur_raw, name)
            if raw is not None:
                from scipy.stats import ks_2samp

                # scipy builds its result class at run time; its annotations do not describe the fields.
                test = ks_2samp(*raw)
                values["ks"] = float(test.statistic)  # pyright: ignore[reportAttributeAccessIssue]
                values["ks_pvalue"] = float(test.pvalue)  # pyright: ignore[reportAttributeAccessIssue]
        elif a.is_categorical and b.is_categorical:
            if not a.count or not b.count:
                skipped[name] = "no values in " + ("reference" if not a.count else "current")
                continue
            values, hist = _categorical_metrics(a, b)
        else:
            reason = a.reason or b.reason
            skipped[name] = reason or f"types differ or are not comparable: {a.type} and {b.type}"
            continue
        histograms[name] = hist
        feature_drifted, worst, worst_ratio = False, None, -1.0
        spread = math.sqrt(1.0 / _value_count(a) + 1.0 / _value_count(b))
        for metric, value in values.items():
            limit = limits.get(metric)
            if limit is not None and metric in _NOISE_SCALE:
                limit = max(limit, _NOISE_Z * _NOISE_SCALE[metric] * spread)
            flagged = False
            if limit is not None and math.isfinite(value):
                flagged = value < limit if metric == "ks_pvalue" else value > limit
                ratio = (limit / max(value, 1e-300)) if metric == "ks_pvalue" else value / max(limit, 1e-12)
                if ratio > worst_ratio:
                    worst, worst_ratio = metric, ratio
            rows.append({"feature": name, "metric": metric, "value": value, "threshold": limit, "drifted": flagged})
            feature_drifted |= flagged
        verdicts.append(
            {
                "feature": name,
                "type": a.type,
                "drifted": feature_drifted,
                "metric": worst,
                "score": worst_ratio if worst is not None else float("nan"),
            }
        )
    metrics = pd.DataFrame(rows, columns=["feature", "metric", "value", "threshold", "drifted"])
    metrics["drifted"] = metrics["drifted"].astype(bool)
    features = pd.DataFrame(verdicts, columns=["feature", "type", "drifted", "metric", "score"])
    features["drifted"] = features["drifted"].astype(bool)
    share = float(features["drifted"].mean()) if len(features) else 0.0
    return DriftReport(
        reference=ref.name,
        current=cur.name,
        metrics=metrics,
        features=features,
        histograms=histograms,
        thresholds=limits,
        drifted=bool(len(features) and share > (limits["dataset_share"] or 0.0)),
        drifted_share=share,
        skipped=skipped,
    )


def _raw_pair(ref: pd.DataFrame | None, cur: pd.DataFrame | None, name: str):
    if ref is None or cur is None or name not in ref.columns or name not in cur.columns:
        return None
    try:
        a = pd.to_numeric(ref[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        b = pd.to_numeric(cur[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        return None
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    return (a, b) if a.size and b.size else None


def _numeric_metrics(a: FeatureProfile, b: FeatureProfile) -> tuple[dict[str, float], dict[str, Any]]:
    ref_sketch, cur_sketch = a.sketch(), b.sketch()
    # Buckets at the reference's deciles, so each holds a tenth of the reference; repeated
    # deciles (few distinct values) collapse into one edge.
    inner = np.unique(np.asarray(ref_sketch.quantiles([0.1 * i for i in range(1, 10)])))
    # The caller skips features without finite values, so min and max are set.
    low = min(cast(float, a.min), cast(float, b.min))
    high = max(cast(float, a.max), cast(float, b.max))
    inner = inner[(inner > low) & (inner <= high)]
    edges = np.concatenate([[low], inner, [high]]) if high > low else np.array([low, high])
    p = ref_sketch.pmf(edges) if inner.size else np.ones(1)
    q = cur_sketch.pmf(edges) if inner.size else np.ones(1)
    levels = (np.arange(_QUANTILE_LEVELS) + 0.5) / _QUANTILE_LEVELS
    qa = np.asarray(ref_sketch.quantiles(levels))
    qb = np.asarray(cur_sketch.quantiles(levels))
    scale = a.std if a.std > 0 else (b.std if b.std > 0 else 1.0)
    wasserstein = float(np.mean(np.abs(qa - qb))) / scale
    points = np.unique(np.concatenate([qa, qb]))
    ks = float(np.max(np.abs(ref_sketch.cdf(points) - cur_sketch.cdf(points)))) if points.size else 0.0
    values = {
        "jensen_shannon": jensen_shannon(p, q),
        "psi": psi(p, q),
        "wasserstein": wasserstein,
        "ks": ks,
    }
    hist = {
        "kind": "numeric",
        "edges": edges.tolist(),
        "reference": _normalise(p).tolist(),
        "current": _normalise(q).tolist(),
    }
    return values, hist


def _categorical_metrics(a: FeatureProfile, b: FeatureProfile) -> tuple[dict[str, float], dict[str, Any]]:
    fa, fb = dict(a.frequencies()), dict(b.frequencies())
    categories = sorted(set(fa) | set(fb), key=lambda c: (-(fa.get(c, 0) / a.count + fb.get(c, 0) / b.count), c))
    na, nb = _value_count(a), _value_count(b)
    p = np.array([fa.get(c, 0) for c in categories], float) / na
    q = np.array([fb.get(c, 0) for c in categories], float) / nb
    # What the top-values sketch did not keep (beyond its exact range) goes to one "other" bucket.
    rest_p, rest_q = max(0.0, 1.0 - p.sum()), max(0.0, 1.0 - q.sum())
    if rest_p > 1e-12 or rest_q > 1e-12:
        categories = [*categories, "__other__"]
        p, q = np.append(p, rest_p), np.append(q, rest_q)
    values = {"linf": linf(p, q), "jensen_shannon": jensen_shannon(p, q), "psi": psi(p, q)}
    hist = {
        "kind": "categorical",
        "categories": categories,
        "reference": _normalise(p).tolist(),
        "current": _normalise(q).tolist(),
    }
    return values, hist


def _value_count(feature: FeatureProfile) -> int:
    values = feature.state.get("values") or {}
    return max(int(values.get("count", feature.count)), 1)
