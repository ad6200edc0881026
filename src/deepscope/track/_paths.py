"""Where a run lives on disk: run names, their folders, and the file names inside a run folder."""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import secrets
import time
from pathlib import Path, PureWindowsPath

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, LogdirError

RUN_DB = "run.sqlite"
WRITER_LOCK = ".writer.lock"
IMAGES_DIR = "images"
EMBEDDINGS_DIR = "embeddings"
TABLES_DIR = "tables"
RESULTS_DIR = "results"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{i}" for p in ("com", "lpt") for i in range(10)}
_MAX_FOLDER = 80


def default_run_name() -> str:
    """A unique, sortable name such as ``20260509-143002-a3f1``."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def check_run_name(name: object) -> str:
    """Return ``name`` if it is a usable run name; refuse names that point outside the logdir."""
    if not isinstance(name, str):
        raise ArgumentTypeError("name", "a string or None", name)
    if not name.strip() or "\x00" in name:
        raise InvalidArgumentError("name", "a non-empty run name without NUL characters", name)
    normal = posixpath.normpath(name.replace("\\", "/"))
    if (
        normal.startswith("/")
        or normal in (".", "..")
        or normal.startswith("../")
        or PureWindowsPath(name).drive
        or PureWindowsPath(name).is_absolute()
    ):
        raise InvalidArgumentError(
            "name",
            "a run name that stays inside the logdir",
            name,
            hint="Use a plain name such as 'baseline' or 'lr=0.1/seed=0'",
        )
    return name


def run_folder(name: str) -> str:
    """The folder name of a run: ``name`` itself when it is filesystem-safe, else a sanitized form.

    A sanitized folder gets a short hash of the real name, so two names never share a folder; the
    real name is kept in the run's index.
    """
    safe = _UNSAFE.sub("_", name).lstrip(".-")[:_MAX_FOLDER] or "run"
    if safe == name and safe.lower() not in _WINDOWS_RESERVED:
        return safe
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return f"{safe}-{digest}"


def is_run_folder(entry: os.DirEntry) -> bool:
    """Whether a directory entry of a logdir is a (completely created) run folder."""
    return not entry.name.startswith(".") and entry.is_dir() and os.path.isfile(os.path.join(entry.path, RUN_DB))


def inside(folder: Path, relative: str) -> Path:
    """``folder / relative``, refusing stored paths that would leave ``folder``."""
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise LogdirError(f"the index of {folder} names a file outside it: {relative!r}")
    return path
