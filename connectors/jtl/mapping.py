"""JTL-Wawi v1 payloads (PascalCase) to canonical records.

E-mail, country, city and postcode come from `BillingAddress`; `CustomerSince` is the creation
date; date-times carry seven fractional digits and an offset, or none (Wawi local time, the
shop's `timezone` option); everything is stored in UTC; ids are text; `IsCancelled` orders do
not count; totals are in the order currency (`CurrencyFactor` per base unit) and converted to
the base currency. Keys are read case-insensitively (v1 PascalCase, v2 camelCase, §8.5).
Research: ../shared/research/jtl.md §4.1, §4.4, §5.4.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any

from loyalsync.core.errors import RecordError
from loyalsync.core.records import (
    CustomerRecord,
    OrderItemRecord,
    OrderRecord,
    SlotValue,
    memberships,
)

CATEGORIES = "categories"
ITEM_KINDS = {1: "product", 2: "shipping", 3: "promotion", 7: "promotion", 6: "shipping"}
_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def get(row: Any, key: str, default: Any = None) -> Any:
    """A field by name, case-insensitively (`Shipmentaddress` vs `ShipmentAddress`)."""
    if not isinstance(row, dict):
        return default
    if key in row:
        return row[key]
    lower = key.lower()
    return next((v for k, v in row.items() if k.lower() == lower), default)


def parse_time(value: Any, zone: tzinfo) -> datetime | None:
    """A Wawi date-time in UTC: 7 fractional digits trimmed to 6; no offset = Wawi local time;
    unparseable values (the spec's own `"1985-01-01T"`) give None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = _FRACTION.sub(lambda m: m.group(1), value.strip().replace("Z", "+00:00"), count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def text_id(value: Any) -> str | None:
    if value is None or value == "" or value == 0:
        return None
    return str(value)


def map_customer(raw: Any, zone: tzinfo) -> CustomerRecord:
    cid = text_id(get(raw, "Id"))
    if cid is None:
        raise RecordError("customer without Id", entity="customers")
    address = get(raw, "BillingAddress") or {}
    group, category = text_id(get(raw, "CustomerGroupId")), text_id(get(raw, "CustomerCategoryId"))
    newsletter = get(raw, "HasNewsletter", get(raw, "Newsletter"))
    email = get(address, "EmailAddress")
    return CustomerRecord(
        id=cid,
        email=str(email).strip() if email else None,
        number=get(raw, "Number"),
        first_name=get(address, "FirstName"),
        last_name=get(address, "LastName"),
        company=get(address, "Company"),
        country=(get(address, "CountryIso") or None),
        city=get(address, "City"),
        postcode=get(address, "PostalCode"),
        created_at=parse_time(get(raw, "CustomerSince"), zone),
        updated_at=None,  # v1 has no change time for customers
        raw=raw,
        memberships=memberships(groups=group, categories=category),
        newsletter=None if newsletter is None else bool(newsletter),
    )


def order_time(raw: Any, zone: tzinfo) -> datetime | None:
    return parse_time(get(raw, "SalesOrderDate"), zone)


def map_items(rows: list[Any]) -> tuple[OrderItemRecord, ...]:
    items = []
    for n, row in enumerate(rows, start=1):
        quantity = float(get(row, "Quantity") or 0)
        price = float(get(row, "SalesPriceGross") or 0)
        discount = float(get(row, "Discount") or 0)
        kind = ITEM_KINDS.get(int(get(row, "Type") or 0), "other")
        items.append(
            OrderItemRecord(
                line=n,
                product_id=text_id(get(row, "ItemId")),
                sku=get(row, "SKU"),
                name=get(row, "Name"),
                quantity=quantity,
                unit_price=price,
                total=round(quantity * price * (1 - discount / 100), 2),
                kind=kind,
                code=get(row, "Notice") if kind == "promotion" else None,
            )
        )
    return tuple(items)


def map_order(raw: Any, items: list[Any], zone: tzinfo, base_currency: str) -> OrderRecord:
    oid = text_id(get(raw, "Id"))
    placed = order_time(raw, zone)
    if oid is None or placed is None:
        raise RecordError("sales order without Id or SalesOrderDate", entity="orders")
    pay = get(raw, "SalesOrderPaymentDetails") or {}
    try:
        gross = float(get(pay, "TotalGrossAmount") or 0)
        factor = float(get(pay, "CurrencyFactor") or 1) or 1.0
    except (TypeError, ValueError):
        raise RecordError(f"sales order {oid}: amounts are not numbers", entity="orders") from None
    currency = str(get(pay, "CurrencyIso") or base_currency)
    lines = map_items(items)
    net_currency = sum(
        float(get(r, "Quantity") or 0)
        * float(get(r, "SalesPriceNet") or 0)
        * (1 - float(get(r, "Discount") or 0) / 100)
        for r in items
    )  # v1 has no net total: computed from the line items
    net = round(net_currency, 2) if items else gross
    to_base = 1.0 if currency == base_currency else 1 / factor
    cancelled = bool(get(raw, "IsCancelled"))
    email = get(get(raw, "BillingAddress") or {}, "EmailAddress")
    return OrderRecord(
        id=oid,
        number=get(raw, "Number"),
        customer_id=text_id(get(raw, "CustomerId")),
        email=str(email).strip() if email else None,
        placed_at=placed,
        status="cancelled" if cancelled else "completed",
        is_valid=not cancelled,
        total_gross=gross,
        total_net=net,
        currency=currency,
        base_currency_total_gross=round(gross * to_base, 2),
        base_currency_total_net=round(net * to_base, 2),
        updated_at=None,
        items=lines,
        raw=raw,
    )


def map_value(slot: str, raw: Any) -> SlotValue:
    return SlotValue(slot, str(get(raw, "Id")), str(get(raw, "Name") or ""), raw=raw)
