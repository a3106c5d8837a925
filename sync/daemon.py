"""`loyalsync daemon`: the `schedule` library runs the configured jobs until SIGTERM/SIGINT.

Jobs (from `schedule:` in the config): an incremental pull every N minutes, a full cycle
(pull, segment, plan, push) daily at a time in the shop's time zone, and a weekly deletion
scan. One job's exception is logged and the loop goes on. SIGTERM/SIGINT set a flag: the
running pull finishes its current page (already committed) and stops, then the loop exits.

The clock and the sleep are injectable (tests drive a day in milliseconds). `schedule` reads
`datetime.datetime.now()` itself, so while a Daemon runs, the scheduler's module sees our clock
through a small shim; nothing else in the process is affected.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import signal
import threading
import types
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import schedule

from loyalsync.core.config import Config
from loyalsync.core.records import utcnow
from loyalsync.sync.logs import RUN_ID

log = logging.getLogger("loyalsync.daemon")


@dataclass(frozen=True)
class Job:
    name: str
    action: Callable[[], Any]
    every_minutes: int | None = None  # interval job
    at: str | None = None  # daily (or weekly with `day`) at HH:MM in `timezone`
    day: str | None = None
    timezone: str | None = None


def default_jobs(app: Any, should_stop: Callable[[], bool]) -> list[Job]:
    from loyalsync.sync.cycle import deletion_scan_job, pull_job, run_cycle

    cfg: Config = app.config
    sch = cfg.schedule
    return [
        Job("pull", lambda: pull_job(app, should_stop), every_minutes=sch.pull_every_minutes),
        Job(
            "cycle",
            lambda: run_cycle(app, None, as_of=None, should_stop=should_stop),
            at=sch.cycle_at,
            timezone=sch.timezone,
        ),
        Job(
            "deletion-scan",
            lambda: deletion_scan_job(app, should_stop),
            at=sch.deletion_scan_at,
            day=sch.deletion_scan_day,
            timezone=sch.timezone,
        ),
    ]


def describe_jobs(config: Config) -> list[str]:
    """Plain-words schedule for `status` (computed, not read from a running daemon)."""
    sch = config.schedule
    return [
        f"pull every {sch.pull_every_minutes} min",
        f"full cycle daily at {sch.cycle_at} ({sch.timezone})",
        f"deletion scan every {sch.deletion_scan_day} at {sch.deletion_scan_at} ({sch.timezone})",
    ]


@contextlib.contextmanager
def _scheduler_clock(clock: Callable[[], _dt.datetime]) -> Iterator[None]:
    """Let `schedule` read `clock` (tz-aware UTC) instead of the wall clock."""

    class _Clocked(_dt.datetime):
        @classmethod
        def now(cls, tz: _dt.tzinfo | None = None) -> Any:  # type: ignore[override]
            current = clock()
            if tz is not None:
                return current.astimezone(tz)
            return current.astimezone().replace(tzinfo=None)  # naive local, as schedule expects

    shim = types.SimpleNamespace(**{k: getattr(_dt, k) for k in dir(_dt) if not k.startswith("__")})
    shim.datetime = _Clocked
    original = schedule.datetime  # type: ignore[attr-defined]
    schedule.datetime = shim  # type: ignore[attr-defined,assignment]
    try:
        yield
    finally:
        schedule.datetime = original  # type: ignore[attr-defined]


class Daemon:
    def __init__(
        self,
        app: Any,
        *,
        jobs: list[Job] | None = None,
        clock: Callable[[], _dt.datetime] = utcnow,
        sleep: Callable[[float], None] | None = None,
        install_signals: bool = True,
    ) -> None:
        self.app = app
        self.clock = clock
        self.stop_event = threading.Event()
        self.sleep = sleep or (lambda s: self.stop_event.wait(s) and None)
        self.jobs = jobs if jobs is not None else default_jobs(app, self.stop_event.is_set)
        self.install_signals = install_signals
        self.scheduler = schedule.Scheduler()
        self.runs: list[tuple[str, str]] = []  # (job, outcome), newest last

    def request_stop(self, *_: object) -> None:
        log.info("stop requested: finishing the current page, then exiting")
        self.stop_event.set()

    def _wrap(self, job: Job) -> Callable[[], None]:
        def run() -> None:
            run_id = uuid.uuid4().hex[:12]
            token = RUN_ID.set(run_id)
            log.info("job %s started", job.name)
            try:
                job.action()
            except Exception:
                log.exception("job %s failed; the daemon goes on", job.name)
                self.runs.append((job.name, "failed"))
            except BaseException as exc:  # StopRequested: the page is committed, stop now
                log.info("job %s stopped: %s", job.name, exc.__class__.__name__)
                self.runs.append((job.name, "stopped"))
                self.stop_event.set()
            else:
                log.info("job %s finished", job.name)
                self.runs.append((job.name, "ok"))
            finally:
                RUN_ID.reset(token)

        return run

    def _schedule(self) -> None:
        for job in self.jobs:
            if job.every_minutes:
                self.scheduler.every(job.every_minutes).minutes.do(self._wrap(job))
                continue
            unit = self.scheduler.every()
            unit = getattr(unit, job.day) if job.day else unit.day
            unit.at(job.at or "00:00", job.timezone).do(self._wrap(job))

    def run(self, *, once: bool = False, max_loops: int | None = None) -> None:
        previous = self._install_signal_handlers()
        try:
            with _scheduler_clock(self.clock):
                self._schedule()
                if once:
                    self.scheduler.run_all()
                    return
                log.info("daemon started: %s", "; ".join(describe_jobs(self.app.config)))
                # interval jobs (the incremental pull) run once right away: a restarted
                # daemon catches up at once instead of after a whole interval
                for job in self.scheduler.get_jobs():
                    if job.unit == "minutes" and not self.stop_event.is_set():
                        job.run()
                loops = 0
                while not self.stop_event.is_set():
                    self.scheduler.run_pending()
                    loops += 1
                    if max_loops is not None and loops >= max_loops:
                        break
                    idle = self.scheduler.idle_seconds
                    self.sleep(min(max(idle if idle is not None else 60.0, 0.0), 60.0))
        finally:
            self._restore_signal_handlers(previous)
            self.scheduler.clear()
            log.info("daemon stopped")

    def _install_signal_handlers(self) -> dict[int, Any]:
        if not self.install_signals or threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, Any] = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, self.request_stop)
        return previous

    def _restore_signal_handlers(self, previous: dict[int, Any]) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
