"""Saved views (bookmarks) of the Projector page, kept in the run's own folder.

A view is the page's state: tag, step, projection, 2-D or 3-D, colour column, search, overlays,
the selected point and the camera (the axis ranges in 2-D, the scene camera in 3-D). The views of
a run live in ``<run folder>/projector_views.json``, beside its index, so they travel with the run;
writing them never touches the index (the run may still be training). Each save rewrites the file
atomically (a temporary file renamed into place).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from deepscope.errors import InvalidArgumentError
from deepscope.track._paths import run_folder

__all__ = ["VIEWS_FILE", "list_views", "save_view", "FIELDS"]

VIEWS_FILE = "projector_views.json"
#: the page state a view keeps
FIELDS = ("tag", "step", "method", "dims", "color", "search", "overlays", "selected", "camera")
_MAX_NAME = 80
_LOCK = threading.Lock()


def _path(logdir_path: Path, run: str) -> Path:
    return Path(logdir_path) / run_folder(run) / VIEWS_FILE


def list_views(logdir_path: Path, run: str) -> list[dict[str, Any]]:
    """The saved views of ``run``, oldest first (an unreadable file counts as none)."""
    path = _path(logdir_path, run)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    views = data.get("views") if isinstance(data, dict) else None
    return [v for v in views if isinstance(v, dict) and isinstance(v.get("name"), str)] if views else []


def save_view(logdir_path: Path, run: str, name: str, state: dict[str, Any]) -> list[dict[str, Any]]:
    """Save ``state`` (the keys of :data:`FIELDS`) as the view ``name`` of ``run``, replacing a view
    of the same name; returns the run's views."""
    name = " ".join(str(name or "").split())[:_MAX_NAME]
    if not name:
        raise InvalidArgumentError("name", "a non-empty view name", name)
    folder = Path(logdir_path) / run_folder(run)
    if not folder.is_dir():
        raise InvalidArgumentError("run", "a run of this logdir", run)
    view = {"name": name, **{key: state.get(key) for key in FIELDS}}
    json.dumps(view)  # only JSON-able state is kept
    with _LOCK:
        views = [v for v in list_views(logdir_path, run) if v["name"] != name] + [view]
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".views-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump({"views": views}, out, indent=1)
            os.replace(temporary, folder / VIEWS_FILE)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return views
