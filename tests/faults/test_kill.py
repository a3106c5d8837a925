"""kill -9 of a backfill and of a push at seeded random points, then a rerun (issue 17, Faults).

The simulator runs in the test process; `loyalsync backfill` / `loyalsync push` run in a child
process (tests/faults/shops.py) that the simulator's request hook kills with SIGKILL: either
the moment the n-th request arrives (the shop still processes it: a write that reached the
shop whose answer nobody reads) or a few milliseconds later (wherever the child then is:
parsing, saving a page, journalling). The rerun is the real CLI again. Then the mirror (every
entity table) and the shop (everything a push touches) must equal an uninterrupted run's, with
no duplicate codes, groups or tags.

CI (`make test`) runs 2 seeded kill points per connector and command (12 backfill kills and 12
push kills over the 6 connector variants); `pytest -m slow tests/faults` runs 10 per connector
and command (60 + 60).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from loyalsync.core.mirror import Mirror
from loyalsync.core.mirror.privacy import CODE_SECRET
from loyalsync.sync.cli import run
from tests.contract.harness import mirror_dump
from tests.faults.shops import AS_OF, PLATFORMS, SHOPS, config_for, start_cli

CUSTOMERS = 60
CI_SEEDS = (1, 2)
SLOW_SEEDS = tuple(range(3, 11))


def trials() -> list[Any]:
    fast = [pytest.param(p, s, id=f"{p}-{s}") for p in PLATFORMS for s in CI_SEEDS]
    slow = [
        pytest.param(p, s, id=f"{p}-{s}", marks=pytest.mark.slow)
        for p in PLATFORMS
        for s in SLOW_SEEDS
    ]
    return fast + slow


def copy_db(source: Path, target: Path) -> Path:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


def dump(path: Path) -> dict[str, Any]:
    with Mirror.open(path) as mirror:
        return mirror_dump(mirror)


def codes(path: Path) -> list[tuple[Any, ...]]:
    with Mirror.open(path) as mirror:
        return sorted(mirror.conn.execute("SELECT campaign, customer_id, code FROM codes"))


def kill_run(sim: Any, argv: list[str], log: Path, nth: int, delay: float) -> int | None:
    """Run the CLI in a child; SIGKILL it at the `nth` request (after `delay` seconds).
    Returns the child's exit code (-9 when the kill landed)."""
    known = threading.Event()
    pid: list[int] = []
    seen = 0

    def hook(method: str, path: str) -> None:
        nonlocal seen
        seen += 1
        if seen != nth:
            return
        known.wait(30)
        if delay:
            threading.Timer(delay, os.kill, (pid[0], signal.SIGKILL)).start()
        else:
            os.kill(pid[0], signal.SIGKILL)

    sim.on_request = hook
    try:
        child = start_cli(argv, log)
        pid.append(child.pid or 0)
        known.set()
        child.join(120)
    finally:
        sim.on_request = None
    return child.exitcode


def kill_point(seed: int, requests: int) -> tuple[int, float]:
    rng = random.Random(seed)
    delay = rng.choice((0.0, rng.uniform(0.0005, 0.004)))
    last = requests - 1 if not delay else max(1, requests - 3)
    return rng.randint(1, last), delay


# ---------------------------------------------------------------------------------------------
# Backfill

_BACKFILL: dict[str, tuple[Any, int, dict[str, Any]]] = {}


def backfill_reference(platform: str, tmp: Path) -> tuple[Any, int, dict[str, Any]]:
    """One shop per connector for every backfill trial (a backfill never changes the shop):
    its harness, the requests of an uninterrupted backfill and the mirror it gives."""
    if platform not in _BACKFILL:
        harness = SHOPS[platform](CUSTOMERS)
        config = config_for(harness, tmp, db=tmp / "reference.db")
        harness.sim.reset_logs()
        assert run(["--config", str(config), "-q", "backfill"]) == 0
        _BACKFILL[platform] = (harness, len(harness.sim.request_log), dump(tmp / "reference.db"))
    return _BACKFILL[platform]


@pytest.fixture(scope="module", autouse=True)
def _close_shops() -> Any:
    yield
    for harness, *_ in _BACKFILL.values():
        harness.close()
    _BACKFILL.clear()


@pytest.mark.parametrize(("platform", "seed"), trials())
def test_a_backfill_killed_anywhere_resumes_to_the_identical_mirror(
    platform: str, seed: int, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    harness, requests, reference = backfill_reference(
        platform, tmp_path_factory.mktemp(f"ref-{platform}")
    )
    config = config_for(harness, tmp_path, db=tmp_path / "m.db")
    nth, delay = kill_point(seed, requests)
    argv = ["--config", str(config), "-vv", "backfill"]
    exit_code = kill_run(harness.sim, argv, tmp_path / "child.log", nth, delay)
    assert exit_code == -signal.SIGKILL, (exit_code, (tmp_path / "child.log").read_text()[-2000:])

    assert run(["--config", str(config), "-q", "backfill"]) == 0
    assert dump(tmp_path / "m.db") == reference
    with Mirror.open(tmp_path / "m.db") as mirror:
        outcomes = Counter(r["outcome"] for r in mirror.runs(harness.shop.name))
    assert outcomes["abandoned"] == 1 and outcomes["running"] == 0, outcomes


# ---------------------------------------------------------------------------------------------
# Push


def prepared_mirror(platform: str, tmp: Path) -> tuple[Path, int, Any, list[Any]]:
    """A backfilled, segmented mirror (copied for every trial, so the codes' key is the same),
    the write requests of an uninterrupted push, and the shop and codes it leaves."""
    cached = _PUSH.get(platform)
    if cached is not None:
        return cached
    harness = SHOPS[platform](CUSTOMERS)
    try:
        base = tmp / "segmented.db"
        config = config_for(harness, tmp, db=base, push=True)
        assert run(["--config", str(config), "-q", "backfill"]) == 0
        assert run(["--config", str(config), "-q", "segment", "--as-of", AS_OF]) == 0
        with Mirror.open(base) as mirror:  # the codes' key, made now: every copy shares it
            mirror.shop_secret(harness.shop.name, CODE_SECRET)
        reference = copy_db(base, tmp / "reference.db")
        config = config_for(harness, tmp, db=reference, push=True)
        harness.sim.reset_logs()
        assert run(push_argv(config)) == 0
        requests = len(harness.sim.request_log)
        state = harness.shop_state()
    finally:
        harness.close()
    _PUSH[platform] = (base, requests, state, codes(reference))
    return _PUSH[platform]


_PUSH: dict[str, tuple[Path, int, Any, list[Any]]] = {}


def push_argv(config: Path, *verbosity: str) -> list[str]:
    return ["--config", str(config), *verbosity, "push", "--as-of", AS_OF, "--force"]


@pytest.mark.parametrize(("platform", "seed"), trials())
def test_a_push_killed_anywhere_is_completed_by_the_rerun_without_duplicates(
    platform: str, seed: int, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base, requests, state, issued = prepared_mirror(
        platform, tmp_path_factory.mktemp(f"push-{platform}")
    )
    harness = SHOPS[platform](CUSTOMERS)  # a twin of the reference shop
    try:
        config = config_for(harness, tmp_path, db=copy_db(base, tmp_path / "m.db"), push=True)
        nth, delay = kill_point(seed, requests)
        log = tmp_path / "child.log"
        exit_code = kill_run(harness.sim, push_argv(config, "-vv"), log, nth, delay)
        assert exit_code == -signal.SIGKILL, (exit_code, log.read_text()[-2000:])

        assert run(push_argv(config, "-q")) == 0
        assert harness.shop_state() == state, _diff(harness.shop_state(), state)[:10]
        assert codes(tmp_path / "m.db") == issued
        current = harness.connector().current_state()
        names = [(v.slot, v.name) for v in current.values]
        assert len(names) == len(set(names)), "a group or tag was created twice"
        assert run(push_argv(config, "-q")) == 0
        assert harness.shop_state() == state
    finally:
        harness.close()


def teardown_module() -> None:
    for base, *_ in _PUSH.values():
        shutil.rmtree(base.parent, ignore_errors=True)
    _PUSH.clear()


def _diff(a: Any, b: Any, path: str = "") -> list[str]:  # debugging aid
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=repr):
            if k not in a or k not in b:
                out.append(
                    f"{path}/{k}: only in {'b' if k not in a else 'a'}: {a.get(k, b.get(k))}"
                )
            else:
                out += _diff(a[k], b[k], f"{path}/{k}")
        return out
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]
