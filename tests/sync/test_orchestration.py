"""Backfill, pull, run, status and demo through the real CLI against the simulated shop."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loyalsync.connectors.shopware import simulator
from loyalsync.sync.cli import run
from tests.sync.conftest import AS_OF, Shop, write_config

DATA_TABLES = {
    "customers": "shop, id, number, email, is_guest, country, city, postcode, "
    "created_at, updated_at, deleted_at, raw",
    "orders": "shop, id, customer_id, email, placed_at, status, is_valid, "
    "base_currency_total_gross, codes, raw",
    "order_items": "shop, order_id, line, sku, quantity, total, kind, code",
    "memberships": "shop, customer_id, slot, value, is_default",
    "slot_values": "shop, slot, id, name, is_default",
}


def snapshot(db: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(db)
    try:
        return {
            table: conn.execute(f"SELECT {cols} FROM {table} ORDER BY 1, 2, 3").fetchall()
            for table, cols in DATA_TABLES.items()
        }
    finally:
        conn.close()


def count(db: Path, table: str) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0


def cli_process(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "loyalsync", "--config", str(config), "-q", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.parametrize(
    "kill_when", [("customers", 100), ("customers", 300), ("orders", 1), ("orders", 600)]
)
def test_backfill_killed_and_resumed_equals_an_uninterrupted_backfill(
    tmp_path: Path, kill_when: tuple[str, int]
) -> None:
    sim = simulator.serve(customers=400, seed=11, as_of=AS_OF, latency=0.01)
    try:
        clean_dir, killed_dir = tmp_path / "clean", tmp_path / "killed"
        clean_dir.mkdir()
        killed_dir.mkdir()
        clean = write_config(clean_dir, [("main", sim, sim.client_secret)])
        killed = write_config(killed_dir, [("main", sim, sim.client_secret)])
        assert run(["--config", str(clean), "-q", "backfill"]) == 0

        table, threshold = kill_when
        proc = cli_process(killed, "backfill")
        try:
            deadline = time.monotonic() + 60  # a bound on the loop, not an assertion on time
            while count(killed_dir / "m.db", table) < threshold and proc.poll() is None:
                assert time.monotonic() < deadline, "the backfill made no progress"
                time.sleep(0.005)
            assert proc.poll() is None, "the backfill finished before it could be killed"
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        interrupted = snapshot(killed_dir / "m.db")
        assert len(interrupted["customers"]) + len(interrupted["orders"]) > 0
        assert interrupted != snapshot(clean_dir / "m.db")  # it really was cut short

        assert run(["--config", str(killed), "-q", "backfill"]) == 0  # resumes
        assert snapshot(killed_dir / "m.db") == snapshot(clean_dir / "m.db")
    finally:
        sim.stop()


def test_pull_after_backfill_is_incremental_and_runs_are_recorded(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--config", str(shop.config), "backfill"]) == 0
    shop.sim.request_log.clear()
    assert run(["--config", str(shop.config), "pull", "--no-deletion-scan"]) == 0
    out = capsys.readouterr().out
    assert "customers: 0 new" in out
    searches = [r for r in shop.sim.request_log if r.path.startswith("/api/search/")]
    assert len(searches) <= 6  # one short page per entity (+ state), not the whole history
    assert run(["--config", str(shop.config), "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    kinds = [r["kind"] for r in status["shops"]["main"]["runs"]]
    assert kinds[:2] == ["pull", "backfill"]
    assert status["shops"]["main"]["customers"] == 400
    entities = {c["entity"] for c in status["shops"]["main"]["cursors"]}
    assert {"customers", "orders"} <= entities
    assert not any(e.startswith("backfill:") for e in entities)  # handed over and removed


def test_run_with_push_disabled_writes_nothing(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--config", str(shop.config), "run", "--as-of", "2026-11-01"]) == 0
    out = capsys.readouterr().out
    assert "push skipped (push.enabled is false" in out and "plan:" in out
    assert shop.writes() == 0


def test_run_with_push_enabled_writes_and_second_run_writes_nothing(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(shop.directory, [("main", shop.sim, shop.sim.client_secret)], push=True)
    assert run(["--config", str(config), "run", "--as-of", "2026-11-01"]) == 0
    first = shop.writes()
    assert first > 0
    assert run(["--config", str(config), "run", "--as-of", "2026-11-01"]) == 0
    assert shop.writes() == first
    assert "pushed:" in capsys.readouterr().out


def test_one_failing_shop_does_not_stop_the_others(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        shop.directory,
        [("bad", shop.sim, "wrong-secret-value"), ("main", shop.sim, shop.sim.client_secret)],
    )
    assert run(["--config", str(config), "backfill"]) == 3
    captured = capsys.readouterr()
    assert "main: customers: 400 new" in captured.out
    assert "shop bad failed" in captured.err and "wrong-secret-value" not in captured.err


def test_a_second_process_on_the_same_mirror_is_refused_with_try_later(shop: Shop) -> None:
    from loyalsync.sync.lock import MirrorLock

    assert run(["--config", str(shop.config), "-q", "backfill"]) == 0
    with MirrorLock(str(shop.directory / "m.db"), "daemon"):
        for command in (["backfill"], ["segment"], ["push", "--force"], ["pull"], ["run"]):
            proc = subprocess.run(
                [sys.executable, "-m", "loyalsync", "--config", str(shop.config), *command],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert proc.returncode == 75, (command, proc.stderr)  # EX_TEMPFAIL: try again later
            assert "in use by loyalsync daemon" in proc.stderr, command


def test_daemon_once_runs_every_job(shop: Shop) -> None:
    assert run(["--config", str(shop.config), "daemon", "--once"]) == 0
    conn = sqlite3.connect(shop.directory / "m.db")
    kinds = {k for (k,) in conn.execute("SELECT kind FROM _runs")}
    assert {"pull", "segment"} <= kinds and conn.execute(
        "SELECT COUNT(*) FROM segment_members"
    ).fetchone()[0]
    assert shop.writes() == 0  # push disabled


def test_sigterm_finishes_the_current_page_and_exits(tmp_path: Path) -> None:
    sim = simulator.serve(customers=400, seed=11, as_of=AS_OF, latency=0.02)
    try:
        config = write_config(tmp_path, [("main", sim, sim.client_secret)])
        proc = cli_process(config, "daemon")
        try:
            deadline = time.monotonic() + 60
            while count(tmp_path / "m.db", "customers") < 100:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.005)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        conn = sqlite3.connect(tmp_path / "m.db")
        outcome = conn.execute("SELECT outcome FROM _runs ORDER BY id LIMIT 1").fetchone()[0]
        assert outcome == "interrupted"
        cursor = json.loads(
            conn.execute("SELECT cursor FROM _sync_state WHERE entity = 'customers'").fetchone()[0]
        )
        stored = conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0]
        assert stored % 100 == 0 and cursor["after"] is not None  # whole pages, cursor with them
    finally:
        sim.stop()


def test_demo_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "--dir", str(tmp_path), "--customers", "300"]) == 0
    out = capsys.readouterr().out
    for text in ("1. backfill", "2. segment", "3. plan", "4. push", "VIP (auto)",
                 "ls:champions", "0 of 0 writes applied", "HTML report"):  # fmt: skip
        assert text in out, text
    assert (tmp_path / "report.html").read_text().count("<table>") > 3
    assert (tmp_path / "loyalsync.db").stat().st_mode & 0o777 == 0o600
    assert "client_secret: ${SHOPWARE_CLIENT_SECRET}" in (tmp_path / "loyalsync.yaml").read_text()


def test_backfill_leaves_the_cursor_of_a_shop_in_daily_use_alone(shop: Shop) -> None:
    assert run(["--config", str(shop.config), "pull"]) == 0  # first pull: the daily cursor
    conn = sqlite3.connect(shop.directory / "m.db")
    query = "SELECT cursor FROM _sync_state WHERE entity IN ('customers', 'orders') ORDER BY 1"
    before = conn.execute(query).fetchall()
    assert run(["--config", str(shop.config), "backfill", "--since", "2026-01-01"]) == 0
    assert conn.execute(query).fetchall() == before
    left = conn.execute("SELECT COUNT(*) FROM _sync_state WHERE entity LIKE 'backfill:%'")
    assert left.fetchone()[0] == 0


def test_json_logs_carry_run_ids_and_no_secrets(shop: Shop) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "loyalsync", "--config", str(shop.config), "--log-format", "json",
         "-vv", "daemon", "--once"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert lines and all({"ts", "level", "logger", "msg"} <= set(line) for line in lines)
    jobs = [line for line in lines if line["msg"].startswith("job ")]
    assert len(jobs) == 6 and all(len(line.get("run_id") or "") == 12 for line in jobs)
    assert len({line["run_id"] for line in jobs}) == 3  # one run id per job run
    assert any(line["logger"] == "loyalsync.http" for line in lines)  # -vv: request lines too
    assert shop.sim.client_secret not in proc.stderr


def test_simulate_serves_a_shop_and_prints_a_config_snippet() -> None:
    import requests

    proc = subprocess.Popen(
        [sys.executable, "-m", "loyalsync", "simulate", "--customers", "100"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(lines)
        url = next(w for w in text.split() if w.startswith("http://127.0.0.1:"))
        secret = next(line.split("=", 1)[1].strip() for line in lines if "CLIENT_SECRET=" in line)
        client = next(line.split("=", 1)[1].strip() for line in lines if "CLIENT_ID=" in line)
        token = requests.post(
            f"{url}/api/oauth/token",
            json={"grant_type": "client_credentials", "client_id": client, "client_secret": secret},
            timeout=10,
        )
        assert token.status_code == 200 and token.json()["token_type"] == "Bearer"
        assert "platform: shopware" in text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def test_segment_plan_and_push_commands(shop: Shop, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(shop.directory, [("main", shop.sim, shop.sim.client_secret)], push=True)
    base = ["--config", str(shop.config)]
    assert run([*base, "backfill"]) == 0
    capsys.readouterr()
    assert run([*base, "segment", "--as-of", "2026-11-01", "--json"]) == 0
    segments = json.loads(capsys.readouterr().out)["main"]
    assert segments["customers"] > 300 and segments["excluded_protected"] > 0
    assert run([*base, "plan", "--as-of", "2026-11-01", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)["main"]
    assert plan["counts"]["groups_set"] > 0 and plan["changes"]
    assert run([*base, "push", "--dry-run", "--as-of", "2026-11-01"]) == 0
    assert shop.writes() == 0
    strict = shop.config.read_text().replace("max_changes: 0.9", "max_changes: 5")
    shop.config.write_text(strict)
    assert run([*base, "push", "--as-of", "2026-11-01"]) == 2  # refused: too many changes
    assert "--force" in capsys.readouterr().err and shop.writes() == 0
    assert run([*base, "push", "--force", "--as-of", "2026-11-01"]) == 0
    assert shop.writes() > 0
    writes = shop.writes()
    assert run([*base, "push", "--as-of", "2026-11-01"]) == 0
    assert shop.writes() == writes  # nothing left to write
    assert "nothing to change" in capsys.readouterr().out
    assert run([*base, "customers", "--segment", "loyalty:vip", "--format", "json"]) == 0
    vips = json.loads(capsys.readouterr().out)["main"]
    assert vips and {"email", "city", "revenue"} <= set(vips[0])
