"""core.synth: deterministic, realistic, consistent synthetic shop data."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalsync.core.records import CustomerRecord, OrderRecord
from loyalsync.core.synth import (
    B2B_GROUP_ID,
    CURRENCIES,
    DEFAULT_GROUP_ID,
    GROUPS,
    HAND_TAGS,
    PRODUCTS,
    SynthShop,
    SynthSpec,
    generate_shop,
    iter_customers,
    iter_orders,
    synth_id,
)

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def shop() -> SynthShop:
    return generate_shop(SynthSpec(customers=5000, seed=11))


def orders_per_customer(shop: SynthShop) -> list[int]:
    counts = Counter(o.customer_id for o in shop.orders)
    return [counts[c.id] for c in shop.customers]


def cents_equal(a: float, b: float) -> bool:
    return abs(a - b) < 0.005 + 1e-9


# -- determinism and streaming ----------------------------------------------------------------


def test_same_seed_same_shop() -> None:
    first = generate_shop(SynthSpec(customers=300, seed=5))
    second = generate_shop(SynthSpec(customers=300, seed=5))
    assert first.customers == second.customers
    assert first.orders == second.orders


def test_different_seeds_differ() -> None:
    a = generate_shop(SynthSpec(customers=300, seed=5))
    b = generate_shop(SynthSpec(customers=300, seed=6))
    assert {c.id for c in a.customers}.isdisjoint(c.id for c in b.customers)
    assert [c.email for c in a.customers] != [c.email for c in b.customers]
    assert [o.placed_at for o in a.orders] != [o.placed_at for o in b.orders]


@pytest.mark.parametrize("chunk", [1, 37, 50_000])
def test_chunked_iteration_equals_generate_shop(chunk: int) -> None:
    spec = SynthSpec(customers=400, seed=3)
    shop = generate_shop(spec)
    customer_chunks = list(iter_customers(spec, chunk=chunk))
    order_chunks = list(iter_orders(spec, chunk=chunk))
    assert [c for part in customer_chunks for c in part] == shop.customers
    assert [o for part in order_chunks for o in part] == shop.orders
    assert all(len(part) == chunk for part in customer_chunks[:-1] + order_chunks[:-1])


@pytest.mark.parametrize("customers", [0, 100, 10_001])
def test_customer_count_is_exact(customers: int) -> None:
    shop = generate_shop(SynthSpec(customers=customers))
    assert len(shop.customers) == customers
    assert len({c.id for c in shop.customers}) == customers
    assert len({o.id for o in shop.orders}) == len(shop.orders)
    assert len({o.number for o in shop.orders}) == len(shop.orders)


def test_a_million_customers_stream_lazily() -> None:
    # only the first block is generated: the whole shop would never fit this test's budget
    first = next(iter_orders(SynthSpec(customers=1_000_000, mean_orders=5), chunk=100))
    assert len(first) == 100
    assert all(isinstance(o, OrderRecord) for o in first)


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError):
        SynthSpec(guest_share=1.5)
    with pytest.raises(ValueError):
        SynthSpec(as_of=datetime(2026, 11, 1))
    with pytest.raises(ValueError):
        iter_orders(SynthSpec(customers=10), chunk=0)


# -- purchase behaviour -------------------------------------------------------------------------


def test_many_one_time_buyers_and_a_heavy_tail(shop: SynthShop) -> None:
    counts = orders_per_customer(shop)
    assert min(counts) == 1  # every customer row has its first purchase
    assert 0.4 <= sum(1 for n in counts if n == 1) / len(counts) <= 0.75
    assert sum(1 for n in counts if n >= 10) >= 10
    assert max(counts) >= 25


def test_mean_orders_is_met() -> None:
    spec = SynthSpec(customers=4000, seed=2, mean_orders=5)
    counts = orders_per_customer(generate_shop(spec))
    assert 4.3 <= sum(counts) / len(counts) <= 5.7


def test_shares_are_plausible(shop: SynthShop) -> None:
    customers, orders = shop.customers, shop.orders
    assert 0.09 <= sum(c.is_guest for c in customers) / len(customers) <= 0.15
    b2b = [c for c in customers if c.values("groups") == (B2B_GROUP_ID,)]
    assert 0.015 <= len(b2b) / len(customers) <= 0.045
    assert all(c.company and not c.is_guest for c in b2b)
    assert all(c.company is None for c in customers if c.values("groups") == (DEFAULT_GROUP_ID,))
    assert 0.03 <= sum(o.currency == "CHF" for o in orders) / len(orders) <= 0.15
    assert 0.035 <= sum(o.status == "cancelled" for o in orders) / len(orders) <= 0.065
    assert 0.004 <= sum(o.customer_id is None for o in orders) / len(orders) <= 0.03
    assert 0.55 <= sum(c.country == "DE" for c in customers) / len(customers) <= 0.75
    assert {c.country for c in customers} >= {"DE", "AT", "CH", "NL", "FR", "BE"}
    assert 0 < sum(bool(c.values("tags")) for c in customers) / len(customers) < 0.1


def test_states_follow_age_and_validity(shop: SynthShop) -> None:
    assert all(o.is_valid == (o.status != "cancelled") for o in shop.orders)
    assert {o.status for o in shop.orders} == {"open", "in_progress", "completed", "cancelled"}
    recent = [o for o in shop.orders if (AS_OF - o.placed_at).days < 14]
    old = [o for o in shop.orders if (AS_OF - o.placed_at).days > 30]
    busy = {"open", "in_progress"}
    assert sum(o.status in busy for o in recent) / len(recent) > 0.25
    assert sum(o.status in busy for o in old) / len(old) < 0.02


# -- consistency --------------------------------------------------------------------------------


def assert_times(shop: SynthShop, as_of: datetime) -> None:
    first_order: dict[str | None, datetime] = {}
    for o in shop.orders:
        assert o.placed_at.tzinfo is not None and o.placed_at <= as_of
        assert o.updated_at is None or (o.placed_at <= o.updated_at <= as_of)
        assert o.updated_at is None or o.updated_at.tzinfo is not None
        first_order[o.customer_id] = min(o.placed_at, first_order.get(o.customer_id, as_of))
    for c in shop.customers:
        assert c.created_at is not None and c.created_at.tzinfo is not None
        assert c.created_at <= first_order[c.id] <= as_of
        assert c.updated_at is None or c.created_at <= c.updated_at <= as_of


def assert_references(shop: SynthShop) -> None:
    by_id = {c.id: c for c in shop.customers}
    guest_orders: Counter[str] = Counter()
    for o in shop.orders:
        assert o.email
        if o.customer_id is None:  # the customer was deleted since; the e-mail stays
            continue
        customer = by_id[o.customer_id]
        assert o.email == customer.email
        if customer.is_guest:
            guest_orders[customer.id] += 1
    assert all(guest_orders[c.id] == 1 for c in shop.customers if c.is_guest)


def assert_money(order: OrderRecord) -> None:
    factor = CURRENCIES[order.currency]
    for amount in (order.total_gross, order.total_net, order.base_currency_total_gross):
        assert round(amount, 2) == amount and amount >= 0
    assert cents_equal(order.base_currency_total_gross, order.total_gross / factor)
    assert cents_equal(order.base_currency_total_net, order.total_net / factor)
    assert order.total_gross / 1.22 <= order.total_net <= order.total_gross
    assert cents_equal(sum(i.total for i in order.items), order.total_gross)
    assert 0 <= order.base_currency_refunded <= order.base_currency_total_gross
    for item in order.items:
        if item.kind == "product":
            assert cents_equal(item.unit_price * item.quantity, item.total) and item.quantity >= 1
        else:
            assert item.kind == "promotion" and item.code in order.codes and item.total <= 0
    assert [i.line for i in order.items] == list(range(1, len(order.items) + 1))
    assert 1 <= sum(i.kind == "product" for i in order.items) <= 4


def test_all_times_are_aware_and_not_after_as_of(shop: SynthShop) -> None:
    assert_times(shop, AS_OF)


def test_orders_reference_existing_customers(shop: SynthShop) -> None:
    assert_references(shop)


def test_money_is_consistent(shop: SynthShop) -> None:
    for order in shop.orders:
        assert_money(order)
    assert {o.currency for o in shop.orders} == {"EUR", "CHF"}
    assert any(o.codes for o in shop.orders)
    assert any(o.base_currency_refunded for o in shop.orders)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**63), customers=st.integers(1, 300), years=st.floats(0.2, 6.0))
def test_invariants_hold_for_any_seed_and_size(seed: int, customers: int, years: float) -> None:
    as_of = datetime(2025, 3, 14, 15, 9, 26, 535_000, tzinfo=UTC)
    shop = generate_shop(SynthSpec(customers=customers, seed=seed, years=years, as_of=as_of))
    assert len(shop.customers) == customers
    assert_times(shop, as_of)
    assert_references(shop)
    for order in shop.orders:
        assert_money(order)


# -- people -------------------------------------------------------------------------------------

POSTCODES = {
    "DE": r"\d{5}",
    "AT": r"\d{4}",
    "CH": r"\d{4}",
    "NL": r"\d{4} [A-Z]{2}",
    "FR": r"\d{5}",
    "BE": r"\d{4}",
    "LU": r"L-\d{4}",
}


def test_people_look_real(shop: SynthShop) -> None:
    for c in shop.customers:
        assert c.first_name and c.last_name and c.city and c.number
        assert c.country is not None and c.postcode is not None
        assert re.fullmatch(POSTCODES[c.country], c.postcode), (c.country, c.postcode)
        assert c.email is not None and "@" in c.email
    assert next(c for c in shop.customers if c.city == "Berlin").country == "DE"
    assert {c.city for c in shop.customers if c.country == "AT"} <= {
        "Wien", "Graz", "Linz", "Salzburg", "Innsbruck", "Klagenfurt", "Dornbirn",
    }  # fmt: skip


def test_registered_emails_are_unique_and_repeat_guests_vary_the_case(shop: SynthShop) -> None:
    registered = [c.email.casefold() for c in shop.customers if not c.is_guest and c.email]
    assert len(set(registered)) == len(registered)
    spellings: dict[str, set[str]] = defaultdict(set)
    rows: Counter[str] = Counter()
    for c in shop.customers:
        assert c.email is not None
        spellings[c.email.strip().casefold()].add(c.email)
        rows[c.email.strip().casefold()] += 1
    assert sum(len(v) > 1 for v in spellings.values()) >= 20
    assert any(" " in e for v in spellings.values() for e in v)
    assert any(n >= 3 for n in rows.values())


def test_catalogue_groups_and_tags() -> None:
    assert 150 <= len(PRODUCTS) <= 250
    assert len({p.id for p in PRODUCTS}) == len({p.sku for p in PRODUCTS}) == len(PRODUCTS)
    assert all(p.price > 0 and round(p.price, 2) == p.price for p in PRODUCTS)
    assert [g.name for g in GROUPS] == ["Standard customer group", "B2B / Händler"]
    assert {g.id for g in GROUPS} == {DEFAULT_GROUP_ID, B2B_GROUP_ID}
    assert {t.name for t in HAND_TAGS} >= {"newsletter", "complaint"}
    ids = [DEFAULT_GROUP_ID, B2B_GROUP_ID, *(t.id for t in HAND_TAGS), *(p.id for p in PRODUCTS)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


def test_tags_and_groups_on_customers_exist(shop: SynthShop) -> None:
    tag_ids = {t.id for t in HAND_TAGS}
    assert all(set(c.values("tags")) <= tag_ids for c in shop.customers)
    assert all(len(c.values("groups")) == 1 for c in shop.customers)
    assert all(isinstance(c, CustomerRecord) and c.raw == {} for c in shop.customers[:10])


def test_synth_id_is_deterministic() -> None:
    assert synth_id("order", 1) == synth_id("order", 1)
    assert synth_id("order", 1) != synth_id("order", 2)
    assert synth_id("a", "b") != synth_id("ab")
    assert re.fullmatch(r"[0-9a-f]{32}", synth_id(42, "x"))
