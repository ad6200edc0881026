"""Fairness thresholds: each strategy's constraint holds and its objective is optimal (brute force)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import deepscope as ds
from deepscope.errors import InvalidArgumentError
from tests.evaluate.conftest import binary_table


def _cost(part: pd.DataFrame, threshold: float, cost_ratio: float) -> float:
    positive = part["score"].to_numpy() >= threshold
    y = part["label"].to_numpy() == 1
    return cost_ratio * np.sum(positive & ~y) + np.sum(~positive & y)


def _candidates(scores: np.ndarray) -> np.ndarray:
    return np.r_[np.unique(scores), np.nextafter(scores.max(), np.inf)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_demographic_parity_equalises_positive_rates_within_one_example(seed):
    table = binary_table(n=1500, seed=seed)
    frame = ds.evaluate.thresholds(table, group="group", strategy="demographic_parity").to_frame()
    rates = frame["positive_rate"]
    assert rates.max() - rates.min() <= 1 / frame["n"].min() + 1e-12
    for _, row in frame.iterrows():
        part = table[table["group"] == row["group"]]
        assert row["positive_rate"] == pytest.approx((part["score"] >= row["threshold"]).mean())


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("cost_ratio", [0.5, 1.0, 3.0])
def test_equal_opportunity_equalises_true_positive_rates_within_one_example(seed, cost_ratio):
    table = binary_table(n=1500, seed=seed)
    frame = ds.evaluate.thresholds(table, group="group", strategy="equal_opportunity", cost_ratio=cost_ratio).to_frame()
    positives = frame["tp"] + frame["fn"]
    assert frame["tpr"].max() - frame["tpr"].min() <= 1 / positives.min() + 1e-12


@pytest.mark.parametrize("seed", [0, 1])
def test_equal_accuracy_equalises_accuracy_within_one_example(seed):
    frame = ds.evaluate.thresholds(binary_table(n=1500, seed=seed), group="group", strategy="equal_accuracy").to_frame()
    assert frame["accuracy"].max() - frame["accuracy"].min() <= 1 / frame["n"].min() + 1e-12


@pytest.mark.parametrize("cost_ratio", [0.25, 1.0, 4.0])
def test_single_threshold_minimises_cost_by_brute_force(cost_ratio):
    table = binary_table(n=300, seed=4)
    result = ds.evaluate.thresholds(table, group="group", strategy="single", cost_ratio=cost_ratio)
    chosen = set(result.thresholds.values())
    assert len(chosen) == 1
    best = min(_cost(table, t, cost_ratio) for t in _candidates(table["score"].to_numpy()))
    assert result.cost == best == _cost(table, chosen.pop(), cost_ratio)


@pytest.mark.parametrize("cost_ratio", [0.5, 2.0])
def test_group_thresholds_minimise_each_groups_cost(cost_ratio):
    table = binary_table(n=300, seed=6)
    result = ds.evaluate.thresholds(table, group="group", strategy="group", cost_ratio=cost_ratio)
    for value, threshold in result.thresholds.items():
        part = table[table["group"] == value]
        best = min(_cost(part, t, cost_ratio) for t in _candidates(part["score"].to_numpy()))
        assert _cost(part, threshold, cost_ratio) == best


def _feasible(counts: list[int], sizes: list[int]) -> bool:
    """Some target r gives round(r * size) == count for every group (one example of slack each)."""
    low = max((c - 0.5) / n for c, n in zip(counts, sizes, strict=True))
    high = min((c + 0.5) / n for c, n in zip(counts, sizes, strict=True))
    return low <= high


@pytest.mark.parametrize("strategy", ["demographic_parity", "equal_opportunity"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_constrained_strategies_are_the_cheapest_feasible_choice(strategy, seed):
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"group": ["a"] * 9 + ["b"] * 7, "score": rng.random(16)})
    table["label"] = [0, 1] * 4 + [1] + [1, 0, 1, 1, 0, 0, 1]
    result = ds.evaluate.thresholds(table, group="group", strategy=strategy)
    parts = [table[table["group"] == g] for g in ("a", "b")]
    best = np.inf
    for ta, tb in itertools.product(*(_candidates(p["score"].to_numpy()) for p in parts)):
        chosen = [p["score"].to_numpy() >= t for p, t in zip(parts, (ta, tb), strict=True)]
        if strategy == "demographic_parity":
            counts, sizes = [int(c.sum()) for c in chosen], [len(p) for p in parts]
        else:
            counts = [int((c & (p["label"].to_numpy() == 1)).sum()) for c, p in zip(chosen, parts, strict=True)]
            sizes = [int(p["label"].sum()) for p in parts]
        if _feasible(counts, sizes):
            best = min(best, _cost(parts[0], ta, 1.0) + _cost(parts[1], tb, 1.0))
    assert result.cost == best


def test_custom_thresholds_are_applied_as_given(binary):
    result = ds.evaluate.thresholds(binary, group="group", strategy="custom", custom={"a": 0.3, "b": 0.5, "c": 0.7})
    assert result.thresholds == {"a": 0.3, "b": 0.5, "c": 0.7}
    for _, row in result.to_frame().iterrows():
        part = binary[binary["group"] == row["group"]]
        positive = part["score"] >= row["threshold"]
        y = part["label"] == 1
        assert row["tp"] == (positive & y).sum() and row["fp"] == (positive & ~y).sum()
        assert row["tpr"] == pytest.approx((positive & y).sum() / y.sum())
        assert row["fpr"] == pytest.approx((positive & ~y).sum() / (~y).sum())
        assert row["accuracy"] == pytest.approx((positive == y).mean())
    default = ds.evaluate.thresholds(binary, group="group", strategy="custom")
    assert set(default.thresholds.values()) == {0.5}


def test_frame_columns_and_roc_curves(binary):
    result = ds.evaluate.thresholds(binary, group="group", strategy="group")
    frame = result.to_frame()
    assert list(frame.columns[:2]) == ["group", "threshold"]
    assert {"tpr", "fpr", "positive_rate", "accuracy"} <= set(frame.columns)
    for value in ("a", "b", "c"):
        curve = result.roc[result.roc["group"] == value]
        part = binary[binary["group"] == value]
        assert np.trapezoid(curve["tpr"], curve["fpr"]) == pytest.approx(roc_auc_score(part["label"], part["score"]))


def test_a_group_with_one_class_is_named(binary):
    table = binary.copy()
    table.loc[table["group"] == "b", "label"] = 1
    with pytest.raises(InvalidArgumentError, match=r"group 'b'.*only positive") as info:
        ds.evaluate.thresholds(table, group="group", strategy="single")
    assert info.value.argument == "group"


def test_scores_outside_unit_interval_are_named(binary):
    with pytest.raises(InvalidArgumentError, match=r"score.*'logit'"):
        ds.evaluate.thresholds(
            binary.assign(logit=binary["score"] * 4 - 2), group="group", strategy="single", score="logit"
        )


def test_missing_label_column_is_named(binary):
    with pytest.raises(InvalidArgumentError, match="label") as info:
        ds.evaluate.thresholds(binary.drop(columns="label"), group="group", strategy="single")
    assert info.value.argument == "label"


def test_unknown_strategy_and_bad_cost_ratio(binary):
    with pytest.raises(InvalidArgumentError, match="strategy"):
        ds.evaluate.thresholds(binary, group="group", strategy="parity")
    with pytest.raises(InvalidArgumentError, match="cost_ratio"):
        ds.evaluate.thresholds(binary, group="group", strategy="single", cost_ratio=0)


def test_more_than_two_classes_is_refused(multiclass):
    with pytest.raises(InvalidArgumentError, match="two classes"):
        ds.evaluate.thresholds(multiclass.assign(score=0.5), group="group", strategy="single")
