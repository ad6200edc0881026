"""A small thread-safe least-recently-used cache for pages' callbacks.

>>> cache = Cache(2)
>>> cache.get("a", lambda: 1), cache.get("a", lambda: 2)
(1, 1)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any


class Cache:
    """A small least-recently-used cache shared by a page's callbacks (they run in threads).

    ``make`` runs outside the lock, so a slow computation never blocks readers of other keys.
    """

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict[Any, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = make()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value
