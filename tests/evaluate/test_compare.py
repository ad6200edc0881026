"""Classifier comparisons (Ludwig's views) equal scikit-learn or a direct count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

import deepscope as ds
from deepscope.errors import InvalidArgumentError
from tests.evaluate.conftest import binary_table, multiclass_table


def test_confusion_matrix_equals_sklearn_in_frequency_order():
    table = multiclass_table(n=800)
    table.loc[table.index[:300], "label"] = 2  # make class 2 the most frequent
    result = ds.evaluate.confusion_matrix(table)
    assert result.classes[0] == 2
    reference = skm.confusion_matrix(table["label"], table["prediction"], labels=result.classes)
    np.testing.assert_array_equal(result.matrix, reference)
    for normalize in ("true", "pred", "all"):
        normalised = ds.evaluate.confusion_matrix(table, normalize=normalize)
        expected = skm.confusion_matrix(
            table["label"], table["prediction"], labels=normalised.classes, normalize=normalize
        )
        np.testing.assert_allclose(normalised.matrix, expected)
    top = ds.evaluate.confusion_matrix(table, top_n=2, normalize="true")
    assert top.matrix.shape == (2, 2) and top.classes == result.classes[:2]
    full = skm.confusion_matrix(table["label"], table["prediction"], labels=result.classes, normalize="true")
    np.testing.assert_allclose(top.matrix, full[:2, :2])
    assert len(result.to_frame()) == 16


def test_compare_performance_equals_sklearn():
    a, b = binary_table(n=600, seed=1), binary_table(n=600, seed=2)
    frame = ds.evaluate.compare_performance({"a": a, "b": b}).to_frame()
    assert frame["model"].tolist() == ["a", "b"]
    for table, (_, row) in zip((a, b), frame.iterrows(), strict=True):
        assert row["accuracy"] == pytest.approx(skm.accuracy_score(table["label"], table["prediction"]))
        assert row["roc_auc"] == pytest.approx(skm.roc_auc_score(table["label"], table["score"]))
        assert row["accuracy_low"] < row["accuracy"] < row["accuracy_high"]


def test_compare_predictions_counts_every_outcome():
    rng = np.random.default_rng(0)
    label = rng.integers(0, 3, 500)
    a = pd.DataFrame({"label": label, "prediction": np.where(rng.random(500) < 0.7, label, rng.integers(0, 3, 500))})
    b = pd.DataFrame({"label": label, "prediction": np.where(rng.random(500) < 0.6, label, rng.integers(0, 3, 500))})
    b = b.iloc[::-1]  # same examples, other order: matched by index
    result = ds.evaluate.compare_predictions({"cnn": a, "mlp": b})
    counts = dict(zip(result.counts["outcome"], result.counts["n"], strict=True))
    pa, pb = a["prediction"], b["prediction"].reindex(a.index)
    ra, rb = pa == a["label"], pb == a["label"]
    assert counts["both right"] == (ra & rb).sum()
    assert counts["only cnn right"] == (ra & ~rb).sum()
    assert counts["only mlp right"] == (~ra & rb).sum()
    assert counts["both wrong, same"] == (~ra & ~rb & (pa == pb)).sum()
    assert counts["both wrong, different"] == (~ra & ~rb & (pa != pb)).sum()
    assert sum(counts.values()) == 500
    only_cnn = result.examples("only cnn right")
    assert (only_cnn["prediction_cnn"] == only_cnn["label"]).all()
    assert (only_cnn["prediction_mlp"] != only_cnn["label"]).all()
    with pytest.raises(InvalidArgumentError, match="outcome"):
        result.examples("nobody right")


def test_confidence_thresholding_and_data_vs_accuracy():
    table = multiclass_table(n=700)
    thresholds = [0.0, 0.3, 0.5, 0.7, 0.9]
    curve = ds.evaluate.confidence_thresholding({"m": table}, thresholds=thresholds).to_frame()
    right = table["prediction"] == table["label"]
    for _, row in curve.iterrows():
        kept = table["confidence"] >= row["threshold"]
        assert row["coverage"] == pytest.approx(kept.mean())
        assert row["accuracy"] == pytest.approx(right[kept].mean()) if kept.any() else np.isnan(row["accuracy"])
    other = ds.evaluate.data_vs_accuracy(table, thresholds=thresholds)
    assert other.view == "data_vs_accuracy"
    np.testing.assert_allclose(other.to_frame()["accuracy"], curve["accuracy"])


def test_two_thresholds_by_brute_force():
    first, second = multiclass_table(n=400, seed=3), multiclass_table(n=400, seed=4)
    thresholds = [0.2, 0.4, 0.6, 0.8]
    surface = ds.evaluate.two_thresholds(first, second, thresholds=thresholds)
    both_right = (first["prediction"] == first["label"]) & (second["prediction"] == second["label"])
    for i, t1 in enumerate(thresholds):
        for j, t2 in enumerate(thresholds):
            kept = (first["confidence"] >= t1) & (second["confidence"] >= t2)
            assert surface.coverage[i, j] == pytest.approx(kept.mean())
            if kept.any():
                assert surface.accuracy[i, j] == pytest.approx(both_right[kept].mean())
    assert len(surface.to_frame()) == 16


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_calibration_equals_sklearn(strategy):
    table = binary_table(n=1000)
    result = ds.evaluate.calibration({"m": table}, n_bins=8, strategy=strategy)
    true, predicted = calibration_curve(table["label"], table["score"], n_bins=8, strategy=strategy)
    np.testing.assert_allclose(result.curves["fraction_positive"], true)
    np.testing.assert_allclose(result.curves["mean_predicted"], predicted)
    assert result.brier["brier"].item() == pytest.approx(skm.brier_score_loss(table["label"], table["score"]))


def test_calibration_one_vs_all_for_multiclass():
    table = multiclass_table(n=600)
    result = ds.evaluate.calibration(table)
    assert sorted(result.brier["class"]) == [0, 1, 2, 3]
    for _, row in result.brier.iterrows():
        y = table["label"] == row["class"]
        assert row["brier"] == pytest.approx(skm.brier_score_loss(y, table[f"score_{row['class']}"]))


def test_roc_and_pr_equal_sklearn():
    table = multiclass_table(n=600)
    result = ds.evaluate.roc_pr({"m": table})
    for _, row in result.to_frame().iterrows():
        y = table["label"] == row["class"]
        s = table[f"score_{row['class']}"]
        assert row["roc_auc"] == pytest.approx(skm.roc_auc_score(y, s))
        assert row["average_precision"] == pytest.approx(skm.average_precision_score(y, s))
        assert row["support"] == y.sum()
    binary = binary_table(n=300)
    summary = ds.evaluate.roc_pr(binary).to_frame()
    assert summary["class"].tolist() == [1]
    assert summary["roc_auc"].item() == pytest.approx(skm.roc_auc_score(binary["label"], binary["score"]))


def test_per_class_metrics_equal_sklearn():
    table = multiclass_table(n=900)
    frame = ds.evaluate.multiclass_metrics({"m": table}).to_frame()
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        table["label"], table["prediction"], labels=frame["class"].tolist(), zero_division=0
    )
    np.testing.assert_allclose(frame["precision"], precision)
    np.testing.assert_allclose(frame["recall"], recall)
    np.testing.assert_allclose(frame["f1"], f1)
    np.testing.assert_array_equal(frame["support"], support)
    assert frame["support"].is_monotonic_decreasing
    assert ds.evaluate.frequency_vs_f1(table, top_n=2).to_frame().shape[0] == 2


def test_compare_inputs_are_checked():
    table = binary_table(n=50)
    with pytest.raises(InvalidArgumentError, match="two"):
        ds.evaluate.compare_predictions({"a": table})
    with pytest.raises(InvalidArgumentError, match="normalize"):
        ds.evaluate.confusion_matrix(table, normalize="rows")
    with pytest.raises(InvalidArgumentError, match="thresholds"):
        ds.evaluate.confidence_thresholding(table.assign(confidence=0.5), thresholds=[0.5, 0.1])
    with pytest.raises(InvalidArgumentError, match="label"):
        ds.evaluate.calibration(table.drop(columns="label"))
