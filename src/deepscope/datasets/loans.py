"""Synthetic loan applications with a planted bias against one group and planted drift.

>>> from deepscope.datasets import loans
>>> data = loans(n=1000, seed=0)
>>> len(data.train), len(data.serving)
(700, 300)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from deepscope.datasets.containers import TabularDataset, check_count, check_fraction, check_seed
from deepscope.errors import InvalidArgumentError

__all__ = ["loans", "GROUP_BIAS", "SERVING_INCOME_FACTOR"]

NUMERIC = ["income", "debt", "credit_history_years", "loan_amount", "age", "late_payments"]
CATEGORICAL = ["purpose", "employment", "region", "group"]

GROUP_BIAS = -1.0
"""Added to the approval log-odds of group "B" on top of what the legitimate features explain."""

SERVING_INCOME_FACTOR = 0.75
"""Serving incomes are the training distribution's incomes times this factor."""

_PURPOSES = ["car", "home", "education", "business", "debt_consolidation"]
_PURPOSE_MIX = {"train": [0.30, 0.20, 0.15, 0.10, 0.25], "serving": [0.15, 0.20, 0.15, 0.35, 0.15]}
_EMPLOYMENT = ["salaried", "self_employed", "contract", "unemployed"]
_EMPLOYMENT_MIX = {"train": [0.60, 0.20, 0.15, 0.05], "serving": [0.45, 0.20, 0.28, 0.07]}
_REGIONS = ["north", "south", "east", "west"]
_REGION_MIX = {"A": [0.40, 0.30, 0.20, 0.10], "B": [0.10, 0.20, 0.30, 0.40]}

_EMPLOYMENT_EFFECT = {"salaried": 0.3, "self_employed": 0.0, "contract": -0.4, "unemployed": -1.8}
_PURPOSE_EFFECT = {
    "car": 0.2,
    "home": 0.3,
    "education": 0.0,
    "business": -0.5,
    "debt_consolidation": -0.2,
}
_LOAN_SCALE = {
    "car": 9.4,
    "home": 10.4,
    "education": 9.6,
    "business": 10.0,
    "debt_consolidation": 9.3,
}

_MISSING = {"credit_history_years": 0.03, "purpose": 0.02}  # fraction missing in serving


def _applicants(rng: np.random.Generator, n: int, part: str) -> pd.DataFrame:
    group = np.where(rng.random(n) < 0.6, "A", "B")
    region = np.empty(n, dtype=object)
    for g, mix in _REGION_MIX.items():
        chosen = group == g
        region[chosen] = rng.choice(_REGIONS, size=int(chosen.sum()), p=mix)
    employment = rng.choice(_EMPLOYMENT, size=n, p=_EMPLOYMENT_MIX[part])
    purpose = rng.choice(_PURPOSES, size=n, p=_PURPOSE_MIX[part])
    age = np.clip(np.round(rng.normal(40, 11, n)), 19, 75).astype(np.int64)

    log_income = (
        10.8
        + 0.01 * (age - 40)
        + np.where(employment == "unemployed", -0.9, 0.0)
        + np.where(employment == "salaried", 0.1, 0.0)
        - np.where(group == "B", 0.1, 0.0)
        + rng.normal(0.0, 0.4, n)
    )
    income = np.exp(log_income)
    if part == "serving":
        income = income * SERVING_INCOME_FACTOR
    debt = income * rng.beta(2.0, 5.0, n)
    loan_amount = np.exp(np.vectorize(_LOAN_SCALE.get)(purpose) + rng.normal(0.0, 0.5, n))
    credit_history_years = np.minimum(age - 18, rng.gamma(2.0, 4.0, n)).round(1)
    late_payments = rng.poisson(0.6, n).astype(np.int64)

    legit = (
        1.4 * (np.log(income) - 10.8) / 0.4
        - 3.0 * (debt / income - 0.29)
        - 0.9 * (np.log(loan_amount / income) + 1.0)
        + 0.08 * (credit_history_years - 8.0)
        - 0.6 * late_payments
        + np.vectorize(_EMPLOYMENT_EFFECT.get)(employment)
        + np.vectorize(_PURPOSE_EFFECT.get)(purpose)
        + 0.6
    )
    logit = legit + np.where(group == "B", GROUP_BIAS, 0.0)
    approved = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)

    frame = pd.DataFrame(
        {
            "income": income.round(0),
            "debt": debt.round(0),
            "credit_history_years": credit_history_years,
            "loan_amount": loan_amount.round(0),
            "age": age,
            "late_payments": late_payments,
            "purpose": purpose.astype(object),
            "employment": employment.astype(object),
            "region": region,
            "group": group.astype(object),
            "approved": approved,
        }
    )
    if part == "serving":
        for column, rate in _MISSING.items():
            missing = rng.random(n) < rate
            frame[column] = frame[column].astype(object if column in CATEGORICAL else float)
            frame.loc[missing, column] = None if column in CATEGORICAL else np.nan
    return frame


def loans(n: int = 5000, seed: int = 0, serving_fraction: float = 0.3) -> TabularDataset:
    """``n`` loan applications: ``train`` (the first ``1 - serving_fraction``) and ``serving``.

    Columns: numeric ``income``, ``debt``, ``credit_history_years``, ``loan_amount``, ``age``,
    ``late_payments``; categorical ``purpose``, ``employment``, ``region``, ``group`` ("A" 60%,
    "B" 40%, the sensitive attribute); label ``approved`` (0/1, about half approved).
    ``features`` lists all ten inputs, ``group`` included, so a model can learn the bias.

    Planted effects, which tests and the demo rely on:

    - **Bias**: the approval log-odds are a fixed function of the legitimate features plus
      ``GROUP_BIAS`` (-1.0) for group "B", so at equal legitimate features group "B" is
      approved markedly less often. ``region`` is a proxy for ``group`` (B lives mostly in the
      east and west), so the bias leaks even into a model that drops ``group``. Group "B" also
      earns about 10% less, which explains only part of the raw approval gap.
    - **Drift** (serving against train): incomes are multiplied by ``SERVING_INCOME_FACTOR``
      (0.75); ``purpose`` shifts towards "business" (10% -> 35%) and away from "car"; ``employment``
      shifts towards "contract"; 3% of ``credit_history_years`` and 2% of ``purpose`` are missing
      (NaN / None). Labels in serving follow the same rule as in train (known in hindsight).
      Within train there is no drift: any two random halves come from one distribution.

    >>> data = loans(n=2000, seed=0)
    >>> bool(data.serving["income"].median() < data.train["income"].median())
    True
    """
    n = check_count("n", n)
    seed = check_seed(seed)
    serving_fraction = check_fraction("serving_fraction", serving_fraction)
    n_serving = int(round(n * serving_fraction))
    if n_serving < 1 or n - n_serving < 1:
        raise InvalidArgumentError("n", "enough rows for both train and serving", n)
    rng = np.random.default_rng(seed)
    train = _applicants(rng, n - n_serving, "train")
    serving = _applicants(rng, n_serving, "serving")
    return TabularDataset(
        train=train,
        serving=serving,
        features=NUMERIC + CATEGORICAL,
        categorical=list(CATEGORICAL),
        label="approved",
        sensitive="group",
        class_names=("denied", "approved"),
    )
