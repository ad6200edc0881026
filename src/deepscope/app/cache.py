"""The pages' callback cache: :class:`deepscope.lru.LRUCache` (the one LRU of the package).

>>> cache = Cache(2)
>>> cache.get("a", lambda: 1), cache.get("a", lambda: 2)
(1, 1)
"""

from __future__ import annotations

from deepscope.lru import LRUCache as Cache

__all__ = ["Cache"]
