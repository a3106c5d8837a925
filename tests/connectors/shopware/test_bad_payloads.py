"""Malformed rows served by the simulator over 127.0.0.1: quarantined with a reason, the rest
of the page kept, and nothing crashes (issue 11 section 6)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from loyalsync.connectors.shopware.client import ShopwareConnector
from loyalsync.connectors.shopware.simulator import ShopwareSimulator
from loyalsync.core.mirror import Mirror
from loyalsync.sync.pull import pull_entity, pull_shop
from tests.connectors.shopware.conftest import shop_for

Connect = Callable[..., ShopwareConnector]


def test_rows_that_are_not_objects_are_quarantined_and_the_page_kept(
    sim: ShopwareSimulator, connect: Connect, tmp_path: Path
) -> None:
    sim.serve_bad_rows("customer", [[1, 2], None])
    sim.serve_bad_rows("order", ["text"])
    with Mirror.open(tmp_path / "m.db") as mirror:
        for entity in ("customers", "orders"):
            pull_entity(connect(sim), mirror, "sw-test", entity)
        assert mirror.count("customers", "sw-test") == len(sim.customers)
        assert mirror.count("orders", "sw-test") == len(sim.orders)
        errors = sorted(
            (e, err) for e, err in mirror.conn.execute("SELECT entity, error FROM _quarantine")
        )
        assert mirror.quarantine_counts("sw-test") == {"sw-test:customers": 2, "sw-test:orders": 1}
    assert errors == [
        ("customers", "customer payload is not an object: NoneType"),
        ("customers", "customer payload is not an object: list"),
        ("orders", "order payload is not an object: str"),
    ]


def test_a_tag_or_group_without_an_id_is_quarantined_and_the_shop_pulled(
    sim: ShopwareSimulator, connect: Connect, tmp_path: Path
) -> None:
    sim.serve_bad_rows("tag", [{"name": "orphan"}, {"id": "a" * 32, "name": {"de": "x"}}])
    sim.serve_bad_rows("customer_group", [None])
    with Mirror.open(tmp_path / "m.db") as mirror:
        pull_shop(connect(sim), mirror, shop_for(sim), backfill=True)
        assert mirror.count("customers", "sw-test") == len(sim.customers)
        errors = sorted(mirror.conn.execute("SELECT entity, error FROM _quarantine"))
    assert errors == [
        ("groups", "customer_group payload is not an object: NoneType"),
        ("tags", "tag (no id): missing id"),
        ("tags", f"tag {'a' * 32}: name is not text: dict"),
    ]
