"""A demo shop for the report tests: the Shopware simulator on 127.0.0.1, pulled, segmented at
two moments, pushed (with a discount campaign) by the real commands, and one later order that
redeems a code; plus helpers to build a report from a mirror."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console

from loyalsync.connectors import platform_options
from loyalsync.connectors.shopware import simulator
from loyalsync.core.config import Config, load_config
from loyalsync.core.mirror import Mirror, record_redemptions
from loyalsync.core.records import Cursor, OrderRecord
from loyalsync.sync.cli import run
from loyalsync.sync.demo_steps import DemoRun
from tests.sync.conftest import AS_OF, write_config

LATER = AS_OF + timedelta(days=21)  # the second segmentation and the report
CAMPAIGN = "  discounts: [{name: winback, segment: 'lifecycle:slipping', percent: 10}]\n"
# one customer per account, so that the SQL in the tests can count accounts
SEGMENTATION = "segmentation: {merge_guests_by_email: false}\n"


@dataclass
class DemoShop:
    config: Path
    db: Path
    report: Path
    redeemed_revenue: float


def redeem_one_code(db: Path) -> float:
    """A later pull brings an order that used one issued code (as the shop would report it)."""
    with Mirror.open(db) as m:
        customer_id, code = m.conn.execute(
            "SELECT customer_id, code FROM codes WHERE shop = 'main' ORDER BY code LIMIT 1"
        ).fetchone()
        gross = 123.45
        o = OrderRecord(
            id="later-1", number="later-1", customer_id=customer_id, email=None,
            placed_at=AS_OF + timedelta(days=3), status="completed", is_valid=True,
            total_gross=gross, total_net=gross / 1.19, currency="EUR",
            base_currency_total_gross=gross, base_currency_total_net=gross / 1.19,
            codes=(code,),
        )  # fmt: skip
        m.save_page("main", "orders", [o], Cursor(), cursor_entity="orders-test")
        assert record_redemptions(m, "main") == 1
    return gross


@pytest.fixture(scope="session")
def demo_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoShop]:
    directory = tmp_path_factory.mktemp("report-demo")
    sim = simulator.serve(customers=400, seed=11, as_of=AS_OF)
    try:
        config = write_config(directory, [("main", sim, sim.client_secret)], push=True)
        config.write_text(config.read_text() + CAMPAIGN + SEGMENTATION)
        DemoRun(config, Console(file=io.StringIO())).run(as_of=AS_OF)
    finally:
        sim.stop()
    db = directory / "m.db"
    revenue = redeem_one_code(db)
    assert run(["--config", str(config), "-q", "segment", "--as-of", LATER.isoformat()]) == 0
    out = directory / "later.html"
    args = ["--config", str(config), "-q", "report", "--as-of", LATER.isoformat(), "--out"]
    assert run([*args, str(out)]) == 0
    yield DemoShop(config, db, out, revenue)


def shop_config(directory: Path, db: str = "m.db") -> Path:
    """A config whose shop was never pulled (the URL is never contacted by `report`)."""
    path = directory / "loyalsync.yaml"
    path.write_text(
        f"database: {db}\nshops:\n  - name: main\n    platform: shopware\n"
        "    url: http://127.0.0.1:9\n    credentials: {client_id: x, client_secret: y}\n"
    )
    return path


def loaded(path: Path) -> Config:
    return load_config(path, env={}, platforms=platform_options)
