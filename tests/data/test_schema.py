"""Schema inference, JSON round trips and every anomaly kind."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from deepscope.data import FeatureSchema, Schema, infer_schema, profile, validate
from deepscope.data.schema import ANOMALY_KINDS
from deepscope.errors import ArgumentTypeError, InvalidArgumentError


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 2000
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "score": rng.normal(0.5, 0.1, n),
            "color": rng.choice(["red", "green", "blue"], n),
            "note": [f"free text {i}" for i in range(n)],
        }
    )


def _kinds(anomalies) -> dict[str, str]:
    return dict(zip(anomalies.to_frame()["feature"], anomalies.to_frame()["kind"], strict=True))


def test_inferred_schema_describes_the_data(train):
    schema = infer_schema(profile(train))
    age, color, note = schema.features["age"], schema.features["color"], schema.features["note"]
    assert (age.type, age.min_presence, age.range) == ("int", 1.0, (18.0, 79.0))
    assert color.domain == ("blue", "green", "red")
    assert note.domain is None  # too many distinct values for a domain
    assert schema.features["score"].allow_non_finite is False
    assert not validate(profile(train), schema)


def test_another_sample_of_the_same_data_has_no_anomalies(train):
    schema = infer_schema(profile(train.iloc[:1000]))
    assert validate(profile(train.iloc[1000:]), schema).to_frame().empty


def test_schema_json_round_trip_and_edits(train, tmp_path):
    schema = infer_schema(profile(train))
    path = schema.to_file(tmp_path / "schema.json")
    assert Schema.read(path) == schema
    data = json.loads(path.read_text())
    for feature in data["features"]:
        if feature["name"] == "color":
            feature["domain"] = ["red", "green"]  # a person tightens the domain by hand
    path.write_text(json.dumps(data))
    edited = Schema.read(path)
    found = validate(profile(train), edited).to_frame()
    assert found["kind"].tolist() == ["out_of_domain"]
    assert found["examples"][0] == ["blue"]
    assert "blue" in found["description"][0]


def test_every_anomaly_kind(train):
    schema = infer_schema(profile(train))
    schema = schema.with_feature(FeatureSchema("age", "int", min_presence=1.0, range=(18.0, 79.0)))  # hard range
    schema = schema.with_feature(FeatureSchema("nested", "list<int>"))
    rng = np.random.default_rng(1)
    n = 500
    score = rng.normal(0.5, 0.1, n)
    score[:3] = np.nan  # real NaN (Arrow keeps them; they are not nulls)
    age = rng.integers(18, 80, n)
    age[100] = 130
    serving = pa.table(
        {
            "age": pa.array(age, mask=np.arange(n) < 50),
            "score": pa.array(score),
            "color": pa.array(np.where(np.arange(n) < 20, "purple", "red")),
            "extra": pa.array(np.ones(n)),
            "nested": pa.array([{"a": 1}] * n),
        }
    )
    anomalies = validate(profile(serving), schema)
    kinds = set(anomalies.to_frame()["kind"])
    assert kinds == {
        "missing_column",
        "new_column",
        "presence_drop",
        "out_of_range",
        "non_finite",
        "out_of_domain",
        "unsupported_type",
    }
    assert kinds <= set(ANOMALY_KINDS)
    frame = anomalies.to_frame()
    assert list(frame.columns)[:3] == ["feature", "kind", "description"]
    by_kind = frame.set_index("kind")
    assert by_kind.loc["missing_column", "feature"] == "note"
    assert by_kind.loc["new_column", "severity"] == "warning"
    assert by_kind.loc["out_of_domain", "examples"] == ["purple"]
    assert "130" in by_kind.loc["out_of_range", "description"]
    assert anomalies.failed


def test_type_change_and_pandas_int_with_missing_values(train):
    schema = infer_schema(profile(train))
    changed = train.assign(age=train["age"].astype(str))
    assert _kinds(validate(profile(changed), schema))["age"] == "type_change"
    # pandas turns an int column with a missing value into float: not a type change.
    with_gap = train.assign(age=train["age"].astype(float).where(train.index != 5))
    kinds = validate(profile(with_gap), schema).to_frame()
    assert "type_change" not in set(kinds["kind"])
    assert "presence_drop" in set(kinds["kind"])


def test_soft_range_tolerates_a_few_values_outside(train):
    schema = infer_schema(profile(train), out_of_range=0.05)
    wider = train.assign(age=np.where(train.index < 20, 90, train["age"]))  # 1% above the old max
    assert "out_of_range" not in set(validate(profile(wider), schema).to_frame()["kind"])
    stricter = infer_schema(profile(train), out_of_range=0.0)
    assert "out_of_range" in set(validate(profile(wider), stricter).to_frame()["kind"])


def test_loans_serving_against_train_schema():
    from deepscope.datasets import loans

    data = loans()
    anomalies = validate(profile(data.serving), infer_schema(profile(data.train))).to_frame()
    drops = set(anomalies.loc[anomalies["kind"] == "presence_drop", "feature"])
    assert drops == {"credit_history_years", "purpose"}


def test_bad_schema_input_is_a_typed_error(tmp_path):
    with pytest.raises(InvalidArgumentError) as info:
        Schema.read(tmp_path / "absent.json")
    assert info.value.argument == "schema"
    (tmp_path / "bad.json").write_text('{"format": "something else"}')
    with pytest.raises(InvalidArgumentError, match="schema"):
        Schema.read(tmp_path / "bad.json")
    (tmp_path / "typo.json").write_text(
        '{"format": "deepscope.schema", "features": [{"name": "a", "type": "int", "rnage": [0, 1]}]}'
    )
    with pytest.raises(InvalidArgumentError, match="rnage"):
        Schema.read(tmp_path / "typo.json")
    with pytest.raises(ArgumentTypeError, match="profile"):
        validate({"not": "a profile"}, Schema())
    with pytest.raises(InvalidArgumentError, match="max_domain_size"):
        infer_schema(profile(pd.DataFrame({"x": [1]})), max_domain_size=-1)
