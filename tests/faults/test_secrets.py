"""Known secrets appear nowhere (issue 17, Security), every connector, through the real CLI at
-vv with text and with JSON logs: the credentials, the tokens the shop issued, and a password
in the shop's URL never reach a log line, an error or traceback, any table of the mirror, the
HTML report, or an export (customers as CSV and JSON, personal codes)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from loyalsync.sync.cli import run
from tests.faults.shops import AS_OF, PLATFORMS, SHOPS, shop_entry, write_config

URL_USER = "loyal"


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{URL_USER}:{password}@{parts.netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def issued_tokens(sim: Any) -> set[str]:
    return set(getattr(getattr(sim, "api", None), "tokens", None) or ())


def everything_stored(db: Path) -> str:
    """Every row of every table of the mirror, as text."""
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(f"{t}: {conn.execute(f'SELECT * FROM {t}').fetchall()!r}" for t in tables)


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("platform", PLATFORMS)
def test_secrets_appear_in_no_log_error_table_report_or_export(
    platform: str, fmt: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    harness = SHOPS[platform](20)
    password = f"UrlPassw0rd{fmt}Secret"
    try:
        entry = shop_entry(harness.shop, url=with_password(harness.shop.url, password))
        broken = shop_entry(
            harness.shop, name="broken", url=with_password(harness.shop.url + "/nope", password)
        )
        config = write_config(tmp_path, [entry], push=True)
        bad_config = write_config(tmp_path, [broken], db=tmp_path / "b.db", name="bad.yaml")
        base = ["--config", str(config), "-vv", "--log-format", fmt]
        report = tmp_path / "report.html"
        commands = [
            ["check"],
            ["backfill"],
            ["pull", "--deletion-scan"],
            ["segment", "--as-of", AS_OF],
            ["push", "--as-of", AS_OF, "--force"],
            ["report", "--as-of", AS_OF, "--out", str(report)],
            ["customers", "--format", "csv"],
            ["customers", "--format", "json", "--with-codes", "winback"],
            ["status", "--json"],
        ]
        exits = [run([*base, *command]) for command in commands]
        failed = run(["--config", str(bad_config), "-vv", "--log-format", fmt, "backfill"])
        tokens = issued_tokens(harness.sim)
    finally:
        harness.close()
    captured = capfd.readouterr()
    assert exits == [0] * len(commands), list(zip(commands, exits, strict=True))
    assert failed != 0
    secrets = {password, *tokens, *(v for v in harness.shop.credentials.values() if len(v) > 5)}
    if getattr(harness, "uses_tokens", platform == "shopware"):
        assert tokens, "the shop issued no token: nothing was checked for them"
    places = {
        "stdout": captured.out,
        "stderr (logs, errors)": captured.err,
        "mirror": everything_stored(tmp_path / "m.db"),
        "report": report.read_text(encoding="utf-8"),
    }
    assert "DEBUG" in captured.err or '"level": "debug"' in captured.err.lower()
    for place, text in places.items():
        leaked = sorted(s for s in secrets if s in text)
        assert not leaked, f"{place} shows {leaked}"
