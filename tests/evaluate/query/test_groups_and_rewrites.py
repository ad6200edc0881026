"""Named groups' error statistics equal direct counts; rewrite rules re-run the model and count flips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import deepscope as ds
from deepscope.errors import InvalidArgumentError, NotFoundError
from deepscope.evaluate.query import QueryError


def _negation_blind(texts) -> np.ndarray:
    """A sentiment 'model' that reads 'good'/'bad' and ignores negation: double negation fools it."""
    out = []
    for text in texts:
        positive = ("good" in text) + ("great" in text) - ("bad" in text) - ("awful" in text)
        out.append([0.1, 0.9] if positive > 0 else [0.9, 0.1])
    return np.array(out)


@pytest.fixture
def reviews() -> pd.DataFrame:
    data = pd.DataFrame(
        {
            "text": [
                "a good film",
                "not good at all",
                "a very good film",
                "not bad",
                "awful",
                "not awful, quite great",
                "Alice thought it was very bad",
                "Bob said it was great",
                "very very awful",
                "not not good",
            ],
            "label": [1, 0, 1, 1, 0, 1, 0, 1, 0, 1],
        },
        index=pd.RangeIndex(50, 60),
    )
    return ds.evaluate.predictions(_negation_blind, data, features="text")


def test_group_statistics_equal_direct_counts(reviews):
    definitions = {"negated": 'has_token(text, "not")', "intensified": 'has_token(text, "very")', "empty": "false"}
    result = ds.evaluate.groups(reviews, definitions)
    wrong = reviews["prediction"] != reviews["label"]
    frame = result.to_frame().set_index("name")
    for name, query in definitions.items():
        member = ds.evaluate.mask(reviews, query)
        row = frame.loc[name]
        assert row["n"] == member.sum() and row["errors"] == (member & wrong).sum()
        assert row["coverage"] == pytest.approx(member.mean())
        assert row["error_coverage"] == pytest.approx((member & wrong).sum() / wrong.sum())
        assert row["global_error_rate"] == pytest.approx((member & wrong).sum() / len(reviews))
        if member.any():
            assert row["local_error_rate"] == pytest.approx((member & wrong).sum() / member.sum())
            assert row["local_error_rate_low"] <= row["local_error_rate"] <= row["local_error_rate_high"]
        else:
            assert np.isnan(row["local_error_rate"])
    assert result.n_errors == wrong.sum()
    rows = result.rows(reviews, "negated")
    assert rows.index.tolist() == [51, 53, 55, 59]
    with pytest.raises(NotFoundError):
        result.rows(reviews, "sarcasm")


def test_groups_are_saved_in_the_run(tmp_path, reviews):
    result = ds.evaluate.groups(reviews, {"negated": 'has_token(text, "not")'})
    with ds.Run(tmp_path, name="errors") as run:
        result.save(run, "groups")
    loaded = ds.open_logdir(tmp_path).result("errors", "groups")
    assert loaded.queries == result.queries
    pd.testing.assert_frame_equal(loaded.to_frame(), result.to_frame())


def test_bad_group_query_is_a_query_error(reviews):
    with pytest.raises(QueryError, match="unknown column 'txt'"):
        ds.evaluate.groups(reviews, {"typo": "has_token(txt, 'not')"})


def test_rewrite_removes_negation_and_counts_flips(reviews):
    result = ds.evaluate.rewrite(_negation_blind, reviews, 'remove_token(text, "not")', where='has_token(text, "not")')
    assert result.n_group == 4 and result.n_changed == 4
    examples = result.to_frame()
    by_index = examples.loc[[51, 53, 55, 59]]
    assert by_index["rewritten"].tolist() == ["good at all", "bad", "awful, quite great", "good"]
    expected_new = _negation_blind(by_index["rewritten"]).argmax(axis=1)
    assert (by_index["new_prediction"].to_numpy() == expected_new).all()
    flipped = by_index["prediction"].to_numpy() != expected_new
    assert result.n_flipped == flipped.sum()
    assert result.flip_rate == pytest.approx(flipped.mean())
    assert (examples["flipped"].iloc[: result.n_flipped]).all()  # flips listed first
    right_before = by_index["prediction"] == by_index["label"]
    right_after = by_index["new_prediction"] == by_index["label"]
    assert (by_index["fixed"] == (~right_before & right_after)).all()


def test_rewrite_skips_rows_the_rule_leaves_alone(reviews):
    result = ds.evaluate.rewrite(_negation_blind, reviews, 'remove_token(text, "very")')
    assert result.n_group == len(reviews)
    assert set(result.examples.index) == {52, 56, 58}
    assert result.examples.loc[58, "rewritten"] == "awful"


def test_swap_names_rule(reviews):
    result = ds.evaluate.rewrite(_negation_blind, reviews, "swap_names(text)")
    assert result.examples.loc[56, "rewritten"] == "Bob thought it was very bad"
    assert result.examples.loc[57, "rewritten"] == "Alice said it was great"
    assert result.n_flipped == 0  # this model ignores names


def test_rule_that_changes_nothing_has_no_flip_rate(reviews):
    result = ds.evaluate.rewrite(_negation_blind, reviews, 'replace(text, "zebra", "horse")')
    assert result.n_changed == 0 and np.isnan(result.flip_rate) and result.examples.empty


def test_rules_must_give_text(reviews):
    with pytest.raises(QueryError, match="giving text"):
        ds.evaluate.rewrite(_negation_blind, reviews, "length(text)")
    with pytest.raises(InvalidArgumentError, match="text"):
        ds.evaluate.rewrite(_negation_blind, reviews.rename(columns={"text": "sentence"}), "lower(text)")
