"""Shared data for the dataset-statistics tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest


@pytest.fixture(scope="package")
def mixed_table() -> pa.Table:
    """20,000 rows: floats with nulls and zeros, ints with nulls, strings with nulls, a bool."""
    rng = np.random.default_rng(7)
    n = 20_000
    floats = rng.normal(3.0, 2.0, n).round(2)
    floats[rng.random(n) < 0.1] = 0.0
    ints = rng.integers(-50, 500, n)
    strings = np.array([f"city-{i}" for i in range(300)])[rng.integers(0, 300, n)]
    return pa.table(
        {
            "f": pa.array(floats, mask=rng.random(n) < 0.07),
            "i": pa.array(ints, mask=rng.random(n) < 0.03),
            "s": pa.array(strings, mask=rng.random(n) < 0.05),
            "b": pa.array(rng.random(n) < 0.3),
        }
    )


@pytest.fixture(scope="package")
def mixed_parquet(tmp_path_factory, mixed_table) -> str:
    import pyarrow.parquet as pq

    path = tmp_path_factory.mktemp("data") / "mixed.parquet"
    pq.write_table(mixed_table, path, row_group_size=4096)
    return str(path)


@pytest.fixture(scope="package")
def mixed_frame(mixed_table) -> pd.DataFrame:
    return mixed_table.to_pandas()
