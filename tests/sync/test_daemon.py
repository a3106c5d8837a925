"""The daemon: scheduled jobs under an injected clock, failing jobs, SIGTERM, the lock."""

from __future__ import annotations

import os
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from loyalsync.connectors import platform_options
from loyalsync.core.config import build_config
from loyalsync.sync.daemon import Daemon, Job
from loyalsync.sync.lock import MirrorLock, MirrorLockedError


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def app_for(tmp_path: Path, **schedule: object) -> SimpleNamespace:
    config = build_config(
        {
            "database": str(tmp_path / "m.db"),
            "schedule": schedule,
            "shops": [{"name": "s", "platform": "shopware", "url": "http://127.0.0.1:9"}],
        },
        env={},
        platforms=platform_options(),
    )
    return SimpleNamespace(config=config)


def test_jobs_run_on_schedule_and_a_failing_job_does_not_stop_the_loop(tmp_path: Path) -> None:
    start = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday, winter: Berlin = UTC+1
    clock = FakeClock(start)
    calls: dict[str, list[datetime]] = {"pull": [], "nightly": [], "weekly": []}

    def boom() -> None:
        raise RuntimeError("the shop's proxy is down")

    jobs = [
        Job("pull", lambda: calls["pull"].append(clock.now), every_minutes=15),
        Job("boom", boom, every_minutes=60),
        Job(
            "nightly",
            lambda: calls["nightly"].append(clock.now),
            at="02:00",
            timezone="Europe/Berlin",
        ),
        Job(
            "weekly",
            lambda: calls["weekly"].append(clock.now),
            at="03:30",
            day="sunday",
            timezone="Europe/Berlin",
        ),
    ]

    daemon = Daemon(app_for(tmp_path), jobs=jobs, clock=clock, install_signals=False)

    def sleep(seconds: float) -> None:
        daemon.wait_idle()  # the jobs due now have run (on the pool's threads)
        clock.sleep(seconds)
        if clock.now > start + timedelta(days=7):
            daemon.request_stop()

    daemon.sleep = sleep
    daemon.run()
    assert len(calls["pull"]) == 1 + 7 * 24 * 4  # once at start, then every 15 minutes
    assert calls["pull"][0] == start
    assert [t.strftime("%a %H:%M") for t in calls["nightly"][:2]] == ["Mon 01:00", "Tue 01:00"]
    assert len(calls["nightly"]) == 7
    assert [t.strftime("%a %H:%M") for t in calls["weekly"]] == ["Sun 02:30"]
    failures = [r for r in daemon.runs if r == ("boom", "failed")]
    assert len(failures) == 1 + 7 * 24  # failed every hour, and the loop went on
    assert ("pull", "ok") in daemon.runs


def test_sigterm_stops_the_loop_cleanly(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 3, 1, tzinfo=UTC))
    ticks: list[int] = []

    def tick() -> None:
        ticks.append(1)
        if len(ticks) == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    daemon = Daemon(app_for(tmp_path), jobs=[Job("tick", tick, every_minutes=1)], clock=clock)

    def sleep(seconds: float) -> None:
        daemon.wait_idle()  # the due tick has run on the pool's thread
        clock.sleep(seconds)

    daemon.sleep = sleep
    daemon.run()
    assert len(ticks) == 3 and daemon.runs == [("tick", "ok")] * 3  # at start, +1 min, +2 min
    assert signal.getsignal(signal.SIGTERM) == before  # handlers restored


def test_a_second_process_on_the_same_mirror_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    with MirrorLock(db, "daemon"):
        with pytest.raises(MirrorLockedError) as info:
            MirrorLock(db, "backfill").acquire()
        assert "in use by loyalsync daemon" in str(info.value)
        assert "refusing to start backfill" in str(info.value)
    with MirrorLock(db, "backfill"):  # free again once released
        pass


def test_a_shops_other_job_waits_once_and_a_job_still_running_is_skipped() -> None:
    from loyalsync.sync.workers import ShopPool

    gate, started = threading.Event(), threading.Event()
    ran: list[str] = []

    def slow_pull() -> None:
        started.set()
        gate.wait()
        ran.append("pull")

    runs: list[tuple[str, str]] = []
    pool = ShopPool(2, threading.Event(), runs)
    pull = Job("pull", slow_pull, every_minutes=15, unit="a")
    cycle = Job("cycle", lambda: ran.append("cycle"), at="02:00", unit="a")
    other = Job("pull", lambda: ran.append("other"), every_minutes=15, unit="b")
    assert pool.dispatch(pull) == "started"
    assert started.wait(timeout=60)
    assert pool.dispatch(cycle) == "deferred"  # same shop, another job: waits, once
    assert pool.dispatch(cycle) == "skipped"  # due again while still waiting: not queued twice
    assert pool.dispatch(pull) == "skipped"  # still running
    assert pool.dispatch(other) == "started"  # another shop is not held up
    assert pool.wait_idle(exclude={"a"}, timeout=60) and ran == ["other"]
    gate.set()
    assert pool.wait_idle(timeout=60)
    pool.shutdown()
    assert ran == ["other", "pull", "cycle"]  # the deferred cycle ran right after the pull
    assert sorted(runs) == sorted(
        [("cycle[a]", "skipped"), ("pull[a]", "skipped"), ("pull[b]", "ok"), ("pull[a]", "ok"),
         ("cycle[a]", "ok")]
    )  # fmt: skip
