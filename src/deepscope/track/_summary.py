"""What the dashboard lists about each run, read in one transaction and cached by the run's signature.

A run's summary is its info row, its meta, the tags it has of each kind and the last point of each
scalar tag: everything the Runs table, the tag pickers and the pages' ``is_active`` ask. Reading it
means opening the run's SQLite index, which with 10,000 runs takes most of a minute, so a
:class:`SummaryCache` keeps each summary with the run's :func:`signature` (inode, size and mtime of
the index and its write-ahead log, and the log's header) and reads a run again only when that
changed: a commit by any writer, in any process, changes it. The signature is taken *before* the
read, so a commit racing the read leaves an older signature beside newer data and is read again
next time; stale data is never kept under a current signature.

The cache is also kept in ``<logdir>/.deepscope/summaries.json`` (plain JSON, checked entry by
entry against the runs' current signatures when loaded), so a fresh server starts from it instead
of opening every run. A logdir that cannot be written to simply has no such file.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepscope.track import _db

logger = logging.getLogger(__name__)

INDEX_DIR = ".deepscope"  # hidden: never taken for a run folder, never served
INDEX_FILE = "summaries.json"
_FORMAT = 1
_MAX_INDEX_BYTES = 512 * 2**20
_SAVE_INTERVAL_S = 30.0  # a live run changes its signature every flush: save at most this often
_SAVE_AFTER_READS = 64  # ... unless this many runs were read since
KINDS = ("scalars", "histograms", "images", "embeddings", "tables", "results")
_ARTIFACT_KINDS = {"image": "images", "embedding": "embeddings", "table": "tables", "result": "results"}

Signature = tuple


def signature(db: str | os.PathLike[str]) -> Signature | None:
    """What changes whenever a run commits anything: inode, size and mtime of its index and
    write-ahead log, and the log's header (a log restarted after a checkpoint may keep its size).
    A few ``stat`` calls and at most one 32-byte read; None when the index is missing.

    >>> signature("/no/such/run.sqlite") is None
    True
    """
    db = os.fspath(db)
    try:
        stat = os.stat(db)
    except FileNotFoundError:
        return None
    parts: list[Any] = [stat.st_ino, stat.st_size, stat.st_mtime_ns]
    wal = db + "-wal"
    try:
        stat = os.stat(wal)
    except FileNotFoundError:
        return tuple(parts)
    if stat.st_size == 0:  # an empty log (readers may create one) holds nothing
        return tuple(parts)
    parts += [stat.st_ino, stat.st_size, stat.st_mtime_ns]
    try:
        with open(wal, "rb") as file:
            parts.append(file.read(32).hex())
    except FileNotFoundError:
        pass
    return tuple(parts)


@dataclass(frozen=True)
class RunSummary:
    """One run as the listings see it. ``info`` is (run_id, status, start_time, end_time, hparams
    JSON text, pid, host); ``meta`` is [(key, JSON text)]; ``last`` is [(tag, step, value,
    wall_time)] for each scalar tag, by tag; ``tags`` maps each kind to its sorted tags."""

    name: str
    start_time: float
    info: tuple
    meta: tuple
    tags: Mapping[str, tuple[str, ...]]
    last: tuple

    def to_json(self) -> list:
        return [self.name, self.start_time, list(self.info), [list(m) for m in self.meta], dict(self.tags),
                [list(row) for row in self.last]]  # fmt: skip

    @classmethod
    def from_json(cls, data: Any) -> RunSummary:
        name, start, info, meta, tags, last = data
        if not isinstance(name, str) or not isinstance(tags, dict) or len(info) != 7:
            raise ValueError("not a run summary")
        return cls(
            name,
            float(start),
            tuple(info),
            tuple((str(k), str(v)) for k, v in meta),
            {kind: tuple(str(t) for t in tags.get(kind, ())) for kind in KINDS},
            tuple((str(tag), int(step), float(value), float(wall)) for tag, step, value, wall in last),
        )


_LAST_SQL = (
    "SELECT tag, substr(steps, -8, 8), substr(vals, -8, 8), substr(wall_times, -8, 8)"
    " FROM scalar_chunks WHERE id IN (SELECT max(id) FROM scalar_chunks GROUP BY tag) ORDER BY tag"
)


def read_summary(conn: Any) -> RunSummary:
    """The summary of the run ``conn`` reads (inside one read transaction)."""
    row = conn.execute("SELECT run_id, name, status, start_time, end_time, hparams, pid, host FROM info").fetchone()
    if row is None:
        raise TypeError("the run's info row is missing")
    run_id, name, status, start, end, hparams, pid, host = row
    meta = tuple(conn.execute("SELECT key, value FROM meta ORDER BY key").fetchall())
    last = []
    # substr() on a blob slices bytes: only the last 8 bytes of each column leave SQLite.
    for tag, step, value, wall in conn.execute(_LAST_SQL).fetchall():
        last.append(
            (
                tag,
                int(_db.unblob(step, _db.STEP_DTYPE)[0]),
                float(_db.unblob(value, _db.FLOAT_DTYPE)[0]),
                float(_db.unblob(wall, _db.FLOAT_DTYPE)[0]),
            )
        )
    tags: dict[str, list[str]] = {kind: [] for kind in KINDS}
    tags["scalars"] = [row[0] for row in last]
    tags["histograms"] = [r[0] for r in conn.execute("SELECT DISTINCT tag FROM histograms ORDER BY tag")]
    for kind, tag in conn.execute("SELECT DISTINCT kind, tag FROM artifacts ORDER BY kind, tag"):
        if kind in _ARTIFACT_KINDS:
            tags[_ARTIFACT_KINDS[kind]].append(tag)
    return RunSummary(
        name=name,
        start_time=float(start),
        info=(run_id, status, start, end, hparams, pid, host),
        meta=meta,
        tags={kind: tuple(values) for kind, values in tags.items()},
        last=tuple(last),
    )


class SummaryCache:
    """Run folder name -> (signature, summary), in memory and in the logdir's index file."""

    def __init__(self, logdir: Path) -> None:
        self._file = logdir / INDEX_DIR / INDEX_FILE
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Signature, RunSummary]] = {}
        self._loaded = False
        self._changed = 0  # summaries read since the file was last written
        self._saved_at = float("-inf")
        self._writable = True
        self._saving = threading.Lock()

    def get(self, folder: str, current: Signature | None) -> RunSummary | None:
        """The summary kept for ``folder`` if it was read at signature ``current``."""
        self._load()
        hit = self._entries.get(folder)
        if hit is None or current is None or hit[0] != current:
            return None
        return hit[1]

    def identity(self, folder: str, current: Signature | None) -> tuple[str, float] | None:
        """(name, start time) of the run kept for ``folder`` if its index is unchanged since."""
        hit = self.get(folder, current)
        return None if hit is None else (hit.name, hit.start_time)

    def put(self, folder: str, sig: Signature, summary: RunSummary) -> None:
        with self._lock:
            self._entries[folder] = (sig, summary)
            self._changed += 1

    def forget(self, keep: Iterable[str]) -> None:
        """Drop the runs whose folders are gone."""
        keep = set(keep)
        with self._lock:
            for folder in [f for f in self._entries if f not in keep]:
                del self._entries[folder]
                self._changed += 1

    def save(self, *, wait: bool = False) -> None:
        """Write the index file in the background when summaries were read since the last write:
        at once after many, else at most every 30 s (a live run changes at every flush).
        ``wait``: write now, in this thread, whatever changed."""
        if wait:  # a write in flight in the background finishes first
            with self._saving:
                pass
        if not self._changed or not self._writable:
            return
        if not wait and self._changed < _SAVE_AFTER_READS and time.monotonic() - self._saved_at < _SAVE_INTERVAL_S:
            return
        if not self._saving.acquire(blocking=wait):
            return  # another thread is writing it
        with self._lock:
            entries = dict(self._entries)
            self._changed = 0
            self._saved_at = time.monotonic()
        if wait:
            self._write(entries)
        else:
            threading.Thread(target=self._write, args=(entries,), name="deepscope-summaries", daemon=True).start()

    def _write(self, entries: dict[str, tuple[Signature, RunSummary]]) -> None:
        try:
            document = {
                "format": _FORMAT,
                "runs": {folder: [list(sig), summary.to_json()] for folder, (sig, summary) in entries.items()},
            }
            self._file.parent.mkdir(exist_ok=True)
            staging = self._file.with_name(f".{INDEX_FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
            try:
                with open(staging, "w", encoding="utf-8") as out:
                    json.dump(document, out, separators=(",", ":"))
                os.replace(staging, self._file)  # readers see the old file or the new one, whole
            finally:
                staging.unlink(missing_ok=True)
        except (OSError, ValueError, TypeError) as error:
            # a read-only logdir, a full disk: the summaries stay in memory only
            self._writable = False
            logger.info("not keeping the run summaries in %s: %s", self._file, error)
        finally:
            self._saving.release()

    def _load(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            self._entries.update(_read_index(self._file))


def _read_index(file: Path) -> dict[str, tuple[Signature, RunSummary]]:
    """The summaries kept in ``file``; whatever is missing or malformed is left out (read again)."""
    try:
        if file.stat().st_size > _MAX_INDEX_BYTES:
            return {}
        with open(file, encoding="utf-8") as source:
            document = json.load(source)
    except (OSError, ValueError, RecursionError):
        return {}
    if (
        not isinstance(document, dict)
        or document.get("format") != _FORMAT
        or not isinstance(document.get("runs"), dict)
    ):
        return {}
    entries = {}
    for folder, entry in document["runs"].items():
        try:
            sig, data = entry
            entries[folder] = (tuple(sig), RunSummary.from_json(data))
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
    return entries


def last_frame_rows(summaries: Iterable[tuple[str, RunSummary]], tags: set[str] | None) -> list[tuple]:
    """(run, tag, step, value, wall_time) of the last point of each scalar tag of each run."""
    return [
        (name, tag, step, value, wall)
        for name, summary in summaries
        for tag, step, value, wall in summary.last
        if tags is None or tag in tags
    ]
