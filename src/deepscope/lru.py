"""The one least-recently-used cache: thread-safe, bounded by entries and (optionally) by bytes.

Concurrent misses of one key compute it once (the others wait for that result), and the
computation runs outside the lock, so a slow key never blocks readers of other keys. The
dashboard's read model and every page's callbacks share this one class.

>>> cache = LRUCache(2)
>>> cache.get("a", lambda: 1), cache.get("a", lambda: 2)
(1, 1)
>>> cache.get("b", lambda: 2), cache.get("c", lambda: 3), "a" in cache
(2, 3, False)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, TypeVar

from deepscope.validation import check_int

__all__ = ["LRUCache"]

T = TypeVar("T")


def _one(_value: Any) -> int:
    return 0


class LRUCache:
    """At most ``max_entries`` values and ``max_bytes`` bytes (as ``size`` measures them).

    A value larger than ``max_bytes`` on its own is returned but not kept.
    """

    def __init__(self, max_entries: int, max_bytes: int | None = None) -> None:
        self.max_entries = check_int(max_entries, "max_entries", low=1)
        self.max_bytes = None if max_bytes is None else check_int(max_bytes, "max_bytes", low=0)
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._pending: dict[Hashable, Future] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    @property
    def nbytes(self) -> int:
        """Bytes held, as the ``size`` functions measured them."""
        return self._bytes

    def get(self, key: Hashable, compute: Callable[[], T], size: Callable[[T], int] = _one) -> T:
        """The value of ``key``, computed by ``compute()`` (once, even under concurrent misses)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
            waiting = self._pending.get(key)
            owner = waiting is None
            if waiting is None:
                waiting = self._pending[key] = Future()
        if not owner:
            return waiting.result()
        try:
            value = compute()
        except BaseException as err:
            with self._lock:
                self._pending.pop(key, None)
            waiting.set_exception(err)
            raise
        with self._lock:
            self._pending.pop(key, None)
            self._keep(key, value, size(value))
        waiting.set_result(value)
        return value

    def peek(self, key: Hashable) -> Any:
        """The value of ``key`` if cached (marking it recently used), else None."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value: Any, nbytes: int = 0) -> None:
        """Keep ``value`` under ``key`` (replacing any value there)."""
        with self._lock:
            self._keep(key, value, nbytes)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def _keep(self, key: Hashable, value: Any, nbytes: int) -> None:
        if key in self._items:
            self._bytes -= self._items.pop(key)[1]
        if self.max_bytes is not None and nbytes > self.max_bytes:
            return
        self._items[key] = (value, nbytes)
        self._bytes += nbytes
        while len(self._items) > self.max_entries or (self.max_bytes is not None and self._bytes > self.max_bytes):
            _, (_, dropped) = self._items.popitem(last=False)
            self._bytes -= dropped
