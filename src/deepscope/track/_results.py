"""Saving result dataclasses generically, and rebuilding them without pickle or eval.

A result folder holds ``result.json`` (the field tree) and one file per array or frame (Parquet).
Arrays of fewer than ``COMPRESS_FROM`` bytes are ``.npy`` files; larger ones are compressed
``.npz`` archives holding one array named ``array`` (``np.savez_compressed``); both are read with
``allow_pickle=False``. Special nodes in the tree are dicts with a ``"__ds__"`` key: ``ndarray``
(``.npy``), ``npz`` (compressed), ``frame``, ``series``, ``tuple``, ``dict`` (non-string keys) and
``dataclass`` (with its ``module:qualname``). Only classes inside the ``deepscope`` package are
rebuilt; anything else is refused.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.npyio import NpzFile

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, LogdirError

RESULT_JSON = "result.json"
_MARK = "__ds__"
_FILE_NAME = re.compile(r"^[0-9]+\.(npy|npz|parquet)$")
#: arrays of at least this many bytes are saved compressed (``.npz``); smaller ones as ``.npy``
COMPRESS_FROM = 64 * 1024
_NPZ_KEY = "array"


def class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def is_deepscope_class(path: str) -> bool:
    module = path.partition(":")[0]
    return module == "deepscope" or module.startswith("deepscope.")


class _Writer:
    def __init__(self, folder: Path):
        self.folder = folder
        self.files = 0

    def _next(self, suffix: str) -> tuple[str, Path]:
        self.files += 1
        name = f"{self.files}.{suffix}"
        return name, self.folder / name

    def encode(self, value: Any, where: str) -> Any:
        if value is None or isinstance(value, (bool, str, int, float)):
            return value.item() if isinstance(value, np.generic) else value
        if isinstance(value, np.generic):
            return self.encode(value.item(), where)
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise ArgumentTypeError(where, "an array of numbers, bools or strings (not objects)", value)
            if value.nbytes >= COMPRESS_FROM:
                name, path = self._next("npz")
                np.savez_compressed(path, array=value)  # read back by the name _NPZ_KEY
                return {_MARK: "npz", "file": name}
            name, path = self._next("npy")
            np.save(path, value, allow_pickle=False)
            return {_MARK: "ndarray", "file": name}
        if isinstance(value, pd.DataFrame):
            return {_MARK: "frame", "file": self._frame(value, where)}
        if isinstance(value, pd.Series):
            frame = value.to_frame(name="values")
            return {
                _MARK: "series",
                "file": self._frame(frame, where),
                "name": self.encode(value.name, where),
            }
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {
                field.name: self.encode(getattr(value, field.name), f"{where}.{field.name}")
                for field in dataclasses.fields(value)
            }
            return {_MARK: "dataclass", "type": class_path(type(value)), "fields": fields}
        if isinstance(value, tuple):
            return {
                _MARK: "tuple",
                "items": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)],
            }
        if isinstance(value, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            if all(isinstance(k, str) for k in value) and _MARK not in value:
                return {k: self.encode(v, f"{where}[{k!r}]") for k, v in value.items()}
            items = [[self.encode(k, where), self.encode(v, f"{where}[{k!r}]")] for k, v in value.items()]
            return {_MARK: "dict", "items": items}
        hint = "convert tensors with .detach().cpu().numpy()" if hasattr(value, "detach") else None
        raise ArgumentTypeError(where, "numpy arrays, DataFrames, dataclasses or JSON-able values", value, hint=hint)

    def _frame(self, frame: pd.DataFrame, where: str) -> str:
        name, path = self._next("parquet")
        try:
            frame.to_parquet(path)
        except (ValueError, TypeError, NotImplementedError, ImportError) as exc:
            raise InvalidArgumentError(where, "a DataFrame that Parquet can store", frame, hint=str(exc)) from exc
        return name


def save(result: Any, folder: Path, argument: str = "result") -> str:
    """Write ``result`` (a dataclass instance) into ``folder``; return its class path."""
    if not dataclasses.is_dataclass(result) or isinstance(result, type):
        raise ArgumentTypeError(argument, "a result dataclass instance", result)
    tree = _Writer(folder).encode(result, argument)
    (folder / RESULT_JSON).write_text(json.dumps(tree), encoding="utf-8")
    return tree["type"]


def load(folder: Path, *, raw: bool = False) -> Any:
    """Rebuild a saved result; with ``raw=True`` return its fields as a dict instead of the class."""
    try:
        tree = json.loads((folder / RESULT_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LogdirError(f"cannot read saved result in {folder}: {exc}") from exc
    return _Reader(folder, raw).decode(tree)


class _Reader:
    def __init__(self, folder: Path, raw: bool):
        self.folder = folder
        self.raw = raw

    def decode(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            return node
        kind = node.get(_MARK)
        if kind is None:
            return {k: self.decode(v) for k, v in node.items()}
        if kind == "ndarray":
            return np.load(self._file(node["file"]), allow_pickle=False)
        if kind == "npz":
            return self._npz(node["file"])
        if kind == "frame":
            return pd.read_parquet(self._file(node["file"]))
        if kind == "series":
            return pd.read_parquet(self._file(node["file"]))["values"].rename(self.decode(node["name"]))
        if kind == "tuple":
            return tuple(self.decode(v) for v in node["items"])
        if kind == "dict":
            return {_hashable(self.decode(k)): self.decode(v) for k, v in node["items"]}
        if kind == "dataclass":
            fields = {k: self.decode(v) for k, v in node["fields"].items()}
            return fields if self.raw else _rebuild(node["type"], fields)
        raise LogdirError(f"saved result in {self.folder} has an unknown node {kind!r}")

    def _npz(self, name: str) -> np.ndarray:
        try:
            loaded = np.load(self._file(name), allow_pickle=False)
            if not isinstance(loaded, NpzFile):
                raise LogdirError(f"saved result in {self.folder}: {name} is not an .npz archive")
            with loaded as archive:
                if list(archive.files) != [_NPZ_KEY]:
                    raise LogdirError(f"saved result in {self.folder}: {name} holds {archive.files}, not one array")
                return archive[_NPZ_KEY]
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise LogdirError(f"saved result in {self.folder}: cannot read {name}: {exc}") from exc

    def _file(self, name: str) -> Path:
        if not isinstance(name, str) or not _FILE_NAME.match(name):
            raise LogdirError(f"saved result in {self.folder} names an invalid file {name!r}")
        return self.folder / name


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


def _rebuild(path: str, fields: dict[str, Any]) -> Any:
    if not is_deepscope_class(path):
        raise LogdirError(
            f"the saved result is a {path}; only deepscope's own result classes are rebuilt. "
            "Read its fields with result(..., raw=True)"
        )
    module_name, _, qualname = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise LogdirError(f"the saved result's class {path} no longer exists: {exc}") from exc
    if not (isinstance(target, type) and dataclasses.is_dataclass(target)):
        raise LogdirError(f"the saved result's class {path} is not a dataclass")
    # Set fields directly, as pickle does: the saved values are restored without re-running
    # __init__/__post_init__ (which may compute or check things differently in a newer version).
    instance = target.__new__(target)
    for field in dataclasses.fields(target):
        if field.name in fields:
            value = fields[field.name]
        elif field.default is not dataclasses.MISSING:
            value = field.default
        elif field.default_factory is not dataclasses.MISSING:
            value = field.default_factory()
        else:
            raise LogdirError(f"the saved {path} lacks its field {field.name!r}")
        object.__setattr__(instance, field.name, value)
    return instance
