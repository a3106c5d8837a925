"""List entries no shop should send, served by the simulator over 127.0.0.1 (issue 17, Bad
input): entries that are not objects in the customers, orders, addresses, order_cart_rules,
cart_rules and groups answers, an order row that is not an object, a record twice in one page.
The good records of the same pages end up in the mirror exactly as a clean twin's; each bad
entry is in the quarantine with a reason naming its resource; the deletion scan stops before
marking anyone deleted when it cannot read an id."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from loyalsync.connectors.prestashop.client import PrestaShopConnector
from loyalsync.connectors.prestashop.simulator import PrestaShopSimulator
from loyalsync.core.errors import ApiError
from loyalsync.core.mirror import Mirror
from loyalsync.sync.pull import pull_shop, scan_deletions
from tests.connectors.prestashop.conftest import shop_for
from tests.contract.harness import FakeClock, mirror_dump

Make = Callable[..., PrestaShopSimulator]
Connect = Callable[..., PrestaShopConnector]
PAGE = 20


def backfill(sim: PrestaShopSimulator, connect: Connect, path: Path, clock: FakeClock) -> Any:
    mirror = Mirror.open(path)
    shop = shop_for(sim, page_size=PAGE)
    pull_shop(connect(sim, page_size=PAGE), mirror, shop, backfill=True, now=clock)
    return mirror


def quarantine(mirror: Mirror) -> list[tuple[str, str]]:
    return sorted(mirror.conn.execute("SELECT entity, error FROM _quarantine").fetchall())


def test_entries_that_are_not_objects_are_quarantined_and_the_pages_kept(
    make_sim: Make, connect: Connect, clock: FakeClock, tmp_path: Path
) -> None:
    clean, dirty = make_sim(customers=60), make_sim(customers=60)
    dirty.serve_bad_rows("customers", [None, "junk"], at=3)  # inside the first page
    dirty.serve_bad_rows("customers", [[1, 2]], at=0)  # and the second
    dirty.serve_bad_rows("orders", [7], at=5)
    dirty.serve_bad_rows("addresses", ["x"], display=None)
    dirty.serve_bad_rows("order_cart_rules", [False], display=None)
    dirty.serve_bad_rows("groups", [None])
    with backfill(clean, connect, tmp_path / "clean.db", clock) as expected:
        want = mirror_dump(expected)
        assert quarantine(expected) == []
    with backfill(dirty, connect, tmp_path / "dirty.db", clock) as mirror:
        assert mirror_dump(mirror) == want  # every good record of the same pages kept
        assert quarantine(mirror) == [
            ("addresses", "addresses row is not an object: str"),
            ("customers", "customers row is not an object: NoneType"),
            ("customers", "customers row is not an object: list"),
            ("customers", "customers row is not an object: str"),
            ("groups", "groups row is not an object: NoneType"),
            ("order_cart_rules", "order_cart_rules row is not an object: bool"),
            ("orders", "orders row is not an object: int"),
        ]
        raws = [json.loads(r[0]) for r in mirror.conn.execute("SELECT raw FROM _quarantine")]
        assert sorted(map(repr, raws)) == sorted(
            map(repr, [None, "junk", [1, 2], 7, "x", False, None])
        )
    assert all(not b for b in dirty.api.bad_rows.values()), "every bad entry was served"


def test_an_order_row_that_is_not_an_object_quarantines_its_order(
    make_sim: Make, connect: Connect, clock: FakeClock, tmp_path: Path
) -> None:
    sim = make_sim(customers=30)
    oid = min(sim.table("orders"))
    sim.table("orders")[oid]["associations"]["order_rows"].append("broken")
    with backfill(sim, connect, tmp_path / "m.db", clock) as mirror:
        held = {r[0] for r in mirror.conn.execute("SELECT id FROM orders")}
        assert held == {str(i) for i in sim.table("orders")} - {str(oid)}
        assert mirror.conn.execute("SELECT entity, id, error FROM _quarantine").fetchall() == [
            ("orders", str(oid), f"order {oid}: order_rows entry 2 is not an object: str")
        ]


def test_a_record_twice_in_one_page_is_kept_once(
    make_sim: Make, connect: Connect, clock: FakeClock, tmp_path: Path
) -> None:
    """As for Shopware (core.plausible): one copy stored, the other quarantined saying so."""
    clean, dirty = make_sim(customers=40), make_sim(customers=40)
    dirty.serve_bad_rows("customers", copies=1, copy_of=4)  # not the first: the GDPR customer
    dirty.serve_bad_rows("orders", copies=2)
    with backfill(clean, connect, tmp_path / "clean.db", clock) as expected:
        want = mirror_dump(expected)
    with backfill(dirty, connect, tmp_path / "dirty.db", clock) as mirror:
        assert mirror_dump(mirror) == want
        found = sorted(mirror.conn.execute("SELECT entity, error FROM _quarantine").fetchall())
    same = "duplicate id within one page: the newest copy is kept"
    assert found == [("customers", same), ("orders", same)]


def test_the_deletion_scan_stops_on_an_id_it_cannot_read(
    make_sim: Make, connect: Connect, clock: FakeClock, tmp_path: Path
) -> None:
    sim = make_sim(customers=30)
    with backfill(sim, connect, tmp_path / "m.db", clock) as mirror:
        live = mirror.count("customers", "ps-test")
        sim.serve_bad_rows("customers", ["?"], display="[id]")
        sim.serve_bad_rows("customers", [{"id": "x"}], display="[id]")
        for reason in ("customers row is not an object: str", "row without a valid id: 'x'"):
            with pytest.raises(ApiError, match=reason):
                scan_deletions(connect(sim), mirror, "ps-test", clock())
        deleted = mirror.conn.execute(
            "SELECT COUNT(*) FROM customers WHERE deleted_at IS NOT NULL"
        ).fetchone()
        assert deleted == (0,) and mirror.count("customers", "ps-test") == live
        assert scan_deletions(connect(sim), mirror, "ps-test", clock()) == 0
