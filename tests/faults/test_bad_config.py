"""Bad configuration and environment, every connector, through the real CLI (issue 17, Bad
input; tests/sync/test_cli_errors.py has the platform-neutral cases for Shopware): wrong
credentials, a URL that is not the shop's API, a missing credential, a mistyped option, an
unwritable database place and a database of a newer schema version each give one line naming
the problem and exit 3, and leave nothing half-written. (TLS failures: test_tls.py.)"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from loyalsync.core.mirror import SCHEMA_VERSION, Mirror
from loyalsync.sync.cli import run
from tests.faults.shops import PLATFORMS, SHOPS, shop_entry, write_config


@pytest.fixture(params=PLATFORMS)
def shop(request: pytest.FixtureRequest) -> Iterator[Any]:
    harness = SHOPS[request.param](20)
    yield harness
    harness.close()


@pytest.fixture(scope="module")
def web_server() -> Iterator[str]:
    """A plain web server: every path is an HTML page (the url points at the wrong place)."""

    class Handler(BaseHTTPRequestHandler):
        def _page(self) -> None:
            body = b"<html><body><h1>Welcome to our shop</h1></body></html>"
            self.send_response(404 if "api" in self.path else 200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = _page

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def one_failure(err: str) -> str:
    assert "Traceback" not in err and "unexpected" not in err, err
    lines = [line for line in err.splitlines() if "failed" in line or "error" in line.lower()]
    assert len(lines) == 1, err
    return lines[0]


def customers_stored(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0])


def backfill(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = run(["--config", str(config), "backfill"])
    return code, capsys.readouterr().err


def test_wrong_credentials(shop: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = "client_secret" if "client_secret" in shop.shop.credentials else "api_key"
    entry = shop_entry(shop.shop)
    entry["credentials"][secret] = "wrong-" + entry["credentials"][secret][::-1]
    code, err = backfill(write_config(tmp_path, [entry]), capsys)
    assert code == 3
    line = one_failure(err)
    assert "credential" in line.lower() or "rejected" in line, line
    assert entry["credentials"][secret] not in err
    assert customers_stored(tmp_path / "m.db") == 0


def test_a_url_that_is_not_the_shop_api(
    shop: Any, web_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = shop_entry(shop.shop, url=web_server + "/shop")
    code, err = backfill(write_config(tmp_path, [entry]), capsys)
    assert code == 3, err
    line = one_failure(err)
    assert "url" in line and web_server in line, line
    assert customers_stored(tmp_path / "m.db") == 0


def test_a_missing_credential_is_named(
    shop: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = shop_entry(shop.shop)
    missing = sorted(entry["credentials"])[0]
    del entry["credentials"][missing]
    code, err = backfill(write_config(tmp_path, [entry]), capsys)
    assert code == 3
    assert missing in err and "Traceback" not in err, err
    assert not shop.sim.request_log or customers_stored(tmp_path / "m.db") == 0


def test_a_mistyped_platform_option_is_named_with_a_did_you_mean(
    shop: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from loyalsync.connectors import connector_class

    declared = connector_class(shop.shop.platform).options
    option = next(o.name for o in declared if o.name != "flavour")
    entry = shop_entry(shop.shop)
    entry.setdefault(shop.shop.platform, {})[option + "s"] = 1
    code, err = backfill(write_config(tmp_path, [entry]), capsys)
    assert code == 3
    assert f"{option}s" in err and f"did you mean '{option}'" in err, err
    assert not shop.sim.request_log and not (tmp_path / "m.db").exists()


def test_an_unwritable_database_place(
    shop: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    db = blocker / "m.db"
    code, err = backfill(write_config(tmp_path, [shop_entry(shop.shop)], db=db), capsys)
    assert code == 3
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert f"database directory '{blocker}' is a file, not a directory" in err, err
    assert blocker.read_text() == "not a directory" and not shop.sim.request_log


def test_a_database_of_a_newer_schema_is_refused_untouched(
    shop: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "m.db"
    Mirror.open(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    code, err = backfill(write_config(tmp_path, [shop_entry(shop.shop)], db=db), capsys)
    assert code == 3
    assert f"schema version {SCHEMA_VERSION + 1}, newer" in err and "Traceback" not in err, err
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert not shop.sim.request_log
