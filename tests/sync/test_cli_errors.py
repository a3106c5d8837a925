"""Clear errors, one code per cause (issue 11 §4), through the real CLI: segment names checked
with a did-you-mean, the database's place, read-only commands without a mirror, a URL that is
not the shop's API, --as-of garbage, and SIGTERM / Ctrl-C during a backfill."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from loyalsync.connectors.shopware import simulator
from loyalsync.sync.cli import run
from tests.sync.conftest import AS_OF, Shop, write_config

READERS = (["status"], ["customers"], ["segment"], ["plan"], ["report"], ["push", "--force"])
WRITERS = (["backfill"], ["pull"], ["run"], ["daemon", "--once"])


@pytest.mark.parametrize(
    ("segment", "hint"),
    [
        ("loyalty:VIP", "did you mean 'vip'?"),
        ("abc:D", "unknown ABC class 'D'"),
        ("country:at", "did you mean 'AT'?"),
        ("rule:big_spenders", "no rule named 'big_spenders'"),
    ],
)
def test_customers_segment_is_checked_with_did_you_mean(
    shop: Shop, capsys: pytest.CaptureFixture[str], segment: str, hint: str
) -> None:
    assert run(["--config", str(shop.config), "customers", "--segment", segment]) == 2
    err = capsys.readouterr().err
    assert "'--segment'" in err and hint in err


def test_a_missing_database_directory_is_one_message_and_exit_3(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = shop.directory / "no" / "such" / "m.db"
    config = write_config(shop.directory, [("main", shop.sim, shop.sim.client_secret)],
                          db=str(missing))  # fmt: skip
    for command in (*READERS, *WRITERS):
        assert run(["--config", str(config), *command]) == 3, command
        err = capsys.readouterr().err
        assert "unexpected" not in err, command
        assert "does not exist" in err or "no mirror yet" in err, (command, err)
    assert not missing.parent.exists()


def test_an_unwritable_database_place_is_one_message_and_exit_3(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    # /sys refuses new files even to root: a stand-in for a read-only file system
    config = write_config(shop.directory, [("main", shop.sim, shop.sim.client_secret)],
                          db="/sys/loyalsync-test.db")  # fmt: skip
    for command in WRITERS:
        assert run(["--config", str(config), *command]) == 3, command
        err = capsys.readouterr().err
        assert "cannot write the database '/sys/loyalsync-test.db'" in err, (command, err)
        assert "unexpected" not in err


def test_read_only_commands_never_create_a_mirror(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in READERS:
        assert run(["--config", str(shop.config), *command]) == 3, command
        err = capsys.readouterr().err
        assert "no mirror yet" in err and "run `loyalsync backfill` first" in err, command
    assert sorted(p.name for p in shop.directory.iterdir()) == ["loyalsync.yaml"]


def test_as_of_garbage_names_the_option(shop: Shop, capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("segment", "plan", "report", "run"):
        assert run(["--config", str(shop.config), command, "--as-of", "garbage"]) == 2
        err = capsys.readouterr().err
        assert "'--as-of'" in err and "'garbage'" in err, command


@pytest.fixture
def plain_web_server() -> Iterator[str]:
    """A web server that is not a shop: GET serves an HTML page, other methods get the
    standard library's HTML 501 page (what a wrong URL really answers)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def do_GET(self) -> None:
            body = b"<html><body>It works!</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_url_that_is_not_the_shop_api_is_a_config_error(
    tmp_path: Path, plain_web_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    class NotAShop:
        url, client_id = plain_web_server, "id"

    config = write_config(tmp_path, [("main", NotAShop, "secret-value")])
    assert run(["--config", str(config), "check"]) == 3
    err = capsys.readouterr().err
    assert "answers, but not as the shop's API (HTTP 501, text/html)" in err
    assert f"{plain_web_server}/api/oauth/token" in err


def count(db: Path, table: str) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0


@pytest.mark.parametrize(
    ("sig", "code", "name"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "Ctrl-C")]
)
def test_a_signal_during_backfill_says_where_it_stopped_and_the_resume_reads_on(
    tmp_path: Path, sig: int, code: int, name: str
) -> None:
    sim = simulator.serve(customers=400, seed=11, as_of=AS_OF, latency=0.01)
    try:
        config = write_config(tmp_path, [("main", sim, sim.client_secret)])
        proc = subprocess.Popen(
            [sys.executable, "-m", "loyalsync", "--config", str(config), "backfill"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60  # a bound on the loop, not an assertion on time
            while count(tmp_path / "m.db", "customers") < 100 and proc.poll() is None:
                assert time.monotonic() < deadline, "the backfill made no progress"
                time.sleep(0.005)
            os.kill(proc.pid, sig)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == code, err
        assert f"backfill of main stopped by {name}" in err
        assert "Run `loyalsync backfill` again to resume" in err
        stored = count(tmp_path / "m.db", "customers")
        assert 0 < stored < 400
        assert run(["--config", str(config), "-q", "backfill"]) == 0
        conn = sqlite3.connect(tmp_path / "m.db")
        first, counts = (
            json.loads(c) for (c,) in conn.execute("SELECT counts FROM _runs ORDER BY id")
        )
        # the stopped run recorded how far it got
        got = first["in_progress"]["customers"] if "in_progress" in first else None
        assert (got or first["customers"]["new"]) == stored
        outcomes = [o for (o,) in conn.execute("SELECT outcome FROM _runs ORDER BY id")]
        assert outcomes == ["interrupted", "ok"]
        # the resume read only the customers the first run had not committed
        assert counts["customers"]["new"] == 400 - stored
        assert counts["customers"]["updated"] == counts["customers"]["unchanged"] == 0
    finally:
        sim.stop()
