"""loans(): the planted bias and the planted drift are there and measurable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression

from deepscope.datasets import TabularDataset, loans
from deepscope.datasets.loans import GROUP_BIAS
from deepscope.errors import InvalidArgumentError


@pytest.fixture(scope="module")
def data() -> TabularDataset:
    return loans(n=6000, seed=0)


def test_contract(data: TabularDataset) -> None:
    assert len(data.train) == 4200 and len(data.serving) == 1800
    assert data.label == "approved" and data.sensitive == "group"
    assert set(data.categorical) <= set(data.features) and "group" in data.features
    for frame in (data.train, data.serving):
        assert set(data.features + [data.label]) <= set(frame.columns)
        assert set(frame[data.label].unique()) == {0, 1}
    assert set(data.train["group"]) == {"A", "B"}
    assert 0.35 < data.train["approved"].mean() < 0.65
    assert list(data.class_names) == ["denied", "approved"]
    assert data.numeric == [f for f in data.features if f not in data.categorical]


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b, c = loans(n=500, seed=4), loans(n=500, seed=4), loans(n=500, seed=5)
    pd.testing.assert_frame_equal(a.train, b.train)
    pd.testing.assert_frame_equal(a.serving, b.serving)
    assert not a.train.equals(c.train)


def _legitimate(frame: pd.DataFrame) -> pd.DataFrame:
    """The legitimate features in the form the generator uses (logs and ratios)."""
    features = pd.DataFrame(
        {
            "log_income": np.log(frame["income"]),
            "debt_ratio": frame["debt"] / frame["income"],
            "log_loan_ratio": np.log(frame["loan_amount"] / frame["income"]),
            "credit_history_years": frame["credit_history_years"],
            "late_payments": frame["late_payments"],
        }
    )
    dummies = pd.get_dummies(frame[["purpose", "employment"]], drop_first=True, dtype=float)
    return pd.concat([features, dummies], axis=1)


def test_bias_against_group_b_at_equal_legitimate_features(data: TabularDataset) -> None:
    train = data.train
    is_b = (train["group"] == "B").astype(float).rename("group_B")
    x = pd.concat([_legitimate(train), is_b], axis=1)
    fit = LogisticRegression(C=1e6, max_iter=5000).fit((x - x.mean()) / x.std(), train["approved"])
    coefficient = fit.coef_[0][-1] / is_b.std()  # back to log-odds per unit of the indicator
    assert coefficient == pytest.approx(GROUP_BIAS, abs=0.35)

    # and as an approval-rate gap inside strata of a legitimate-only score
    legit = LogisticRegression(max_iter=5000).fit(_legitimate(train), train["approved"])
    score = legit.predict_proba(_legitimate(train))[:, 1]
    strata = pd.qcut(score, 5, labels=False)
    rates = train.assign(stratum=strata).groupby(["stratum", "group"])["approved"].mean().unstack()
    gaps = rates["A"] - rates["B"]
    assert (gaps > 0.02).all() and gaps.mean() > 0.1  # smaller where approval saturates


def test_region_is_a_proxy_for_group(data: TabularDataset) -> None:
    east_west = data.train["region"].isin(["east", "west"])
    by_group = east_west.groupby(data.train["group"]).mean()
    assert by_group["B"] - by_group["A"] > 0.3


def test_income_drifts_between_train_and_serving_but_not_within_train(data: TabularDataset) -> None:
    assert stats.ks_2samp(data.train["income"], data.serving["income"]).pvalue < 1e-6
    halves = np.random.default_rng(0).permutation(len(data.train)) < len(data.train) // 2
    train = data.train["income"].to_numpy()
    assert stats.ks_2samp(train[halves], train[~halves]).pvalue > 0.05
    ratio = data.serving["income"].median() / data.train["income"].median()
    assert ratio == pytest.approx(0.75, abs=0.06)


def test_categorical_mix_drifts(data: TabularDataset) -> None:
    table = pd.crosstab(
        np.r_[["train"] * len(data.train), ["serving"] * len(data.serving)],
        pd.concat([data.train["purpose"], data.serving["purpose"]]).fillna("missing").to_numpy(),
    )
    assert stats.chi2_contingency(table).pvalue < 1e-6
    share = lambda frame: (frame["purpose"] == "business").mean()  # noqa: E731
    assert share(data.serving) > share(data.train) + 0.15


def test_missing_values_only_in_serving(data: TabularDataset) -> None:
    assert not data.train.isna().any().any()
    missing = data.serving.isna().mean()
    assert 0.01 < missing["credit_history_years"] < 0.06
    assert 0.005 < missing["purpose"] < 0.04
    assert missing.drop(["credit_history_years", "purpose"]).eq(0).all()


def test_split_splits_train_and_keeps_serving(data: TabularDataset) -> None:
    first, second = data.split(0.75, seed=1)
    assert len(first.train) + len(second.train) == len(data.train)
    assert first.serving is data.serving and second.serving is data.serving
    assert first.train["approved"].mean() == pytest.approx(data.train["approved"].mean(), abs=0.01)
    stacked = data.to_frame()
    assert list(stacked["split"].unique()) == ["train", "serving"]


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"n": 0}, "n"),
        ({"n": -5}, "n"),
        ({"serving_fraction": 1.2}, "serving_fraction"),
        ({"serving_fraction": 0}, "serving_fraction"),
        ({"seed": -2}, "seed"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict, argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        loans(**kwargs)
    assert caught.value.argument == argument
