"""Agency scale: one daemon serving many shops through a bounded worker pool, each shop with its
own mirror and lock (issue 17, "Agency scale"). Simulated shops over real sockets, the daemon's
clock injected and stepped only when the pool is idle: no real sleeps, no timed assertions."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from loyalsync.connectors.shopware import simulator
from loyalsync.core.synth import SynthSpec
from loyalsync.sync.cli import cli, run
from loyalsync.sync.context import AppContext
from loyalsync.sync.daemon import Daemon
from loyalsync.sync.lock import MirrorLock, MirrorLockedError, shop_locks
from loyalsync.sync.workers import Job
from tests.sync.conftest import AS_OF
from tests.sync.test_daemon import FakeClock

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # a Monday morning: no cycle or scan due soon
NO_WAIT = {"sleep": lambda seconds: None}  # the HTTP client's retry back-off, not a test sleep


class GatedShop(simulator.ShopwareSimulator):
    """A shop that answers nothing until `gate` is set (a hung PHP worker, a stuck proxy)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.hung = threading.Event()  # a request arrived and is being held

    def handle(self, h: Any) -> None:
        self.hung.set()
        self.gate.wait()
        super().handle(h)


def gated_shop(customers: int = 30, seed: int = 5) -> GatedShop:
    sim = GatedShop.from_spec(SynthSpec(customers=customers, seed=seed, as_of=AS_OF))
    sim.start()
    return sim


def closed_port_url() -> str:
    """The URL of a port nobody listens on: a shop that is down for the whole run."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def agency_config(
    directory: Path,
    shops: list[tuple[str, str, Any]],
    *,
    database: str = "mirrors/{shop}.db",
    workers: int = 2,
    page_size: int = 100,
) -> Path:
    """A config for several shops: (name, url, simulator or None for a shop that is down)."""
    (directory / "mirrors").mkdir(exist_ok=True)
    lines = [f"database: {database}", "schedule:", f"  workers: {workers}", "shops:"]
    for name, url, sim in shops:
        lines += [
            f"  - name: {name}",
            "    platform: shopware",
            f"    url: {url}",
            "    credentials:",
            f"      client_id: {sim.client_id if sim else 'SWIAUNREACHABLE'}",
            f"      client_secret: {sim.client_secret if sim else 'never-sent-0123'}",
            "    requests_per_second: 1000",
            f"    page_size: {page_size}",
        ]
    path = directory / "loyalsync.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def healthy() -> Iterator[simulator.ShopwareSimulator]:
    sim = simulator.serve(customers=40, seed=3, as_of=AS_OF)
    yield sim
    sim.stop()


@pytest.fixture
def slow() -> Iterator[GatedShop]:
    sim = gated_shop()
    yield sim
    sim.gate.set()
    sim.stop()


def shops_in(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT shop, COUNT(*) FROM customers GROUP BY shop"))
    finally:
        conn.close()


def stepped(
    daemon: Daemon, clock: FakeClock, until: datetime, busy: set[str], log: list[Any]
) -> Callable[[float], None]:
    """The daemon's sleep: wait until every shop outside `busy` is done with what was due, note
    the runs so far, then move the clock; past `until`, open the gates and stop."""

    def sleep(seconds: float) -> None:
        assert daemon.wait_idle(exclude=busy, timeout=120), daemon.pool and daemon.pool.busy()
        log.append((clock.now, list(daemon.runs)))
        clock.sleep(seconds)
        if clock.now > until:
            daemon.request_stop()

    return sleep


def test_a_slow_shop_never_delays_a_healthy_one(
    tmp_path: Path, healthy: simulator.ShopwareSimulator, slow: GatedShop
) -> None:
    config = agency_config(tmp_path, [("healthy", healthy.url, healthy), ("slow", slow.url, slow)])
    clock, seen = FakeClock(START), list[Any]()
    daemon = Daemon(AppContext(config_path=str(config)), clock=clock, install_signals=False)
    daemon.sleep = stepped(daemon, clock, START + timedelta(hours=1), {"slow"}, seen)
    stopper = threading.Thread(target=lambda: daemon.stop_event.wait() and slow.gate.set())
    stopper.start()
    daemon.run()
    stopper.join()
    assert slow.hung.is_set()  # the slow shop really held its first request
    # whenever the daemon slept, the healthy shop had pulled once at start and once per 15
    # minutes since: on time, every time, while the slow shop hung
    interval = timedelta(minutes=15)
    done = [(at, runs.count(("pull[healthy]", "ok"))) for at, runs in seen]
    assert len(done) > 5 and done == [(at, 1 + (at - START) // interval) for at, _ in done]
    # the slow shop's pull, still hanging when due again, was skipped each time, not queued
    final = seen[-1][1]
    assert final.count(("pull[slow]", "skipped")) == 4
    assert not [r for r in final if r[0] == "pull[slow]" and r[1] != "skipped"]
    assert shops_in(tmp_path / "mirrors" / "healthy.db") == {"healthy": 40}
    customer_searches = healthy.requests("/api/search/customer", method="POST")
    assert len(customer_searches) >= 5  # a real pull against the shop each time


def test_a_failing_shop_never_stops_the_others(
    tmp_path: Path, healthy: simulator.ShopwareSimulator
) -> None:
    config = agency_config(
        tmp_path,
        [
            ("down", closed_port_url(), None),
            ("healthy", healthy.url, healthy),
            ("locked-out", healthy.url, None),  # wrong credentials: 401
        ],
    )
    clock, seen = FakeClock(START), list[Any]()
    app = AppContext(config_path=str(config), http_kwargs=NO_WAIT)
    daemon = Daemon(app, clock=clock, install_signals=False)
    daemon.sleep = stepped(daemon, clock, START + timedelta(minutes=45), set(), seen)
    daemon.run()
    runs = seen[-1][1]
    assert runs.count(("pull[healthy]", "ok")) == 4  # at start, +15, +30, +45
    assert runs.count(("pull[down]", "failed")) == 4  # failed every time; the daemon went on
    assert runs.count(("pull[locked-out]", "failed")) == 4
    assert shops_in(tmp_path / "mirrors" / "healthy.db") == {"healthy": 40}


def test_a_shop_down_for_the_whole_run_exits_75_and_the_others_are_pulled(
    tmp_path: Path, healthy: simulator.ShopwareSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    config = agency_config(
        tmp_path, [("down", closed_port_url(), None), ("healthy", healthy.url, healthy)]
    )
    app = AppContext(config_path=str(config), http_kwargs=NO_WAIT)
    args = ["--config", str(config), "pull"]
    code = cli.main(args=args, prog_name="loyalsync", standalone_mode=False, obj=app)
    assert code == 75  # EX_TEMPFAIL: cron and systemd try again later
    captured = capsys.readouterr()
    assert "healthy: customers: 40 new" in captured.out
    assert "shop down failed" in captured.err and "127.0.0.1" in captured.err
    assert shops_in(tmp_path / "mirrors" / "healthy.db") == {"healthy": 40}
    assert not (tmp_path / "mirrors" / "down.db").exists() or not shops_in(
        tmp_path / "mirrors" / "down.db"
    )


def test_two_shops_never_share_a_mirror_or_a_lock(
    tmp_path: Path, healthy: simulator.ShopwareSimulator
) -> None:
    other = simulator.serve(customers=25, seed=8, as_of=AS_OF)
    try:
        config = agency_config(tmp_path, [("a", healthy.url, healthy), ("b", other.url, other)])
        assert run(["--config", str(config), "-q", "daemon", "--once"]) == 0
        mirrors = tmp_path / "mirrors"
        assert shops_in(mirrors / "a.db") == {"a": 40}
        assert shops_in(mirrors / "b.db") == {"b": 25}
        assert not (tmp_path / "loyalsync.db").exists()
        # while shop a's mirror is held, shop b's commands run and shop a's are refused
        app = AppContext(config_path=str(config))
        with shop_locks(app.config, (app.config.shop("a"),), "backfill"):
            assert run(["--config", str(config), "-q", "pull", "--shop", "b"]) == 0
            assert run(["--config", str(config), "-q", "pull", "--shop", "a"]) == 75
            assert run(["--config", str(config), "-q", "segment", "--shop", "b"]) == 0
    finally:
        other.stop()


def test_commands_read_each_shops_own_mirror(
    tmp_path: Path, healthy: simulator.ShopwareSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    config = agency_config(tmp_path, [("a", healthy.url, healthy), ("b", healthy.url, healthy)])
    base = ["--config", str(config)]
    assert run([*base, "-q", "backfill", "--shop", "a"]) == 0
    assert run([*base, "status", "--shop", "b"]) == 3  # b has no mirror yet: says how to fix
    err = capsys.readouterr().err
    assert "no mirror yet" in err and "run `loyalsync backfill --shop b` first" in err
    assert run([*base, "-q", "backfill", "--shop", "b"]) == 0
    capsys.readouterr()
    assert run([*base, "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert {name: info["database"] for name, info in status["shops"].items()} == {
        "a": str(tmp_path / "mirrors" / "a.db"),
        "b": str(tmp_path / "mirrors" / "b.db"),
    }
    assert [info["customers"] for info in status["shops"].values()] == [40, 40]
    out = tmp_path / "r.html"
    assert run([*base, "report", "--out", str(out)]) == 3  # one report needs one mirror
    assert "choose one shop with --shop NAME" in capsys.readouterr().err
    assert run([*base, "-q", "report", "--shop", "b", "--out", str(out)]) == 0 and out.exists()


def test_a_second_daemon_on_a_shops_mirror_is_refused(
    tmp_path: Path, healthy: simulator.ShopwareSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    first = agency_config(tmp_path, [("a", healthy.url, healthy)])
    ready, release = threading.Event(), threading.Event()
    daemon = Daemon(
        AppContext(config_path=str(first)),
        jobs=[Job("ready", ready.set, every_minutes=60)],
        sleep=lambda seconds: release.wait() and None,
        install_signals=False,
    )
    thread = threading.Thread(target=daemon.run)
    thread.start()
    try:
        assert ready.wait(timeout=60)  # the first daemon holds its shops' locks
        both = tmp_path / "both"
        both.mkdir()
        (both / "mirrors").symlink_to(tmp_path / "mirrors")
        second = agency_config(both, [("b", healthy.url, healthy), ("a", healthy.url, healthy)])
        assert run(["--config", str(second), "-q", "daemon", "--once"]) == 75
        err = capsys.readouterr().err
        assert "a.db" in err and "in use by loyalsync daemon" in err
        assert not (tmp_path / "mirrors" / "b.db").exists()  # refused before touching anything
        with pytest.raises(MirrorLockedError):
            MirrorLock(str(tmp_path / "mirrors" / "a.db"), "daemon").acquire()
        other = tmp_path / "other"
        other.mkdir()
        (other / "mirrors").symlink_to(tmp_path / "mirrors")
        third = agency_config(other, [("c", healthy.url, healthy)])
        assert run(["--config", str(third), "-q", "daemon", "--once"]) == 0  # another shop: ok
    finally:
        daemon.request_stop()
        release.set()
        thread.join()


def test_sigterm_stops_every_worker_cleanly(
    tmp_path: Path, healthy: simulator.ShopwareSimulator, slow: GatedShop
) -> None:
    config = agency_config(
        tmp_path, [("healthy", healthy.url, healthy), ("slow", slow.url, slow)], page_size=10
    )
    clock = FakeClock(START)
    daemon = Daemon(AppContext(config_path=str(config)), clock=clock)
    before = signal.getsignal(signal.SIGTERM)

    def sleep(seconds: float) -> None:
        assert daemon.wait_idle(exclude={"slow"}, timeout=120)
        assert slow.hung.wait(timeout=120)  # the slow shop's pull is mid-request
        os.kill(os.getpid(), signal.SIGTERM)
        slow.gate.set()  # its answer arrives after the signal
        clock.sleep(seconds)

    daemon.sleep = sleep
    daemon.run()
    assert ("pull[healthy]", "ok") in daemon.runs
    assert ("pull[slow]", "stopped") in daemon.runs  # stopped after a saved page
    assert len(daemon.runs) == 2  # nothing started after the signal
    assert not [t for t in threading.enumerate() if t.name.startswith("loyalsync")]
    assert signal.getsignal(signal.SIGTERM) == before
    assert shops_in(tmp_path / "mirrors" / "slow.db").get("slow", 0) < 30  # resumes later
