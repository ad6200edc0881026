"""``Run``: the writer side of the run store.

>>> import tempfile, deepscope as ds
>>> with ds.Run(tempfile.mkdtemp(), name="demo", hparams={"lr": 0.1}) as run:
...     run.log({"train/loss": 0.9})
...     run.log({"train/loss": 0.7})
>>> run.step
1
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import json
import logging
import os
import secrets
import shutil
import socket
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, LogdirError
from deepscope.track import _db, _paths, _results, _sprite, _values
from deepscope.track._scalars import Chunk, ScalarBuffer

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no advisory file locks
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.5
FLUSH_POINTS = 50_000  # wake the flusher early once this many points wait
MAX_PENDING_POINTS = 250_000  # log() flushes itself beyond this, bounding memory
_COMPACT_CHUNKS = 64  # on finish, merge a tag's chunks when it has more than this many
STATUSES = ("running", "finished", "failed")
_MIN_STEP, _MAX_STEP = -(2**63), 2**63 - 1
_now = time.time


class Run:
    """One training run (or analysis session) written into ``logdir/<name>/``.

    Args:
        logdir: folder holding runs; created if missing.
        name: the run's name (default: a unique timestamp). Any text that stays inside the
            logdir; it is shown as given, the folder name is a filesystem-safe form of it.
        hparams: hyper-parameters, a JSON-able dict.
        meta: extra JSON-able facts about the run (see :meth:`set_meta`).
        resume: append to an existing run of that name instead of refusing it.

    Scalars are buffered in memory and committed every half second by a background thread, on
    :meth:`flush`, on :meth:`finish` and at interpreter exit. Everything else is committed when
    its ``log_*`` call returns. Used as a context manager, the run ends as ``"finished"``, or as
    ``"failed"`` when the block raises.

    >>> import tempfile
    >>> with Run(tempfile.mkdtemp(), name="baseline") as run:
    ...     run.log({"loss": 1.0, "accuracy": 0.5}, step=0)
    >>> run.name
    'baseline'
    """

    def __init__(
        self,
        logdir: str | os.PathLike[str],
        name: str | None = None,
        hparams: Mapping[str, Any] | None = None,
        *,
        meta: Mapping[str, Any] | None = None,
        resume: bool = False,
    ) -> None:
        if not isinstance(logdir, (str, os.PathLike)):
            raise ArgumentTypeError("logdir", "a folder path", logdir)
        self._hparams = _values.json_mapping(hparams, "hparams")
        meta = _values.json_mapping(meta, "meta")
        self.name = _paths.default_run_name() if name is None else _paths.check_run_name(name)
        self.logdir = Path(logdir)
        if self.logdir.exists() and not self.logdir.is_dir():
            raise LogdirError(f"logdir {self.logdir} exists and is not a folder")
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.path = self.logdir / _paths.run_folder(self.name)
        while name is None and self.path.exists():
            self.name = _paths.default_run_name()
            self.path = self.logdir / _paths.run_folder(self.name)

        self._db_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._scalars = ScalarBuffer()
        self._buffer_add = self._scalars.add  # bound once: log() is the hot path
        self._unwritten: list[Chunk] = []
        self._step = -1
        self._closed = False
        self._status = "running"
        self._pid = os.getpid()
        self._lock: _WriterLock | None = None
        if self.path.exists():
            if not resume:
                raise LogdirError(
                    f"a run named {self.name!r} already exists in {self.logdir}; "
                    "choose another name or pass resume=True to append to it"
                )
            self._lock = _WriterLock.take(self.path, self.name)
            try:
                self._conn = self._reopen()
            except BaseException:
                self._lock.release()
                raise
        else:
            self._conn = self._create()
            self._lock = _WriterLock.take(self.path, self.name)
        if meta:
            self._put_meta(meta)

        self._stop = threading.Event()
        self._wake = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, name=f"deepscope-run-{self.name}", daemon=True)
        self._flusher.start()
        atexit.register(self._at_exit)

    # -- creation -------------------------------------------------------------------------------

    def _create(self) -> Any:
        """Build the run in a hidden folder and rename it into place, so readers never see half a run."""
        self.id = uuid.uuid4().hex
        staging = self.logdir / f".{self.path.name}.{secrets.token_hex(4)}.tmp"
        staging.mkdir()
        try:
            conn = _db.create(staging / _paths.RUN_DB)
            try:
                conn.execute(
                    "INSERT INTO info (id, run_id, name, status, start_time, end_time, hparams, pid, host, format)"
                    " VALUES (0, ?, ?, 'running', ?, NULL, ?, ?, ?, ?)",
                    (
                        self.id,
                        self.name,
                        time.time(),
                        json.dumps(self._hparams),
                        *_writer_process(),
                        _db.FORMAT_VERSION,
                    ),
                )
            finally:
                conn.close()
            os.rename(staging, self.path)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if self.path.exists():
                raise LogdirError(
                    f"a run named {self.name!r} was just created in {self.logdir} by someone else"
                ) from exc
            raise
        return _db.connect_writer(self.path / _paths.RUN_DB)

    def _reopen(self) -> Any:
        try:
            return self._reopen_index()
        except (sqlite3.DatabaseError, json.JSONDecodeError) as exc:
            raise LogdirError(
                f"cannot resume run {self.name!r}: its index {self.path / _paths.RUN_DB} is "
                f"damaged ({exc}); start a new run"
            ) from exc

    def _reopen_index(self) -> Any:
        conn = _db.connect_writer(self.path / _paths.RUN_DB)
        row = conn.execute("SELECT run_id, name, hparams FROM info").fetchone()
        if row is None or row[1] != self.name:
            conn.close()
            raise LogdirError(f"{self.path} does not hold the run {self.name!r}")
        self.id = row[0]
        self._hparams = {**json.loads(row[2]), **self._hparams}
        last = conn.execute(
            "SELECT max(coalesce((SELECT max(last_step) FROM scalar_chunks), -1),"
            " coalesce((SELECT max(step) FROM histograms), -1),"
            " coalesce((SELECT max(step) FROM artifacts), -1))"
        ).fetchone()[0]
        self._step = int(last)
        conn.execute(
            "UPDATE info SET status='running', end_time=NULL, hparams=?, pid=?, host=?",
            (json.dumps(self._hparams), *_writer_process()),
        )
        return conn

    # -- public properties ----------------------------------------------------------------------

    @property
    def step(self) -> int:
        """The step of the latest ``log()`` call (-1 before the first)."""
        return self._step

    @property
    def hparams(self) -> dict[str, Any]:
        return dict(self._hparams)

    @property
    def status(self) -> str:
        return self._status

    def __repr__(self) -> str:
        return f"Run(name={self.name!r}, path={str(self.path)!r}, status={self._status!r})"

    # -- logging --------------------------------------------------------------------------------

    def log(self, values: Mapping[str, Any], step: int | None = None) -> None:
        """Record scalars, one value per tag, at ``step`` (default: the previous step + 1).

        Values are ints, floats, bools, numpy scalars or one-element tensors; NaN and Inf are
        kept as they are.

        >>> import tempfile
        >>> run = Run(tempfile.mkdtemp())
        >>> run.log({"loss": 0.5}); run.log({"loss": 0.4}); run.step
        1
        >>> run.finish()
        """
        if self._closed:
            raise LogdirError(f"run {self.name!r} is {self._status}; start a new Run to log more")
        if step is None:
            step = self._step + 1
        elif type(step) is not int or not _MIN_STEP <= step <= _MAX_STEP:
            step = _values.check_step(step)
        pending = self._buffer_add(values, step, _now())
        self._step = step
        if pending >= FLUSH_POINTS:
            if pending >= MAX_PENDING_POINTS:
                self._flush_scalars()
            elif not self._wake.is_set():  # set() takes a lock: only once per flush
                self._wake.set()

    def log_histogram(self, tag: str, values: Any, step: int | None = None, *, bins: Any = 64) -> None:
        """Record the distribution of ``values`` (array or tensor) as bucket edges and counts.

        NaN and Inf entries are counted (``nan_count``, ``inf_count``) and left out of the buckets.
        ``bins`` is a number of equal-width buckets or a sequence of edges, as in ``np.histogram``.
        """
        self._check_open()
        tag = _values.check_tag(tag)
        step = self._step_or_current(step)
        self._add_histogram(tag, step, time.time(), _values.histogram(values, bins))

    def log_image(self, tag: str, image: Any, step: int | None = None) -> None:
        """Record an image: HxW, HxWxC or CxHxW (C = 1, 3, 4), floats in [0, 1] or uint8."""
        self._check_open()
        tag = _values.check_tag(tag)
        step = self._step_or_current(step)
        self._add_image(tag, step, time.time(), _values.image(image))

    def log_embedding(
        self,
        tag: str,
        vectors: Any,
        metadata: Any = None,
        step: int | None = None,
        *,
        images: Any = None,
    ) -> None:
        """Record vectors [N, D] with optional per-point metadata (labels, a dict of columns or a
        DataFrame) and thumbnails (``images`` [N, H, W, C] or [N, C, H, W], kept as one sprite
        sheet PNG). Read them back with ``open_logdir(...).embedding(run, tag)``."""
        self._check_open()
        tag = _values.check_tag(tag)
        step = self._step_or_current(step)
        array = _values.embedding_vectors(vectors)
        frame = _values.metadata_frame(metadata, len(array))
        thumbnails = None if images is None else _sprite.thumbnails(images, len(array))
        vectors_file = self._save_file(_paths.EMBEDDINGS_DIR, ".npy", lambda f: np.save(f, array, allow_pickle=False))
        info: dict[str, Any] = {"shape": list(array.shape), "metadata": None}
        if frame is not None:
            info["metadata"] = self._save_file(
                _paths.EMBEDDINGS_DIR, ".parquet", lambda f: _write_parquet(frame, f, "metadata")
            )
        if thumbnails is not None:
            info["sprite"] = self._save_file(
                _paths.EMBEDDINGS_DIR, ".png", lambda f: _sprite.write_sprite(thumbnails, f)
            )
            info["thumbnail"] = list(thumbnails.shape[1:3])
        self._add_artifact("embedding", tag, step, vectors_file, info, replace=False)

    def log_table(self, tag: str, dataframe: pd.DataFrame) -> None:
        """Store a DataFrame (predictions, per-example results) as Parquet; a second call replaces it."""
        self._check_open()
        tag = _values.check_tag(tag)
        if not isinstance(dataframe, pd.DataFrame):
            raise ArgumentTypeError("dataframe", "a pandas DataFrame", dataframe)
        path = self._save_file(_paths.TABLES_DIR, ".parquet", lambda f: _write_parquet(dataframe, f, "dataframe"))
        info = {"rows": len(dataframe), "columns": [str(c) for c in dataframe.columns]}
        self._add_artifact("table", tag, self._current_step(), path, info, replace=True)

    def log_result(self, tag: str, result: Any) -> None:
        """Save a result dataclass (arrays, DataFrames, JSON-able fields); a second call replaces it.

        Read it back with ``open_logdir(...).result(run, tag)``.
        """
        self._check_open()
        tag = _values.check_tag(tag)
        relative = f"{_paths.RESULTS_DIR}/{uuid.uuid4().hex}"
        final = self.path / relative
        staging = final.with_name(final.name + ".tmp")
        staging.mkdir(parents=True)
        try:
            type_path = _results.save(result, staging)
            os.replace(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._add_artifact("result", tag, self._current_step(), relative, {"type": type_path}, replace=True)

    def log_hparams(self, hparams: Mapping[str, Any]) -> None:
        """Merge more hyper-parameters into the run's (later values win), e.g. once a trainer knows them."""
        self._check_open()
        new = _values.json_mapping(hparams, "hparams")
        with self._transaction() as conn:
            # merged with what the index holds, not with this object's copy, so no key is lost
            stored = json.loads(conn.execute("SELECT hparams FROM info").fetchone()[0])
            merged = {**stored, **new}
            conn.execute("UPDATE info SET hparams=?", (json.dumps(merged),))
        self._hparams = merged

    def set_meta(self, key: str, value: Any) -> None:
        """Attach a JSON-able fact to the run (shown by ``Logdir.runs()`` in the ``meta`` column)."""
        self._check_open()
        key = _values.check_tag(key, "key")
        self._put_meta({key: _values.json_value(value, "value")})

    # -- committing -----------------------------------------------------------------------------

    def flush(self) -> None:
        """Commit every scalar logged so far; when it returns, the points survive a crash."""
        if not self._closed:
            self._flush_scalars()

    def finish(self, status: str = "finished") -> None:
        """Commit everything, record the end time and ``status``, and close the run. Idempotent."""
        if status not in STATUSES[1:]:
            raise InvalidArgumentError("status", "'finished' or 'failed'", status)
        self._close(status, time.time())

    def _close(self, status: str, end_time: float | None) -> None:
        if self._closed:
            return
        self._stop.set()
        self._wake.set()
        if self._flusher is not threading.current_thread():
            self._flusher.join()
        self._flush_scalars()
        self._compact()
        with self._transaction() as conn:
            conn.execute("UPDATE info SET status=?, end_time=?", (status, end_time or time.time()))
        self._closed = True
        self._status = status
        with self._db_lock:
            self._conn.close()
        if self._lock is not None:
            self._lock.release()
        atexit.unregister(self._at_exit)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        self.finish("failed" if exc_type is not None else "finished")

    # -- internals ------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise LogdirError(f"run {self.name!r} is {self._status}; start a new Run to log more")

    def _current_step(self) -> int:
        return max(self._step, 0)

    def _step_or_current(self, step: Any) -> int:
        return self._current_step() if step is None else _values.check_step(step)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._db_lock, self._write_errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def _write_errors(self) -> Iterator[None]:
        """SQLite and file-system failures (a full disk, a damaged index) as one typed error."""
        try:
            yield
        except sqlite3.Error as exc:
            raise LogdirError(f"cannot write run {self.name!r} in {self.logdir}: {exc}") from exc
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO):
                raise LogdirError(f"cannot write run {self.name!r} in {self.logdir}: {exc.strerror or exc}") from exc
            raise

    def _flush_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(FLUSH_INTERVAL_S)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._flush_scalars()
            except LogdirError as exc:  # a full disk: kept for the next flush, one line each time
                logger.warning("deepscope could not write scalars of run %r (will retry): %s", self.name, exc)
            except Exception:  # kept for the next flush; a foreground flush() raises it
                logger.exception("deepscope could not write scalars of run %r; will retry", self.name)

    def _flush_scalars(self) -> None:
        with self._flush_lock:
            chunks = self._unwritten + self._scalars.take()
            if not chunks:
                return
            self._unwritten = chunks
            with self._transaction() as conn:
                conn.executemany(
                    "INSERT INTO scalar_chunks (tag, first_step, last_step, count, steps, wall_times, vals)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (_chunk_row(piece) for chunk in chunks for piece in chunk.split()),
                )
            self._unwritten = []

    def _add_scalar_chunk(self, tag: str, steps: np.ndarray, wall_times: np.ndarray, values: np.ndarray) -> None:
        """Queue ready-made columns (used by importers); committed with the next flush."""
        chunk = Chunk(
            tag,
            np.asarray(steps, dtype=_db.STEP_DTYPE),
            np.asarray(wall_times, dtype=_db.FLOAT_DTYPE),
            np.asarray(values, dtype=_db.FLOAT_DTYPE),
        )
        with self._flush_lock:
            self._unwritten.append(chunk)
        if len(steps):
            self._step = max(self._step, int(chunk.steps.max()))

    def _compact(self) -> None:
        """Merge the many small chunks of a long run into few large ones (one transaction per tag)."""
        with self._db_lock:
            busy = self._conn.execute(
                "SELECT tag FROM scalar_chunks GROUP BY tag HAVING count(*) > ?", (_COMPACT_CHUNKS,)
            ).fetchall()
        for (tag,) in busy:
            with self._transaction() as conn:
                rows = conn.execute(
                    "SELECT steps, wall_times, vals FROM scalar_chunks WHERE tag=? ORDER BY id",
                    (tag,),
                ).fetchall()
                merged = Chunk(
                    tag,
                    np.concatenate([_db.unblob(r[0], _db.STEP_DTYPE) for r in rows]),
                    np.concatenate([_db.unblob(r[1], _db.FLOAT_DTYPE) for r in rows]),
                    np.concatenate([_db.unblob(r[2], _db.FLOAT_DTYPE) for r in rows]),
                )
                conn.execute("DELETE FROM scalar_chunks WHERE tag=?", (tag,))
                conn.executemany(
                    "INSERT INTO scalar_chunks (tag, first_step, last_step, count, steps, wall_times, vals)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [_chunk_row(piece) for piece in merged.split()],
                )

    def _add_histogram(self, tag: str, step: int, wall_time: float, hist: Mapping[str, Any]) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO histograms (tag, step, wall_time, edges, counts, count, min, max, sum,"
                " sum_squares, nan_count, inf_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    tag,
                    step,
                    wall_time,
                    _db.blob(hist["edges"], _db.FLOAT_DTYPE),
                    _db.blob(hist["counts"], _db.FLOAT_DTYPE),
                    hist["count"],
                    hist["min"],
                    hist["max"],
                    hist["sum"],
                    hist["sum_squares"],
                    hist["nan_count"],
                    hist["inf_count"],
                ),
            )
        self._step = max(self._step, step)

    def _add_image(self, tag: str, step: int, wall_time: float, image: np.ndarray) -> None:
        path = self._save_file(_paths.IMAGES_DIR, ".npy", lambda f: np.save(f, image, allow_pickle=False))
        self._add_artifact(
            "image",
            tag,
            step,
            path,
            {"shape": list(image.shape)},
            replace=False,
            wall_time=wall_time,
        )

    def _save_file(self, folder: str, suffix: str, write: Callable[[Any], None]) -> str:
        """Write a file beside the index (atomically, via a temporary name); return its relative path."""
        relative = f"{folder}/{uuid.uuid4().hex}{suffix}"
        final = self.path / relative
        final.parent.mkdir(exist_ok=True)
        staging = final.with_name(final.name + ".tmp")
        try:
            with self._write_errors(), open(staging, "wb") as file:
                write(file)
            os.replace(staging, final)
        except BaseException:
            staging.unlink(missing_ok=True)
            raise
        return relative

    def _add_artifact(
        self,
        kind: str,
        tag: str,
        step: int,
        path: str,
        info: Mapping[str, Any],
        *,
        replace: bool,
        wall_time: float | None = None,
    ) -> None:
        wall_time = time.time() if wall_time is None else wall_time
        old: list[str] = []
        with self._transaction() as conn:
            if replace:
                old = [r[0] for r in conn.execute("SELECT path FROM artifacts WHERE kind=? AND tag=?", (kind, tag))]
                conn.execute("DELETE FROM artifacts WHERE kind=? AND tag=?", (kind, tag))
            conn.execute(
                "INSERT INTO artifacts (kind, tag, step, wall_time, path, info) VALUES (?, ?, ?, ?, ?, ?)",
                (kind, tag, step, wall_time, path, json.dumps(info)),
            )
        for relative in old:
            target = self.path / relative
            if target.is_dir():
                shutil.rmtree(target, ignore_errors=True)
            else:
                target.unlink(missing_ok=True)

    def _put_meta(self, items: Mapping[str, Any]) -> None:
        with self._transaction() as conn:
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                [(key, json.dumps(value)) for key, value in items.items()],
            )

    def _set_times(self, start_time: float | None = None, end_time: float | None = None) -> None:
        """Override the recorded start/end time (importers keep the original run's times)."""
        with self._transaction() as conn:
            if start_time is not None:
                conn.execute("UPDATE info SET start_time=?", (start_time,))
            if end_time is not None:
                conn.execute("UPDATE info SET end_time=?", (end_time,))

    def _at_exit(self) -> None:
        if os.getpid() != self._pid or self._closed:
            return
        # An uncaught exception has been printed (and stored in sys.last_value) before atexit runs.
        failed = getattr(sys, "last_value", None) is not None
        try:
            self.finish("failed" if failed else "finished")
        except LogdirError as exc:  # a full disk, say: one line, not a traceback at exit
            logger.error("deepscope could not close run %r at exit: %s", self.name, exc)
        except Exception:
            logger.exception("deepscope could not close run %r at exit", self.name)


class _WriterLock:
    """An exclusive lock on ``<run>/.writer.lock`` held while a ``Run`` writes, so a second
    writer of the same run is refused instead of silently interleaving with the first.

    The operating system releases it when the process dies, so a crashed run can be resumed.
    Where advisory locks are not available (Windows) nothing is locked.
    """

    def __init__(self, file: Any) -> None:
        self._file = file

    @classmethod
    def take(cls, folder: Path, name: str) -> _WriterLock:
        if fcntl is None:  # pragma: no cover - Windows
            return cls(None)
        try:
            file = open(folder / _paths.WRITER_LOCK, "a+b")  # noqa: SIM115 - held until release()
        except OSError as exc:
            raise LogdirError(f"cannot open run {name!r} for writing: {exc}") from exc
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            file.close()
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise LogdirError(
                    f"run {name!r} in {folder.parent} is open for writing by another Run "
                    "(in this or another process); finish that one first, or log into a new run"
                ) from None
            if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                return cls(None)  # a file system without locks: nothing to hold
            raise LogdirError(f"cannot lock run {name!r} for writing: {exc}") from exc
        return cls(file)

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file releases the lock
            self._file = None


def _writer_process() -> tuple[int, str]:
    """Who writes the run, so a reader on the same machine can tell a crashed writer from a live one."""
    return os.getpid(), socket.gethostname()


def _chunk_row(chunk: Chunk) -> tuple[Any, ...]:
    return (
        chunk.tag,
        int(chunk.steps.min()),
        int(chunk.steps.max()),
        len(chunk.steps),
        chunk.steps.tobytes(),
        chunk.wall_times.tobytes(),
        chunk.values.tobytes(),
    )


def _write_parquet(frame: pd.DataFrame, file: Any, argument: str) -> None:
    try:
        frame.to_parquet(file)
    except (ValueError, TypeError, NotImplementedError, ImportError) as exc:
        raise InvalidArgumentError(argument, "a DataFrame that Parquet can store", frame, hint=str(exc)) from exc
