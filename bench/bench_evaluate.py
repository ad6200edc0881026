"""Slices and queries over 1,000,000 prediction rows, side by side with pandas.

- slices: ``ds.evaluate.slices`` against a pandas ``groupby`` computing the same metrics (and, for
  ROC AUC and log loss, scikit-learn applied per group);
- queries: ``ds.evaluate.query`` against ``DataFrame.query`` on the same predicate.

Each line prints the best of several runs and the ratio pandas / deepscope (above 1: deepscope is
faster). Target (issue 6): no slower than pandas. Run: python bench/bench_evaluate.py [rows]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score

import deepscope as ds
from _results import Results
from deepscope.evaluate._common import wilson_interval


def make_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    score = np.clip(0.35 * label + rng.normal(0.33, 0.2, n), 0.0, 1.0)
    prediction = (score >= 0.5).astype(np.int64)
    return pd.DataFrame(
        {
            "group": pd.array(rng.choice([f"g{i}" for i in range(8)], n), dtype="str"),
            "region": pd.array(rng.choice(["north", "south", "east"], n), dtype="str"),
            "age": rng.integers(18, 90, n),
            "label": label,
            "prediction": prediction,
            "score": score,
            "confidence": np.maximum(score, 1 - score),
            "correct": prediction == label,
        }
    )


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def pandas_counts(table: pd.DataFrame, by: Any) -> pd.DataFrame:
    """Accuracy, precision, recall and F1 per group, the pandas way."""
    y, p = table["label"] == 1, table["prediction"] == 1
    counts = (
        pd.DataFrame({"key": by, "correct": y == p, "tp": y & p, "fp": ~y & p, "fn": y & ~p})
        .groupby("key", observed=True)
        .agg(n=("correct", "size"), correct=("correct", "sum"), tp=("tp", "sum"), fp=("fp", "sum"), fn=("fn", "sum"))
    )
    out = pd.DataFrame({"n": counts["n"], "accuracy": counts["correct"] / counts["n"]})
    out["precision"] = counts["tp"] / (counts["tp"] + counts["fp"])
    out["recall"] = counts["tp"] / (counts["tp"] + counts["fn"])
    out["f1"] = 2 * counts["tp"] / (2 * counts["tp"] + counts["fp"] + counts["fn"])
    return out


def pandas_wilson(table: pd.DataFrame, by: Any) -> pd.DataFrame:
    out = pandas_counts(table, by)
    low, high = wilson_interval((out["accuracy"] * out["n"]).to_numpy(), out["n"].to_numpy())
    return out.assign(accuracy_low=low, accuracy_high=high)


def pandas_all(table: pd.DataFrame, by: Any) -> pd.DataFrame:
    out = pandas_counts(table, by)
    scored = table.groupby(by, observed=True)[["label", "score"]]
    out["roc_auc"] = scored.apply(lambda g: roc_auc_score(g["label"], g["score"]))
    out["log_loss"] = scored.apply(lambda g: log_loss(g["label"], y_proba=g["score"], labels=[0, 1]))
    return out


def check_same(ours: pd.DataFrame, theirs: pd.DataFrame, metrics: list[str]) -> None:
    ours = ours.set_index("value")
    theirs = theirs.set_axis([str(v) for v in theirs.index])
    for metric in metrics:
        np.testing.assert_allclose(ours[metric].to_numpy(), theirs.loc[ours.index, metric].to_numpy(), rtol=1e-9)


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    table = make_table(n)
    print(f"rows: {n:,}   (best of several runs; ratio = pandas time / deepscope time, > 1 is faster)\n")
    print(f"{'case':58s} {'deepscope':>10s} {'pandas':>10s} {'ratio':>7s}")
    rows = []
    results = Results("bench_evaluate", f"{n:,}-row predictions table; best of 3-5 runs each")

    def line(name: str, ours: float, theirs: float) -> None:
        rows.append((name, ours, theirs))
        results.add(name, ours=ours, peer=theirs, peer_name="pandas", peer_package="pandas")
        print(f"{name:58s} {ours * 1000:8.1f}ms {theirs * 1000:8.1f}ms {theirs / ours:6.2f}x")

    counts = ["accuracy", "precision", "recall", "f1"]
    t_ours, ours = best_of(lambda: ds.evaluate.slices(table, by="group", metrics=counts, interval=None).frame, 5)
    t_theirs, theirs = best_of(lambda: pandas_counts(table, table["group"]), 5)
    check_same(ours, theirs, counts)
    line("slices by group: accuracy, precision, recall, F1", t_ours, t_theirs)

    t_ours, ours = best_of(lambda: ds.evaluate.slices(table, by="group", metrics=counts).frame, 5)
    t_theirs, theirs = best_of(lambda: pandas_wilson(table, table["group"]), 5)
    check_same(ours, theirs, [*counts, "accuracy_low", "accuracy_high"])
    line("slices by group, with Wilson intervals", t_ours, t_theirs)

    both = ["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"]
    t_ours, ours = best_of(lambda: ds.evaluate.slices(table, by="group", metrics=both, interval=None).frame, 3)
    t_theirs, theirs = best_of(lambda: pandas_all(table, table["group"]), 3)
    check_same(ours, theirs, both)
    line("slices by group, + ROC AUC and log loss (sklearn per group)", t_ours, t_theirs)

    t_ours, ours = best_of(
        lambda: ds.evaluate.slices(table, by=[("group", "region")], metrics=counts, interval=None).frame, 5
    )
    key = table["group"].astype(str) + " & " + table["region"].astype(str)
    t_theirs, theirs = best_of(
        lambda: pandas_counts(table, table["group"].astype(str) + " & " + table["region"].astype(str)), 5
    )
    check_same(ours, theirs, counts)
    del key
    line("slices by group x region (24 intersections)", t_ours, t_theirs)

    def binned() -> pd.DataFrame:
        bins = pd.qcut(table["age"], 5, duplicates="drop")
        return pandas_counts(table, bins)

    t_ours, ours = best_of(lambda: ds.evaluate.slices(table, by="age", metrics=counts, interval=None).frame, 5)
    t_theirs, theirs = best_of(binned, 5)
    assert ours["n"].sum() == theirs["n"].sum() == n
    line("slices by age in 5 quantile bins (pd.qcut + groupby)", t_ours, t_theirs)

    print()
    queries = [
        ('prediction != label and confidence > 0.8 and group == "g3"', None),
        ("(age >= 30 and age < 50) or score * 2 - 1 > 0.5", None),
        ('group in ["g1", "g2"] and not correct', None),
        ('region != "north" and (label == 1 or score < 0.25)', None),
    ]
    for text, pandas_text in queries:
        pandas_text = pandas_text or text
        t_ours, ours = best_of(lambda text=text: ds.evaluate.query(table, text), 5)
        t_theirs, theirs = best_of(lambda pandas_text=pandas_text: table.query(pandas_text), 5)
        pd.testing.assert_frame_equal(ours, theirs)
        line(f"query: {text}"[:58], t_ours, t_theirs)

    slowest = min(theirs / ours for _, ours, theirs in rows)
    print(
        f"\nslowest ratio: {slowest:.2f}x   target >= 1.0 (no slower than pandas)   "
        f"{'OK' if slowest >= 1.0 else 'UNDER'}"
    )
    results.note(f"slowest ratio {slowest:.2f}x (target: no slower than pandas, >= 1.0)")
    results.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
