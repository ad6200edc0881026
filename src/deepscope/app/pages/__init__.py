"""Dashboard pages: each module defines ``PAGE = Page(...)`` and is found by ``discover_pages``.

Modules whose names start with ``_`` hold shared helpers and are not pages.
"""
