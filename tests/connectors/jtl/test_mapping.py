"""JTL-Wawi v1 payloads to records, on the spec's own example payloads (tests/fixtures/jtl,
copied from the Cloud v1.0 OpenAPI file's examples) and on the quirks research §5.4/§8 lists."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from loyalsync.connectors.jtl import mapping
from loyalsync.connectors.jtl.platform import parse_error
from loyalsync.connectors.jtl.sim_store import render_time
from tests.paths import FIXTURES

FIXTURES = FIXTURES / "jtl"
BERLIN = ZoneInfo("Europe/Berlin")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_the_spec_customer_maps_from_its_billing_address() -> None:
    raw = fixture("wawi_v1_customers_page.example.json")["Items"][0]
    c = mapping.map_customer(raw, BERLIN)
    assert c.id == "123" and isinstance(c.id, str)
    assert (c.email, c.country, c.city, c.postcode) == (
        "example@email.com",
        "DE",
        "Example City",
        "12345",
    )
    assert c.created_at == datetime(2023, 2, 1, 13, 30, tzinfo=UTC)  # CustomerSince
    assert c.values("categories") == ("12",)
    assert c.values("groups") == ()  # CustomerGroupId 0: none
    assert c.newsletter is None  # v1 has no newsletter flag
    assert mapping.map_customer({**raw, "HasNewsletter": True}, BERLIN).newsletter is True


def test_the_spec_sales_order_maps_with_its_line_items_and_net_from_the_lines() -> None:
    raw = fixture("wawi_v1_salesorders_page.example.json")["Items"][0]
    items = fixture("wawi_v1_salesorder_lineitems.example.json")
    o = mapping.map_order(raw, items, BERLIN, "EUR")
    assert (o.id, o.customer_id, o.number) == ("123", "1005", "A1004465")
    assert o.placed_at == datetime(2023, 2, 1, 12, 45, tzinfo=UTC)
    assert o.is_valid and o.total_gross == 19.99 and o.currency == "EUR"
    assert o.total_net == round(2 * 16.8 * 0.95, 2)  # v1 has no net total
    (line,) = o.items
    assert (line.sku, line.quantity, line.kind) == ("ART2394871", 2.0, "product")
    cancelled = mapping.map_order({**raw, "IsCancelled": True}, items, BERLIN, "EUR")
    assert not cancelled.is_valid and cancelled.status == "cancelled"


def test_totals_in_another_currency_are_converted_to_the_base_currency() -> None:
    raw = fixture("wawi_v1_salesorders_page.example.json")["Items"][0]
    pay = {**raw["SalesOrderPaymentDetails"], "CurrencyIso": "CHF", "CurrencyFactor": 0.94}
    o = mapping.map_order({**raw, "SalesOrderPaymentDetails": pay}, [], BERLIN, "EUR")
    assert o.currency == "CHF" and o.total_gross == 19.99
    assert o.base_currency_total_gross == round(19.99 / 0.94, 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-02-01T13:30:00.0000000+00:00", datetime(2023, 2, 1, 13, 30, tzinfo=UTC)),
        ("2023-02-01T13:30:00.1234567+01:00", datetime(2023, 2, 1, 12, 30, 0, 123456, tzinfo=UTC)),
        ("2023-07-01T14:00:00.0000000", datetime(2023, 7, 1, 12, 0, tzinfo=UTC)),  # CEST, naive
        ("2023-01-10T14:00:00", datetime(2023, 1, 10, 13, 0, tzinfo=UTC)),  # CET, naive
        ("1985-01-01T", None),  # the spec's own invalid example
        ("", None),
        (None, None),
    ],
)
def test_wawi_date_times_become_utc(text: str | None, expected: datetime | None) -> None:
    assert mapping.parse_time(text, BERLIN) == expected


def test_a_configured_zone_reads_naive_times_and_the_simulator_writes_what_we_read() -> None:
    assert mapping.parse_time("2023-07-01T14:00:00", ZoneInfo("UTC")) == datetime(
        2023, 7, 1, 14, tzinfo=UTC
    )
    moment = datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=UTC)  # around the DST switch
    for naive in (False, True):
        text = render_time(moment, naive)
        assert text is not None and len(text.split(".")[1][:7]) == 7
        assert mapping.parse_time(text, BERLIN) == moment


def test_keys_are_read_case_insensitively() -> None:
    assert mapping.get({"shipmentAddress": 1}, "Shipmentaddress") == 1
    c = mapping.map_customer({"id": 5, "billingAddress": {"emailAddress": "a@b.de"}}, BERLIN)
    assert (c.id, c.email) == ("5", "a@b.de")


def _response(status: int, body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = status, body
    return response


def test_the_error_body_is_parsed_and_empty_bodies_are_none() -> None:
    body = fixture("wawi_v1_error_response.example.json")
    body |= {"ErrorCode": "ValidationError", "ErrorMessage": "invalid data"}
    body["ValidationErrors"] = {"Name": "is required"}
    code, message = parse_error(_response(400, json.dumps(body).encode()))
    assert code == "ValidationError" and message == "invalid data: Name: is required"
    for status in (401, 402, 410):
        assert parse_error(_response(status, b"")) == (None, None)


def test_the_spec_paging_envelope_ends_with_next_page_equal_to_total_pages() -> None:
    page = fixture("wawi_v1_customers_page.example.json")
    assert page["HasNextPage"] is False and page["NextPageNumber"] == page["TotalPages"]
