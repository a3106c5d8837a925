"""A shop down for the whole run (issue 17, Faults), every connector, through the real CLI:
every request of that shop answers 503 (a maintenance page with `Retry-After: 0`, so the
retries cost no time); the run ends with exit 75 (EX_TEMPFAIL, try later) and one clear line
naming the shop, while the other shop of the same config is backfilled completely."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from loyalsync.sync.cli import run
from tests.faults.shops import PLATFORMS, SHOPS, shop_entry, write_config


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_shop_down_all_run_exits_75_and_the_other_shop_is_pulled(
    platform: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    down, up = SHOPS[platform](40), SHOPS[platform](40)
    try:
        fault_type = type(down.sim.faults)
        down.sim.set_faults(fault_type(unavailable=1.0, down_for="0"))
        config = write_config(
            tmp_path, [shop_entry(down.shop, name="down"), shop_entry(up.shop, name="up")]
        )
        assert run(["--config", str(config), "backfill"]) == 75
        err = capsys.readouterr().err
        served = len(down.sim.request_log)
        expected = len(up.customer_ids())
    finally:
        down.close()
        up.close()
    lines = [line for line in err.splitlines() if "down" in line and "failed" in line]
    assert len(lines) == 1, err
    assert "503" in lines[0] and "gave up after 6 attempts" in lines[0], lines[0]
    assert "Traceback" not in err and "unexpected" not in err
    assert served == 6, "the shop was not retried, or retried without end"
    with sqlite3.connect(tmp_path / "m.db") as conn:
        counts = dict(conn.execute("SELECT shop, COUNT(*) FROM customers GROUP BY shop"))
    assert counts == {"up": expected}
