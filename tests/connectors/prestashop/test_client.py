"""The PrestaShop connector's reads against the simulator over real sockets: auth and its
errors, check, time zones, request shapes, clock skew, addresses, anonymous customer, order
validity, quirks (PHP warnings, HTML pages)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from loyalsync.connectors.prestashop.client import PrestaShopConnector
from loyalsync.connectors.prestashop.simulator import Faults, PrestaShopSimulator
from loyalsync.core.errors import AuthError, ConfigError, TransientError
from loyalsync.core.mirror import Mirror
from loyalsync.core.records import Cursor
from loyalsync.sync.pull import pull_entity
from tests.contract.harness import FakeClock

Make = Callable[..., PrestaShopSimulator]
Connect = Callable[..., PrestaShopConnector]


def everything(
    connector: PrestaShopConnector, entity: str, cursor: Cursor | None = None
) -> list[Any]:
    it = connector.iter_customers if entity == "customers" else connector.iter_orders
    return [r for page in it(cursor or Cursor()) for r in page.records]


def test_a_resource_the_key_may_not_use_is_named(make_sim: Make, connect: Connect) -> None:
    sim = make_sim()
    perms = {r: {"GET", "HEAD"} for r in ("customers", "configurations", "countries")}
    sim.set_permissions(perms)
    connector = connect(sim)
    with pytest.raises(AuthError, match="may not use 'orders'") as caught:
        everything(connector, "orders")
    assert caught.value.code == "26"
    with pytest.raises(ConfigError, match="lacks GET orders"):
        connect(sim).check()


def test_a_wrong_key_is_a_config_error_without_the_key(make_sim: Make, connect: Connect) -> None:
    sim = make_sim()
    wrong = "X" * 32
    with pytest.raises(AuthError) as caught:
        connect(sim, credentials={"api_key": wrong}).check()
    assert caught.value.code == "20" and "not active" in str(caught.value)
    assert wrong not in str(caught.value) and wrong not in repr(caught.value)
    with pytest.raises(AuthError, match="32 characters"):
        connect(sim, credentials={"api_key": "short-key"}).check()


def test_the_key_goes_as_basic_auth_never_in_the_url(make_sim: Make, connect: Connect) -> None:
    sim = make_sim()
    connect(sim).check()
    assert sim.request_log and all("ws_key" not in r.query for r in sim.request_log)


@pytest.mark.parametrize(("version", "method"), [("1.7.8", "GET + full PUT"), ("9.0", "PATCH")])
def test_check_reports_version_permissions_and_counts(
    make_sim: Make, connect: Connect, version: str, method: str
) -> None:
    sim = make_sim(version=version)
    result = connect(sim).check()
    assert result.version == sim.api.version
    assert result.customers == len(sim.store.live_customers())  # without the anonymous one
    assert result.orders == len(sim.table("orders"))
    assert f"group changes by {method}" in result.messages
    lines = {m.split(":")[0]: m for m in result.messages}
    assert lines["orders"] == "orders: GET (not POST, PUT, PATCH)"
    expected = "customers: GET POST PUT PATCH" if version == "9.0" else "customers: GET POST PUT"
    assert lines["customers"].startswith(expected)


def test_shop_dates_use_ps_timezone_or_the_option(make_sim: Make, connect: Connect) -> None:
    sim = make_sim(timezone="America/New_York")
    first = everything(connect(sim), "customers")[0]
    raw = sim.table("customers")[int(first.id)]["date_add"]
    local = datetime.strptime(raw, "%Y-%m-%d %H:%M:%S")
    assert first.created_at.astimezone(UTC).replace(tzinfo=None) != local
    sim.set_permissions({r: {"GET"} for r in ("customers", "orders", "addresses", "countries")})
    optioned = connect(sim, options={"timezone": "America/New_York"})
    assert everything(optioned, "customers")[0].created_at == first.created_at
    check = optioned.check()
    assert any("timezone option" in m for m in check.messages)
    utc = everything(connect(sim), "customers")[0]
    assert utc.created_at == local.replace(tzinfo=UTC)


def test_backfill_and_incremental_request_shapes(make_sim: Make, connect: Connect) -> None:
    sim = make_sim()
    connector = connect(sim, page_size=1000)
    pages = list(connector.iter_customers(Cursor()))
    lists = [r.query for r in sim.requests("/api/customers") if r.query.get("display") == "full"]
    assert lists == [
        {"display": "full", "sort": "[id_ASC]", "limit": "1000", "filter[id]": "[1,2147483647]"}
    ]
    since = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
    sim.reset_logs()
    list(connector.iter_customers(Cursor(since=since)))
    logged = [r.query for r in sim.requests("/api/customers") if r.query.get("date") == "1"]
    # a pass starts with one look-up of the shop's newest change, by its own data
    assert logged[0] == {
        "display": "[id,date_add,date_upd]",
        "sort": "[date_upd_DESC]",
        "limit": "1",
        "date": "1",
    }
    query = logged[1]
    # the lag (10 minutes) before the cursor, written in the shop's zone (CEST: +2 h)
    assert query["filter[date_upd]"] == "[2026-10-01 11:50:00,9999-12-31 23:59:59]"
    assert pages[-1].cursor.after == str(max(sim.table("customers")))


@pytest.mark.parametrize(
    "offset", [timedelta(days=-395), timedelta(minutes=30)], ids=["13-months-behind", "ahead"]
)
def test_after_a_backfill_edits_and_orders_are_seen_whatever_the_shop_clock(
    make_sim: Make, connect: Connect, clock: FakeClock, tmp_path: Path, offset: timedelta
) -> None:
    sim = make_sim(clock_offset=offset)
    connector = connect(sim)
    mirror = Mirror.open(tmp_path / "m.db")
    passed: list[str] = []

    def behind_the_keyset(entity: str, page: Any, counts: Any) -> None:
        if entity == "customers" and not passed:  # an edit during the backfill, already read
            row = sim.table("customers")[int(page.records[0].id)]
            row["note"], row["date_upd"] = "edited mid-pass", sim.store.now()
            passed.append(page.records[0].id)

    for entity in ("customers", "orders"):
        pull_entity(connector, mirror, "ps-test", entity, backfill=True, on_page=behind_the_keyset)
    clock.advance(hours=2)
    touched = {str(i) for i in sim.touch_customers(0.05, seed=1)}
    added = {str(i) for i in sim.add_orders(3, seed=2)}
    seen: dict[str, set[str]] = {"customers": set(), "orders": set()}
    for entity in ("customers", "orders"):
        pull_entity(
            connector, mirror, "ps-test", entity,
            on_page=lambda e, p, c: seen[e].update(r.id for r in p.records),
        )  # fmt: skip
    assert touched | set(passed) <= seen["customers"]
    assert added <= seen["orders"]
    assert len(seen["customers"]) < len(sim.store.live_customers()) / 2, "not a full re-read"
    mirror.close()


def test_address_is_the_latest_active_else_the_latest_orders(
    make_sim: Make, connect: Connect
) -> None:
    sim = make_sim()
    addresses = sim.table("addresses")
    owners = sorted({int(o["id_customer"]) for o in sim.table("orders").values()})
    keep, fallback = owners[1], owners[2]
    mine = next(a for a in addresses.values() if a["id_customer"] == str(keep))
    newer = {**mine, "city": "Gelöscht", "deleted": "1", "date_upd": "2026-10-30 10:00:00"}
    sim.store.insert("addresses", newer)
    for row in addresses.values():
        if row["id_customer"] == str(fallback):
            row["deleted"], row["city"] = "1", "Altstadt"  # soft-deleted, used by the orders
    by_id = {c.id: c for c in everything(connect(sim), "customers")}
    assert by_id[str(keep)].city == mine["city"]
    assert by_id[str(fallback)].city == "Altstadt"


def test_the_gdpr_anonymous_customer_is_left_out(make_sim: Make, connect: Connect) -> None:
    sim = make_sim()
    anonymous = sim.store.anonymous_id
    order_id = min(sim.table("orders"))
    sim.table("orders")[order_id]["id_customer"] = str(anonymous)
    connector = connect(sim)
    customers = everything(connector, "customers")
    assert str(anonymous) not in {c.id for c in customers}
    assert len(customers) == len(sim.store.live_customers())
    order = next(o for o in everything(connector, "orders") if o.id == str(order_id))
    assert order.customer_id is None


def test_order_validity_follows_the_state_flags(make_sim: Make, connect: Connect) -> None:
    sim = make_sim()
    states = sim.table("order_states")
    states[10]["logable"] = "1"  # this shop counts "awaiting bank wire" as valid
    orders = everything(connect(sim), "orders")
    for order in orders:
        state = states[int(sim.table("orders")[int(order.id)]["current_state"])]
        assert order.is_valid == (state["logable"] == "1" or state["paid"] == "1")
    assert any(o.is_valid and o.raw["current_state"] == "10" for o in orders)
    assert any(o.status == "cancelled" and not o.is_valid for o in orders)
    chf = [o for o in orders if o.currency == "CHF"]
    assert chf and all(o.base_currency_total_gross > o.total_gross for o in chf)


def test_redeemed_codes_come_from_the_orders_cart_rules(make_sim: Make, connect: Connect) -> None:
    sim = make_sim()
    used = {int(r["id_order"]) for r in sim.table("order_cart_rules").values()}
    assert used
    orders = {o.id: o for o in everything(connect(sim), "orders")}
    for oid, order in orders.items():
        assert bool(order.codes) == (int(oid) in used)


def test_php_warnings_change_nothing(make_sim: Make, connect: Connect) -> None:
    sim = make_sim()
    clean = everything(connect(sim), "customers")
    sim.php_warnings = True
    assert everything(connect(sim), "customers") == clean


def test_html_error_pages_are_transient(
    make_sim: Make, connect: Connect, sleeps: list[float]
) -> None:
    sim = make_sim()
    sim.set_faults(Faults(bad_gateway=1.0))
    with pytest.raises(TransientError):
        everything(connect(sim), "customers")
    assert sleeps


def test_deletion_scan_reads_only_ids(make_sim: Make, connect: Connect) -> None:
    sim = make_sim()
    gone = sim.store.live_customers()[:2]
    sim.delete_customers(gone)
    ids = {i for chunk in connect(sim).iter_customer_ids() for i in chunk}
    assert ids == {str(i) for i in sim.table("customers")}
    scans = [r.query for r in sim.requests("/api/customers") if r.query.get("display") == "[id]"]
    assert scans and all("filter[id]" in q for q in scans if "filter[email]" not in q)


def test_a_backfill_reads_cart_rules_as_a_keyset_and_misses_none(
    make_sim: Make, connect: Connect
) -> None:
    sim = make_sim()
    orders = sorted(sim.table("orders"))
    crowded = orders[40]  # one order holding more rules than a page: read unbounded
    for n in range(9):
        rule = sim.store.insert("cart_rules", sim.store.shared_rule(f"STACK{n}"))
        sim.store.insert(
            "order_cart_rules",
            {"id_order": str(crowded), "id_cart_rule": str(rule), "name": "x", "value": "1"},
        )
    expected: dict[str, set[str]] = {}
    for row in sim.table("order_cart_rules").values():
        code = sim.table("cart_rules")[int(row["id_cart_rule"])]["code"]
        expected.setdefault(row["id_order"], set()).add(code)
    got = {o.id: set(o.codes) for o in everything(connect(sim, page_size=7), "orders") if o.codes}
    assert got == expected and len(got[str(crowded)]) >= 9
    keyset = [r.query for r in sim.requests("/api/order_cart_rules")]
    assert sum("limit" in q for q in keyset) > 1, "several pages of rules"
    assert any("limit" not in q for q in keyset), "the crowded order, read unbounded"
    assert len(keyset) < len(sim.requests("/api/orders")) / 2, "not one per order page"
