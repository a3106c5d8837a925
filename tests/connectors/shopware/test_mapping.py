"""Parsing real Shopware payloads (tests/fixtures/shopware, copied from the research samples)."""

from __future__ import annotations

import contextlib
import copy
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalsync.connectors.shopware import mapping
from loyalsync.core.errors import RecordError
from tests.connectors.shopware.conftest import fixture


def test_demo_customers_with_null_updated_at() -> None:
    raw = fixture("customer-records-demo-6.7.json")
    customers = [mapping.map_customer(r) for r in raw]
    first = customers[0]
    assert first.id == "0199c8e1a250722aa62533710ca3c141"
    assert first.email == "kaela.kub@example.org"
    assert first.number == "MOCK-C0199c8e1a250722aa62533710d7e10f4"
    assert (first.first_name, first.last_name, first.company) == ("Helen", "Pfeffer", None)
    assert first.values("groups") == ("cfbd5018d38d41d8adca10d94fc8bdd6",)
    assert first.created_at == datetime(2025, 10, 9, 12, 10, 54, 416000, tzinfo=UTC)
    assert first.updated_at is None  # never updated since created
    assert first.values("tags") == () and not first.is_guest
    assert first.raw == raw[0]
    assert mapping.change_time(raw[0]) == first.created_at  # the watermark falls back


def test_customers_with_associations_address_tags_and_guests() -> None:
    raw = fixture("search-customer-response.synthesized.json")["data"]
    helen, chadd = (mapping.map_customer(r) for r in raw)
    assert (helen.country, helen.city, helen.postcode) == ("DE", "Schöppingen", "48624")
    assert helen.values("tags") == ("0199d0a1b2c37d4e8f9a0b1c2d3e4f50",)
    assert not helen.is_guest
    assert chadd.is_guest and chadd.values("tags") == ()  # tagIds null: no tags
    assert chadd.updated_at == datetime(2025, 10, 12, 8, 0, 1, 123000, tzinfo=UTC)
    assert mapping.auto_increment(raw[1]) == 1042


def test_order_without_state_association_is_a_record_error() -> None:
    raw = fixture("order-records-demo-6.7.json")[0]  # as listed without associations
    with pytest.raises(RecordError) as caught:
        mapping.map_order(raw)
    assert caught.value.record_id == raw["id"]
    assert "stateMachineState" in str(caught.value)


def test_order_after_update_float_artefacts_and_null_customer_id() -> None:
    raw = copy.deepcopy(fixture("order-record-after-update-6.7.json"))
    raw["stateMachineState"] = {"technicalName": "completed", "apiAlias": "state_machine_state"}
    raw["orderCustomer"] = {
        "customerId": None,
        "email": "gone@example.org",
        "apiAlias": "order_customer",
    }
    order = mapping.map_order(raw)
    assert raw["amountTotal"] == 20826.300000000003
    assert order.total_gross == 20826.3 and order.base_currency_total_gross == 20826.3
    assert order.total_net == 17501.09 and order.base_currency_total_net == 17501.09
    assert order.customer_id is None and order.email == "gone@example.org"
    assert order.updated_at == datetime(2025, 10, 15, 12, 5, 48, 973000, tzinfo=UTC)
    assert order.placed_at == datetime(2025, 10, 15, 13, 54, 21, tzinfo=UTC)
    assert order.status == "completed" and order.is_valid
    assert order.currency == "EUR"  # no currency association: the shop's base currency


def test_order_with_associations_line_items_and_promotion() -> None:
    raw = fixture("search-order-response.synthesized.json")["data"][0]
    order = mapping.map_order(raw)
    assert order.number == "10417"
    assert order.customer_id == "0199aa7ae92f7122a75796093348723f"
    assert [i.kind for i in order.items] == ["product", "promotion"]
    product = order.items[0]
    assert (product.product_id, product.quantity, product.unit_price, product.total) == (
        "0199abe871fe71259811133198861282",
        2.0,
        10399.9,
        20799.8,
    )
    assert order.items[1].total == 0.0  # -0.0 artefact
    assert order.codes == ()  # this promotion line carries no payload.code
    assert order.base_currency_refunded == 0.0  # transaction paid


def _order(**changes: object) -> dict[str, Any]:
    raw = copy.deepcopy(fixture("search-order-response.synthesized.json")["data"][0])
    raw.update(changes)
    return raw


def test_promotion_code_other_currency_and_refund() -> None:
    raw = _order(
        currencyFactor=0.94,
        amountTotal=3.71,
        amountNet=3.12,
        currency={"isoCode": "CHF", "apiAlias": "currency"},
    )
    raw["lineItems"][1]["payload"] = {"code": "WB-AAAA1111", "promotionId": "ab" * 16}
    raw["transactions"] = [
        {
            "createdAt": "2025-10-15T11:56:39.414+00:00",
            "stateMachineState": {"technicalName": "failed"},
        },
        {
            "createdAt": "2025-10-15T11:57:00.000+00:00",
            "stateMachineState": {"technicalName": "refunded"},
        },
    ]
    order = mapping.map_order(raw)
    assert order.currency == "CHF" and order.total_gross == 3.71
    assert order.base_currency_total_gross == 3.95  # 3.71 / 0.94 = 3.9468.. half-up to cents
    assert order.base_currency_refunded == 3.95  # the newest transaction was refunded
    assert order.codes == ("WB-AAAA1111",)
    assert order.items[1].code == "WB-AAAA1111"
    assert order.items[0].unit_price == 11063.72  # line items in base currency too


def test_partial_refund_is_not_counted_and_states_are_configurable() -> None:
    raw = _order(stateMachineState={"technicalName": "cancelled"})
    raw["transactions"][0]["stateMachineState"]["technicalName"] = "refunded_partially"
    order = mapping.map_order(raw)
    assert order.base_currency_refunded == 0.0  # the transaction has no refunded amount
    assert order.status == "cancelled" and not order.is_valid
    assert mapping.map_order(raw, valid_states=("cancelled",)).is_valid


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"amountTotal": "n/a"}, "not a number"),
        ({"currencyFactor": 0}, "currencyFactor"),
        ({"id": "not-a-uuid"}, "not a Shopware id"),
        ({"orderDateTime": "yesterday", "createdAt": None}, "Invalid isoformat"),
        ({"amountNet": None}, "amountNet"),
        ({"amountTotal": "1E400"}, "not a finite number"),  # a Decimal, but inf as a float
    ],
)
def test_unmappable_orders_name_the_reason(change: dict[str, object], why: str) -> None:
    with pytest.raises(RecordError, match=why):
        mapping.map_order(_order(**change))


def test_groups_and_tags() -> None:
    group = mapping.map_group(
        {
            "id": "CFBD5018D38D41D8ADCA10D94FC8BDD6",
            "name": None,
            "translated": {"name": "Händler"},
            "displayGross": False,
        }
    )
    assert (group.id, group.name) == ("cfbd5018d38d41d8adca10d94fc8bdd6", "Händler")
    with pytest.raises(RecordError):
        mapping.map_tag({"name": "no id"})


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_keys = st.sampled_from(
    [
        "id",
        "amountTotal",
        "amountNet",
        "currencyFactor",
        "orderDateTime",
        "createdAt",
        "stateMachineState",
        "orderCustomer",
        "lineItems",
        "transactions",
        "currency",
        "updatedAt",
        "email",
        "tagIds",
        "tags",
        "defaultBillingAddress",
        "groupId",
        "guest",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_keys, _json_values, max_size=10))
def test_junk_payloads_raise_record_errors_only(junk: dict[str, object]) -> None:
    base = _order()
    base.update(junk)
    for mapper in (mapping.map_order, mapping.map_customer):
        with contextlib.suppress(RecordError):
            mapper(base)


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_float_artefacts_round_back_to_cents(cents: int) -> None:
    value = cents / 100
    for noisy in (math.nextafter(value, math.inf), math.nextafter(value, -math.inf)):
        assert mapping.cents(mapping.decimal(noisy)) == value


@given(st.integers(min_value=0, max_value=10**8), st.sampled_from(["1", "0.94", "1.0821", "7.45"]))
def test_base_currency_is_amount_over_factor_rounded_half_up(cents: int, factor: str) -> None:
    expected = (Decimal(cents) / 100 / Decimal(factor)).quantize(Decimal("0.01"), "ROUND_HALF_UP")
    assert mapping.to_base(cents / 100, Decimal(factor)) == float(expected)
