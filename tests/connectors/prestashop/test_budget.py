"""Cheap on the shop's API: the request budgets of a PrestaShop backfill, an incremental pull
and the deletion scan, counted on the simulator's request log.

The minimum a backfill must read, for C customers (the psgdpr anonymous one included),
O orders and R order_cart_rules rows at page size P:
- C // P + 1 customer pages and O // P + 1 order pages: an id keyset only knows it is done at
  a short page (the orders' rows come inside `display=full`, no request of their own);
- one address read per customer page (`filter[id_customer]=[first,last]`), plus one order
  look-up for a page holding customers whose addresses are all soft-deleted (geography then
  comes from their latest order's address, already read); none for customers with no address;
- R // P + 1 pages of order_cart_rules (redemptions), read as their own keyset by `id_order`,
  not one per order page, and the codes of the cart rules they name (one read per page of
  rules, ids in one filter);
- the reference data, once: configurations (PS_TIMEZONE, PS_OS_*, PS_LANG_DEFAULT), countries,
  currencies, order states, the anonymous customer's id; the groups, for the first backfill;
- one look-up per pass of the shop's newest `date_upd` (where the next window starts).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from loyalsync.connectors.prestashop import pulls
from loyalsync.connectors.prestashop.client import PrestaShopConnector
from loyalsync.connectors.prestashop.simulator import Logged, PrestaShopSimulator
from loyalsync.core.mirror import Mirror
from loyalsync.sync.pull import DELETION_SCAN_KEY, pull_shop, scan_deletions
from tests.contract.harness import FakeClock

CUSTOMERS, PAGE = 3_000, 500
REFERENCE = {"configurations": 1, "countries": 1, "currencies": 1, "order_states": 1}


def kind(r: Logged) -> str:
    """What a request read: the resource, and which of its kinds of read."""
    resource = r.path.removeprefix("/api/")
    if "filter[email]" in r.query:
        return f"{resource}: anonymous"
    if r.query.get("sort") == "[date_upd_DESC]":
        return f"{resource}: newest change"
    if resource == "orders" and "filter[id_customer]" in r.query:
        return "orders: latest address"
    return resource


def reads(sim: PrestaShopSimulator) -> Counter[str]:
    assert all(r.method == "GET" for r in sim.request_log)
    return Counter(kind(r) for r in sim.request_log)


def shape_the_shop(sim: PrestaShopSimulator) -> tuple[list[int], list[int]]:
    """Three customers of the first page whose addresses are all soft-deleted, and twenty of
    the second page who never ordered and have no address."""
    addresses, orders = sim.table("addresses"), sim.table("orders")
    live = sim.store.live_customers()
    stale, bare = live[1:4], live[PAGE + 10 : PAGE + 30]
    for row in addresses.values():
        if int(row["id_customer"]) in stale:
            row["deleted"] = "1"
    for aid in [a for a, row in addresses.items() if int(row["id_customer"]) in bare]:
        del addresses[aid]
    for oid in [o for o, row in orders.items() if int(row["id_customer"]) in bare]:
        del orders[oid]
    ocr = sim.table("order_cart_rules")
    for rid in [r for r, row in ocr.items() if int(row["id_order"]) not in orders]:
        del ocr[rid]
    return stale, bare


def test_backfill_reads_the_minimum(
    make_sim: Callable[..., PrestaShopSimulator],
    connect: Callable[..., PrestaShopConnector],
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    sim = make_sim(customers=CUSTOMERS, seed=11)
    stale, bare = shape_the_shop(sim)
    connector = connect(sim, page_size=PAGE)
    customers, orders = len(sim.table("customers")), len(sim.table("orders"))
    rules = len(sim.table("order_cart_rules"))
    assert rules > PAGE // 2, "enough redemptions for the keyset to matter"
    with Mirror.open(tmp_path / "m.db") as mirror:
        pull_shop(connector, mirror, connector.shop, backfill=True, now=clock)
        backfill = reads(sim)
        assert backfill == Counter(
            {
                **REFERENCE,
                "customers: anonymous": 1,
                "groups": 1,
                "customers: newest change": 1,
                "orders: newest change": 1,
                "customers": customers // PAGE + 1,
                "addresses": -(-customers // PAGE),
                "orders: latest address": 1,  # the page with the stale three only
                "orders": orders // PAGE + 1,
                "order_cart_rules": rules // PAGE + 1,
                "cart_rules": 1,
            }
        ), backfill
        sql = "SELECT id, COALESCE(city, '') FROM customers"
        city = dict(mirror.frame(sql).itertuples(index=False))
        assert len(city) == customers - 1 and mirror.get_cursor("ps-test", DELETION_SCAN_KEY)
        assert all(city[str(c)] for c in stale), "the latest order's address"
        assert not any(city[str(c)] for c in bare)
        redeemed = mirror.frame("SELECT id FROM orders WHERE codes != '[]'").shape[0]
        assert redeemed == len({r["id_order"] for r in sim.table("order_cart_rules").values()})
    print(
        f"\nbackfill: {sum(backfill.values())} requests for {customers:,} customers, "
        f"{orders:,} orders, {rules:,} order cart rules at page {PAGE}: {dict(backfill)}"
    )


def test_a_one_percent_pull_and_the_deletion_scan_stay_small(
    make_sim: Callable[..., PrestaShopSimulator],
    connect: Callable[..., PrestaShopConnector],
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    sim = make_sim(customers=CUSTOMERS, seed=11)
    with Mirror.open(tmp_path / "m.db") as mirror:
        backfilled = connect(sim, page_size=PAGE)
        pull_shop(backfilled, mirror, backfilled.shop, backfill=True, now=clock)
        sim.reset_logs()
        clock.advance(hours=1)
        touched = sim.touch_customers(0.01, seed=3)
        clock.advance(minutes=5)
        sim.add_orders(7, seed=4)
        fresh = connect(sim, page_size=PAGE)  # a new process: the reference data once more
        result = pull_shop(fresh, mirror, fresh.shop, now=clock)
        incremental = reads(sim)
        # per entity: its newest change, one page of the window; the touched customers'
        # addresses, the new orders' cart rules; no groups, no deletion scan (not due)
        assert incremental == Counter(
            {
                **REFERENCE,
                "customers: anonymous": 1,
                "customers: newest change": 1,
                "orders: newest change": 1,
                "customers": 1,
                "addresses": 1,
                "orders": 1,
                "order_cart_rules": 1,
            }
        ), incremental
        assert result.entities["customers"].updated >= len(touched)
        assert result.entities["orders"].new == 7 and result.deleted == 0

        sim.reset_logs()
        scan_deletions(fresh, mirror, "ps-test", clock())
        ids = len(sim.table("customers"))
        scans = list(sim.request_log)
        assert len(scans) == ids // pulls.ID_SCAN_LIMIT + 1
        assert all(r.query["display"] == "[id]" and "filter[id]" in r.query for r in scans)
        sim.reset_logs()
        windows = list(pulls.iter_ids(fresh, "customers", window=PAGE))
        assert len(sim.request_log) == len(windows) + (ids % PAGE == 0) == ids // PAGE + 1
        assert sum(len(w) for w in windows) == ids
    print(
        f"\n1% incremental pull (new connector): {sum(incremental.values())} requests; "
        f"deletion scan of {ids:,} ids: {len(scans)} request(s)"
    )
