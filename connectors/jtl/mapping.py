"""JTL-Wawi v1 payloads (PascalCase) to canonical records.

E-mail, country, city and postcode come from `BillingAddress`; `CustomerSince` is the creation
date; date-times carry seven fractional digits and an offset, or none (Wawi local time, the
shop's `timezone` option); everything is stored in UTC; ids are text; `IsCancelled` orders do
not count; totals are in the order currency (`CurrencyFactor` per base unit) and converted to
the base currency. Keys are read case-insensitively (v1 PascalCase, v2 camelCase, §8.5).
Research: ../shared/research/jtl.md §4.1, §4.4, §5.4.
"""

from __future__ import annotations

import math
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
    if value is None or value == "" or value == 0 or isinstance(value, dict | list | bool):
        return None
    return str(value)


def text(value: Any) -> str | None:
    """A text field; objects and lists where text belongs (a broken row) give None."""
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def number(value: Any, what: str) -> float:
    """A finite number, or a RecordError naming the field."""
    try:
        found = float(value or 0)
    except (TypeError, ValueError):
        raise RecordError(f"{what} is not a number: {value!r:.40}") from None
    if not math.isfinite(found):
        raise RecordError(f"{what} is not a finite number: {value!r:.40}")
    return found


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
        email=(text(email) or "").strip() or None,
        number=text(get(raw, "Number")),
        first_name=text(get(address, "FirstName")),
        last_name=text(get(address, "LastName")),
        company=text(get(address, "Company")),
        country=text(get(address, "CountryIso")) or None,
        city=text(get(address, "City")),
        postcode=text(get(address, "PostalCode")),
        created_at=parse_time(get(raw, "CustomerSince"), zone),
        updated_at=None,  # v1 has no change time for customers
        raw=raw,
        memberships=memberships(groups=group, categories=category),
        newsletter=None if newsletter is None else bool(newsletter),
    )


def order_time(raw: Any, zone: tzinfo) -> datetime | None:
    return parse_time(get(raw, "SalesOrderDate"), zone)


def map_items(rows: list[Any]) -> tuple[OrderItemRecord, ...]:
    """Line items; a row that is not an object or whose amounts are not numbers makes the
    whole order a RecordError (an order with a wrong total is worse than a quarantined one)."""
    if not isinstance(rows, list):
        raise RecordError(f"line items are not a list: {type(rows).__name__}")
    items = []
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise RecordError(f"line item {n} is not an object: {type(row).__name__}")
        quantity = number(get(row, "Quantity"), f"line item {n}: Quantity")
        price = number(get(row, "SalesPriceGross"), f"line item {n}: SalesPriceGross")
        discount = number(get(row, "Discount"), f"line item {n}: Discount")
        kind = ITEM_KINDS.get(int(number(get(row, "Type"), f"line item {n}: Type")), "other")
        items.append(
            OrderItemRecord(
                line=n,
                product_id=text_id(get(row, "ItemId")),
                sku=text(get(row, "SKU")),
                name=text(get(row, "Name")),
                quantity=quantity,
                unit_price=price,
                total=round(quantity * price * (1 - discount / 100), 2),
                kind=kind,
                code=text(get(row, "Notice")) if kind == "promotion" else None,
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
        gross = number(get(pay, "TotalGrossAmount"), "TotalGrossAmount")
        factor = number(get(pay, "CurrencyFactor") or 1, "CurrencyFactor") or 1.0
        currency = text(get(pay, "CurrencyIso")) or base_currency
        lines = map_items(items)
        net_currency = sum(
            number(get(r, "Quantity"), "Quantity")
            * number(get(r, "SalesPriceNet"), "SalesPriceNet")
            * (1 - number(get(r, "Discount"), "Discount") / 100)
            for r in items
        )  # v1 has no net total: computed from the line items
    except RecordError as exc:
        raise RecordError(f"sales order {oid}: {exc.message}", entity="orders") from None
    net = round(net_currency, 2) if items else gross
    to_base = 1.0 if currency == base_currency else 1 / factor
    cancelled = bool(get(raw, "IsCancelled"))
    email = text(get(get(raw, "BillingAddress") or {}, "EmailAddress"))
    return OrderRecord(
        id=oid,
        number=text(get(raw, "Number")),
        customer_id=text_id(get(raw, "CustomerId")),
        email=(email or "").strip() or None,
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
    """A customer group or category row; without an id (or not an object) a RecordError."""
    if not isinstance(raw, dict):
        raise RecordError(f"{slot} row is not an object: {type(raw).__name__}", entity=slot)
    vid = text_id(get(raw, "Id"))
    if vid is None or isinstance(get(raw, "Id"), dict | list | bool):
        raise RecordError(f"{slot} row without Id", entity=slot)
    name = get(raw, "Name")
    if name is not None and not isinstance(name, str | int | float):
        raise RecordError(f"{slot} {vid}: Name is not text: {type(name).__name__}", entity=slot)
    return SlotValue(slot, vid, str(name or ""), raw=raw)
