"""Parsing and mapping of PrestaShop bodies on recorded samples (tests/fixtures/prestashop,
copied from research/samples/prestashop with their provenance in SOURCES.md there)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from loyalsync.connectors.prestashop import mapping, parse
from loyalsync.connectors.prestashop.bodies import replace_groups, xml_groups
from loyalsync.connectors.prestashop.client import api_permissions
from loyalsync.core.errors import ApiError, RecordError, TransientError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "prestashop"
BERLIN = ZoneInfo("Europe/Berlin")


def sample(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def airbyte(stream: str) -> dict[str, Any]:
    for line in sample("json_airbyte_expected_records_subset_ps1.7.8.jsonl").splitlines():
        record = json.loads(line)
        if record["stream"] == stream:
            return dict(record["data"])
    raise KeyError(stream)


def answer(body: str, content_type: str = "application/json", status: int = 200) -> Any:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode()
    response.headers["Content-Type"] = content_type
    return response


def test_every_empty_list_shape_is_empty() -> None:
    assert parse.rows_of(json.loads(sample("json_empty_list_quirk_issue22760.json")), "x") == []
    assert parse.rows_of({}, "customers") == []
    assert parse.rows_of({"customers": []}, "customers") == []
    assert parse.json_payload(answer(""), "/api/customers") == []


def test_list_shapes_with_and_without_display() -> None:
    ids = json.loads(sample("json_list_without_display_issue10172.json"))
    assert parse.rows_of(ids, "products") == [{"id": 18970}]
    full = json.loads(sample("json_DERIVED_customers_list_display_full.json"))
    assert parse.rows_of(full, "customers")[0]["email"] == "anonymous@psgdpr.com"
    single = {"customer": {"id": 5}}  # GET /api/customers/5 without display
    assert parse.rows_of(single, "customers") == [{"id": 5}]


def test_error_bodies_in_xml_and_json() -> None:
    assert parse.parse_error_text(
        sample("xml_error_404_code92_invalid_id_ps1.7.7.5_prettyprinted.xml")
    ) == ("92", "Invalid ID")
    code, message = parse.parse_error_text(
        sample("xml_error_404_code87_ids_not_exist_ps1.7.7.5_prettyprinted.xml")
    )
    assert code == "87" and message
    json_error = sample("json_error_405_code23_patch_on_ps1.7.json")
    assert parse.parse_error(answer(json_error, status=405)) == ("23", "Method PATCH is not valid")
    assert parse.parse_error_text("401 Unauthorized") == (None, None)
    assert parse.parse_error_text("") == (None, None)


def test_a_php_warning_in_front_of_the_body_is_skipped() -> None:
    warning = (
        '<br />\n<b>Warning</b>:  Undefined array key "x[1]" in <b>/var/www/m.php</b> '
        "on line <b>42</b><br />\n"
    )
    body = warning + '{"customers":[{"id":1}]}'
    payload = parse.json_payload(answer(body, "application/javascript"), "/api/customers")
    assert parse.rows_of(payload, "customers") == [{"id": 1}]
    code, _ = parse.parse_error_text(warning + sample("json_error_405_code23_patch_on_ps1.7.json"))
    assert code == "23"


def test_an_html_page_is_transient_and_other_garbage_an_api_error() -> None:
    page = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
    with pytest.raises(TransientError, match="HTML page"):
        parse.json_payload(answer(page, "text/html"), "/api/customers")
    with pytest.raises(ApiError, match="not JSON"):
        parse.json_payload(answer("<prestashop/>", "text/xml"), "/api/customers")


def test_values_strings_numbers_zero_dates_multilingual() -> None:
    assert parse.number("61.800000") == 61.8
    with pytest.raises(RecordError, match="total"):
        parse.number("abc", "total")
    assert parse.shop_time("0000-00-00 00:00:00", BERLIN) is None
    assert parse.shop_time("0000-00-00", BERLIN) is None
    assert parse.shop_time("", BERLIN) is None
    # shop-local wall-clock time, stored UTC (CET is UTC+1 in January)
    assert parse.shop_time("2022-01-17 17:49:52", BERLIN) == datetime(
        2022, 1, 17, 16, 49, 52, tzinfo=UTC
    )
    # a date that arrives as a list of {id, value} (airbyte PR #34513): the last value
    listed = [
        {"id": "1", "value": "2021-01-01 00:00:00"},
        {"id": "2", "value": "2022-05-17 17:49:52"},
    ]
    assert parse.shop_time(listed, ZoneInfo("UTC")) == datetime(2022, 5, 17, 17, 49, 52, tzinfo=UTC)
    both = [{"id": "1", "value": "Kunde"}, {"id": "2", "value": "Customer"}]
    assert parse.language_text(both, "2") == "Customer"
    assert parse.language_text(both, None) == "Kunde"
    assert parse.language_text(airbyte("groups")["name"], "1") == "Visitor"  # one language
    assert (
        parse.shop_text(datetime(2022, 1, 17, 16, 49, 52, tzinfo=UTC), BERLIN)
        == "2022-01-17 17:49:52"
    )


def test_api_root_permissions() -> None:
    found = api_permissions(sample("xml_api_root_permissions_docs8x.xml"))
    assert found == {"addresses": {"GET", "PUT", "POST", "PATCH", "DELETE", "HEAD"}}


def reference() -> mapping.Reference:
    state = mapping.map_state(airbyte("order_states"), "1")
    return mapping.Reference(
        tz=BERLIN,
        language="1",
        countries={"1": "DE"},
        currencies={"1": "USD", "2": "EUR"},
        states={state.id: state},
        config={"PS_OS_CANCELED": "6"},
        base_currency="USD",
    )


def test_airbyte_customer_and_the_anonymous_one() -> None:
    raw = airbyte("customers")
    assert mapping.is_anonymous(raw)
    address = mapping.map_address(airbyte("addresses"), reference())
    record = mapping.map_customer(raw, reference(), address)
    assert record.id == "1" and record.values("groups") == ("3",)
    assert record.default("groups") == "3"
    assert record.created_at == datetime(2022, 5, 17, 15, 49, 52, tzinfo=UTC)
    assert record.newsletter is True  # optin "1"
    assert record.is_guest is False
    assert mapping.map_customer({**raw, "is_guest": "1"}, reference(), address).is_guest
    assert "passwd" not in record.raw and "secure_key" not in record.raw
    assert record.postcode == "00000"


def test_orders_validity_comes_from_state_flags_not_ids() -> None:
    ref = reference()
    raw = json.loads(sample("json_DERIVED_orders_list_display_full.json"))["orders"][0]
    cancelled = mapping.map_order(raw, ref)
    assert (cancelled.status, cancelled.is_valid) == ("cancelled", False)
    paid = mapping.map_order({**raw, "current_state": "2", "valid": "0"}, ref)
    assert (paid.status, paid.is_valid) == ("in_progress", True)  # logable=1 in state 2
    # the same id in a shop whose state 2 is an unpaid state: not a sale
    other = mapping.Reference(
        tz=BERLIN,
        states={"2": mapping.OrderState("2", "Awaiting", False, False, False, False)},
    )
    assert mapping.map_order({**raw, "current_state": "2"}, other).is_valid is False
    assert paid.placed_at == datetime(2022, 5, 17, 15, 50, 34, tzinfo=UTC)
    assert paid.total_gross == 68.2 and paid.total_net == 66.8 and paid.currency == "USD"


def test_amounts_are_converted_with_the_order_conversion_rate() -> None:
    raw = json.loads(sample("json_DERIVED_orders_list_display_full.json"))["orders"][0]
    chf = mapping.map_order({**raw, "id_currency": "2", "conversion_rate": "0.940000"}, reference())
    assert chf.currency == "EUR"
    assert chf.base_currency_total_gross == round(68.2 / 0.94, 2)
    gone = mapping.map_order({**raw, "id_customer": "1"}, reference(), anonymous="1")
    assert gone.customer_id is None


def test_a_broken_amount_is_a_record_error() -> None:
    raw = json.loads(sample("json_DERIVED_orders_list_display_full.json"))["orders"][0]
    with pytest.raises(RecordError, match="total_paid"):
        mapping.map_order({**raw, "total_paid_tax_incl": "n/a"}, reference())


def test_best_address_is_the_most_recent_active_one() -> None:
    def addr(aid: str, day: int, deleted: bool = False) -> mapping.Address:
        stamp = datetime(2024, 1, day, tzinfo=UTC)
        return mapping.Address(aid, "7", "DE", f"c{aid}", "1", deleted, stamp)

    assert mapping.best_address([addr("1", 3), addr("2", 5), addr("3", 9, True)]).id == "2"  # type: ignore[union-attr]
    assert mapping.best_address([addr("3", 9, True)]) is None


def test_a_17_put_body_is_the_recorded_document_with_only_its_groups_changed() -> None:
    """1.7 has no PATCH: the customer goes back complete, every field as read (passwd hash,
    secure_key, birthday, newsletter, note, the xlink attributes), only the groups new."""
    text = sample("xml_customer_1_ps1.6.1.6.xml")
    doc = ET.fromstring(text)  # noqa: S314 (a recorded sample)
    assert xml_groups(doc) == (["3"], "3")
    sent = ET.fromstring(replace_groups(doc, ["3", "7"], "3"))  # noqa: S314

    def fields(root: ET.Element) -> list[tuple[str, dict[str, str], str]]:
        customer = root.find("customer")
        assert customer is not None
        return [
            (e.tag, e.attrib, (e.text or "").strip()) for e in customer if e.tag != "associations"
        ]

    before = fields(ET.fromstring(text))  # noqa: S314
    assert fields(sent) == before and len(before) == 31
    assert {t: v for t, _, v in before}["passwd"] == "7a93bfb25b8eee73034fad735ae5a4f5"
    assert xml_groups(sent) == (["3", "7"], "3")


def test_numbers_that_are_not_finite_are_record_errors() -> None:
    for raw in ("NaN", "Infinity", "-Infinity", "1E400"):
        with pytest.raises(RecordError, match="not a finite number"):
            parse.number(raw, "total_paid")
        assert parse.integer(raw) is None or raw == "1E400"  # a big int is still an int
    assert parse.number("61.800000") == 61.8
