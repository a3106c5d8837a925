"""Cheap on the shop's API: request budgets of a backfill, an incremental pull and the deletion
scan, counted on the simulator's request log (the OAuth token request is counted apart)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from loyalsync.connectors.shopware.client import ShopwareConnector
from loyalsync.connectors.shopware.simulator import ShopwareSimulator
from loyalsync.core.mirror import Mirror
from loyalsync.sync.pull import DELETION_SCAN_KEY, pull_shop, scan_deletions
from tests.contract.harness import FakeClock

CUSTOMERS, PAGE = 3_000, 500


def ceil(a: int, b: int) -> int:
    return -(-a // b)


def api_calls(sim: ShopwareSimulator) -> list[str]:
    return [r.path for r in sim.request_log if r.path != "/api/oauth/token"]


def test_budgets_of_backfill_incremental_pull_and_deletion_scan(
    make_sim: Callable[..., ShopwareSimulator],
    connect: Callable[..., ShopwareConnector],
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    sim = make_sim(customers=CUSTOMERS, seed=11)
    connector = connect(sim, page_size=PAGE)
    customers, orders = len(sim.customers), len(sim.orders)
    with Mirror.open(tmp_path / "m.db") as mirror:
        pull_shop(connector, mirror, connector.shop, backfill=True, now=clock)
        backfill = api_calls(sim)
        # pages of both entities, plus the shop's groups (with their sales channels) and tags
        # for the first backfill; the shop's newest change comes with each first page. 6.5+
        # keeps newsletter consent in newsletter_recipient, not on the customer: one look-up
        # of the page's e-mails per customer page (issue 16)
        pages = ceil(customers, PAGE)
        assert len(backfill) <= pages + ceil(orders, PAGE) + 2 + pages, backfill
        assert sum("newsletter-recipient" in p for p in backfill) == pages
        assert mirror.count("customers", "sw-test") == customers
        assert mirror.get_cursor("sw-test", DELETION_SCAN_KEY) is not None

        sim.reset_logs()
        clock.advance(hours=1)
        touched = sim.touch_customers(0.01, seed=3)
        clock.advance(minutes=5)
        sim.add_orders(7, seed=4)
        result = pull_shop(connector, mirror, connector.shop, now=clock)
        incremental = api_calls(sim)
        # no deletion scan (the backfill listed everyone), no groups/tags/sales channels; for
        # consent (6.5+) one request for the recipients changed in the window and one look-up
        # per customer page (issue 16)
        assert len(incremental) <= 8 + 2, incremental
        assert sum("newsletter-recipient" in p for p in incremental) == 2, incremental
        assert not any("customer_group" in p or "/tag" in p for p in incremental)
        assert result.entities["customers"].updated >= len(touched)
        assert result.deleted == 0

        sim.reset_logs()
        scan_deletions(connector, mirror, "sw-test", clock())
        # a keyset of ids: the pages the customers fill, no edge look-ups
        assert len(api_calls(sim)) == ceil(customers, PAGE)
    print(
        f"\nbackfill {len(backfill)} requests for {customers:,} customers / {orders:,} orders "
        f"(minimum {ceil(customers, PAGE) + ceil(orders, PAGE)}); 1% incremental pull "
        f"{len(incremental)} requests"
    )
