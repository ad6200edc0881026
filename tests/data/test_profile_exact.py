"""Profiles against independent references: DuckDB and pandas on the same data."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from deepscope.data import profile


def _duckdb_stats(path: str, column: str) -> dict:
    query = f"""
        SELECT count({column}), count(*) - count({column}), avg({column}), stddev_samp({column}),
               min({column}), max({column}), sum(CASE WHEN {column} = 0 THEN 1 ELSE 0 END)
        FROM read_parquet('{path}')
    """
    count, missing, mean, std, low, high, zeros = duckdb.connect().execute(query).fetchone()
    return {"count": count, "missing": missing, "mean": mean, "std": std, "min": low, "max": high, "zeros": zeros}


@pytest.mark.parametrize("column", ["f", "i"])
def test_numeric_statistics_equal_duckdb(mixed_parquet, column):
    # Small batches force many per-batch accumulations and merges.
    p = profile(mixed_parquet, batch_size=3000)
    expected = _duckdb_stats(mixed_parquet, column)
    feature = p[column]
    assert p.rows == 20_000
    assert feature.count == expected["count"]
    assert feature.missing == expected["missing"]
    assert feature.zeros == expected["zeros"]
    assert feature.min == expected["min"] and feature.max == expected["max"]
    assert feature.mean == pytest.approx(expected["mean"], rel=1e-12)
    assert feature.std == pytest.approx(expected["std"], rel=1e-10)
    row = p.to_frame().set_index("feature").loc[column]
    assert row["missing"] == pytest.approx(expected["missing"] / 20_000)
    assert row["zeros"] == pytest.approx(expected["zeros"] / expected["count"])


def test_string_statistics_equal_duckdb(mixed_parquet):
    p = profile(mixed_parquet, batch_size=3000)
    con = duckdb.connect()
    count, missing, unique, avg_len = con.execute(
        f"SELECT count(s), count(*) - count(s), count(DISTINCT s), avg(length(s)) FROM read_parquet('{mixed_parquet}')"
    ).fetchone()
    top = con.execute(
        f"SELECT s, count(*) AS n FROM read_parquet('{mixed_parquet}') WHERE s IS NOT NULL "
        "GROUP BY s ORDER BY n DESC, s LIMIT 5"
    ).fetchall()
    feature = p["s"]
    assert (feature.count, feature.missing, feature.unique) == (count, missing, unique)
    assert feature.avg_length == pytest.approx(avg_len)
    # Under 3072 distinct values the top-values sketch is exact.
    assert [tuple(t) for t in feature.top_values[:5]] == [tuple(t) for t in top]


def test_statistics_equal_pandas(mixed_frame):
    p = profile(mixed_frame, batch_size=5000)
    frame = p.to_frame().set_index("feature")
    for column in ["f", "i"]:
        series = mixed_frame[column]
        described = series.describe()
        row = frame.loc[column]
        assert row["count"] == described["count"]
        assert row["missing"] == pytest.approx(series.isna().mean())
        assert row["mean"] == pytest.approx(described["mean"], rel=1e-12)
        assert row["std"] == pytest.approx(described["std"], rel=1e-10)
        assert (row["min"], row["max"]) == (described["min"], described["max"])
        assert row["zeros"] == pytest.approx((series == 0).sum() / series.notna().sum())
        assert row["unique"] == series.nunique()
    bools = mixed_frame["b"]
    assert frame.loc["b", "mean"] == pytest.approx(bools.mean())
    assert frame.loc["b", "type"] == "bool"


def test_to_frame_has_the_public_columns(mixed_table):
    frame = profile(mixed_table).to_frame()
    for column in ["feature", "type", "count", "missing", "mean", "std", "zeros", "min", "median", "max", "unique"]:
        assert column in frame.columns
    assert frame["missing"].between(0, 1).all()
    assert frame["zeros"].dropna().between(0, 1).all()
    assert frame.set_index("feature")["type"].to_dict() == {"f": "float", "i": "int", "s": "string", "b": "bool"}


def _rank_error(sorted_values: np.ndarray, q: float, estimate: float) -> float:
    """Distance from q to the interval of ranks the estimate occupies in the data."""
    n = sorted_values.size
    low = np.searchsorted(sorted_values, estimate, side="left") / n
    high = np.searchsorted(sorted_values, estimate, side="right") / n
    return 0.0 if low <= q <= high else min(abs(q - low), abs(q - high))


@pytest.mark.parametrize("seed", [0, 1])
def test_quantile_rank_error_at_most_one_percent(seed):
    rng = np.random.default_rng(seed)
    # Continuous (sketched) and heavy-tailed values, in many batches.
    values = np.concatenate([rng.lognormal(0, 2, 150_000), rng.normal(-5, 1, 50_000)])
    rng.shuffle(values)
    p = profile(pd.DataFrame({"x": values}), batch_size=7_000)
    assert not p["x"].sketch().is_exact
    qs = np.linspace(0.01, 0.99, 99)
    estimates = p.quantiles("x", qs)
    ordered = np.sort(values)
    errors = [_rank_error(ordered, q, e) for q, e in zip(qs, estimates, strict=True)]
    assert max(errors) <= 0.01
    assert p.quantiles("x", [0.0, 1.0]).tolist() == [values.min(), values.max()]


def test_quantiles_and_histogram_exact_for_few_distinct_values():
    rng = np.random.default_rng(3)
    values = rng.integers(0, 700, 50_000).astype(float)
    p = profile(pd.DataFrame({"x": values}), batch_size=4_000)
    assert p["x"].sketch().is_exact
    ordered = np.sort(values)
    qs = np.linspace(0, 1, 21)
    positions = np.ceil(np.round(qs * len(values), 9)).astype(int)  # lower quantile: rank >= q
    expected = ordered[np.maximum(positions, 1) - 1]
    assert p.quantiles("x", qs).tolist() == expected.tolist()
    edges, counts = p.histogram("x", bins=10)
    reference_counts, reference_edges = np.histogram(values, bins=10)
    np.testing.assert_allclose(edges, reference_edges)
    np.testing.assert_allclose(counts, reference_counts)


def test_histogram_within_rank_error_for_sketched_values():
    rng = np.random.default_rng(4)
    values = rng.normal(0, 1, 100_000)
    p = profile(pd.DataFrame({"x": values}))
    edges, counts = p.histogram("x", bins=10)
    reference, _ = np.histogram(values, bins=edges)
    assert counts.sum() == pytest.approx(len(values))
    assert np.max(np.abs(counts - reference)) / len(values) <= 0.01
    q_edges, q_counts = p["x"].quantile_histogram(10)
    assert len(q_edges) == 11 and q_counts.sum() == pytest.approx(len(values))


@pytest.mark.parametrize("kind", ["int", "float", "string"])
def test_unique_count_error_at_most_two_percent(kind):
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 60_000, 300_000)
    if kind == "int":
        column = codes
    elif kind == "float":
        column = codes * 0.37 + 0.001
    else:
        column = np.char.add("id-", codes.astype(str))
    p = profile(pd.DataFrame({"x": column}), batch_size=50_000)
    truth = len(np.unique(codes))
    assert abs(p["x"].unique - truth) / truth <= 0.02


def test_integral_floats_and_ints_count_as_the_same_distinct_values():
    ints = profile(pd.DataFrame({"x": np.arange(5000)}))
    floats = profile(pd.DataFrame({"x": np.arange(2500, 7500).astype(float)}))
    assert ints.merge(floats)["x"].unique == pytest.approx(7500, rel=0.02)


def test_dictionary_strings_count_as_their_decoded_values():
    # Codes with nulls, a dictionary with entries no row uses, and a slice (non-zero offset).
    rng = np.random.default_rng(7)
    words = np.array([f"w{i:03d}" * (1 + i % 3) for i in range(300)])
    codes = pa.array(rng.integers(0, 200, 30_000), type=pa.int32(), mask=rng.random(30_000) < 0.1)
    encoded = pa.DictionaryArray.from_arrays(codes, pa.array(words)).slice(1_000, 25_000)
    plain = encoded.dictionary_decode()
    got = profile(pa.table({"s": encoded}), batch_size=4_000)["s"]
    expected = profile(pa.table({"s": plain}), batch_size=4_000)["s"]
    series = pd.Series(plain.to_pylist()).dropna()
    assert (got.count, got.missing, got.unique) == (len(series), plain.null_count, series.nunique())
    assert got.avg_length == pytest.approx(series.str.len().mean())
    assert got.top_values == expected.top_values
    assert got.top_values[0][1] == series.value_counts().iloc[0]


@pytest.mark.parametrize("spread", [50, 10**12], ids=["narrow-range", "wide-range"])
def test_integer_quantiles_and_moments_are_exact_whether_counted_or_sorted(spread):
    # A narrow range is counted with bincount, a wide one sorted; both must agree with numpy.
    rng = np.random.default_rng(11)
    values = rng.integers(-spread, spread, 300)[rng.integers(0, 300, 40_000)]
    p = profile(pd.DataFrame({"x": values}), batch_size=7_000)
    feature = p["x"]
    assert (feature.min, feature.max, feature.zeros) == (values.min(), values.max(), int((values == 0).sum()))
    assert feature.mean == pytest.approx(values.mean(), rel=1e-12)
    assert feature.std == pytest.approx(values.std(ddof=1), rel=1e-10)
    qs = np.linspace(0, 1, 11)
    positions = np.ceil(np.round(qs * len(values), 9)).astype(int)
    assert p.quantiles("x", qs).tolist() == np.sort(values)[np.maximum(positions, 1) - 1].tolist()


def test_counted_integers_beyond_the_exact_limit_stay_within_rank_error():
    # Narrow-range integers are counted with bincount; past EXACT_LIMIT distinct values the
    # sketch is fed from those counts.
    rng = np.random.default_rng(5)
    values = rng.integers(0, 20_000, 200_000)
    p = profile(pd.DataFrame({"x": values}), batch_size=50_000)
    assert not p["x"].sketch().is_exact
    ordered = np.sort(values)
    qs = np.linspace(0.01, 0.99, 99)
    errors = [_rank_error(ordered, q, e) for q, e in zip(qs, p.quantiles("x", qs), strict=True)]
    assert max(errors) <= 0.01
    assert p["x"].sketch().n == values.size
