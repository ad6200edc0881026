"""The fast paths of a profile: plain strings grouped by hashes, and batches profiled in lanes."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from deepscope.data import profile, sketches
from deepscope.data.accumulators import NumericValues, StringValues, _frequent_groups, _hash_groups
from deepscope.data.sketches import EXACT_LIMIT, Quantiles, hash_strings

profile_module = importlib.import_module("deepscope.data.profile")  # the module; the package's name is the function


def _skewed_strings(n: int, distinct: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Zipf-like strings (a few heavy values, a long tail), some not ASCII, and a null mask."""
    rng = np.random.default_rng(seed)
    ranks = np.minimum(rng.zipf(1.3, n), distinct) - 1
    names = np.array([f"user-{i}" if i % 7 else f"üser-{i:06d}-ß" for i in range(distinct)])
    return names[ranks], rng.random(n) < 0.04


def test_hash_groups_count_every_value_exactly():
    values, mask = _skewed_strings(30_000, 5_000, seed=1)
    array = pa.array(values, mask=mask)
    rows = np.flatnonzero(~mask)
    hashes, counts, first = _hash_groups(hash_strings(array), rows)
    truth = pd.Series(values[~mask]).value_counts()
    assert counts.sum() == rows.size and hashes.size == truth.size == np.unique(hashes).size
    got = dict(zip(values[first].tolist(), counts.tolist(), strict=True))
    assert got == truth.to_dict()  # each group's row holds the value counted
    assert not mask[first].any()


def test_plain_strings_agree_with_exact_counts_on_skewed_data():
    values, mask = _skewed_strings(120_000, 60_000, seed=2)
    table = pa.table({"s": pa.array(values, mask=mask)})
    p = profile(table, batch_size=25_000)  # several batches, several lanes
    feature = p["s"]
    present = values[~mask]
    truth = pd.Series(present).value_counts()
    lengths = np.array([len(v) for v in present.tolist()])  # characters, not UTF-8 bytes
    assert (feature.count, feature.missing) == (present.size, int(mask.sum()))
    assert feature.unique is not None and abs(feature.unique - truth.size) <= 0.02 * truth.size  # HyperLogLog's bound
    assert feature.avg_length == pytest.approx(lengths.mean(), rel=1e-12)
    state = feature.state["values"]
    assert (state["min_length"], state["max_length"]) == (lengths.min(), lengths.max())
    # The heavy values come first with their exact counts (their lead over the tail is large).
    assert [v for v, _ in feature.top_values] == truth.index[:10].tolist()
    items = _items(feature)
    assert len(items) == 50
    for value, estimate, lower, upper in items:  # Misra-Gries bounds hold for every kept value
        assert estimate == lower <= truth[value] <= upper


def _items(feature) -> list[tuple[str, int, int, int]]:
    from deepscope.data.sketches import TopValues

    return TopValues.from_text(feature.state["values"]["top"]).items(50)


def test_plain_and_dictionary_strings_give_the_same_profile():
    values, mask = _skewed_strings(40_000, 2_000, seed=3)  # under the top-value capacity: exact
    plain = pa.array(values, mask=mask)
    a = profile(pa.table({"s": plain}), batch_size=10_000)["s"]
    b = profile(pa.table({"s": plain.dictionary_encode()}), batch_size=10_000)["s"]
    assert (a.count, a.missing, a.unique, a.avg_length) == (b.count, b.missing, b.unique, b.avg_length)
    assert _items(a) == _items(b)
    assert a.unique == pd.Series(values[~mask]).nunique()


def test_all_null_and_empty_strings_in_plain_batches():
    acc = StringValues()
    acc.update_array(pa.array([None, None], pa.string()), "string")
    acc.update_array(pa.array([], pa.string()), "string")
    assert acc.count == 0 and acc.min_length is None
    chunks = pa.chunked_array([pa.array(["a", "b"]), pa.array([], pa.string()), pa.array(["a"])])
    assert profile(pa.table({"s": chunks}))["s"].top_values == (("a", 2), ("b", 1))
    acc.update_array(pa.array(["", None, "ab", ""], pa.large_string()), "string")
    assert (acc.count, acc.total_length, acc.min_length, acc.max_length) == (3, 2, 0, 2)
    assert acc.top.items() == [("", 2, 2, 2), ("ab", 1, 1, 1)]


def test_lanes_give_the_profile_of_one_pass(monkeypatch):
    rng = np.random.default_rng(5)
    n = 50_000
    x = rng.lognormal(0.0, 1.0, n)
    table = pa.table({"x": pa.array(x, mask=rng.random(n) < 0.03)})
    monkeypatch.setattr(profile_module, "_THREADS", 3)  # three lanes for one column
    lanes = profile(table, batch_size=4_000)["x"]
    monkeypatch.setattr(profile_module, "_THREADS", 1)
    one = profile(table, batch_size=4_000)["x"]
    whole = profile(table, batch_size=n)["x"]
    for got in (lanes, one):
        assert (got.count, got.missing, got.min, got.max, got.zeros) == (
            whole.count,
            whole.missing,
            whole.min,
            whole.max,
            whole.zeros,
        )
        assert got.mean == pytest.approx(whole.mean, rel=1e-12)
        assert got.std == pytest.approx(whole.std, rel=1e-10)
        assert got.unique is not None and whole.unique is not None
        assert abs(got.unique - whole.unique) <= 0.02 * whole.unique
    values = np.sort(table["x"].drop_null().to_numpy())
    for q, estimate in zip([0.1, 0.5, 0.9], lanes.quantiles([0.1, 0.5, 0.9]), strict=True):
        assert abs(np.searchsorted(values, estimate) / values.size - q) <= 0.01


def test_lanes_keep_columns_in_order_of_appearance(tmp_path, monkeypatch):
    # Two columns and four threads: two lanes. Batch 1 (lane 1) brings "c", batch 2 (lane 0) "d":
    # merged lane by lane they would come out as b, a, d, c.
    monkeypatch.setattr(profile_module, "_THREADS", 4)
    pq.write_table(pa.table({"b": [1.0], "a": ["x"]}), tmp_path / "part-0.parquet")
    pq.write_table(pa.table({"b": [2.0], "c": [True]}), tmp_path / "part-1.parquet")
    pq.write_table(pa.table({"d": [5], "b": [3.0]}), tmp_path / "part-2.parquet")
    p = profile(str(tmp_path / "*.parquet"), batch_size=1)
    assert p.features == ["b", "a", "c", "d"]
    assert p.rows == 3 and p["b"].mean == 2.0
    assert [(p[f].count, p[f].missing) for f in "acd"] == [(1, 2), (1, 2), (1, 2)]


@pytest.mark.parametrize("distinct", [EXACT_LIMIT, EXACT_LIMIT + 1, 200_000])
def test_counts_stay_exact_up_to_the_limit_whatever_the_probe_sees(distinct):
    # The probe of every k-th sorted value may only ever skip a count that would exceed the limit.
    rng = np.random.default_rng(distinct)
    values = np.sort(np.concatenate([np.arange(distinct) * 0.5, rng.integers(0, distinct, 200_000) * 0.5]))
    q = Quantiles()
    q.update_sorted(values)
    assert q.is_exact == (distinct <= EXACT_LIMIT)
    if q.is_exact:
        assert q.exact_distinct == distinct and q.n == values.size


@pytest.mark.parametrize("distinct", [EXACT_LIMIT, EXACT_LIMIT + 1, 200_000])
def test_unsorted_batches_skip_the_sort_only_when_counts_could_not_stay_exact(distinct):
    # A batch of continuous values goes into KLL unsorted once every k-th value shows more distinct
    # values than the exact counts keep; a batch with fewer must still be counted exactly, also
    # when the sample of every k-th value sees each of them: the values repeat in a cycle, and at
    # 204,800 values the sample takes every 25th, a step prime to a cycle of 2,048 or 2,049.
    values = np.tile(np.arange(distinct) * 0.5, -(-204_800 // distinct))
    sample = values[:: values.size // (4 * EXACT_LIMIT)]
    assert np.unique(sample).size == min(distinct, sample.size)
    acc = NumericValues()
    acc.update(values)
    distinct_values = np.unique(values).size
    assert acc.quantiles.is_exact == (distinct_values <= EXACT_LIMIT)
    if acc.quantiles.is_exact:
        assert acc.quantiles.exact_distinct == distinct_values


def test_continuous_batches_taken_unsorted_give_exact_moments_and_counts():
    rng = np.random.default_rng(7)
    values = np.where(rng.random(300_000) < 0.3, 0.0, rng.exponential(5.0, 300_000)) - 1.0
    values[rng.integers(0, values.size, 50)] = 0.0
    acc = NumericValues()
    for batch in np.array_split(values, 3):
        acc.update(batch)
    assert not acc.quantiles.is_exact
    assert (acc.count, acc.zeros) == (values.size, int(np.count_nonzero(values == 0)))
    assert (acc.min, acc.max) == (values.min(), values.max())
    assert acc.mean == pytest.approx(values.mean(), rel=1e-12)
    assert acc.std == pytest.approx(values.std(ddof=1), rel=1e-9)
    ordered = np.sort(values)
    for q, estimate in zip([0.1, 0.5, 0.9], acc.quantiles.quantiles([0.1, 0.5, 0.9]), strict=True):
        low, high = np.searchsorted(ordered, estimate, "left"), np.searchsorted(ordered, estimate, "right")
        gap = 0.0 if low <= q * values.size <= high else min(abs(q * values.size - low), abs(q * values.size - high))
        assert gap / values.size <= acc.quantiles.rank_error


@pytest.mark.parametrize("seed", range(6))
def test_largest_counts_match_a_full_sort(seed):
    rng = np.random.default_rng(seed)
    k = 50
    counts = [
        rng.integers(1, 4, 500),  # many ties at the boundary
        rng.zipf(1.5, 700).clip(max=10**6),  # a long tail
        np.concatenate([np.full(50, 9), np.full(30, 2), [1]]),  # exactly k above the rest
        rng.integers(1, 10**9, 300),  # large counts: the argpartition path
        np.concatenate([np.full(49, 7), np.full(20, 3)]),  # one of the ties kept
        rng.integers(0, 2, 200),
    ][seed]
    keep, dropped = sketches._largest(counts, k)
    assert keep.size == k == np.unique(keep).size
    ordered = np.sort(counts)[::-1]
    assert np.sort(counts[keep])[::-1].tolist() == ordered[:k].tolist()
    rest = np.delete(counts, keep)
    assert dropped == rest.max()


def test_booleans_with_nulls_and_all_null_batches():
    rng = np.random.default_rng(9)
    flags = rng.random(30_000) < 0.3
    mask = rng.random(30_000) < 0.1
    mask[10_000:20_000] = True  # a batch of nulls only
    p = profile(pa.table({"b": pa.array(flags, mask=mask), "x": pa.array(flags * 1.5, mask=mask)}), batch_size=10_000)
    present = flags[~mask]
    assert (p["b"].count, p["b"].missing, p["b"].top_values) == (
        present.size,
        int(mask.sum()),
        (("false", int((~present).sum())), ("true", int(present.sum()))),
    )
    assert p["b"].mean == pytest.approx(present.mean(), rel=1e-12)
    assert (p["x"].count, p["x"].zeros, p["x"].max) == (present.size, int((~present).sum()), 1.5)


def _all_null_file(path, statistics: bool = True):
    """Row groups of 700 rows: three columns with no value at all, one with values only in its
    second row group, and values in the others (a string column read as a dictionary too)."""
    n = 2_100
    rng = np.random.default_rng(11)
    late = np.full(n, np.nan)
    late[900:950] = rng.normal(size=50)
    table = pa.table(
        {
            "x": rng.normal(size=n),
            "empty_float": pa.nulls(n, pa.float64()),
            "late": pa.array(late, mask=np.isnan(late)),
            "empty_text": pa.nulls(n, pa.string()),
            "city": pa.array(rng.choice(["Oslo", "Lima", "Pune"], n)),
            "empty_time": pa.nulls(n, pa.timestamp("ms")),
        }
    )
    pq.write_table(table, path, row_group_size=700, write_statistics=statistics)
    return table


def _summary(p) -> list[tuple]:
    def mean(f):
        value = p[f].mean
        return None if value is None or value != value else round(value, 12)  # NaN: no values

    return [(f, p[f].type, p[f].count, p[f].missing, p[f].unique, mean(f)) for f in p.features]


def test_columns_with_no_value_are_not_decoded_and_profile_the_same(tmp_path):
    from deepscope.data.sources import _null_columns, _parquet_file

    table = _all_null_file(tmp_path / "stats.parquet")
    _all_null_file(tmp_path / "plain.parquet", statistics=False)
    assert _null_columns(_parquet_file(tmp_path / "stats.parquet")) == {1, 3, 5}  # "late" has values
    assert _null_columns(_parquet_file(tmp_path / "plain.parquet")) == set()  # no statistics: read
    in_memory = _summary(profile(table, batch_size=500))
    for name in ("stats", "plain"):
        got = profile(str(tmp_path / f"{name}.parquet"), batch_size=500)
        assert got.rows == 2_100 and _summary(got) == in_memory
    empty = profile(str(tmp_path / "stats.parquet"), batch_size=500)
    assert [empty[f].type for f in ("empty_float", "empty_text", "empty_time")] == [
        profile(table)[f].type for f in ("empty_float", "empty_text", "empty_time")
    ]


def test_a_file_with_no_value_at_all_is_counted_from_its_statistics(tmp_path):
    pq.write_table(
        pa.table({"a": pa.nulls(1_000, pa.float64()), "b": pa.nulls(1_000, pa.bool_())}),
        tmp_path / "f.parquet",
        row_group_size=300,
    )
    p = profile(str(tmp_path / "f.parquet"), batch_size=128)
    assert p.rows == 1_000 and [(p[f].count, p[f].missing) for f in "ab"] == [(0, 1_000), (0, 1_000)]
    assert [p[f].type for f in "ab"] == ["float", "bool"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_frequent_groups_count_exactly_and_bound_what_they_leave_out(seed):
    # ids (mostly distinct) with a few heavy values: only the fullest hash buckets are grouped.
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 200_000, 60_000)
    ids[rng.random(ids.size) < 0.1] = rng.integers(0, 40, 1)[0]  # one heavy value, ~10% of rows
    ids[:500] = 7  # and another
    values = np.array([f"id-{i}" for i in ids])
    mask = rng.random(values.size) < 0.03
    array = pa.array(values, mask=mask)
    rows = np.flatnonzero(~mask)
    hashes, counts, first, bound = _frequent_groups(hash_strings(array)[rows], rows, 256)
    truth = pd.Series(values[rows]).value_counts()
    assert bound > 0 and hashes.size < truth.size  # the pruned path ran
    got = dict(zip(values[first].tolist(), counts.tolist(), strict=True))
    assert all(truth[value] == count for value, count in got.items())  # grouped values: exact counts
    assert truth[[v for v in truth.index if v not in got]].max() <= bound  # the rest: within the bound
    assert set(truth.index[:2]) <= set(got)  # the heavy values are among those grouped
    assert not mask[first].any()
    # Few distinct values: every value grouped, bound 0.
    few = pa.array(np.array(["a", "b", "c"])[rng.integers(0, 3, 20_000)])
    assert _frequent_groups(hash_strings(few), None, 256)[3] == 0


def test_ids_keep_misra_gries_bounds_when_batches_are_pruned(monkeypatch):
    monkeypatch.setattr(sketches, "TOP_CAPACITY", 64)
    values, mask = _skewed_strings(200_000, 150_000, seed=6)
    acc = StringValues()
    for start in range(0, values.size, 50_000):
        part = slice(start, start + 50_000)
        acc.update_array(pa.array(values[part], mask=mask[part]), "string")
    truth = pd.Series(values[~mask]).value_counts()
    top = acc.top
    assert top.total == truth.sum() and top.offset > 0
    items = top.items()
    assert [v for v, *_ in items[:5]] == truth.index[:5].tolist()
    for value, estimate, lower, upper in items:
        assert estimate == lower <= truth[value] <= upper == lower + top.offset
    kept = {v for v, *_ in items}
    assert truth[[v for v in truth.index if v not in kept]].max() <= top.offset
    assert abs(acc.distinct.estimate - truth.size) <= 0.02 * truth.size


def test_string_lengths_count_characters_on_ascii_and_utf8_slices():
    words = ["abc", "", "naïve", "日本", "x" * 40, None, "plain", "ascii"]
    for kind in (pa.string(), pa.large_string()):
        array = pa.array(words, kind)
        for start, stop in ((0, 8), (6, 8), (0, 2), (2, 4), (5, 6)):  # all-ASCII and UTF-8 slices
            part = array.slice(start, stop - start)
            expected = [len(w) for w in words[start:stop] if w is not None]
            acc = StringValues()
            acc.update_array(part, "string")
            if not expected:
                assert acc.count == 0
                continue
            assert (acc.count, acc.total_length) == (len(expected), sum(expected))
            assert (acc.min_length, acc.max_length) == (min(expected), max(expected))
