"""Runs killed with SIGKILL, secrets in the shop URL, migration 6 (issue 11 section 6): a real
subprocess killed for real, the real logging set-up and run bookkeeping, an older file."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loyalsync.core.mirror import SCHEMA_VERSION, Mirror
from loyalsync.core.mirror.schema import MIGRATIONS
from loyalsync.sync.cli import run
from loyalsync.sync.logs import setup_logging
from loyalsync.sync.runs import recorded_run

SECRET_URL = "https://shopadmin:Hunter2Secret@shop.example.test/admin"
ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys
from loyalsync.core.mirror import Mirror
mirror = Mirror.open(sys.argv[1])
print(mirror.start_run("s", "backfill"), flush=True)
sys.stdin.read()  # wait to be killed: the parent never closes stdin
"""


def test_a_run_killed_with_sigkill_is_closed_as_abandoned_at_the_next_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.db"
    Mirror.open(path).close()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    try:
        assert child.stdout is not None
        killed = int(child.stdout.readline())
        with Mirror.open(path) as mirror:
            alive = mirror.start_run("s", "pull")  # its process still runs: left alone
            assert mirror.runs("s")[-1]["outcome"] == "running"
            assert mirror.runs("s")[-1]["pid"] == child.pid
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    # status only reads: it shows the killed run as abandoned before anything closes it
    config = tmp_path / "loyalsync.yaml"
    config.write_text(
        f"database: {path}\nshops:\n  - name: s\n    platform: shopware\n"
        "    url: http://127.0.0.1:9\n    credentials: {client_id: a, client_secret: b}\n"
    )
    assert run(["--config", str(config), "status", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["shops"]["s"]["runs"]
    assert {r["id"]: r["outcome"] for r in shown} == {killed: "abandoned", alive: "running"}
    with Mirror.open(path) as mirror:
        assert mirror.runs("s")[-1]["outcome"] == "running"  # not written by status
        mirror.start_run("s", "segment")
        runs = {r["id"]: r for r in mirror.runs("s")}
    assert runs[killed]["outcome"] == "abandoned" and runs[killed]["finished_at"]
    assert runs[alive]["outcome"] == "running"  # this test's own process is alive
    assert runs[alive]["pid"] == os.getpid() and runs[alive]["host"]


def test_runs_of_another_host_are_left_running(tmp_path: Path) -> None:
    with Mirror.open(tmp_path / "m.db") as mirror:
        rid = mirror.start_run("s", "pull")
        mirror.conn.execute(
            "UPDATE _runs SET host = 'elsewhere', pid = 1999999 WHERE id = ?", (rid,)
        )
        assert mirror.close_abandoned() == []
        mirror.conn.execute("UPDATE _runs SET host = NULL, pid = NULL WHERE id = ?", (rid,))
        assert mirror.close_abandoned() == []  # a run of an older version: cannot tell


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_in_urls_never_reach_a_log_line_or_traceback(
    fmt: str, restore_logging: None
) -> None:
    stream = io.StringIO()
    setup_logging(1, fmt, stream)
    log = logging.getLogger("loyalsync.test")
    try:
        raise RuntimeError(f"could not reach {SECRET_URL}")
    except RuntimeError:
        log.debug("unexpected error", exc_info=True)
        log.exception("failed at %s", SECRET_URL)
    log.warning("plain %s", SECRET_URL, stack_info=True)
    logging.getLogger("other.library").error("seen %s", SECRET_URL)
    out = stream.getvalue()
    assert "Hunter2Secret" not in out and "shopadmin" not in out
    assert out.count("https://***@shop.example.test/admin") >= 4
    assert "Traceback" in out and "RuntimeError" in out
    if fmt == "json":
        records = [json.loads(line) for line in out.splitlines()]
        assert [bool(r.get("exc")) for r in records][:2] == [True, True]


def test_secrets_in_urls_are_redacted_from_stored_run_errors(tmp_path: Path) -> None:
    with Mirror.open(tmp_path / "m.db") as mirror:
        with pytest.raises(RuntimeError), recorded_run(mirror, "s", "pull"):
            raise RuntimeError(f"GET {SECRET_URL}?api_key=abcdef123 failed")
        rid = mirror.start_run("s", "push")
        mirror.finish_run(rid, "failed", error=f"core saw {SECRET_URL}")
        errors = [r["error"] for r in mirror.runs("s")]
    assert all("Hunter2Secret" not in e and "abcdef123" not in e for e in errors), errors
    assert "https://***@shop.example.test/admin" in errors[1]


def test_a_version_4_file_migrates_forward_and_its_journal_loses_names(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    conn = sqlite3.connect(path)
    for version, script in MIGRATIONS:
        if version <= 4:
            conn.executescript(script)
    conn.execute("PRAGMA user_version = 4")
    op = {"op": "IssueCode", "campaign": "w", "customer_id": "c1", "code": "W-1",
          "customer_number": "K-77", "email": "old@example.com"}  # fmt: skip
    conn.execute(
        "INSERT INTO _push_log (run_id, shop, op_key, op, ok, at) VALUES (1, 's', 'code:w:c1', "
        "?, 1, '2026-01-01T00:00:00.000000Z')",
        (json.dumps(op),),
    )
    conn.execute(
        "INSERT INTO _runs (shop, kind, started_at) VALUES ('s', 'pull', "
        "'2026-01-01T00:00:00.000000Z')"
    )
    conn.commit()
    conn.close()
    with Mirror.open(path) as mirror:
        assert mirror.schema_version == SCHEMA_VERSION >= 5
        stored = json.loads(mirror.conn.execute("SELECT op FROM _push_log").fetchone()[0])
        old_run = mirror.runs("s")[0]
        secret = mirror.shop_secret("s", "code_secret")
    assert stored == {"op": "IssueCode", "campaign": "w", "customer_id": "c1", "code": "W-1"}
    assert (old_run["pid"], old_run["host"], old_run["outcome"]) == (None, None, "running")
    assert len(secret) == 64
