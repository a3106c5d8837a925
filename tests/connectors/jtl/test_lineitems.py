"""Line items survive the process: a fresh connector on a reopened mirror fetches them only for
orders new to the mirror or changed (the `use_known` look-up, connectors/base.py), counted in
the simulator's request log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loyalsync.connectors.jtl.lineitems import ITEMS_KEY
from loyalsync.core.mirror import Mirror
from loyalsync.sync.pull import pull_shop
from tests.contract.jtl_harness import JtlHarness


@pytest.fixture
def harness() -> Iterator[JtlHarness]:
    h = JtlHarness(customers=120, seed=11)
    try:
        yield h
    finally:
        h.close()


def item_requests(h: JtlHarness) -> list[str]:
    return [r.path.split("/")[-2] for r in h.sim.requests("/lineitems", method="GET")]


def test_a_fresh_process_fetches_line_items_only_for_new_and_changed_orders(
    harness: JtlHarness, tmp_path: Path
) -> None:
    path = tmp_path / "mirror.db"
    with Mirror.open(path) as mirror:
        pull_shop(harness.connector(), mirror, harness.shop, backfill=True)
    visible = {o.id for o in harness.sim.store.visible_orders()}
    assert sorted(item_requests(harness), key=int) == sorted(visible, key=int)

    newest = max(harness.sim.store.visible_orders(), key=lambda o: o.created)
    harness.sim.store.cancel(newest.id)  # inside the re-read window: its header changes
    added = harness.add_orders(4, seed=5)
    harness.reset_requests()

    with Mirror.open(path) as mirror:  # a new process: new connector, reopened mirror
        result = pull_shop(harness.connector(), mirror, harness.shop)
        window = len(harness.sim.requests("/salesOrders", method="GET"))
        assert sorted(item_requests(harness)) == sorted({*added, newest.id})
        assert result.entities["orders"].new == len(added)
        assert result.entities["orders"].updated == 1
        assert result.entities["orders"].unchanged > 0, "the window re-read no known order"
        valid = mirror.frame(
            "SELECT is_valid FROM orders WHERE shop = ? AND id = ?", (harness.shop.name, newest.id)
        )
        assert valid["is_valid"].tolist() == [0]
        kept = next(o for o in harness.sim.store.visible_orders() if o.items and o.id != newest.id)
        lines = mirror.frame(
            "SELECT COUNT(*) AS n FROM order_items WHERE shop = ? AND order_id = ?",
            (harness.shop.name, kept.id),
        )
        assert lines["n"].tolist() == [len(kept.items)]  # an unchanged order keeps its items
    assert window >= 1

    harness.reset_requests()
    with Mirror.open(path) as mirror:  # nothing changed: not one line-item request
        again = pull_shop(harness.connector(), mirror, harness.shop)
    assert item_requests(harness) == []
    assert again.entities["orders"].updated == again.entities["orders"].new == 0


def test_the_mirror_keeps_each_orders_line_items_with_its_header(
    harness: JtlHarness, tmp_path: Path
) -> None:
    with Mirror.open(tmp_path / "mirror.db") as mirror:
        pull_shop(harness.connector(), mirror, harness.shop, backfill=True)
        order = next(o for o in harness.sim.store.visible_orders() if o.items)
        stored = mirror.raw_payloads(harness.shop.name, "orders", [order.id, "no-such-id"])
    assert set(stored) == {order.id}
    assert stored[order.id][ITEMS_KEY] == order.items
    assert {k: v for k, v in stored[order.id].items() if k != ITEMS_KEY} == order.header


def test_line_items_are_fetched_a_few_at_a_time_and_each_exactly_once(
    tmp_path: Path,
) -> None:
    h = JtlHarness(customers=60, seed=3, options={"line_item_workers": 4})
    try:
        with Mirror.open(tmp_path / "mirror.db") as mirror:
            pull_shop(h.connector(), mirror, h.shop, backfill=True)
            stored = mirror.raw_payloads(h.shop.name, "orders", sorted(h.order_ids()))
        fetched = item_requests(h)
        assert sorted(fetched) == sorted(h.order_ids())
        assert all(stored[o.id][ITEMS_KEY] == o.items for o in h.sim.store.visible_orders())
    finally:
        h.close()
