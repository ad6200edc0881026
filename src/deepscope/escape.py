"""The one escape for user strings shown in figures and HTML pages.

Plotly renders a subset of HTML (``<b>``, ``<a href>``, ``<br>``) in titles, tick labels, legends
and hover text, and expands ``%{...}`` in hover templates; an HTML report renders all of HTML.
A run name, a class label or a slice value is data, never markup: every user string goes through
:func:`escape` before it reaches a figure or a page. Only numeric character references are used
for quotes and ``%`` because plotly decodes those (and ``&amp;``, ``&lt;``, ``&gt;``) back to the
characters on screen, but not ``&quot;``.

>>> escape('<b>x</b> & "y" %{z}')
'&lt;b&gt;x&lt;/b&gt; &amp; &#34;y&#34; &#37;{z}'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["escape", "escape_all"]

_TABLE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"})


def escape(text: Any) -> str:
    """``text`` as a string that plotly and HTML show literally (markup, quotes and ``%{`` neutralised)."""
    return str(text).translate(_TABLE).replace("%{", "&#37;{")


def escape_all(values: Iterable[Any]) -> list[str]:
    """:func:`escape` of each value, for the categories and labels of a trace."""
    return [escape(value) for value in values]
