"""Heavy callbacks off the request threads: a bounded pool of job threads the page polls.

A page marks a callback heavy by writing ``@heavy_callback(app, "attributions", ...)`` where it
would write ``@app.callback(...)``. Dash then runs it as a background callback through
:class:`JobManager`: the request that starts it returns at once with a job handle, the job waits
its turn in a pool of ``MAX_WORKERS`` threads, and the browser asks for the result every
``POLL_MS``. The server's request threads stay free for cheap requests (page loads, filters) while
attributions or projections compute; at most ``MAX_WORKERS`` heavy jobs compete with them for the
interpreter at a time, however many browsers ask. While a job waits or runs, the shell's status
line says what is computing, for how long, and how many jobs are ahead; when a job fails, its
typed error shows in the page's error banner as a failing callback's does, and the server goes
on serving.

Threads, not processes: the jobs use the live models and caches the app holds in memory, and
forking a process that already runs torch's thread pools is not safe. Torch's kernels release
the interpreter lock, so a bounded pool keeps page loads fast all the same.

>>> manager = JobManager(max_workers=1)
>>> key = manager.new_key()
>>> job = manager.call_job_fn(key, manager.make_job_fn(lambda x: x + 1, False, "k"), [41], {})
>>> manager.wait(job, timeout=5)
True
>>> manager.get_result(key, job)
42
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError  # not the builtin before 3.11
from contextvars import copy_context
from dataclasses import dataclass, field
from typing import Any

from dash._callback_context import context_value
from dash._no_update import NoUpdate
from dash._utils import AttributeDict
from dash.background_callback._proxy_set_props import ProxySetProps
from dash.background_callback.managers import BaseBackgroundCallbackManager
from dash.exceptions import BackgroundCallbackError, PreventUpdate

from deepscope.errors import DeepscopeError

__all__ = [
    "JobManager",
    "JobsBusyError",
    "heavy_callback",
    "original_error",
    "JOBS_STATUS",
    "MAX_WORKERS",
    "MAX_PENDING",
    "POLL_MS",
]

log = logging.getLogger(__name__)

# The shell's status line (an element the dashboard's frame holds), where jobs show progress.
JOBS_STATUS = "app-jobs"
# Heavy jobs that compute at once. Two keep a second browser from waiting behind the first one's
# attributions, and leave the request threads most of the interpreter.
MAX_WORKERS = 2
# Jobs waiting for a worker; beyond this a new job is refused with JobsBusyError (on the page).
MAX_PENDING = 64
# How often the browser asks whether a job finished.
POLL_MS = 250
# A result nobody collected (the page was closed) is dropped after this long.
RESULT_TTL_S = 600.0

_LABEL = "_deepscope_job_label"
# The error of the job a request thread just collected, for the app's error handler: Dash hands
# that handler a BackgroundCallbackError made of the message alone.
_collected = threading.local()


class JobsBusyError(DeepscopeError, RuntimeError):
    """The server has too many heavy jobs waiting; the request is refused, not queued."""


def heavy_callback(app: Any, label: str, *dependencies: Any, **kwargs: Any) -> Callable[[Callable], Callable]:
    """``app.callback(*dependencies, **kwargs)`` for heavy work: runs as a job in the app's pool.

    label: what the status line says is computing ("attributions", "the projection").

    >>> @heavy_callback(app, "attributions", Output("maps", "children"), Input("row", "value"))  # doctest: +SKIP
    ... def show_maps(row): ...
    """
    manager = getattr(app, "_background_manager", None)
    kwargs.setdefault("interval", POLL_MS)

    def decorate(function: Callable) -> Callable:
        setattr(function, _LABEL, label)
        if not isinstance(manager, JobManager):  # an app without a job pool: run it in the request
            return app.callback(*dependencies, **{k: v for k, v in kwargs.items() if k != "interval"})(function)
        return app.callback(*dependencies, background=True, **kwargs)(function)

    return decorate


def original_error(err: Exception) -> Exception:
    """The job's own (typed) error behind Dash's BackgroundCallbackError, when this thread has
    just collected it; else ``err`` itself."""
    if isinstance(err, BackgroundCallbackError):
        found = getattr(_collected, "error", None)
        _collected.error = None
        if found is not None:
            return found
    return err


@dataclass
class _Job:
    key: str
    label: str
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    future: Future | None = None
    cancelled: bool = False
    value: Any = None
    error: Exception | None = None
    side_updates: dict[str, dict] = field(default_factory=dict)
    progress: list | None = None


class JobManager(BaseBackgroundCallbackManager):
    """Dash's background-callback manager, on a bounded pool of threads in this process.

    One manager per app: it registers only the callbacks of the app it was made for (Dash
    announces every background callback to every manager alive), and :meth:`seal` stops it
    listening once the app's callbacks are in.
    """

    def __init__(self, max_workers: int = MAX_WORKERS, max_pending: int = MAX_PENDING) -> None:
        self._open = False  # ignore the callbacks of apps made before this one
        super().__init__(cache_by=None)
        self._open = True
        self.max_workers = max_workers
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}  # by job id
        self._by_key: dict[str, str] = {}  # cache key -> job id
        self._pool: ThreadPoolExecutor | None = None
        self._secret: bytes | None = None
        self._registered: list[tuple] = []
        self._leftover: dict[str, dict[str, dict]] = {}  # set_props of collected jobs, by key

    # -- registration --------------------------------------------------------------------------

    def register(self, key: str, fn: Callable, progress: bool) -> None:
        if not getattr(self, "_open", False):
            return
        self._registered.append((key, fn, progress))
        super().register(key, fn, progress)

    def seal(self) -> None:
        """Stop taking callbacks (the app registered its own) and let go of Dash's global lists,
        which would otherwise keep every app ever made, its models included, alive."""
        self._open = False
        managers = BaseBackgroundCallbackManager.managers
        managers[:] = [m for m in managers if m is not self]
        mine = {id(entry[1]) for entry in self._registered}
        functions = BaseBackgroundCallbackManager.functions
        functions[:] = [entry for entry in functions if id(entry[1]) not in mine]
        self._registered.clear()

    def get_or_create_signing_secret(self, generate: Callable[[], bytes]) -> bytes:
        with self._lock:
            if self._secret is None:
                self._secret = generate()
            return self._secret

    def build_cache_key(self, fn: Any, args: Any, cache_args_to_ignore: Any, triggered: Any) -> str:
        # No caching across requests: each job gets its own key, so two browsers asking the same
        # thing each collect their own answer (and no source is read per request).
        return self.new_key()

    @staticmethod
    def new_key() -> str:
        return uuid.uuid4().hex

    # -- running jobs --------------------------------------------------------------------------

    def make_job_fn(self, fn: Callable, progress: bool, key: str | None = None) -> Callable:
        label = getattr(fn, _LABEL, None) or getattr(fn, "__name__", "a job").replace("_", " ")

        def job_fn(job: _Job, args: Any, context: dict) -> Any:
            def set_props(component_id: Any, props: dict) -> None:
                with self._lock:
                    job.side_updates.setdefault(str(component_id), {}).update(props)

            def set_progress(value: Any) -> None:
                job.progress = list(value) if isinstance(value, (list, tuple)) else [value]

            callback_context = AttributeDict(**context)
            callback_context.ignore_register_page = False
            callback_context.updated_props = ProxySetProps(set_props)
            context_value.set(callback_context)
            leading = [set_progress] if progress else []
            if isinstance(args, dict):
                return fn(*leading, **args)
            if isinstance(args, (list, tuple)):
                return fn(*leading, *args)
            return fn(*leading, args)

        job_fn.label = label  # type: ignore[attr-defined]
        return job_fn

    def call_job_fn(self, key: str, job_fn: Callable, args: Any, context: dict) -> str:
        """Queue the job; its id is the handle the browser polls with."""
        label = str(getattr(job_fn, "label", "a job"))
        with self._lock:
            self._expire()
            waiting = sum(1 for job in self._jobs.values() if job.started is None and not job.cancelled)
            if waiting >= self.max_pending:
                raise JobsBusyError(
                    f"the server has {waiting} heavy jobs waiting (at most {self.max_pending}); "
                    f"{label} was not started: try again in a moment"
                )
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="deepscope-job")
            job_id = uuid.uuid4().hex
            job = _Job(key=key, label=label)
            self._jobs[job_id] = job
            self._by_key[key] = job_id
            run_context = copy_context()
            job.future = self._pool.submit(run_context.run, self._run, job, job_fn, args, context)
        return job_id

    def _run(self, job: _Job, job_fn: Callable, args: Any, context: dict) -> None:
        with self._lock:
            if job.cancelled:
                return
            job.started = time.monotonic()
        try:
            value = job_fn(job, args, context)
        except PreventUpdate as err:
            job.error = err
        except Exception as err:  # any failure goes to the page's banner, typed; the handler logs it
            job.error = err
        else:
            job.value = value
        finally:
            job.finished = time.monotonic()

    def wait(self, job_id: str, timeout: float | None = None) -> bool:
        """Block until the job finished (for tests and scripts); whether it did."""
        job = self._jobs.get(job_id)
        if job is None or job.future is None:
            return False
        try:
            job.future.result(timeout)
        except FutureTimeoutError:
            return False
        return job.finished is not None

    # -- what the browser's polls read ---------------------------------------------------------

    def job_running(self, job: Any) -> bool:
        found = self._jobs.get(str(job))
        return found is not None and found.finished is None and not found.cancelled

    def result_ready(self, key: str) -> bool:
        found = self._job_of(key)
        return found is not None and found.finished is not None

    def get_result(self, key: str, job: Any) -> Any:
        """The job's value once it finished (UNDEFINED before); a failed job's error goes to the
        page's error handler through Dash, which asks for it here."""
        job_id = str(job) if job is not None else self._by_key.get(key)
        found = self._jobs.get(job_id) if job_id else None
        if job_id is None or found is None or found.key != key:
            return self.UNDEFINED
        if found.finished is None:
            return self.UNDEFINED
        self._forget(job_id)
        with self._lock:
            updates = dict(found.side_updates)
            updates[JOBS_STATUS] = {"children": "", "hidden": True}
            self._leftover[key] = updates
        if isinstance(found.error, PreventUpdate):
            return NoUpdate()
        if found.error is not None:
            # Dash passes the page's error handler a BackgroundCallbackError made of this message;
            # the handler shows the typed error itself (original_error), and no side updates must
            # replace the banner it sets.
            self._leftover[key] = {}
            _collected.error = found.error
            return {"background_callback_error": {"msg": f"{type(found.error).__name__}: {found.error}", "tb": ""}}
        return found.value

    def get_progress(self, key: str) -> Any:
        found = self._job_of(key)
        if found is None or found.progress is None:
            return None
        progress, found.progress = found.progress, None
        return progress

    def get_updated_props(self, key: str) -> dict:
        """The job's own ``set_props``, and the status line: what computes, for how long."""
        with self._lock:
            leftover = self._leftover.pop(key, None)
            if leftover is not None:
                return leftover
            found = self._job_of(key)
            if found is None:
                return {}
            updates, found.side_updates = found.side_updates, {}
            updates[JOBS_STATUS] = {"children": self.status(found), "hidden": False}
        return updates

    def status(self, job: _Job | None) -> str:
        """One line for the page: the job's label, its state and time, the jobs ahead of it."""
        if job is None:
            return ""
        now = time.monotonic()
        if job.started is None:
            ahead = sum(
                1
                for other in self._jobs.values()
                if other.finished is None and not other.cancelled and other.submitted < job.submitted
            )
            jobs = "job" if ahead == 1 else "jobs"
            return f"Waiting to compute {job.label}: {ahead} {jobs} ahead ({now - job.submitted:.0f} s)"
        return f"Computing {job.label}… {now - job.started:.0f} s"

    def terminate_job(self, job: Any) -> None:
        """A newer request replaced this job (or the page cancelled it): drop it. A job still
        waiting never starts; a running one finishes, and its result is dropped."""
        if job is None:
            return
        with self._lock:
            found = self._jobs.pop(str(job), None)
            if found is None:
                return
            found.cancelled = True
            if self._by_key.get(found.key) == str(job):
                del self._by_key[found.key]
        if found.future is not None:
            found.future.cancel()

    def terminate_unhealthy_job(self, job: Any) -> bool:
        return False

    def shutdown(self) -> None:
        """Drop waiting jobs and stop the pool's threads once the running ones end."""
        with self._lock:
            pool, self._pool = self._pool, None
            for job in self._jobs.values():
                job.cancelled = True
            self._jobs.clear()
            self._by_key.clear()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def counts(self) -> dict[str, int]:
        """Jobs waiting, running and finished but not collected."""
        with self._lock:
            jobs = [job for job in self._jobs.values() if not job.cancelled]
        return {
            "waiting": sum(job.started is None for job in jobs),
            "running": sum(job.started is not None and job.finished is None for job in jobs),
            "done": sum(job.finished is not None for job in jobs),
        }

    # -- bookkeeping ---------------------------------------------------------------------------

    def _job_of(self, key: str) -> _Job | None:
        job_id = self._by_key.get(key)
        return self._jobs.get(job_id) if job_id else None

    def _forget(self, job_id: str) -> None:
        with self._lock:
            found = self._jobs.pop(job_id, None)
            if found is not None and self._by_key.get(found.key) == job_id:
                del self._by_key[found.key]

    def _expire(self) -> None:
        """Drop results nobody collected within RESULT_TTL_S (call with the lock held)."""
        now = time.monotonic()
        stale = [
            job_id
            for job_id, job in self._jobs.items()
            if job.finished is not None and now - job.finished > RESULT_TTL_S
        ]
        for job_id in stale:
            found = self._jobs.pop(job_id)
            if self._by_key.get(found.key) == job_id:
                del self._by_key[found.key]
