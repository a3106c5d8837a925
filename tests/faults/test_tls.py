"""TLS for every connector (issue 17, Bad input and Security): a shop whose certificate we
cannot verify is refused by default with one line and exit 3, before anything is written;
`verify_tls: false` (per shop, explicit) connects and says so in a warning on every run."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from loyalsync.sync.cli import run
from tests.faults.shops import PLATFORMS, SHOPS, shop_entry, write_config
from tests.faults.tls import TlsFront

WARNING = "TLS certificate verification is OFF"


def port_of(url: str) -> int:
    return int(urlsplit(url).port or 0)


def behind_tls(harness: Any, front: TlsFront, **extra: Any) -> dict[str, Any]:
    plain = f"http://127.0.0.1:{port_of(harness.shop.url)}"
    secure = f"https://127.0.0.1:{front.port}"
    entry = shop_entry(harness.shop, url=harness.shop.url.replace(plain, secure), **extra)
    section = entry.get(harness.shop.platform)
    if section:  # JTL cloud's token endpoint sits behind the same front
        entry[harness.shop.platform] = {
            k: v.replace(plain, secure) if isinstance(v, str) else v for k, v in section.items()
        }
    return entry


@pytest.fixture(params=PLATFORMS)
def shop(request: pytest.FixtureRequest) -> Any:
    harness = SHOPS[request.param](30)
    front = TlsFront(port_of(harness.shop.url))
    yield harness, front
    front.close()
    harness.close()


def stored(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0])


def test_an_unverifiable_certificate_is_refused_by_default(
    shop: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    harness, front = shop
    config = write_config(tmp_path, [behind_tls(harness, front)])
    assert run(["--config", str(config), "backfill"]) == 3
    err = capsys.readouterr().err
    failed = [line for line in err.splitlines() if "failed" in line]
    assert len(failed) == 1, err
    assert "TLS failure (certificate verify failed" in failed[0], failed[0]
    assert "check the shop's url and its certificate" in failed[0]
    assert "Traceback" not in err and WARNING not in err
    assert front.handshakes_failed >= 1 and not harness.sim.request_log
    assert stored(tmp_path / "m.db") == 0


def test_verify_tls_false_connects_and_warns_on_every_run(
    shop: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    harness, front = shop
    config = write_config(tmp_path, [behind_tls(harness, front, verify_tls=False)])
    assert run(["--config", str(config), "backfill"]) == 0
    first = capsys.readouterr().err
    assert run(["--config", str(config), "pull"]) == 0
    second = capsys.readouterr().err
    for err in (first, second):
        assert err.count(WARNING) == 1, err
        assert "InsecureRequestWarning" not in err
    assert stored(tmp_path / "m.db") == len(harness.customer_ids())


def test_verify_tls_must_be_a_boolean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    harness = SHOPS["shopware"](5)  # the option is the shop's, checked alike for every platform
    try:
        entry = shop_entry(harness.shop, verify_tls="sometimes")
        assert run(["--config", str(write_config(tmp_path, [entry])), "backfill"]) == 3
        err = capsys.readouterr().err
        assert "verify_tls" in err and not harness.sim.request_log
    finally:
        harness.close()
