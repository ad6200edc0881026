"""Bad input: typed errors naming the argument, or an honest report in the profile."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from deepscope.data import drift, infer_schema, profile, validate
from deepscope.errors import ArgumentTypeError, InvalidArgumentError


def test_missing_file_names_the_source(tmp_path):
    with pytest.raises(InvalidArgumentError) as info:
        profile(tmp_path / "nope.parquet")
    assert info.value.argument == "source"
    assert "nope.parquet" in str(info.value)


def test_unreadable_parquet_file(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet at all" * 10)
    with pytest.raises(InvalidArgumentError) as info:
        profile(path)
    assert info.value.argument == "source" and "broken.parquet" in str(info.value)


def test_truncated_parquet_file(tmp_path, mixed_table):
    path = tmp_path / "cut.parquet"
    pq.write_table(mixed_table, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidArgumentError, match="source"):
        profile(path)


def test_csv_with_inconsistent_rows(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(InvalidArgumentError, match="source"):
        profile(path)


def test_glob_matching_nothing_and_unknown_extension(tmp_path):
    with pytest.raises(InvalidArgumentError, match="glob"):
        profile(str(tmp_path / "*.parquet"))
    (tmp_path / "data.xlsx").write_bytes(b"x")
    with pytest.raises(InvalidArgumentError, match=r"\.parquet or \.csv"):
        profile(tmp_path / "data.xlsx")


@pytest.mark.parametrize(
    "empty",
    [
        pd.DataFrame({"x": pd.Series([], dtype=float), "s": pd.Series([], dtype=object)}),
        pd.DataFrame(),
        pa.table({"x": pa.array([], pa.float64())}),
    ],
)
def test_empty_dataset_is_an_error(empty):
    with pytest.raises(InvalidArgumentError) as info:
        profile(empty)
    assert info.value.argument == "source"
    assert "at least one" in str(info.value)


def test_empty_parquet_file(tmp_path):
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"x": pa.array([], pa.float64())}), path)
    with pytest.raises(InvalidArgumentError, match="0 rows"):
        profile(path)


def test_all_nan_column_is_profiled_not_a_crash():
    p = profile(pd.DataFrame({"x": [np.nan] * 5, "y": [1.0, 2, 3, 4, 5]}))
    feature = p["x"]
    assert (feature.count, feature.missing, feature.unique) == (0, 5, 0)
    assert np.isnan(feature.mean) and feature.min is None
    assert np.isnan(p.quantiles("x", [0.5])[0])
    row = p.to_frame().set_index("feature").loc["x"]
    assert row["missing"] == 1.0
    assert "x" in drift(p, p).skipped
    assert validate(p, infer_schema(p)).to_frame().empty


def test_non_finite_values_are_counted_not_averaged():
    table = pa.table({"x": pa.array([1.0, np.inf, -np.inf, np.nan, 3.0, None])})
    feature = profile(table)["x"]
    assert (feature.count, feature.missing, feature.nan, feature.infinite) == (4, 2, 1, 2)
    assert (feature.mean, feature.min, feature.max) == (2.0, 1.0, 3.0)


def test_mixed_type_object_column_is_profiled_as_text_with_a_note():
    frame = pd.DataFrame({"mixed": [1, "two", 3.5, None, "two"], "fine": [1, 2, 3, 4, 5]})
    feature = profile(frame)["mixed"]
    assert feature.type == "string"
    assert (feature.count, feature.missing, feature.unique) == (4, 1, 3)
    assert any("mixed types" in note for note in feature.notes)
    assert "mixed types" in profile(frame).to_frame().set_index("feature").loc["mixed", "notes"]


@pytest.mark.parametrize(
    "column, reason",
    [
        (pa.array([{"a": 1}, {"a": 2}, None]), "struct"),
        (pa.array([[[1], [2]], [[3]], None]), "nested"),
        (pa.array([[("k", 1)], [], None], type=pa.map_(pa.string(), pa.int64())), "map"),
    ],
)
def test_unsupported_nested_types_are_reported_with_a_reason(column, reason):
    p = profile(pa.table({"nested": column, "x": [1, 2, 3]}))
    feature = p["nested"]
    assert feature.type == "unsupported"
    assert reason in feature.reason
    assert (feature.rows, feature.missing) == (3, 1)
    assert reason in p.to_frame().set_index("feature").loc["nested", "notes"]
    assert p["x"].mean == 2.0  # the rest is profiled as usual
    assert "nested" in drift(p, p).skipped


def test_bad_arguments_name_themselves():
    frame = pd.DataFrame({"x": [1]})
    with pytest.raises(InvalidArgumentError, match="engine"):
        profile(frame, engine="spark")
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        profile(frame, batch_size=0)
    with pytest.raises(ArgumentTypeError, match="source"):
        profile(42)
    with pytest.raises(InvalidArgumentError, match="duplicated"):
        profile(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    p = profile(frame)
    with pytest.raises(KeyError, match="no feature named 'y'"):
        p["y"]
    with pytest.raises(InvalidArgumentError, match="qs"):
        p.quantiles("x", [1.5])
