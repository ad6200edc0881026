"""Page plugins: what a page is, what it is given, and how pages are found.

A page is a module in ``deepscope/app/pages/`` that defines ``PAGE``. Dropping a module in adds a
page; deleting it removes the page and nothing else breaks.

>>> from dash import html
>>> from deepscope.app.plugin import Page
>>> PAGE = Page(
...     name="Hello",
...     path="/hello",
...     order=90,
...     is_active=lambda ctx: ctx.logdir is not None,
...     layout=lambda ctx: html.P("hello", id="hello-text"),
... )
>>> PAGE.id("text")
'hello-text'
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, NotFoundError

if TYPE_CHECKING:
    import dash

    from deepscope.model import Model
    from deepscope.track import Logdir

__all__ = ["Page", "AppContext", "LazyModels", "discover_pages", "no_callbacks", "always_active"]

log = logging.getLogger(__name__)

PAGES_PACKAGE = "deepscope.app.pages"


def no_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    """``register_callbacks`` for a page without controls."""


def always_active(ctx: AppContext) -> bool:
    """``is_active`` for a page that always has something to show."""
    return True


@dataclass(frozen=True)
class Page:
    """A dashboard page.

    name: the label in the navigation.
    path: the URL path, ``"/"`` or ``"/<slug>"``; element ids in the page start with ``<slug>-``.
    order: position in the navigation, smallest first.
    is_active(ctx): whether the page has something to show; cheap, called on every navigation.
    layout(ctx): the page's component tree, built each time the page is opened.
    register_callbacks(app, ctx): wires the page's callbacks, once, when the app is built. Layout
        components appear after the app starts, so callbacks rely on
        ``suppress_callback_exceptions=True`` (set by ``create_app``).
    """

    name: str
    path: str
    order: int
    is_active: Callable[[AppContext], bool]
    layout: Callable[[AppContext], Any]
    register_callbacks: Callable[[dash.Dash, AppContext], None] = no_callbacks

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidArgumentError("name", "a non-empty string", self.name)
        if not isinstance(self.path, str) or not self.path.startswith("/"):
            raise InvalidArgumentError("path", "a URL path starting with '/'", self.path)
        if self.path != "/" and (self.path.endswith("/") or "/" in self.path[1:]):
            raise InvalidArgumentError("path", "'/' or a single segment such as '/scalars'", self.path)
        for attribute in ("is_active", "layout", "register_callbacks"):
            if not callable(getattr(self, attribute)):
                raise ArgumentTypeError(attribute, "a function", getattr(self, attribute))

    @property
    def slug(self) -> str:
        """The prefix of the page's element ids: the path without its slash (``"runs"`` for ``/``)."""
        return self.path.strip("/") or "runs"

    def id(self, name: str) -> str:
        """A page-scoped element id, ``"<slug>-<name>"``."""
        return f"{self.slug}-{name}"


class LazyModels(Mapping):
    """Models by name, wrapped with ``deepscope.Model`` on first access.

    A value may also be a zero-argument loader made with ``LazyModels.loader(fn)``; it is called
    once, on first access (used to register zoo models without loading their weights up front).
    """

    class _Loader:
        def __init__(self, load: Callable[[], Any]):
            self.load = load

    def __init__(self, models: Mapping[str, Any] | None = None):
        if models is not None and not isinstance(models, Mapping):
            raise ArgumentTypeError("models", "a dict of name -> model", models)
        # Copy a LazyModels' raw entries: dict() of it would load every model now.
        self._raw: dict[str, Any] = dict(models._raw) if isinstance(models, LazyModels) else dict(models or {})
        for name in self._raw:
            if not isinstance(name, str):
                raise ArgumentTypeError("models", "string model names", name)
        self._wrapped: dict[str, Model] = {}

    @classmethod
    def loader(cls, load: Callable[[], Any]) -> Any:
        """Mark ``load`` as a deferred model: ``load()`` runs on first access."""
        return cls._Loader(load)

    def __getitem__(self, name: str) -> Model:
        if name not in self._raw:
            raise NotFoundError("model", name, list(self._raw))
        if name not in self._wrapped:
            from deepscope.model import Model

            raw = self._raw[name]
            if isinstance(raw, LazyModels._Loader):
                raw = raw.load()
            self._wrapped[name] = Model(raw, name=name) if not isinstance(raw, Model) else raw
        return self._wrapped[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return f"LazyModels({list(self._raw)})"


@dataclass
class AppContext:
    """What every page is given: the logdir and the live models and datasets.

    logdir_path: the log directory (``None`` when the app serves only live models).
    logdir: its reader (``deepscope.track.Logdir``), or ``None`` without a logdir.
    models: name -> ``deepscope.Model``, wrapped on first access.
    datasets: name -> dataset object, as given to ``create_app`` / ``ds.serve``.
    """

    logdir_path: Path | None
    logdir: Logdir | None
    models: LazyModels = field(default_factory=LazyModels)
    datasets: dict[str, Any] = field(default_factory=dict)


def discover_pages(package: str = PAGES_PACKAGE) -> list[Page]:
    """Import every module of ``package`` and collect its ``PAGE``, in navigation order.

    Modules whose names start with ``_`` are helpers and are skipped, as are modules without a
    ``PAGE``. A module that fails to import is logged and skipped, so one broken page does not
    take the dashboard down.
    """
    module = importlib.import_module(package)
    pages = []
    for info in pkgutil.iter_modules(module.__path__):
        if info.name.startswith("_"):
            continue
        try:
            page_module = importlib.import_module(f"{package}.{info.name}")
        except Exception:
            log.exception("page module %s.%s failed to import; it is left out", package, info.name)
            continue
        page = getattr(page_module, "PAGE", None)
        if isinstance(page, Page):
            pages.append(page)
    return sort_pages(pages)


def sort_pages(pages: Iterable[Page]) -> list[Page]:
    """Pages in navigation order; two pages may not share a path."""
    result = list(pages)
    for page in result:
        if not isinstance(page, Page):
            raise ArgumentTypeError("pages", "deepscope.app.Page objects", page)
    result.sort(key=lambda p: (p.order, p.name))
    seen: dict[str, str] = {}
    for page in result:
        if page.path in seen:
            raise InvalidArgumentError(
                "pages", "one page per path", f"{seen[page.path]!r} and {page.name!r} at {page.path}"
            )
        seen[page.path] = page.name
    return result


def is_page_active(page: Page, ctx: AppContext) -> bool:
    """``page.is_active(ctx)``, treating an error as "nothing to show" (logged, not raised)."""
    try:
        return bool(page.is_active(ctx))
    except Exception:
        log.exception("is_active of page %r failed; the page is hidden", page.name)
        return False
