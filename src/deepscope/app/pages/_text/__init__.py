"""The Text page's tabs: each module here defines ``TABS`` (a list of :class:`TextTab`).

Attention views and language-model internals live in separate modules; the page
(``deepscope.app.pages.text``) collects every module's tabs, so adding a tab is adding a module.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deepscope.app.plugin import AppContext, no_callbacks

if TYPE_CHECKING:
    import dash

__all__ = ["TextTab", "discover_tabs"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextTab:
    """One tab of the Text page.

    value: the tab's id; its element ids start with ``text-<value>-``.
    label: the tab's title.
    order: position among the tabs, smallest first.
    is_active(ctx): whether the tab has something to show (a live text model or a logged result).
    layout(ctx): the tab's component tree.
    register_callbacks(app, ctx): wires the tab's callbacks once.
    """

    value: str
    label: str
    order: int
    is_active: Callable[[AppContext], bool]
    layout: Callable[[AppContext], Any]
    register_callbacks: Callable[[dash.Dash, AppContext], None] = no_callbacks

    def id(self, name: str) -> str:
        return f"text-{self.value}-{name}"


def discover_tabs() -> list[TextTab]:
    """Every module's ``TABS``, in order; a module that fails to import is logged and skipped."""
    tabs: list[TextTab] = []
    for info in pkgutil.iter_modules(__path__):
        try:
            module = importlib.import_module(f"{__name__}.{info.name}")
        except Exception:
            log.exception("text tab module %s failed to import; it is left out", info.name)
            continue
        tabs.extend(tab for tab in getattr(module, "TABS", ()) if isinstance(tab, TextTab))
    return sorted(tabs, key=lambda tab: (tab.order, tab.value))
