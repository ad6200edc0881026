"""Profiles of every column type the speed benchmark times, checked against DuckDB on the same file.

The file is read the way a user's is (Parquet, several row groups and batches), so the fast paths
(dictionary reads, counted integers, sorted floats, hashed distinct counts) are the ones checked.
"""

from __future__ import annotations

import subprocess
import sys

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from deepscope.data import profile
from deepscope.data.sources import _dictionary_strings, _parquet_file

N = 60_000


@pytest.fixture(scope="module")
def typed_parquet(tmp_path_factory) -> str:
    rng = np.random.default_rng(3)
    extreme = rng.normal(0.0, 1.0, N)
    extreme[:50] = np.inf
    extreme[50:80] = -np.inf
    extreme[80:90] = 1.7e308
    extreme[90:100] = -1.7e308
    rng.shuffle(extreme)
    table = pa.table(
        {
            "lognormal": pa.array(rng.lognormal(0.0, 1.0, N), mask=rng.random(N) < 0.03),
            "bimodal": pa.array(np.where(rng.random(N) < 0.4, rng.normal(-3.0, 1.0, N), rng.normal(4.0, 0.5, N))),
            "zero_inflated": pa.array(np.where(rng.random(N) < 0.6, 0.0, rng.exponential(5.0, N))),
            "poisson": pa.array(rng.poisson(4.0, N).astype(np.int64), mask=rng.random(N) < 0.01),
            "wide_int": pa.array(rng.integers(-(10**12), 10**12, N)),
            "low_strings": pa.array(np.array([f"category-{i:02d}" for i in range(50)])[rng.integers(0, 50, N)]),
            "ids": pa.array([f"id-{i}" for i in rng.integers(0, 40_000, N)], mask=rng.random(N) < 0.02),
            "categorical": pa.DictionaryArray.from_arrays(
                pa.array(rng.integers(0, 200, N).astype(np.int32), mask=rng.random(N) < 0.05),
                pa.array([f"label {i}" for i in range(200)]),
            ),
            "flag": pa.array(rng.random(N) < 0.3, mask=rng.random(N) < 0.01),
            "when": pa.array(rng.integers(1_600_000_000_000_000, 1_700_000_000_000_000, N), type=pa.timestamp("us")),
            "empty": pa.nulls(N, pa.float64()),
            "extreme": pa.array(extreme),
        }
    )
    path = tmp_path_factory.mktemp("types") / "types.parquet"
    pq.write_table(table, path, row_group_size=25_000)
    return str(path)


@pytest.fixture(scope="module")
def typed_profile(typed_parquet):
    return profile(typed_parquet, batch_size=10_000)


def _duck(path: str, sql: str) -> tuple:
    row = duckdb.connect().execute(sql.replace("FILE", f"read_parquet('{path}')")).fetchone()
    assert row is not None
    return row


@pytest.mark.parametrize("column", ["lognormal", "bimodal", "zero_inflated", "poisson", "wide_int"])
def test_numeric_columns_equal_duckdb(typed_parquet, typed_profile, column):
    count, missing, mean, std, low, high, zeros, distinct = _duck(
        typed_parquet,
        f"SELECT count({column}), count(*) - count({column}), avg({column}), stddev_samp({column}), min({column}), "
        f"max({column}), count(*) FILTER (WHERE {column} = 0), count(DISTINCT {column}) FROM FILE",
    )
    feature = typed_profile[column]
    assert (feature.count, feature.missing, feature.zeros) == (count, missing, zeros)
    assert (feature.min, feature.max) == (low, high)
    assert feature.mean == pytest.approx(mean, rel=1e-10)
    assert feature.std == pytest.approx(std, rel=1e-9)
    assert abs(feature.unique - distinct) <= 0.02 * distinct
    values = np.sort(pq.read_table(typed_parquet, columns=[column]).column(0).drop_null().to_numpy())
    qs = np.linspace(0.05, 0.95, 19)
    estimates = typed_profile.quantiles(column, qs)
    # Rank error: how far q lies outside the ranks the estimate holds (ties span a range of ranks).
    below = np.searchsorted(values, estimates, side="left") / len(values)
    through = np.searchsorted(values, estimates, side="right") / len(values)
    assert np.max(np.maximum(below - qs, qs - through)) <= 0.01


@pytest.mark.parametrize("column", ["low_strings", "ids", "categorical"])
def test_string_columns_equal_duckdb(typed_parquet, typed_profile, column):
    count, missing, distinct, length = _duck(
        typed_parquet,
        f"SELECT count({column}), count(*) - count({column}), count(DISTINCT {column}), "
        f"avg(length({column}::VARCHAR)) FROM FILE",
    )
    feature = typed_profile[column]
    assert (feature.count, feature.missing) == (count, missing)
    assert feature.avg_length == pytest.approx(length)
    if distinct < 3072:  # the top-values summary is exact below its capacity
        assert feature.unique == distinct
        top = duckdb.connect().execute(
            f"SELECT {column}::VARCHAR, count(*) AS n FROM read_parquet('{typed_parquet}') WHERE {column} IS NOT NULL "
            f"GROUP BY 1 ORDER BY n DESC, 1 LIMIT 5"
        )
        assert [tuple(t) for t in feature.top_values[:5]] == [tuple(t) for t in top.fetchall()]
    else:
        assert abs(feature.unique - distinct) <= 0.02 * distinct


def test_bool_timestamp_and_null_columns_equal_duckdb(typed_parquet, typed_profile):
    count, true, missing = _duck(
        typed_parquet, "SELECT count(flag), count(*) FILTER (WHERE flag), count(*) - count(flag) FROM FILE"
    )
    flag = typed_profile["flag"]
    assert (flag.count, flag.missing, flag.top_values[0 if true > count - true else 1]) == (
        count,
        missing,
        ("true", true),
    )
    assert flag.mean == pytest.approx(true / count)
    low, high, mean = _duck(
        typed_parquet, 'SELECT epoch_us(min("when")), epoch_us(max("when")), avg(epoch_us("when")) FROM FILE'
    )
    when = typed_profile["when"]
    assert when.type == "datetime"
    assert (when.min, when.max) == (low / 1e6, high / 1e6)
    assert when.mean == pytest.approx(mean / 1e6, rel=1e-12)
    empty = typed_profile["empty"]
    assert (empty.count, empty.missing, empty.min) == (0, N, None)


def test_infinities_and_extremes_are_counted_apart(typed_parquet, typed_profile):
    values = pq.read_table(typed_parquet, columns=["extreme"]).column(0).to_numpy()
    finite = values[np.isfinite(values)]
    feature = typed_profile["extreme"]
    assert feature.infinite == 80 and feature.count == N
    assert (feature.min, feature.max) == (finite.min(), finite.max())
    assert feature.mean == pytest.approx(np.mean(finite / 2**600) * 2**600, rel=1e-9)
    assert np.isfinite(feature.std)


def test_high_cardinality_strings_that_fell_back_to_plain_pages_read_as_plain(tmp_path):
    # A dictionary bigger than the writer's page limit falls back to plain pages; such a column
    # is read as plain strings (building an Arrow dictionary would hash every value), a small one
    # as a dictionary. Both profile alike.
    rng = np.random.default_rng(2)
    ids = pa.array([f"user-{i:09d}" for i in rng.integers(0, 200_000, 150_000)])
    few = pa.array(np.array(["a", "b", "c"])[rng.integers(0, 3, 150_000)])
    path = tmp_path / "ids.parquet"
    pq.write_table(pa.table({"ids": ids, "few": few}), path, dictionary_pagesize_limit=64 << 10)
    assert _dictionary_strings(_parquet_file(path)) == ["few"]
    got = profile(str(path))
    expected = profile(pa.table({"ids": ids, "few": few}))
    for column in ("ids", "few"):
        assert got[column].type == "string"
        assert (got[column].count, got[column].unique, got[column].top_values) == (
            expected[column].count,
            expected[column].unique,
            expected[column].top_values,
        )


def test_profiling_a_file_imports_neither_pandas_nor_pyarrow_compute(typed_parquet, tmp_path):
    # Both cost a first profile a third of its time; neither is needed to profile a file. The
    # second file's ids outgrow Parquet's dictionary, so they are read (and grouped) as plain strings.
    ids = tmp_path / "ids.parquet"
    pq.write_table(pa.table({"ids": [f"id-{i % 40_000}" for i in range(60_000)]}), ids, dictionary_pagesize_limit=4096)
    code = (
        "import sys, deepscope as ds\n"
        f"p = ds.data.profile({typed_parquet!r})\n"
        f"q = ds.data.profile({str(ids)!r})\n"
        "loaded = sorted(m for m in ('pandas', 'pyarrow.compute', 'tqdm') if m in sys.modules)\n"
        "print(p.rows, q['ids'].unique > 39_000, loaded)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(N), "True", "[]"]
