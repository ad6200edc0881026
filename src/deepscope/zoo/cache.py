"""Where trained zoo models live on disk: one folder per (name, seed, hyper-parameters).

``<root>/<deepscope version>/<name>/seed<seed>-<hash>/`` holds ``model.safetensors`` (weights,
with the name, seed and hyper-parameters in its metadata), ``meta.json`` and the model's assets
(``tokenizer.json`` or ``encoder.json``). ``<root>`` is ``$DEEPSCOPE_CACHE_DIR`` when set, else
``platformdirs.user_cache_dir("deepscope")``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import platformdirs

from deepscope._version import __version__

__all__ = ["cache_dir", "entry_dir", "WEIGHTS_FILE", "META_FILE", "publish"]

WEIGHTS_FILE = "model.safetensors"
META_FILE = "meta.json"
ENV_VAR = "DEEPSCOPE_CACHE_DIR"


def cache_dir() -> Path:
    """The folder of this deepscope version's cached zoo models (not created here)."""
    root = os.environ.get(ENV_VAR) or platformdirs.user_cache_dir("deepscope")
    return Path(root).expanduser() / __version__


def key(name: str, seed: int, hparams: Mapping[str, Any]) -> str:
    """A short stable hash of what determines a trained model."""
    text = json.dumps({"name": name, "seed": seed, "hparams": dict(hparams)}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def entry_dir(name: str, seed: int, hparams: Mapping[str, Any]) -> Path:
    return cache_dir() / name / f"seed{seed}-{key(name, seed, hparams)}"


def publish(staging: Path, target: Path) -> Path:
    """Move the finished ``staging`` folder to ``target``, replacing an older copy.

    The rename is atomic, so a reader never sees a half-written model; when another process
    published the same entry at the same moment, either copy is as good as the other.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        try:
            target.rename(old)
        except OSError:
            old = None
    try:
        staging.rename(target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target


def staging_dir(target: Path) -> Path:
    """A fresh private folder beside ``target`` to write a new entry into."""
    target.parent.mkdir(parents=True, exist_ok=True)
    path = target.with_name(f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    path.mkdir()
    return path
