"""Drift metrics against scipy and closed forms; planted drift flagged, unchanged data not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, wasserstein_distance

from deepscope.data import DEFAULT_THRESHOLDS, drift, profile
from deepscope.data.drift import jensen_shannon, linf, psi
from deepscope.errors import InvalidArgumentError


@pytest.fixture(scope="module")
def shifted():
    rng = np.random.default_rng(0)
    n = 8000
    reference = pd.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            "k": rng.poisson(3, n),
            "c": rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]),
        }
    )
    current = pd.DataFrame(
        {
            "x": rng.normal(0.5, 1, n),
            "k": rng.poisson(3, n),
            "c": rng.choice(["a", "b", "c", "d"], n, p=[0.2, 0.3, 0.2, 0.3]),
        }
    )
    return reference, current


def test_jensen_shannon_is_the_squared_scipy_distance_in_bits(shifted):
    report = drift(*shifted)
    for feature, hist in report.histograms.items():
        value = report.metrics.set_index(["feature", "metric"]).loc[(feature, "jensen_shannon"), "value"]
        expected = jensenshannon(hist["reference"], hist["current"], base=2) ** 2
        assert value == pytest.approx(expected, rel=1e-9, abs=1e-12), feature


def test_metric_functions_against_closed_forms():
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.0, 0.5, 0.5])
    assert jensen_shannon(p, q) == pytest.approx(jensenshannon(p, q, base=2) ** 2)
    assert jensen_shannon(p, p) == 0.0
    assert jensen_shannon([1, 0], [0, 1]) == pytest.approx(1.0)  # disjoint: the maximum, 1 bit
    assert linf([0.1, 0.9], [0.4, 0.6]) == pytest.approx(0.3)
    e, a = np.array([0.25, 0.25, 0.5]), np.array([0.5, 0.25, 0.25])
    assert psi(e, a) == pytest.approx(np.sum((a - e) * np.log(a / e)))
    assert psi(e, e) == 0.0


def test_categorical_linf_equals_pandas_frequencies(shifted):
    reference, current = shifted
    report = drift(reference, current)
    expected = (reference["c"].value_counts(normalize=True) - current["c"].value_counts(normalize=True)).abs().max()
    value = report.metrics.set_index(["feature", "metric"]).loc[("c", "linf"), "value"]
    assert value == pytest.approx(expected, rel=1e-12)


def test_ks_is_exact_with_raw_samples_and_sketched_without(shifted):
    reference, current = shifted
    with_raw = drift(reference, current).metrics.set_index(["feature", "metric"])["value"]
    test = ks_2samp(reference["x"], current["x"])
    assert with_raw[("x", "ks")] == pytest.approx(test.statistic, rel=1e-12)
    assert with_raw[("x", "ks_pvalue")] == pytest.approx(test.pvalue, rel=1e-9, abs=1e-300)
    from_profiles = drift(profile(reference), profile(current)).metrics.set_index(["feature", "metric"])["value"]
    assert ("x", "ks_pvalue") not in from_profiles.index
    assert from_profiles[("x", "ks")] == pytest.approx(test.statistic, abs=0.015)


def test_normed_wasserstein_close_to_scipy(shifted):
    reference, current = shifted
    value = (
        drift(profile(reference), profile(current))
        .metrics.set_index(["feature", "metric"])
        .loc[("x", "wasserstein"), "value"]
    )
    expected = wasserstein_distance(reference["x"], current["x"]) / reference["x"].std()
    assert value == pytest.approx(expected, rel=0.05)


def test_shift_is_flagged_and_same_distribution_is_not(shifted):
    reference, current = shifted
    report = drift(reference, current)
    assert report.drifted
    assert set(report.drifted_features) == {"x", "c"}
    frame = report.to_frame()
    assert list(frame.columns) == ["feature", "metric", "value", "threshold", "drifted"]
    assert frame.loc[frame["feature"] == "k", "drifted"].sum() == 0

    rng = np.random.default_rng(1)
    half = reference.sample(frac=0.5, random_state=rng)
    same = drift(half, reference.drop(half.index))
    assert not same.drifted and same.drifted_features == []


def test_thresholds_are_configurable_and_checked(shifted):
    reference, current = shifted
    strict = drift(reference, current, thresholds={"ks_pvalue": 0.05})
    ks = strict.metrics.set_index(["feature", "metric"]).loc[("x", "ks_pvalue")]
    assert ks["drifted"] and ks["threshold"] == 0.05
    lenient = drift(reference, current, thresholds={m: None for m in ("linf", "jensen_shannon", "psi", "wasserstein")})
    assert not lenient.drifted
    assert DEFAULT_THRESHOLDS["psi"] == 0.2
    with pytest.raises(InvalidArgumentError, match="thresholds"):
        drift(reference, current, thresholds={"bogus": 1.0})
    with pytest.raises(InvalidArgumentError, match="thresholds\\['psi'\\]"):
        drift(reference, current, thresholds={"psi": -1})


def test_dataset_verdict_uses_the_share_of_drifted_features(shifted):
    reference, current = shifted
    report = drift(reference, current, thresholds={"dataset_share": 0.7})
    assert report.drifted_share == pytest.approx(2 / 3)
    assert not report.drifted


def test_planted_drift_in_loans_is_flagged():
    from deepscope.datasets import loans

    data = loans()
    report = drift(data.train, data.serving)
    assert report.drifted
    assert {"income", "debt", "purpose", "employment"} <= set(report.drifted_features)
    assert not {"age", "late_payments", "region", "group"} & set(report.drifted_features)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unchanged_loans_split_is_not_flagged(seed):
    from deepscope.datasets import loans

    first, second = loans().split(0.8, seed=seed)
    report = drift(first.train, second.train)
    assert not report.drifted, report.features


def test_features_that_cannot_be_compared_are_skipped_with_a_reason():
    reference = pd.DataFrame({"x": [1.0, 2.0, 3.0], "only": [1, 2, 3], "empty": [np.nan] * 3, "t": ["a", "b", "c"]})
    current = pd.DataFrame({"x": [1.0, 2.5, 3.0], "empty": [np.nan] * 3, "t": [1, 2, 3]})
    report = drift(reference, current)
    assert set(report.skipped) == {"only", "empty", "t"}
    assert "absent" in report.skipped["only"]
    assert "no finite values" in report.skipped["empty"]
    assert report.features["feature"].tolist() == ["x"]


def test_bad_reference_names_the_argument():
    with pytest.raises(InvalidArgumentError) as info:
        drift(pd.DataFrame({"x": []}), pd.DataFrame({"x": [1.0]}))
    assert info.value.argument == "reference"
