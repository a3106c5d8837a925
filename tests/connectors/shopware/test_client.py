"""ShopwareConnector against the simulator: auth, limits, paging modes, deltas, quarantine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from loyalsync.connectors.base import Connector, Page
from loyalsync.connectors.shopware.client import ShopwareConnector
from loyalsync.connectors.shopware.simulator import Logged, ShopwareSimulator
from loyalsync.core.errors import AuthError, ConfigError
from loyalsync.core.mirror import Mirror, UpsertCounts
from loyalsync.core.records import Cursor, EnsureCampaign, IssueCode
from loyalsync.sync.pull import pull_entity, scan_deletions
from tests.contract.harness import FakeClock, mirror_dump

Connect = Callable[..., ShopwareConnector]
MakeSim = Callable[..., ShopwareSimulator]


def pull(
    connector: Connector,
    mirror: Mirror,
    on_page: Callable[..., None] | None = None,
    *,
    pipeline: bool = True,
) -> None:
    for entity in ("customers", "orders"):
        pull_entity(connector, mirror, "sw-test", entity, on_page=on_page, pipeline=pipeline)


def searches(sim: ShopwareSimulator, entity: str) -> list[Logged]:
    path = f"/api/search/{entity}"
    return [r for r in sim.requests(path) if r.path == path]


def test_bad_credentials_fail_once_with_a_config_error(
    sim: ShopwareSimulator, connect: Connect, sleeps: list[float]
) -> None:
    connector = connect(sim, credentials={"client_id": sim.client_id, "client_secret": "wrong"})
    with pytest.raises(ConfigError) as caught:
        connector.check()
    assert isinstance(caught.value, AuthError)
    assert "sw-test" in str(caught.value) and "wrong" not in str(caught.value)
    assert len(sim.requests("/api/oauth/token")) == 1 and not sleeps


def test_throttled_logins_end_the_run_instead_of_retrying(
    make_sim: MakeSim, connect: Connect, sleeps: list[float]
) -> None:
    sim = make_sim(customers=5, throttle_after=0)
    with pytest.raises(ConfigError, match=r"throttles logins .* for 10 s"):
        connect(sim).check()
    assert len(sim.requests("/api/oauth/token")) == 1 and not sleeps


def test_missing_credentials_are_a_config_error(sim: ShopwareSimulator, connect: Connect) -> None:
    with pytest.raises(ConfigError, match="client_id and client_secret"):
        connect(sim, credentials={}).check()
    assert not sim.request_log


def test_token_is_renewed_before_it_runs_out(
    sim: ShopwareSimulator, connect: Connect, clock: FakeClock, tmp_path: Path
) -> None:
    def later(entity: str, page: Page, counts: UpsertCounts) -> None:
        clock.advance(seconds=300)  # two pages: past the 600 s lifetime

    # page by page: the fake clock jumps between pages, and a page fetched ahead would carry
    # a token that was fresh when sent and stale by the jumped clock when it arrives
    with Mirror.open(tmp_path / "m.db") as mirror:
        pull(connect(sim), mirror, on_page=later, pipeline=False)
    tokens = sim.requests("/api/oauth/token")
    assert len(tokens) > 2
    assert all(r.status != 401 for r in sim.request_log), "renewal should come before expiry"
    assert all(r.accept == "application/json" for r in sim.request_log)


def test_a_token_refused_twice_is_an_auth_error_not_a_loop(
    make_sim: MakeSim, connect: Connect
) -> None:
    sim = make_sim(customers=5, token_ttl=0)  # every token is dead on arrival
    with pytest.raises(AuthError):
        connect(sim).check()
    assert len(sim.requests("/api/oauth/token")) == 2


def test_the_shops_smaller_maximum_page_size_is_adopted(
    make_sim: MakeSim, connect: Connect, tmp_path: Path
) -> None:
    sim = make_sim(customers=150, max_limit=30)
    connector = connect(sim, page_size=500)
    with Mirror.open(tmp_path / "m.db") as mirror:
        pull(connector, mirror)
        assert mirror.count("customers", "sw-test") == len(sim.customers)
        assert mirror.count("orders", "sw-test") == len(sim.orders)
    assert connector.limit == 30
    refused = [r for r in sim.request_log if r.status == 400]
    assert len(refused) == 1 and refused[0].body["limit"] == 500


def test_shops_without_a_maximum_still_get_pages_of_500(
    make_sim: MakeSim, connect: Connect, tmp_path: Path
) -> None:
    sim = make_sim(customers=220, max_limit=None, version="6.4.20.2")
    connector = connect(sim, page_size=5000)
    assert connector.check().version == "6.4.20.2"
    with Mirror.open(tmp_path / "m.db") as mirror:
        pull(connector, mirror)
        assert mirror.count("orders", "sw-test") == len(sim.orders)
    bodies = [r.body for r in searches(sim, "order") if "associations" in r.body]  # not check()
    assert {b["limit"] for b in bodies} == {500} and len(bodies) == len(sim.orders) // 500 + 1


def test_every_search_asks_for_little_and_sorts_uniquely(
    sim: ShopwareSimulator, connect: Connect, tmp_path: Path
) -> None:
    with Mirror.open(tmp_path / "m.db") as mirror:
        pull(connect(sim), mirror)
    for entity in ("customer", "order"):
        for request in searches(sim, entity):
            body = request.body
            assert body["limit"] <= 500 and body["includes"][entity]
            assert body["sort"][-1]["field"] in ("autoIncrement", "id")
            assert body["associations"]


def test_refused_keyset_falls_back_to_page_paging_and_resumes(
    make_sim: MakeSim, connect: Connect, tmp_path: Path
) -> None:
    sim = make_sim(customers=150, keyset=False)
    reference = Mirror.open(tmp_path / "ref.db")
    pull(connect(sim), reference)
    assert reference.count("customers", "sw-test") == len(sim.customers)

    class Crash(Exception):
        pass

    def die(entity: str, page: Page, counts: UpsertCounts) -> None:
        if entity == "orders" and page.cursor.after == "page:80":
            raise Crash

    mirror = Mirror.open(tmp_path / "m.db")
    with pytest.raises(Crash):
        pull(connect(sim), mirror, on_page=die)
    stored = mirror.get_cursor("sw-test", "orders")
    assert stored is not None and stored.after == "page:80"
    sim.reset_logs()
    pull(connect(sim), mirror)
    assert mirror_dump(mirror) == mirror_dump(reference)
    pages = [r.body["page"] for r in searches(sim, "order") if r.status == 200]
    assert pages[0] == 3  # resumed after the two committed pages of 40
    assert all(
        b.body["sort"] == [{"field": "createdAt", "order": "ASC"}, {"field": "id", "order": "ASC"}]
        for b in searches(sim, "order")
        if b.status == 200
    )
    reference.close()
    mirror.close()


def test_recent_orders_are_reread_for_payment_changes(
    sim: ShopwareSimulator, connect: Connect, clock: FakeClock, tmp_path: Path
) -> None:
    connector = connect(sim, options={"recent_orders_days": 14})
    recent = max(sim.orders.values(), key=lambda o: o.rec.placed_at)
    old = min(sim.orders.values(), key=lambda o: o.rec.placed_at)
    with Mirror.open(tmp_path / "m.db") as mirror:
        pull(connector, mirror)
        clock.advance(days=1)
        sim.set_payment_state(recent.id, "refunded")  # order.updatedAt stays as it was
        sim.set_payment_state(old.id, "refunded")
        pull(connector, mirror)
        refunded = dict(
            mirror.conn.execute(
                "SELECT id, base_currency_refunded FROM orders WHERE id IN (?, ?)",
                (recent.id, old.id),
            ).fetchall()
        )
    assert refunded[recent.id] == recent.rec.base_currency_total_gross
    assert refunded[old.id] == old.rec.base_currency_refunded  # documented blind spot


def test_incremental_window_is_updated_or_created_minus_the_lag(
    sim: ShopwareSimulator, connect: Connect
) -> None:
    connector = connect(sim, lag_minutes=10)
    since = max(r.created_at for r in sim.customers.values())
    list(connector.iter_customers(Cursor(since=since)))
    window = searches(sim, "customer")[-1].body["filter"][0]
    stamp = (since - timedelta(minutes=10)).strftime(
        "%Y-%m-%d %H:%M:%S."
    ) + f"{since.microsecond // 1000:03d}"
    assert window == {
        "type": "multi",
        "operator": "or",
        "queries": [
            {"type": "range", "field": "updatedAt", "parameters": {"gte": stamp}},
            {"type": "range", "field": "createdAt", "parameters": {"gte": stamp}},
        ],
    }


def test_unmappable_orders_are_quarantined_and_the_run_goes_on(
    sim: ShopwareSimulator, connect: Connect, tmp_path: Path
) -> None:
    bad = sorted(sim.orders)[3]
    sim.corrupt_order(bad, amountTotal="n/a")
    with Mirror.open(tmp_path / "m.db") as mirror:
        pull(connect(sim), mirror)
        assert mirror.count("orders", "sw-test") == len(sim.orders) - 1
        row = mirror.conn.execute("SELECT entity, id, error FROM _quarantine").fetchall()
    assert row == [("orders", bad, f"order {bad}: not a number: 'n/a'")]


def test_deletion_scan_windows_skip_gaps(
    sim: ShopwareSimulator, connect: Connect, tmp_path: Path
) -> None:
    connector = connect(sim, page_size=20)
    by_ai = sorted(sim.customers.values(), key=lambda r: r.ai)
    gone = {r.id for r in by_ai[30:75]}  # a hole wider than two windows
    with Mirror.open(tmp_path / "m.db") as mirror:
        pull(connector, mirror)
        sim.delete_customers(sorted(gone))
        sim.reset_logs()
        assert scan_deletions(connector, mirror, "sw-test", connector.now()) == len(gone)
    id_calls = searches(sim, "customer")
    # a keyset, never offsets, no edge look-ups: exactly the pages the live customers fill
    assert len(id_calls) == -(-len(sim.customers) // 20)
    assert all("page" not in r.body for r in id_calls)
    assert all(r.body["includes"] == {"customer": ["id", "autoIncrement"]} for r in id_calls)


def test_check_and_current_state(sim: ShopwareSimulator, connect: Connect) -> None:
    connector = connect(sim)
    result = connector.check()
    assert (result.version, result.customers, result.orders) == (
        "6.6.10.13",
        len(sim.customers),
        len(sim.orders),
    )
    state = connector.current_state()
    storefront = next(c for c in sim.table("sales_channel").values() if c["name"] == "Storefront")
    assert state.default("groups") == storefront["customerGroupId"]
    assert connector.shop_state().storefronts == (storefront["id"],)
    assert {g.name for g in state.of("groups")} == {
        g["name"] for g in sim.table("customer_group").values()
    }
    assert {t.name for t in state.of("tags")} == {t["name"] for t in sim.table("tag").values()}
    assert {v.slot for v in state.values} == {s.name for s in connector.slots}
    assert (
        ShopwareConnector.capabilities.personal_codes
        and not ShopwareConnector.capabilities.multiple_groups
    )


def test_the_next_window_starts_at_the_shops_newest_change_when_the_pass_began(
    sim: ShopwareSimulator, connect: Connect, clock: FakeClock, tmp_path: Path
) -> None:
    connector = connect(sim, page_size=20)
    with Mirror.open(tmp_path / "m.db") as mirror:
        pull(connector, mirror)
        clock.advance(hours=1)
        sim.touch_customers(0.1, seed=1)
        newest = clock()
        clock.advance(hours=2)
        passed: list[str] = []
        touched: list[str] = []
        cursor = mirror.get_cursor("sw-test", "customers")
        assert cursor is not None
        for page in connector.iter_customers(cursor):
            passed += [c.id for c in page.records]
            if not touched:  # the keyset has passed these: changed while the pass runs
                touched = passed[:3]
                with sim.store.lock:
                    for cid in touched:
                        sim.customers[cid].updated_at = clock()
            last = page.cursor
    # the shop's own newest change when the pass began, not the newest row this pass saw
    assert last.started == newest  # the touched rows were behind the keyset: never seen here
    assert last.finished().since == newest
    seen = [c.id for p in connector.iter_customers(last.finished()) for c in p.records]
    assert set(touched) <= set(seen)


def test_redeemed_personal_codes_come_back_with_the_orders(
    sim: ShopwareSimulator, connect: Connect, clock: FakeClock, tmp_path: Path
) -> None:
    connector = connect(sim)
    customer = sorted(c for c, r in sim.customers.items() if not r.rec.is_guest)[0]
    start = clock() - timedelta(days=1)
    campaign = EnsureCampaign("winback", 10.0, None, start, start + timedelta(days=30), "WB")
    assert all(r.ok for r in connector.apply([campaign, IssueCode("winback", customer, "WB-7")]))
    with Mirror.open(tmp_path / "m.db") as mirror:
        pull(connector, mirror)
        clock.advance(hours=1)
        (order,) = sim.add_orders(1, customer_ids=[customer], code="WB-7")
        pull(connector, mirror)
        codes = mirror.conn.execute("SELECT customer_id, codes FROM orders WHERE id = ?", (order,))
        assert codes.fetchall() == [(customer, '["WB-7"]')]
        item = "SELECT kind, code FROM order_items WHERE order_id = ? AND kind = 'promotion'"
        assert mirror.conn.execute(item, (order,)).fetchall() == [("promotion", "WB-7")]
    (code,) = sim.table("promotion_individual_code").values()
    assert code["payload"]["orderId"] == order
