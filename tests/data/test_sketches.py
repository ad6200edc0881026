"""The sketches behind distinct counts and top values: HyperLogLog, Misra-Gries and their hashes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from deepscope.data import sketches
from deepscope.data.sketches import Distinct, Quantiles, TopValues, hash_numbers, hash_strings


@pytest.mark.parametrize("truth", [1, 700, 12_000, 40_000, 250_000])
@pytest.mark.parametrize("kind", ["float", "string"])
def test_distinct_count_within_two_percent_at_every_scale(truth, kind):
    # Small, medium (where raw HyperLogLog is biased) and large counts, with repeats.
    rng = np.random.default_rng(truth)
    codes = rng.permutation(truth)[rng.integers(0, truth, 2 * truth)]
    codes[:truth] = np.arange(truth)  # every value occurs
    sketch = Distinct()
    for part in np.array_split(codes, 4):
        if kind == "float":
            sketch.update_numbers(part * 0.37 + 0.001)
        else:
            sketch.update_strings(pa.array([f"v{c}" for c in part]))
    assert abs(sketch.estimate - truth) <= max(0.02 * truth, 0.5)
    low, high = sketch.bounds(2)
    assert low <= sketch.estimate <= high


def test_merged_registers_equal_the_sketch_of_the_union():
    a, b, whole = Distinct(), Distinct(), Distinct()
    left, right = np.arange(0, 60_000), np.arange(40_000, 90_000)
    a.update_numbers(left)
    b.update_numbers(right)
    whole.update_numbers(np.concatenate([right, left]))
    a.merge(b)
    assert np.array_equal(a.registers, whole.registers)
    assert abs(a.estimate - 90_000) <= 0.02 * 90_000
    assert np.array_equal(Distinct.from_text(a.to_text()).registers, a.registers)


def test_numbers_hash_alike_when_equal():
    assert hash_numbers(np.array([3.0, -0.0, 2.0**40]))[:3].tolist() == hash_numbers(np.array([3, 0, 2**40])).tolist()
    assert hash_numbers(np.array([0.0]))[0] == hash_numbers(np.array([-0.0]))[0]
    assert hash_numbers(np.array([0.5]))[0] != hash_numbers(np.array([0]))[0]


def test_string_hash_is_the_same_on_every_path():
    # Short strings of a few lengths are hashed a word at a time, others a byte at a time; slices,
    # large strings and one-string arrays must give each string the same hash.
    rng = np.random.default_rng(0)
    words = [f"id-{i}" for i in rng.integers(0, 10**7, 5_000)] + ["", "naïve", "x" * 300, "a" * 8, "b" * 16, "€"]
    array = pa.array(words)
    hashes = hash_strings(array)
    assert len(set(hashes.tolist())) == len(set(words))
    assert np.array_equal(hash_strings(array.cast(pa.large_string())), hashes)
    assert np.array_equal(hash_strings(array.slice(7, 3_000)), hashes[7:3007])
    assert [hash_strings(pa.array([w]))[0] for w in words[-6:]] == hashes[-6:].tolist()
    ids = pa.array([f"id-{i:08d}" for i in range(2_000)])  # one length only
    assert np.array_equal(hash_strings(ids), [hash_strings(pa.array([w]))[0] for w in ids.to_pylist()])


def _reference_string_hash(text: str) -> int:
    """The documented string hash, one string at a time in Python integers: the UTF-8 bytes in
    zero-padded little-endian 8-byte words w_j give length * C + sum((w_j + 1) * M**j) mod 2**64,
    then MurmurHash3's 64-bit finaliser. Profiles saved earlier hold sketches of these hashes."""
    mask, m1, m2 = 2**64 - 1, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53
    data = text.encode("utf-8")
    h = len(data) * 0x9E3779B97F4A7C15
    for j in range(0, len(data), 8):
        word = int.from_bytes(data[j : j + 8].ljust(8, b"\0"), "little")
        h += (word + 1) * pow(m1, j // 8, 2**64)
    h &= mask
    for multiplier in (m1, m2):
        h ^= h >> 33
        h = (h * multiplier) & mask
    return h ^ (h >> 33)


@pytest.mark.parametrize(
    "words",
    [
        [f"{i}" for i in range(0, 200_000, 37)],  # ids of 1 to 6 bytes
        ["", "a", "ab", "é", "€uro", "x" * 7, "y" * 8, "z" * 9, "w" * 16, "v" * 17, "naïve café", "日本語テキスト"],
        [("token " * k)[: 3 * k + 1] for k in range(60)],  # every length to 178 bytes
        ["q" * 300, "short", "", "r" * 64, "s" * 65],
    ],
    ids=["short ids", "mixed utf-8", "every length", "long"],
)
def test_string_hash_matches_its_definition(words):
    expected = [_reference_string_hash(w) for w in words]
    for array in (pa.array(words), pa.array(words, pa.large_string()), pa.array(["pad", *words]).slice(1)):
        assert hash_strings(array).tolist() == expected


def test_top_values_exact_below_capacity_and_bounded_beyond(monkeypatch):
    monkeypatch.setattr(sketches, "TOP_CAPACITY", 64)
    rng = np.random.default_rng(4)
    # 20 heavy values and a long tail of 5,000 rare ones, in 10 batches, merged from two halves.
    stream = np.concatenate([rng.integers(0, 20, 30_000), rng.integers(20, 5_020, 20_000)])
    rng.shuffle(stream)
    truth = np.bincount(stream)
    halves = [TopValues(), TopValues()]
    for index, batch in enumerate(np.array_split(stream, 10)):
        values, counts = np.unique(batch, return_counts=True)
        halves[index % 2].update_counts([f"v{v}" for v in values], counts)
    top = halves[0]
    top.merge(TopValues.from_text(halves[1].to_text()))
    assert not top.is_exact and top.total == stream.size
    items = top.items()
    kept = {value for value, *_ in items}
    assert {f"v{v}" for v in range(20)} <= kept  # every heavy value survives
    for value, estimate, lower, upper in items:
        true = truth[int(value[1:])]
        assert lower == estimate <= true <= upper == lower + top.offset
    missing = [truth[v] for v in range(truth.size) if truth[v] and f"v{v}" not in kept]
    assert max(missing) <= top.offset <= stream.size / 64

    exact = TopValues()
    exact.update_counts(["a", "b", "a2"], [5, 7, 5])
    exact.update_counts(["b", "c"], [1, 2])
    assert exact.is_exact and exact.items() == [("b", 8, 8, 8), ("a", 5, 5, 5), ("a2", 5, 5, 5), ("c", 2, 2, 2)]


@pytest.mark.parametrize("size", [0, 5, 256, 1_000, 70_001])
def test_values_go_to_kll_in_sorted_runs_and_keep_their_quantiles(size):
    rng = np.random.default_rng(size)
    values = rng.lognormal(size=size)
    view = pa.array(values).to_numpy(zero_copy_only=True)  # Arrow's read-only view
    runs = sketches._in_sorted_runs(view)
    assert runs.flags.writeable and runs.dtype == np.float64
    assert np.array_equal(np.sort(runs), np.sort(values))  # the same values
    assert np.array_equal(view, values)  # the input untouched
    whole = size - size % sketches._RUN
    assert (np.diff(runs[:whole].reshape(-1, sketches._RUN), axis=1) >= 0).all() if whole else True
    assert (np.diff(runs[whole:]) >= 0).all()
    if size > 10_000:  # KLL fed the runs still answers within its rank error
        q = Quantiles()
        q.update(view)
        assert not q.is_exact
        ranks = np.searchsorted(np.sort(values), q.quantiles([0.1, 0.5, 0.9]), side="right") / size
        assert np.abs(ranks - [0.1, 0.5, 0.9]).max() <= q.rank_error
