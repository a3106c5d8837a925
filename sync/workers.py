"""The daemon's bounded worker pool: many shops served side by side, none waiting on another.

A job belongs to a unit: the shops of one mirror file (with a `{shop}` database template or
per-shop `database:`, exactly one shop). A unit runs one job at a time, because its shops share
one SQLite connection; different units run concurrently on at most `workers` threads. When a
job falls due:
- its unit is idle: it is handed to the pool (it may wait there for a free worker);
- the same job of that unit is still running or still waiting: it is skipped and logged, never
  queued up, so a slow or hung shop costs one worker, not a growing backlog;
- another job of that unit is running: it waits once, and starts when that one ends.
One job's exception is logged and recorded; the pool goes on. The scheduling (when a job is
due) is the daemon's (sync/daemon.py); this module only decides what runs now. No I/O itself.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from loyalsync.sync.logs import RUN_ID

log = logging.getLogger("loyalsync.daemon")


@dataclass(frozen=True, eq=False)
class Job:
    name: str
    action: Callable[[], Any]
    every_minutes: int | None = None  # interval job
    at: str | None = None  # daily (or weekly with `day`) at HH:MM in `timezone`
    day: str | None = None
    timezone: str | None = None
    unit: str | None = None  # the shops it serves (one mirror file); None: a unit of its own

    @property
    def key(self) -> str:
        return self.unit if self.unit is not None else self.name

    @property
    def label(self) -> str:
        return f"{self.name}[{self.unit}]" if self.unit is not None else self.name


def run_job(job: Job, stop_event: threading.Event) -> str:
    """Run one job in the calling thread; its outcome: ok, failed or stopped. A job whose
    action returns a non-empty mapping (shop -> error) counts as failed (the errors are logged
    by the action)."""
    token = RUN_ID.set(uuid.uuid4().hex[:12])
    try:
        return _outcome(job, stop_event)
    finally:
        RUN_ID.reset(token)


def _outcome(job: Job, stop_event: threading.Event) -> str:
    log.info("job %s started", job.label)
    try:
        result = job.action()
    except Exception:
        log.exception("job %s failed; the daemon goes on", job.label)
        return "failed"
    except BaseException as exc:  # StopRequested: the page is committed, stop now
        log.info("job %s stopped: %s", job.label, exc.__class__.__name__)
        stop_event.set()
        return "stopped"
    if isinstance(result, Mapping) and result:
        log.warning("job %s failed for %s; the daemon goes on", job.label, ", ".join(result))
        return "failed"
    log.info("job %s finished", job.label)
    return "ok"


class ShopPool:
    """Dispatches due jobs to at most `workers` threads, one job per unit at a time."""

    def __init__(
        self, workers: int, stop_event: threading.Event, runs: list[tuple[str, str]]
    ) -> None:
        self.workers = workers
        self.stop_event = stop_event
        self.runs = runs  # (job label, outcome), newest last; list.append is thread-safe
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="loyalsync")
        self._cond = threading.Condition()
        self._busy: dict[str, Job] = {}  # unit -> its running (or waiting-for-a-worker) job
        self._started: set[str] = set()  # units whose job has a worker
        self._pending: dict[str, list[Job]] = {}  # unit -> jobs due while another one ran

    def dispatch(self, job: Job) -> str:
        """Hand a due job over: started, deferred (behind its unit's other job), skipped (the
        same job still runs or waits) or stopped (the daemon is stopping)."""
        with self._cond:
            if self.stop_event.is_set():
                return "stopped"
            current = self._busy.get(job.key)
            if current is None:
                self._submit(job)
                return "started"
            waiting = self._pending.setdefault(job.key, [])
            if current is job or any(w is job for w in waiting):
                state = "running" if job.key in self._started else "waiting for a free worker"
                if current is not job:
                    state = f"waiting behind {current.label}"
                log.warning("skipped %s this turn: its previous run is still %s", job.label, state)
                self.runs.append((job.label, "skipped"))
                return "skipped"
            waiting.append(job)
            log.info("deferred %s until %s of the same shop is done", job.label, current.label)
            return "deferred"

    def _submit(self, job: Job) -> None:  # holding self._cond
        self._busy[job.key] = job
        try:
            self._executor.submit(self._work, job)
        except RuntimeError:  # the pool is shutting down
            del self._busy[job.key]

    def _work(self, job: Job) -> None:
        with self._cond:
            self._started.add(job.key)
        outcome = "failed"
        try:
            outcome = run_job(job, self.stop_event)
        finally:
            self.runs.append((job.label, outcome))
            with self._cond:
                self._started.discard(job.key)
                del self._busy[job.key]
                waiting = self._pending.get(job.key) or []
                if waiting and not self.stop_event.is_set():
                    self._submit(waiting.pop(0))
                self._cond.notify_all()

    def busy(self) -> dict[str, str]:
        """Unit -> the label of its running or waiting job (for tests and `status`)."""
        with self._cond:
            return {unit: job.label for unit, job in self._busy.items()}

    def wait_idle(self, exclude: Collection[str] = (), timeout: float | None = None) -> bool:
        """Block until no unit outside `exclude` has a job; False if `timeout` ran out."""
        with self._cond:
            return self._cond.wait_for(lambda: not set(self._busy) - set(exclude), timeout)

    def shutdown(self) -> None:
        """Drop the jobs still waiting for a worker; wait for the running ones (they stop
        after their current page once the stop event is set)."""
        with self._cond:
            self._pending.clear()
        self._executor.shutdown(wait=True, cancel_futures=True)
