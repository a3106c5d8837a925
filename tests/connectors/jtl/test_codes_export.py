"""`loyalsync customers --segment S --format csv --with-codes CAMPAIGN` on a JTL shop: one
personal code per listed customer, recorded as 'exported' (never 'issued'), the same codes on
a second export; an unknown campaign is refused with a did-you-mean; plan says codes are not
possible on JTL."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from loyalsync.connectors.jtl.simulator import JtlSimulator
from loyalsync.core.mirror import Mirror
from loyalsync.core.synth import SynthSpec
from loyalsync.sync.cli import run


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    with JtlSimulator.from_spec(SynthSpec(customers=120)) as sim:
        path = tmp_path / "loyalsync.yaml"
        path.write_text(
            f"database: {tmp_path / 'm.db'}\nshops:\n  - name: wawi\n    platform: jtl\n"
            f"    url: {sim.url}\n    credentials:\n      api_key: {sim.api.api_key}\n"
            "    requests_per_second: 1000\nsegmentation:\n  min_age_days: 0\n"
            "push:\n  enabled: true\n  discounts:\n"
            "    - {name: winback, segment: 'abc:A', percent: 10, code_prefix: WB}\n"
        )
        assert run(["backfill", "--config", str(path)]) == 0
        assert run(["segment", "--config", str(path)]) == 0
        yield path


def export(config: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict[str, str]]:
    capsys.readouterr()
    args = ["customers", "--config", str(config), "--segment", "abc:A", "--format", "csv"]
    assert run([*args, *extra]) == 0
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def test_codes_are_exported_once_per_customer_and_recorded_as_exported(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = export(config, capsys, "--with-codes", "winback")
    assert rows and all(r["code"].startswith("WB-") for r in rows)
    assert len({r["code"] for r in rows}) == len(rows)
    mirror = Mirror.open(config.parent / "m.db")
    try:
        stored = mirror.conn.execute("SELECT customer_id, code, status FROM codes").fetchall()
    finally:
        mirror.close()
    assert {(r["customer_id"], r["code"]) for r in rows} == {(c, k) for c, k, _ in stored}
    assert {s for _, _, s in stored} == {"exported"}
    again = export(config, capsys, "--with-codes", "winback")
    assert [r["code"] for r in again] == [r["code"] for r in rows]
    assert "code" not in export(config, capsys)[0]


def test_an_unknown_campaign_is_refused_with_a_did_you_mean(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["customers", "--config", str(config), "--format", "csv", "--with-codes", "winbak"]
    assert run(args) != 0
    assert "did you mean 'winback'" in capsys.readouterr().err


def test_plan_says_codes_are_not_possible_on_jtl(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert run(["plan", "--config", str(config)]) == 0
    out = capsys.readouterr()
    assert "cannot set personal discount codes" in out.out + out.err
