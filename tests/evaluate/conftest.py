"""Predictions tables with known structure, shared by the evaluate tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def binary_table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """A binary classifier's table: groups of different sizes and base rates, continuous scores."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    base = {"a": 0.3, "b": 0.5, "c": 0.7}
    label = (rng.random(n) < np.vectorize(base.get)(group)).astype(int)
    score = np.clip(0.5 * label + rng.normal(0.25, 0.22, n) + (group == "c") * 0.1, 1e-6, 1 - 1e-6)
    return pd.DataFrame(
        {
            "group": group,
            "age": rng.integers(18, 80, n),
            "income": rng.lognormal(10, 0.5, n),
            "region": rng.choice(["north", "south"], size=n),
            "label": label,
            "score": score,
            "prediction": (score >= 0.5).astype(int),
        }
    )


def multiclass_table(n: int = 2000, classes: int = 4, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = rng.integers(0, classes, n)
    logits = rng.normal(size=(n, classes)) + 1.5 * np.eye(classes)[label]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frame = pd.DataFrame(
        {"group": rng.choice(["x", "y"], size=n), "label": label, "prediction": probabilities.argmax(axis=1)}
    )
    for c in range(classes):
        frame[f"score_{c}"] = probabilities[:, c]
    frame["confidence"] = probabilities.max(axis=1)
    return frame


@pytest.fixture
def binary() -> pd.DataFrame:
    return binary_table()


@pytest.fixture
def multiclass() -> pd.DataFrame:
    return multiclass_table()
