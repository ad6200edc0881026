"""The one LRU cache: recency, bounds by entries and bytes, and one computation per key."""

from __future__ import annotations

import threading
import time

import pytest

from deepscope.errors import InvalidArgumentError
from deepscope.lru import LRUCache


def test_least_recently_used_goes_first():
    cache = LRUCache(2)
    cache.get("a", lambda: 1)
    cache.get("b", lambda: 2)
    assert cache.get("a", lambda: -1) == 1  # a is now the most recent
    cache.get("c", lambda: 3)
    assert "b" not in cache and "a" in cache and "c" in cache and len(cache) == 2


def test_bytes_bound_and_oversized_values():
    cache = LRUCache(10, max_bytes=100)
    cache.put("a", "A", 60)
    cache.put("b", "B", 30)
    cache.put("c", "C", 30)  # 120 bytes: a goes
    assert cache.peek("a") is None and cache.nbytes == 60
    assert cache.get("big", lambda: "X", lambda _: 500) == "X"  # returned, never kept
    assert "big" not in cache and cache.nbytes == 60
    cache.put("b", "B2", 10)  # replacing frees the old size
    assert cache.peek("b") == "B2" and cache.nbytes == 40
    cache.clear()
    assert len(cache) == 0 and cache.nbytes == 0


def test_concurrent_misses_compute_once_and_errors_are_not_cached():
    cache = LRUCache(4)
    calls = []
    start = threading.Barrier(4)

    def slow():
        calls.append(1)
        time.sleep(0.05)
        return "value"

    results = []

    def reader():
        start.wait()
        results.append(cache.get("k", slow))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["value"] * 4 and len(calls) == 1

    def fail():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        cache.get("bad", fail)
    assert cache.get("bad", lambda: "fine") == "fine"


def test_sizes_are_checked():
    with pytest.raises(InvalidArgumentError, match="max_entries"):
        LRUCache(0)
