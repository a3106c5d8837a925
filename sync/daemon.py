"""`loyalsync daemon`: the `schedule` library times the jobs of every configured shop, a bounded
worker pool (sync/workers.py) runs them, until SIGTERM/SIGINT.

Jobs per unit (the shops of one mirror file; with a `{shop}` database template, one shop): an
incremental pull every N minutes, a full cycle (pull, segment, plan, push) daily at a time in
the shop's time zone, and a weekly deletion scan. Units run side by side on
`schedule.workers` threads, so one slow or failing shop never delays the others' schedule; a
job still running when it is due again is skipped and logged. The daemon holds the lock of
every mirror it serves while it runs: a second daemon (or a backfill) on one of them is
refused. SIGTERM/SIGINT set a flag: running pulls finish their current page (already
committed) and stop, jobs still waiting for a worker are dropped, then the daemon exits.

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
from collections.abc import Callable, Collection, Iterator
from typing import Any

import schedule

from loyalsync.core.config import Config, ShopConfig
from loyalsync.core.records import utcnow
from loyalsync.sync.lock import shop_locks
from loyalsync.sync.workers import Job, ShopPool

__all__ = ["Daemon", "Job", "default_jobs", "describe_jobs"]

log = logging.getLogger("loyalsync.daemon")


def default_jobs(app: Any, should_stop: Callable[[], bool]) -> list[Job]:
    """Pull, cycle and deletion scan for every unit (the shops of one mirror file)."""
    cfg: Config = app.config
    jobs: list[Job] = []
    for names in cfg.databases().values():
        jobs += unit_jobs(app, tuple(cfg.shop(n) for n in names), should_stop)
    return jobs


def unit_jobs(
    app: Any, shops: tuple[ShopConfig, ...], should_stop: Callable[[], bool]
) -> list[Job]:
    from loyalsync.sync.cycle import deletion_scan_job, pull_job, run_cycle

    sch = app.config.schedule
    unit = ",".join(s.name for s in shops)

    def closing(action: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:  # each job opens its mirror and closes it: files open ~ workers
            try:
                return action()
            finally:
                for shop in shops:
                    app.close_mirror_for(shop)

        return run

    def cycle() -> Any:
        return run_cycle(app, None, as_of=None, should_stop=should_stop, shops=shops).failed

    return [
        Job(
            "pull",
            closing(lambda: pull_job(app, should_stop, shops)),
            every_minutes=sch.pull_every_minutes,
            unit=unit,
        ),
        Job("cycle", closing(cycle), at=sch.cycle_at, timezone=sch.timezone, unit=unit),
        Job(
            "deletion-scan",
            closing(lambda: deletion_scan_job(app, should_stop, shops)),
            at=sch.deletion_scan_at,
            day=sch.deletion_scan_day,
            timezone=sch.timezone,
            unit=unit,
        ),
    ]


def describe_jobs(config: Config) -> list[str]:
    """Plain-words schedule for `status` (computed, not read from a running daemon)."""
    sch = config.schedule
    files = len(config.databases())
    return [
        f"pull every {sch.pull_every_minutes} min",
        f"full cycle daily at {sch.cycle_at} ({sch.timezone})",
        f"deletion scan every {sch.deletion_scan_day} at {sch.deletion_scan_at} ({sch.timezone})",
        f"{sch.worker_count()} workers for {files} mirror file{'s' if files != 1 else ''}",
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
        workers: int | None = None,
    ) -> None:
        self.app = app
        self.clock = clock
        self.stop_event = threading.Event()
        self.sleep = sleep or (lambda s: self.stop_event.wait(s) and None)
        self.jobs = jobs if jobs is not None else default_jobs(app, self.stop_event.is_set)
        self.install_signals = install_signals
        self.workers = workers or app.config.schedule.worker_count()
        self.scheduler = schedule.Scheduler()
        self.runs: list[tuple[str, str]] = []  # (job label, outcome), newest last
        self.pool: ShopPool | None = None

    def request_stop(self, *_: object) -> None:
        log.info("stop requested: finishing the current pages, then exiting")
        self.stop_event.set()

    def wait_idle(self, exclude: Collection[str] = (), timeout: float | None = None) -> bool:
        """Block until every unit outside `exclude` is idle (tests step the clock with it)."""
        return self.pool.wait_idle(exclude, timeout) if self.pool is not None else True

    def _schedule(self, pool: ShopPool) -> None:
        for job in self.jobs:

            def due(job: Job = job) -> None:
                pool.dispatch(job)

            if job.every_minutes:
                self.scheduler.every(job.every_minutes).minutes.do(due)
                continue
            unit = self.scheduler.every()
            unit = getattr(unit, job.day) if job.day else unit.day
            unit.at(job.at or "00:00", job.timezone).do(due)

    def run(self, *, once: bool = False, max_loops: int | None = None) -> None:
        """Serve until stopped (`once`: every job once, then return when all are done)."""
        previous = self._install_signal_handlers()
        try:
            with shop_locks(self.app.config, None, "daemon"), _scheduler_clock(self.clock):
                self.pool = ShopPool(self.workers, self.stop_event, self.runs)
                try:
                    self._schedule(self.pool)
                    if once:
                        self.scheduler.run_all()
                        self.pool.wait_idle()
                        return
                    self._loop(max_loops)
                finally:
                    self.stop_event.set()  # running pulls stop after their current page
                    self.pool.shutdown()
        finally:
            self._restore_signal_handlers(previous)
            self.scheduler.clear()
            log.info("daemon stopped")

    def _loop(self, max_loops: int | None) -> None:
        log.info(
            "daemon started (%d workers): %s",
            self.workers,
            "; ".join(describe_jobs(self.app.config)[:3]),
        )
        # interval jobs (the incremental pulls) run right away: a restarted daemon catches up
        # at once instead of after a whole interval
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
