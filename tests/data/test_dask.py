"""Profiles on a real dask.distributed cluster equal the local ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepscope.data import profile

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, memory_limit="1GiB"
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 60_000
    x = rng.lognormal(0, 1, n)
    x[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "x": x,  # continuous: sketched quantiles
            "k": rng.integers(0, 50, n),  # few distinct: exact quantiles
            "s": np.array(["red", "green", "blue", "grey"])[rng.integers(0, 4, n)],
            "id": np.char.add("u", rng.integers(0, 20_000, n).astype(str)),
        }
    )


def test_dask_profile_equals_local(client, frame):
    local = profile(frame)
    ddf = dd.from_pandas(frame, npartitions=7)
    remote = profile(ddf)  # engine chosen automatically
    # The work ran on the cluster's two worker processes.
    assert len(client.scheduler_info()["workers"]) == 2
    assert remote.rows == local.rows and remote.features == local.features
    for name in local.features:
        a, b = local[name], remote[name]
        assert (a.type, a.count, a.missing, a.zeros, a.min, a.max) == (
            b.type,
            b.count,
            b.missing,
            b.zeros,
            b.min,
            b.max,
        )
        if a.is_numeric:
            assert b.mean == pytest.approx(a.mean, rel=1e-12)
            assert b.std == pytest.approx(a.std, rel=1e-10)
    assert remote["k"].quantiles([0.1, 0.5, 0.9]).tolist() == local["k"].quantiles([0.1, 0.5, 0.9]).tolist()
    values = np.sort(frame["x"].dropna().to_numpy())
    for q, estimate in zip(
        [0.1, 0.25, 0.5, 0.75, 0.9], remote.quantiles("x", [0.1, 0.25, 0.5, 0.75, 0.9]), strict=True
    ):
        assert abs(np.searchsorted(values, estimate) / values.size - q) <= 0.01
    assert remote["s"].top_values == local["s"].top_values
    truth = frame["id"].nunique()
    assert abs(remote["id"].unique - truth) / truth <= 0.02


def test_dask_engine_on_parquet_files(client, frame, tmp_path):
    for i, start in enumerate(range(0, len(frame), 20_000)):
        frame.iloc[start : start + 20_000].to_parquet(tmp_path / f"part-{i}.parquet")
    remote = profile(str(tmp_path / "*.parquet"), engine="dask")
    local = profile(str(tmp_path / "*.parquet"), engine="local")
    assert remote.rows == local.rows == len(frame)
    assert remote["x"].mean == pytest.approx(local["x"].mean, rel=1e-12)
    assert remote["s"].top_values == local["s"].top_values


def test_local_engine_streams_dask_partitions_in_process(frame):
    ddf = dd.from_pandas(frame.head(5000), npartitions=3)
    streamed = profile(ddf, engine="local")
    assert streamed.rows == 5000
    assert streamed["x"].mean == pytest.approx(frame.head(5000)["x"].mean(), rel=1e-12)
