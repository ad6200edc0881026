"""The SQLite index of one run: its schema, the writer's connection and read-only reader connections.

Each run folder holds ``run.sqlite`` in WAL mode, so one writer and any number of readers (other
threads or processes) work at the same time: readers see every committed transaction and never
block the writer. Scalars are stored as columnar chunks, one row per tag per flush, with the steps,
wall times and values as little-endian int64/float64 blobs.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from deepscope.errors import LogdirError

FORMAT_VERSION = 1
STEP_DTYPE = np.dtype("<i8")
FLOAT_DTYPE = np.dtype("<f8")

SCHEMA = """
CREATE TABLE IF NOT EXISTS info (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    run_id TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    start_time REAL NOT NULL,
    end_time REAL,
    hparams TEXT NOT NULL,
    pid INTEGER,
    host TEXT,
    format INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scalar_chunks (
    id INTEGER PRIMARY KEY,
    tag TEXT NOT NULL,
    first_step INTEGER NOT NULL,
    last_step INTEGER NOT NULL,
    count INTEGER NOT NULL,
    steps BLOB NOT NULL,
    wall_times BLOB NOT NULL,
    vals BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS scalar_chunks_by_tag ON scalar_chunks (tag, id);
CREATE TABLE IF NOT EXISTS histograms (
    id INTEGER PRIMARY KEY,
    tag TEXT NOT NULL,
    step INTEGER NOT NULL,
    wall_time REAL NOT NULL,
    edges BLOB NOT NULL,
    counts BLOB NOT NULL,
    count INTEGER NOT NULL,
    min REAL,
    max REAL,
    sum REAL,
    sum_squares REAL,
    nan_count INTEGER NOT NULL,
    inf_count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS histograms_by_tag ON histograms (tag, step);
CREATE TABLE IF NOT EXISTS artifacts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    tag TEXT NOT NULL,
    step INTEGER,
    wall_time REAL NOT NULL,
    path TEXT NOT NULL,
    info TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS artifacts_by_kind ON artifacts (kind, tag, step);
"""

_BUSY_WORDS = ("locked", "busy")
_READ_ATTEMPTS = 200
_READ_PAUSE_S = 0.01

T = TypeVar("T")


def connect_writer(path: Path) -> sqlite3.Connection:
    """The writing connection: autocommit mode, transactions are opened explicitly."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL survives a killed process (the OS holds the written pages); only a
    # power cut may lose the last transactions.
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def create(path: Path) -> sqlite3.Connection:
    """Create a new run database with the schema; returns its writer connection."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA page_size=16384")  # scalar chunks are blobs of many kilobytes
    conn.close()
    conn = connect_writer(path)
    conn.executescript(SCHEMA)
    return conn


def connect_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection (``mode=ro``) that never takes a write lock."""
    uri = path.resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=5.0)


def read(path: Path, query: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``query`` in one read transaction on a fresh read-only connection.

    A busy or locked database (a writer checkpointing, WAL recovery after a crash) is retried for
    a few seconds; an unreadable file becomes a :class:`LogdirError`.
    """
    for attempt in range(_READ_ATTEMPTS):
        try:
            conn = connect_reader(path)
            try:
                conn.execute("BEGIN")
                return query(conn)
            finally:
                conn.close()
        except sqlite3.OperationalError as exc:
            if attempt + 1 < _READ_ATTEMPTS and any(w in str(exc).lower() for w in _BUSY_WORDS):
                time.sleep(_READ_PAUSE_S)
                continue
            raise LogdirError(f"cannot read run index {path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise LogdirError(f"cannot read run index {path}: {exc}") from exc
    raise AssertionError("unreachable")  # pragma: no cover


def blob(array: np.ndarray, dtype: np.dtype) -> bytes:
    return np.ascontiguousarray(array, dtype=dtype).tobytes()


def unblob(data: bytes, dtype: np.dtype) -> np.ndarray:
    return np.frombuffer(data, dtype=dtype)
