"""Slice metrics equal scikit-learn's on the same subsets; intervals match their references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from sklearn import metrics as skm

import deepscope as ds
from deepscope.errors import InvalidArgumentError
from deepscope.evaluate._common import wilson_interval
from tests.evaluate.conftest import binary_table, multiclass_table


def _binary_reference(part: pd.DataFrame) -> dict[str, float]:
    y, p, s = part["label"], part["prediction"], part["score"]
    return {
        "accuracy": skm.accuracy_score(y, p),
        "precision": skm.precision_score(y, p, zero_division=0),
        "recall": skm.recall_score(y, p, zero_division=0),
        "f1": skm.f1_score(y, p, zero_division=0),
        "roc_auc": skm.roc_auc_score(y, s),
        "log_loss": skm.log_loss(y, y_proba=s, labels=[0, 1]),
    }


def test_binary_slice_metrics_equal_sklearn(binary):
    result = ds.evaluate.slices(binary, by=["group", "region", ("group", "region")])
    frame = result.to_frame()
    assert list(frame.columns[:4]) == ["slice", "feature", "value", "n"]
    for _, row in frame.iterrows():
        conditions = dict(part.split("=") for part in row["slice"].split(" & "))
        member = np.ones(len(binary), dtype=bool)
        for column, value in conditions.items():
            member &= binary[column].astype(str).to_numpy() == value
        part = binary[member]
        assert row["n"] == len(part)
        for metric, expected in _binary_reference(part).items():
            assert row[metric] == pytest.approx(expected, rel=1e-9, abs=1e-12), (row["slice"], metric)
    assert len(frame) == 3 + 2 + 6


def test_each_slice_query_selects_exactly_its_rows(binary):
    table = binary.copy()
    table.loc[table.index[:40], "income"] = np.nan
    table["flag"] = table["age"] > 50
    result = ds.evaluate.slices(
        table, by=["group", "income", "flag", ("region", "age")], metrics=["accuracy"], overall=True
    )
    for _, row in result.to_frame().iterrows():
        rows = result.rows(table, row["slice"])
        assert len(rows) == row["n"], row["slice"]
        assert (rows["prediction"] == rows["label"]).mean() == pytest.approx(row["accuracy"])
    assert "missing" in result.to_frame()["value"].tolist()


def test_multiclass_slice_metrics_equal_sklearn(multiclass):
    frame = ds.evaluate.slices(multiclass, by="group").to_frame()
    scores = [f"score_{c}" for c in range(4)]
    for _, row in frame.iterrows():
        part = multiclass[multiclass["group"] == row["value"]]
        y, p = part["label"], part["prediction"]
        assert row["accuracy"] == pytest.approx(skm.accuracy_score(y, p))
        assert row["precision"] == pytest.approx(skm.precision_score(y, p, average="macro", zero_division=0))
        assert row["recall"] == pytest.approx(skm.recall_score(y, p, average="macro", zero_division=0))
        assert row["f1"] == pytest.approx(skm.f1_score(y, p, average="macro", zero_division=0))
        assert row["roc_auc"] == pytest.approx(skm.roc_auc_score(y, part[scores], multi_class="ovr"))
        assert row["log_loss"] == pytest.approx(skm.log_loss(y, y_proba=part[scores], labels=[0, 1, 2, 3]))


def test_macro_average_skips_classes_absent_from_a_slice():
    # slice "a" holds only classes 0 and 1; scikit-learn averages over the labels present there
    table = pd.DataFrame(
        {"g": ["a"] * 4 + ["b"] * 3, "label": [0, 1, 1, 0, 2, 2, 1], "prediction": [0, 1, 0, 0, 2, 1, 1]}
    )
    frame = ds.evaluate.slices(table, by="g", metrics=["precision", "recall", "f1"]).to_frame()
    for _, row in frame.iterrows():
        part = table[table["g"] == row["value"]]
        assert row["f1"] == pytest.approx(skm.f1_score(part["label"], part["prediction"], average="macro"))
        assert row["recall"] == pytest.approx(skm.recall_score(part["label"], part["prediction"], average="macro"))


def test_regression_slice_metrics():
    rng = np.random.default_rng(3)
    table = pd.DataFrame({"g": rng.choice(["u", "v"], 500), "label": rng.normal(size=500)})
    table["prediction"] = table["label"] + rng.normal(0.2, 0.5, 500)
    result = ds.evaluate.slices(table, by="g")
    assert result.task == "regression"
    for _, row in result.to_frame().iterrows():
        part = table[table["g"] == row["value"]]
        error = part["prediction"] - part["label"]
        assert row["mean_error"] == pytest.approx(error.mean())
        assert row["mae"] == pytest.approx(skm.mean_absolute_error(part["label"], part["prediction"]))
        assert row["mse"] == pytest.approx(skm.mean_squared_error(part["label"], part["prediction"]))
        half = 1.959963984540054 * error.std(ddof=1) / np.sqrt(len(error))
        assert row["mean_error_low"] == pytest.approx(error.mean() - half)


def test_calibration_error_matches_a_loop(binary):
    frame = ds.evaluate.slices(binary, by="group", calibration_bins=10).to_frame()
    for _, row in frame.iterrows():
        part = binary[binary["group"] == row["value"]]
        ece = 0.0
        for k in range(10):
            lo, hi = k / 10, (k + 1) / 10
            inside = part[(part["score"] >= lo) & ((part["score"] < hi) if k < 9 else (part["score"] <= hi))]
            if len(inside):
                ece += len(inside) / len(part) * abs(inside["label"].mean() - inside["score"].mean())
        assert row["calibration_error"] == pytest.approx(ece)


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_interval_matches_scipy(confidence):
    for n in (1, 2, 7, 12, 100, 12000):
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            if not 0 <= k <= n:
                continue
            reference = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
            low, high = wilson_interval(np.array([k]), np.array([n]), confidence)
            assert low[0] == pytest.approx(reference.low, abs=1e-12)
            assert high[0] == pytest.approx(reference.high, abs=1e-12)


def test_intervals_bracket_rates_and_shrink_with_size(binary):
    small = binary.iloc[:12].assign(group="small")
    table = pd.concat([small, binary.iloc[12:].assign(group="large")], ignore_index=True)
    frame = ds.evaluate.slices(table, by="group", metrics=["accuracy"]).to_frame().set_index("value")
    for _, row in frame.iterrows():
        assert row["accuracy_low"] <= row["accuracy"] <= row["accuracy_high"]
    width = frame["accuracy_high"] - frame["accuracy_low"]
    assert width["small"] > 5 * width["large"]


def test_bootstrap_gives_ordered_intervals_for_every_metric(binary):
    result = ds.evaluate.slices(binary.iloc[:600], by="group", interval="bootstrap", n_boot=60, seed=1)
    frame = result.to_frame()
    for metric in result.metrics:
        assert (frame[f"{metric}_low"] <= frame[f"{metric}_high"]).all()
    for metric in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert (frame[f"{metric}_low"] <= frame[metric] + 1e-12).all()
        assert (frame[metric] <= frame[f"{metric}_high"] + 1e-12).all()
    again = ds.evaluate.slices(binary.iloc[:600], by="group", interval="bootstrap", n_boot=60, seed=1)
    pd.testing.assert_frame_equal(frame, again.to_frame())


def test_numeric_features_are_binned_into_quantiles(binary):
    frame = ds.evaluate.slices(binary, by="income", bins=4, metrics=["accuracy"]).to_frame()
    assert len(frame) == 4
    assert frame["n"].sum() == len(binary)
    assert frame["n"].min() >= len(binary) // 4 - 2
    assert frame["value"].iloc[0].startswith("[") and frame["value"].iloc[-1].endswith("]")


def test_missing_values_get_their_own_slice():
    table = pd.DataFrame({"g": ["a", None, "a", None], "label": [1, 0, 1, 1], "prediction": [1, 0, 0, 1]})
    frame = ds.evaluate.slices(table, by="g", metrics=["accuracy"]).to_frame()
    assert frame["value"].tolist() == ["a", "missing"]
    assert frame["n"].tolist() == [2, 2]


def test_overall_row_and_empty_by(binary):
    frame = ds.evaluate.slices(binary, by=[], overall=True, metrics=["accuracy"]).to_frame()
    assert frame["slice"].tolist() == ["all"]
    assert frame["accuracy"].iloc[0] == pytest.approx(skm.accuracy_score(binary["label"], binary["prediction"]))


def test_string_labels_need_pos_label():
    table = pd.DataFrame({"g": ["a", "a"], "label": ["yes", "no"], "prediction": ["yes", "yes"]})
    with pytest.raises(InvalidArgumentError, match="pos_label"):
        ds.evaluate.slices(table, by="g")
    frame = ds.evaluate.slices(table, by="g", pos_label="yes", metrics=["precision"]).to_frame()
    assert frame["precision"].iloc[0] == 0.5


def test_missing_label_column_names_it(binary):
    with pytest.raises(InvalidArgumentError, match=r"label.*'approved'") as info:
        ds.evaluate.slices(binary.drop(columns="label"), by="group", label="approved")
    assert info.value.argument == "label"
    assert "'group'" in str(info.value)


def test_missing_by_column_suggests_a_close_name(binary):
    with pytest.raises(InvalidArgumentError, match="Did you mean 'group'"):
        ds.evaluate.slices(binary, by="gruop")


def test_scores_outside_unit_interval_are_refused(binary):
    bad = binary.assign(score=binary["score"] * 3 - 1)
    with pytest.raises(InvalidArgumentError, match=r"score.*\[0, 1\]"):
        ds.evaluate.slices(bad, by="group")


def test_unknown_metric_is_refused(binary):
    with pytest.raises(InvalidArgumentError, match="metrics"):
        ds.evaluate.slices(binary, by="group", metrics=["accuracy", "auc"])


def test_score_metrics_without_scores_name_the_argument(binary):
    with pytest.raises(InvalidArgumentError, match="score"):
        ds.evaluate.slices(binary.drop(columns="score"), by="group", metrics=["roc_auc"])


def test_large_tables_cover_every_row_once():
    table = binary_table(n=200_000, seed=5)
    frame = ds.evaluate.slices(table, by=["group", "age"], metrics=["accuracy", "roc_auc"]).to_frame()
    assert frame.groupby("feature")["n"].sum().tolist() == [200_000, 200_000]


def test_multiclass_without_scores_has_count_metrics_only():
    table = multiclass_table(n=300).drop(columns=[f"score_{c}" for c in range(4)])
    result = ds.evaluate.slices(table, by="group")
    assert result.metrics == ["accuracy", "precision", "recall", "f1"]
