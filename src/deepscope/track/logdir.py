"""``Logdir``: the reader side of the run store, safe to use while runs are being written.

>>> import tempfile, deepscope as ds
>>> folder = tempfile.mkdtemp()
>>> with ds.Run(folder, name="a") as run:
...     run.log({"loss": 0.5}, step=3)
>>> ds.open_logdir(folder).scalars()[["run", "tag", "step", "value"]].to_dict("records")
[{'run': 'a', 'tag': 'loss', 'step': 3, 'value': 0.5}]
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import socket
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, LogdirError, NotFoundError
from deepscope.track import _db, _paths, _results, _sprite
from deepscope.track._summary import KINDS, RunSummary, SummaryCache, read_summary, signature

logger = logging.getLogger(__name__)

T = TypeVar("T")
_TEXT_DTYPE = pd.Series(["text"]).dtype  # pandas' default for text columns (str or object)
_MISSING_FILE_RETRIES = 3
# The columns of Logdir.hparams() that are not hyper-parameters.
_HPARAMS_RESERVED = ("run",)
_HISTOGRAM_COLUMNS = [
    "run",
    "tag",
    "step",
    "wall_time",
    "edges",
    "counts",
    "count",
    "min",
    "max",
    "sum",
    "sum_squares",
    "nan_count",
    "inf_count",
]


class ImageRecord(NamedTuple):
    step: int
    image: np.ndarray  # uint8, HxW or HxWxC


class EmbeddingRecord(NamedTuple):
    step: int
    vectors: np.ndarray  # [N, D]
    metadata: pd.DataFrame | None
    images: np.ndarray | None = None  # thumbnails, uint8 [N, h, w, C]


@dataclass(frozen=True)
class _Entry:
    name: str
    folder: Path
    start_time: float

    @property
    def db(self) -> Path:
        return self.folder / _paths.RUN_DB

    @functools.cached_property
    def db_file(self) -> str:  # the same, as text: cheaper to stat on every poll
        return os.path.join(self.folder, _paths.RUN_DB)


def _inode(file: str) -> int | None:
    try:
        return os.stat(file).st_ino
    except OSError:
        return None


def open_logdir(path: str | os.PathLike[str]) -> Logdir:
    """Open a folder of runs for reading.

    Raises :class:`~deepscope.errors.LogdirError` when the folder does not exist; an empty folder
    is a logdir with no runs.
    """
    return Logdir(path)


class Logdir:
    """Read the runs of a logdir: scalars, hparams, histograms, images, embeddings, tables, results.

    Every method reads what has been committed at the time of the call, so a dashboard can poll
    while training writes (``version()`` tells cheaply whether anything changed).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise ArgumentTypeError("path", "a folder path", path)
        self.path = Path(path)
        if not self.path.exists():
            raise LogdirError(
                f"logdir {self.path} does not exist; write runs into it with deepscope.Run(logdir) "
                "or import TensorBoard logs with `deepscope import-tensorboard DIR --logdir "
                f"{self.path}`"
            )
        if not self.path.is_dir():
            raise LogdirError(f"logdir {self.path} is a file, not a folder of runs")
        self._known: dict[tuple[str, int], _Entry] = {}
        # run name -> (entry, inode of its index) as the last listing found them: a reader of a
        # few named runs checks those alone (see _select), not the whole folder
        self._by_name: dict[str, tuple[_Entry, int]] = {}
        # run folder -> why it cannot be read; every reader skips it (with one warning) and
        # runs() lists it as "damaged", so one broken run never hides the others
        self._damaged: dict[Path, str] = {}
        # each run's info, tags and last scalars, kept until its index changes (see _summary.py)
        self._summaries = SummaryCache(self.path)

    def __repr__(self) -> str:
        return f"Logdir({str(self.path)!r})"

    # -- runs -----------------------------------------------------------------------------------

    def _entries(self) -> list[_Entry]:
        found: list[_Entry] = []
        keys: list[tuple[str, int]] = []
        with self._listing() as listing:
            for item in listing:
                if item.name.startswith(".") or not item.is_dir():
                    continue
                try:
                    inode = os.stat(os.path.join(item.path, _paths.RUN_DB)).st_ino
                except FileNotFoundError:
                    continue
                key = (item.name, inode)
                entry = self._known.get(key)
                if entry is None:
                    entry = self._identify(Path(item.path))
                    if entry is None:
                        continue
                    self._known[key] = entry
                found.append(entry)
                keys.append(key)
        listed = sorted(zip(found, keys, strict=True), key=lambda pair: (pair[0].start_time, pair[0].name))
        found = [entry for entry, _ in listed]
        self._by_name = {entry.name: (entry, inode) for entry, (_, inode) in listed}
        if len(self._known) > 2 * len(found) + 64:  # many runs deleted or replaced: let them go
            self._known = {key: self._known[key] for key in keys}
            self._summaries.forget(key[0] for key in keys)
        return found

    def _listing(self) -> Any:
        try:
            return os.scandir(self.path)
        except FileNotFoundError:
            raise LogdirError(f"logdir {self.path} no longer exists") from None

    def _identify(self, folder: Path) -> _Entry | None:
        # a fresh reader starts from the index file (inodes are reused: the whole signature must match)
        known = self._summaries.identity(folder.name, signature(os.path.join(folder, _paths.RUN_DB)))
        if known is not None:
            return _Entry(known[0], folder, known[1])
        try:
            name, start = _db.read(
                folder / _paths.RUN_DB,
                lambda c: c.execute("SELECT name, start_time FROM info").fetchone(),
            )
        except LogdirError as error:
            # the index exists but cannot be read: listed as damaged under its folder's name
            self._mark_damaged(folder, str(error))
            return _Entry(_display_name(folder.name), folder, 0.0)
        except TypeError:
            logger.warning("skipping %s: not a readable deepscope run", _display_name(str(folder)))
            return None
        return _Entry(name, folder, start)

    def _mark_damaged(self, folder: Path, reason: str) -> None:
        if folder not in self._damaged:
            logger.warning("skipping run folder %s: it is damaged (%s)", _display_name(str(folder)), reason)
        self._damaged[folder] = reason

    def _read(self, entry: _Entry, query: Callable[[sqlite3.Connection], T]) -> T | None:
        """``query`` on the run's index, or None (and the run marked damaged) when it cannot be read."""
        if entry.folder in self._damaged:
            return None
        try:
            return _db.read(entry.db, query)
        except LogdirError as error:
            self._mark_damaged(entry.folder, str(error))
            return None

    def _summary(self, entry: _Entry) -> RunSummary | None:
        """The run's summary, read again only when its index changed; None when it is damaged."""
        if entry.folder in self._damaged:
            return None
        current = signature(entry.db_file)  # before the read: a commit racing it is seen next time
        hit = self._summaries.get(entry.folder.name, current)
        if hit is not None:
            return hit
        try:
            summary = self._read(entry, read_summary)
        except TypeError:  # no info row: not a run this version can read
            self._mark_damaged(entry.folder, "its index has no run info")
            return None
        if summary is not None and current is not None:
            self._summaries.put(entry.folder.name, current, summary)
        return summary

    def _summarized(self, entries: list[_Entry]) -> list[tuple[_Entry, RunSummary | None]]:
        """Each entry with its summary (None for a damaged run); keeps the index file up to date."""
        pairs = [(entry, self._summary(entry)) for entry in entries]
        self._summaries.save()
        return pairs

    def _healthy(self, runs: str | Iterable[str] | None) -> list[_Entry]:
        return [e for e in self._select(runs) if e.folder not in self._damaged]

    def _select(self, runs: str | Iterable[str] | None) -> list[_Entry]:
        if runs is None:
            return self._entries()
        wanted = _name_list(runs, "runs")
        # Runs the last listing found, each index still the same file: no need to list them all
        # (with 1,000 runs, a listing stats a thousand files). A run deleted or replaced since
        # fails the check, and the whole folder is listed again.
        known = [self._by_name.get(name) for name in wanted]
        if all(item is not None and _inode(item[0].db_file) == item[1] for item in known):
            return [item[0] for item in known if item is not None]
        entries = self._entries()
        by_name = {e.name: e for e in entries}
        missing = [name for name in wanted if name not in by_name]
        if missing:
            raise NotFoundError("run", missing[0], list(by_name))
        return [by_name[name] for name in wanted]

    def _one(self, run: str) -> _Entry:
        if not isinstance(run, str):
            raise ArgumentTypeError("run", "a run name", run)
        return self._select([run])[0]

    def run_names(self) -> list[str]:
        """Names of the runs, oldest first."""
        return [e.name for e in self._entries()]

    def runs(self) -> pd.DataFrame:
        """One row per run: run, status, start_time, end_time, duration (s), hparams, meta, id,
        path, problem.

        Times are UTC timestamps (``end_time`` is NaT while a run is open); ``duration`` is in
        seconds, up to now for a running run.

        ``status`` is "running", "finished", "failed", "crashed" when the writing process on
        this machine is gone without finishing the run, or "damaged" when its index cannot be read
        (every other reader skips such a run). ``problem`` says what is wrong ("" when nothing is):
        why a run is damaged, or which of its hparams/meta are not valid JSON (shown as empty).
        """
        rows = []
        host_name = socket.gethostname()
        for entry, summary in self._summarized(self._entries()):
            if summary is None:
                rows.append(_damaged_row(entry, self._damaged[entry.folder]))
                continue
            run_id, status, start, end, hparams, pid, host = summary.info
            if status == "running" and host == host_name and not _process_alive(pid):
                status = "crashed"
            problems: list[str] = []
            rows.append(
                {
                    "run": entry.name,
                    "status": status,
                    "start_time": start,
                    "end_time": end,
                    "hparams": _json(hparams, {}, "hparams", problems),
                    "meta": {key: _json(value, None, f"meta {key!r}", problems) for key, value in summary.meta},
                    "id": run_id,
                    "path": _display_name(str(entry.folder)),
                    "problem": "; ".join(problems),
                }
            )
            if problems:
                logger.warning("run %r: %s", entry.name, "; ".join(problems))
        frame = pd.DataFrame(rows, columns=[c for c in _RUN_COLUMNS if c != "duration"])
        start = frame["start_time"].astype("float64")
        end = frame["end_time"].astype("float64")
        now = pd.Timestamp.now(tz="UTC").timestamp()
        # a running run has lasted until now; a crashed one for an unknown time
        frame["duration"] = end.where(end.notna(), now).where(frame["status"] != "crashed") - start
        frame["start_time"] = pd.to_datetime(start, unit="s", utc=True)
        frame["end_time"] = pd.to_datetime(end, unit="s", utc=True)
        return frame[list(_RUN_COLUMNS)]

    def hparams(self) -> pd.DataFrame:
        """One row per run, a ``run`` column and a column per hyper-parameter (nested keys joined by ".").

        A hyper-parameter called ``run`` is the column ``"run (hparam)"``: the ``run`` column
        always holds the run names.
        """
        runs, values = [], []
        for entry, summary in self._summarized(self._entries()):
            if summary is None:
                continue
            parsed = _json(summary.info[4], {}, "hparams", [])
            runs.append(entry.name)
            values.append(_flatten(parsed if isinstance(parsed, dict) else {}))
        if not runs:
            return pd.DataFrame(columns=["run"])
        names = _hparam_columns(key for flat in values for key in flat)
        rows = [
            {"run": run, **{names[key]: value for key, value in flat.items()}}
            for run, flat in zip(runs, values, strict=True)
        ]
        return pd.DataFrame(rows)

    # -- scalars --------------------------------------------------------------------------------

    def scalar_tags(self, runs: str | Iterable[str] | None = None) -> list[str]:
        """Every scalar tag of the given runs (default: all), sorted."""
        return self._kind_tags(runs, "scalars")

    def scalars(self, tags: str | Iterable[str] | None = None, runs: str | Iterable[str] | None = None) -> pd.DataFrame:
        """All committed points as a DataFrame(run, tag, step, wall_time, value).

        Rows are grouped by run (oldest first) and tag (sorted), in the order they were logged.
        """
        tag_filter = None if tags is None else _name_list(tags, "tags")
        sql = "SELECT tag, count, steps, wall_times, vals FROM scalar_chunks"
        if tag_filter is not None:
            sql += f" WHERE tag IN ({','.join('?' * len(tag_filter))})"
        sql += " ORDER BY tag, id"
        read = [(e, self._read(e, lambda c: c.execute(sql, tag_filter or ()).fetchall())) for e in self._healthy(runs)]
        entries = [entry for entry, rows in read if rows is not None]
        tag_codes: dict[str, int] = {}
        chunk_runs, chunk_tags, counts = [], [], []
        steps, walls, values = [], [], []
        for run_code, rows in enumerate(rows for _, rows in read if rows is not None):
            for tag, count, step_blob, wall_blob, value_blob in rows:
                chunk_runs.append(run_code)
                chunk_tags.append(tag_codes.setdefault(tag, len(tag_codes)))
                counts.append(count)
                steps.append(_db.unblob(step_blob, _db.STEP_DTYPE))
                walls.append(_db.unblob(wall_blob, _db.FLOAT_DTYPE))
                values.append(_db.unblob(value_blob, _db.FLOAT_DTYPE))
        rows = []  # the blobs now live only in the views of steps, walls and values
        counts_array = np.asarray(counts, dtype=np.int64)
        # Each column is built, then its blobs are let go, to keep the peak near the result's size.
        columns = {
            "run": _text_column(
                np.repeat(np.asarray(chunk_runs, dtype=np.int32), counts_array),
                [e.name for e in entries],
            ),
            "tag": _text_column(np.repeat(np.asarray(chunk_tags, dtype=np.int32), counts_array), list(tag_codes)),
        }
        for name, parts, dtype in (
            ("step", steps, np.int64),
            ("wall_time", walls, np.float64),
            ("value", values, np.float64),
        ):
            columns[name] = _concat(parts, dtype)
            parts.clear()
        return pd.DataFrame(columns, copy=False)

    def last_scalars(
        self, tags: str | Iterable[str] | None = None, runs: str | Iterable[str] | None = None
    ) -> pd.DataFrame:
        """The most recently logged point of each tag of each run: DataFrame(run, tag, step, value, wall_time)."""
        tag_filter = None if tags is None else set(_name_list(tags, "tags"))
        rows = [
            (entry.name, tag, step, value, wall)
            for entry, summary in self._summarized(self._healthy(runs))
            if summary is not None
            for tag, step, value, wall in summary.last
            if tag_filter is None or tag in tag_filter
        ]
        frame = pd.DataFrame(rows, columns=["run", "tag", "step", "value", "wall_time"])
        return frame.astype({"step": np.int64, "value": np.float64, "wall_time": np.float64})

    # -- histograms, images, embeddings ---------------------------------------------------------

    def histogram_tags(self, runs: str | Iterable[str] | None = None) -> list[str]:
        return self._kind_tags(runs, "histograms")

    def histograms(self, tag: str, runs: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Histograms of ``tag``: DataFrame(run, tag, step, wall_time, edges, counts, count, min,
        max, sum, sum_squares, nan_count, inf_count), ``edges`` and ``counts`` as arrays
        (``len(edges) == len(counts) + 1``), ordered by run and step."""
        sql = (
            "SELECT tag, step, wall_time, edges, counts, count, min, max, sum, sum_squares, nan_count,"
            " inf_count FROM histograms WHERE tag=? ORDER BY step, id"
        )
        rows = []
        for entry in self._healthy(runs):
            for row in self._read(entry, lambda c: c.execute(sql, (tag,)).fetchall()) or ():
                rows.append(
                    (
                        entry.name,
                        row[0],
                        row[1],
                        row[2],
                        _db.unblob(row[3], _db.FLOAT_DTYPE).copy(),
                        _db.unblob(row[4], _db.FLOAT_DTYPE).copy(),
                        row[5],
                        *(np.nan if v is None else v for v in row[6:10]),
                        row[10],
                        row[11],
                    )
                )
        return pd.DataFrame(rows, columns=_HISTOGRAM_COLUMNS)

    def image_tags(self, runs: str | Iterable[str] | None = None) -> list[str]:
        return self._kind_tags(runs, "images")

    def images(self, tag: str, run: str, *, step: int | None = None) -> list[ImageRecord]:
        """The images of ``tag`` in ``run`` (only those of ``step`` if given), by step: [(step, uint8 array)]."""
        entry = self._one(run)
        return [
            ImageRecord(row_step, np.load(_paths.inside(entry.folder, path), allow_pickle=False))
            for row_step, path, _ in self._artifact_rows(entry, "image", tag, step)
        ]

    def embedding_tags(self, runs: str | Iterable[str] | None = None) -> list[str]:
        return self._kind_tags(runs, "embeddings")

    def embeddings(self, tag: str, run: str, *, step: int | None = None) -> list[EmbeddingRecord]:
        """The embeddings of ``tag`` in ``run``, by step: [(step, vectors [N, D], metadata DataFrame or None)]."""
        entry = self._one(run)
        records = []
        for row_step, path, info in self._artifact_rows(entry, "embedding", tag, step):
            vectors = np.load(_paths.inside(entry.folder, path), allow_pickle=False)
            meta_path = info.get("metadata")
            metadata = pd.read_parquet(_paths.inside(entry.folder, meta_path)) if meta_path else None
            images = None
            if info.get("sprite"):
                height, width = info["thumbnail"]
                sheet = _sprite.read_sprite(_paths.inside(entry.folder, info["sprite"]))
                images = _sprite.split(sheet, len(vectors), height, width)
            records.append(EmbeddingRecord(row_step, vectors, metadata, images))
        return records

    def embedding(self, run: str, tag: str, *, step: int | None = None) -> EmbeddingRecord:
        """One embedding of ``run``: the one logged at ``step``, by default the latest.

        >>> record = logdir.embedding("baseline", "penultimate")  # doctest: +SKIP
        >>> record.vectors.shape, record.metadata.columns, record.images.shape  # doctest: +SKIP
        """
        records = self.embeddings(tag, run, step=step)
        if not records:
            entry = self._one(run)
            known = self._artifact_tags(entry, "embedding")
            if step is None or tag not in known:
                raise NotFoundError("embedding", tag, known)
            steps = [r[0] for r in self._artifact_rows(entry, "embedding", tag, None)]
            raise NotFoundError("step", str(step), [str(s) for s in steps])
        return records[-1]

    def embedding_steps(self, run: str, tag: str) -> list[int]:
        """The steps at which ``tag`` was logged in ``run``, without loading any vectors."""
        entry = self._one(run)
        return sorted({r[0] for r in self._artifact_rows(entry, "embedding", tag, None)})

    # -- tables and results ---------------------------------------------------------------------

    def tables(self, run: str) -> list[str]:
        """Tags of the tables saved in ``run``."""
        return self._artifact_tags(self._one(run), "table")

    def table(self, run: str, tag: str) -> pd.DataFrame:
        """The DataFrame saved with ``run.log_table(tag, ...)``."""
        entry = self._one(run)
        return self._read_replaceable(entry, "table", tag, lambda path, info: pd.read_parquet(path))

    def results(self, run: str) -> list[str]:
        """Tags of the results saved in ``run``."""
        return self._artifact_tags(self._one(run), "result")

    def result_index(self, runs: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Every saved result without loading it: DataFrame(run, tag, type, step, wall_time)."""
        rows = []
        sql = "SELECT tag, info, step, wall_time FROM artifacts WHERE kind='result' ORDER BY tag"
        for entry in self._healthy(runs):
            for tag, info, step, wall in self._read(entry, lambda c: c.execute(sql).fetchall()) or ():
                rows.append((entry.name, tag, json.loads(info)["type"], step, wall))
        return pd.DataFrame(rows, columns=["run", "tag", "type", "step", "wall_time"])

    def result(self, run: str, tag: str, *, raw: bool = False) -> Any:
        """Rebuild the result saved with ``run.log_result(tag, ...)``.

        Only classes of the ``deepscope`` package are rebuilt (never by pickle or eval); any other
        class raises :class:`~deepscope.errors.LogdirError`. ``raw=True`` returns the saved fields
        as a dict instead, for any class.
        """
        entry = self._one(run)
        return self._read_replaceable(entry, "result", tag, lambda path, info: _results.load(path, raw=raw))

    def load(self, run: str, tag: str) -> Any:
        """The result saved with ``result.save(run, tag)``: the same type, with equal contents."""
        return self.result(run, tag)

    # -- change detection -----------------------------------------------------------------------

    def version(self) -> int:
        """A number that changes whenever anything is committed to any run (or a run appears).

        Cheap enough to poll: a few ``stat`` calls and one 32-byte read per run, no database open.
        """
        digest = hashlib.blake2b(digest_size=8)
        with self._listing() as listing:
            names = sorted(item.name for item in listing if not item.name.startswith(".") and item.is_dir())
        for name in names:
            db = os.path.join(self.path, name, _paths.RUN_DB)
            for file in (db, db + "-wal"):
                try:
                    stat = os.stat(file)
                except FileNotFoundError:
                    continue
                if stat.st_size == 0:  # an empty WAL (readers may create one) holds no data
                    continue
                digest.update(os.fsencode(file))  # a non-UTF-8 name is bytes, not an error
                digest.update(f"\0{stat.st_ino}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
                if file.endswith("-wal"):
                    # A WAL restarting after a checkpoint may keep its size; its header (salts) changes.
                    try:
                        with open(file, "rb") as wal:
                            digest.update(wal.read(32))
                    except FileNotFoundError:
                        pass
        # 53 bits: the dashboard sends it to the browser, where a larger integer loses its low
        # bits and a stale version would look new on every poll
        return int.from_bytes(digest.digest(), "big") >> 11

    # -- internals ------------------------------------------------------------------------------

    def _kind_tags(self, runs: str | Iterable[str] | None, kind: str) -> list[str]:
        return sorted({tag for _, tags in self._tags_by_entry(runs, kind) for tag in tags})

    def _tags_by_entry(self, runs: str | Iterable[str] | None, kind: str) -> list[tuple[_Entry, tuple[str, ...]]]:
        return [(e, s.tags[kind]) for e, s in self._summarized(self._healthy(runs)) if s is not None]

    def tags_by_kind(self) -> dict[str, dict[str, list[str]]]:
        """:meth:`tags_by_run` of every kind at once (one pass over the logdir): kind -> run -> tags."""
        pairs = [(e, s) for e, s in self._summarized(self._entries()) if s is not None]
        return {kind: {entry.name: list(summary.tags[kind]) for entry, summary in pairs} for kind in KINDS}

    def tags_by_run(self, kind: str = "scalars") -> dict[str, list[str]]:
        """Every readable run (oldest first) -> its sorted tags of ``kind``: "scalars",
        "histograms", "images", "embeddings", "tables" or "results". A damaged run is left out.

        One pass over the logdir; each run's index is read only when it changed since the last
        call (or since the summaries were last kept in ``.deepscope/summaries.json``).
        """
        if kind not in KINDS:
            raise InvalidArgumentError("kind", f"one of {', '.join(KINDS)}", kind)
        return {entry.name: list(tags) for entry, tags in self._tags_by_entry(None, kind)}

    def _artifact_rows(self, entry: _Entry, kind: str, tag: str, step: int | None) -> list[tuple[int, str, dict]]:
        sql = "SELECT step, path, info FROM artifacts WHERE kind=? AND tag=?"
        params: tuple[Any, ...] = (kind, tag)
        if step is not None:
            sql += " AND step=?"
            params += (int(step),)
        rows = _db.read(entry.db, lambda c: c.execute(sql + " ORDER BY step, id", params).fetchall())
        return [(row_step, path, json.loads(info)) for row_step, path, info in rows]

    def _artifact_tags(self, entry: _Entry, kind: str) -> list[str]:
        sql = "SELECT DISTINCT tag FROM artifacts WHERE kind=? ORDER BY tag"
        return [row[0] for row in _db.read(entry.db, lambda c: c.execute(sql, (kind,)).fetchall())]

    def _read_replaceable(self, entry: _Entry, kind: str, tag: str, load: Callable[[Path, dict], T]) -> T:
        """Load a table or result; if a writer replaced it meanwhile, look it up again."""
        for attempt in range(_MISSING_FILE_RETRIES):
            rows = self._artifact_rows(entry, kind, tag, None)
            if not rows:
                raise NotFoundError(kind, tag, self._artifact_tags(entry, kind))
            _, path, info = rows[-1]
            try:
                return load(_paths.inside(entry.folder, path), info)
            except FileNotFoundError:
                if attempt + 1 == _MISSING_FILE_RETRIES:
                    raise LogdirError(f"the {kind} {tag!r} of run {entry.name!r} is missing its file {path}") from None
        raise AssertionError("unreachable")  # pragma: no cover


_RUN_COLUMNS = ("run", "status", "start_time", "end_time", "duration", "hparams", "meta", "id", "path", "problem")


def _damaged_row(entry: _Entry, reason: str) -> dict[str, Any]:
    return {
        "run": entry.name,
        "status": "damaged",
        "start_time": None,
        "end_time": None,
        "hparams": {},
        "meta": {},
        "id": None,
        "path": _display_name(str(entry.folder)),
        "problem": reason,
    }


def _json(text: str, default: Any, what: str, problems: list[str]) -> Any:
    """``text`` parsed as JSON, or ``default`` (and a note in ``problems``) when it is not JSON."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError, RecursionError) as error:
        problems.append(f"{what} is not valid JSON ({error})")
        return default


def _display_name(name: str) -> str:
    """A file name as text that can be printed and encoded: undecodable bytes become U+FFFD."""
    return os.fsencode(name).decode("utf-8", "replace") if _has_surrogates(name) else name


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _name_list(names: str | Iterable[str], argument: str) -> list[str]:
    if isinstance(names, str):
        return [names]
    if not isinstance(names, Iterable):
        raise ArgumentTypeError(argument, "a name or a list of names", names)
    names = list(names)
    for name in names:
        if not isinstance(name, str):
            raise ArgumentTypeError(argument, "a name or a list of names", name)
    return names


def _text_column(codes: np.ndarray, names: Sequence[str]) -> Any:
    """``names[codes]`` as a text column, built by Arrow (no Python object per row) where pandas uses it."""
    if isinstance(_TEXT_DTYPE, pd.StringDtype) and _TEXT_DTYPE.storage == "pyarrow":
        dictionary = pa.DictionaryArray.from_arrays(
            pa.array(codes, type=pa.int32()), pa.array(list(names), type=pa.string())
        )
        return pd.array(dictionary.dictionary_decode(), dtype=_TEXT_DTYPE)
    return np.asarray(list(names) or [""], dtype=object)[codes]


def _concat(arrays: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype=dtype)


def _hparam_columns(keys: Iterable[str]) -> dict[str, str]:
    """Hyper-parameter -> its column in ``Logdir.hparams()``: its own name, or ``"<name> (hparam)"``
    for a name the table keeps for itself (``run``), so neither column overwrites the other.

    >>> _hparam_columns(["run", "lr", "run (hparam)"])
    {'run': 'run (hparam 2)', 'lr': 'lr', 'run (hparam)': 'run (hparam)'}
    """
    keys = [str(key) for key in dict.fromkeys(keys)]
    reserved = [key for key in keys if key in _HPARAMS_RESERVED]
    renamed = distinct_columns(reserved, {*_HPARAMS_RESERVED, *keys}, "hparam")
    return {key: renamed.get(key, key) for key in keys}


def distinct_columns(names: Iterable[str], taken: Iterable[str], label: str) -> dict[str, str]:
    """Name -> a column name no other column has: the name itself while it is free, else
    ``"<name> (<label>)"``, ``"<name> (<label> 2)"``... (a column may itself be called that).

    The one rule for tables that put several kinds of names side by side (hyper-parameters,
    metrics, the run), so no column overwrites another.

    >>> distinct_columns(["lr", "loss"], ["run", "lr", "lr (metric)"], "metric")
    {'lr': 'lr (metric 2)', 'loss': 'loss'}
    """
    taken = set(taken)
    columns: dict[str, str] = {}
    for name in names:
        column, n = name, 1
        while column in taken:
            column = f"{name} ({label})" if n == 1 else f"{name} ({label} {n})"
            n += 1
        taken.add(column)
        columns[name] = column
    return columns


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _process_alive(pid: int | None) -> bool:
    if pid is None or os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
