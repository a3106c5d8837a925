"""Shopware 6 Admin API payloads -> canonical records. Pure: no I/O, no clock.

Owns the reading of customer, order, customer-group and tag JSON (with `Accept:
application/json`) as the search endpoints return it. Anything that cannot be mapped raises
`RecordError` naming the record, which the client turns into a quarantined row. Field notes are
in ../shared/research/shopware.md §2.7 (orders) and §2.8 (customers):

- ids are 32-char hex UUIDs, kept as lower-case text;
- times come as UTC `...+00:00`; `updatedAt` is null until the first update;
- amounts are JSON floats with artefacts (`20826.300000000003`) in the order currency: read
  through Decimal, base currency = `amount / currencyFactor` (what Shopware's own customer
  stats do), rounded half-up to cents;
- `orderCustomer.customerId` is null for deleted customers: the e-mail is kept;
- promotion line items carry the redeemed code in `payload.code`.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from loyalsync.connectors.shopware.consent import consent
from loyalsync.core.errors import RecordError
from loyalsync.core.records import (
    GROUPS,
    TAGS,
    CustomerRecord,
    OrderItemRecord,
    OrderRecord,
    Quarantined,
    SlotValue,
    memberships,
)

DEFAULT_VALID_STATES = ("open", "in_progress", "completed")  # order.state minus cancelled
REFUNDED = "refunded"  # refunded_partially carries no amount on the transaction: not counted
_HEX_ID = re.compile(r"^[0-9a-f]{32}$")
_CENT = Decimal("0.01")
_ITEM_KINDS = {"product": "product", "promotion": "promotion"}


def _fail(entity: str, raw: Any, why: str) -> RecordError:
    rid = raw.get("id") if isinstance(raw, Mapping) else None
    return RecordError(
        f"{entity} {rid or '(no id)'}: {why}", entity=entity, record_id=str(rid) if rid else None
    )


def parse_time(value: Any) -> datetime | None:
    """Shopware's `2025-10-09T12:10:54.416+00:00` (or a naive SQL time, taken as UTC)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a time: {value!r}")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def newest_change(aggregations: Any) -> datetime | None:
    """The newest `updatedAt` / `createdAt` from the NEWEST_CHANGE max aggregations of a search
    (`{"newest_updated": {"max": "2025-10-09 12:10:54.416"}, ...}`: the raw DATETIME(3) value,
    UTC). None when the shop has no rows or the answer carries no usable value."""
    if not isinstance(aggregations, dict):
        return None
    found = []
    for name in ("newest_updated", "newest_created"):
        result = aggregations.get(name)
        try:
            value = parse_time(result.get("max")) if isinstance(result, dict) else None
        except ValueError:
            value = None
        if value is not None:
            found.append(value)
    return max(found, default=None)


def decimal(value: Any) -> Decimal:
    """A JSON number (float artefacts and all) as a Decimal; bools and junk are errors."""
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        return Decimal(repr(value))  # the shortest repr: 20826.300000000003 stays visible
    if kind is int:
        return Decimal(value)
    if kind is not str:
        raise ValueError(f"not a number: {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite() or abs(number) > _FLOAT_MAX:  # '1E400' would become inf
        raise ValueError(f"not a finite number: {value!r}")
    return number


_FLOAT_MAX = Decimal(sys.float_info.max)


def cents(value: Decimal) -> float:
    return float(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def to_base(amount: Any, factor: Decimal) -> float:
    """An order-currency amount in the shop's base currency, rounded to cents."""
    return cents(decimal(amount) / factor)


def shop_id(value: Any) -> str | None:
    """A Shopware id as lower-case hex, or None; anything else is an error."""
    if value is None:
        return None
    if not isinstance(value, str) or not _HEX_ID.match(value.lower()):
        raise ValueError(f"not a Shopware id: {value!r}")
    return value.lower()


def auto_increment(raw: Mapping[str, Any]) -> int | None:
    value = raw.get("autoIncrement")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def change_time(raw: Any) -> datetime | None:
    """When the shop last changed the row: updatedAt, or createdAt while it is still null.
    A row that is not an object has no time (it is quarantined by its mapper)."""
    if not isinstance(raw, Mapping):
        return None
    try:
        return parse_time(raw.get("updatedAt")) or parse_time(raw.get("createdAt"))
    except ValueError:
        return None


def _text(value: Any, name: str = "a text field") -> str | None:
    """A trimmed string, None for null or empty; an object or list is an error (a plugin
    that puts `{"x": 1}` into `email` must not be stored as the text "{'x': 1}")."""
    if value is None:
        return None
    if isinstance(value, Mapping | list | tuple | set):
        raise ValueError(f"{name} is not text: {type(value).__name__}")
    text = str(value).strip()
    return text or None


# ---------------------------------------------------------------------------------------------
# Customers


def map_customer(raw: Any) -> CustomerRecord:
    if not isinstance(raw, Mapping):
        raise RecordError(f"customer payload is not an object: {type(raw).__name__}")
    try:
        return _customer(raw)
    except (ValueError, TypeError, AttributeError) as exc:
        raise _fail("customer", raw, str(exc)) from None


def _customer(raw: Mapping[str, Any]) -> CustomerRecord:
    cid = shop_id(raw.get("id"))
    if cid is None:
        raise ValueError("missing id")
    tag_ids = raw.get("tagIds")
    if tag_ids is None:  # tagIds is null when the customer has none; the association may help
        tag_ids = [t.get("id") for t in raw.get("tags") or ()]
    address = raw.get("defaultBillingAddress") or {}
    country = address.get("country") or {}
    return CustomerRecord(
        id=cid,
        email=_text(raw.get("email"), "email"),
        number=_text(raw.get("customerNumber"), "customerNumber"),
        first_name=_text(raw.get("firstName"), "firstName"),
        last_name=_text(raw.get("lastName"), "lastName"),
        company=_text(raw.get("company"), "company"),
        memberships=memberships(
            groups=shop_id(raw.get("groupId")),
            tags=[t for t in (shop_id(x) for x in tag_ids) if t],
        ),
        is_guest=bool(raw.get("guest")),
        country=_text(country.get("iso"), "country.iso"),
        city=_text(address.get("city"), "city"),
        postcode=_text(address.get("zipcode"), "zipcode"),
        created_at=parse_time(raw.get("createdAt")),
        updated_at=parse_time(raw.get("updatedAt")),
        raw=dict(raw),
        newsletter=consent(raw),
    )


# ---------------------------------------------------------------------------------------------
# Orders


def map_order(
    raw: Any,
    *,
    valid_states: Collection[str] = DEFAULT_VALID_STATES,
    base_currency: str = "EUR",
) -> OrderRecord:
    if not isinstance(raw, Mapping):
        raise RecordError(f"order payload is not an object: {type(raw).__name__}")
    try:
        return _order(raw, valid_states, base_currency)
    except (ValueError, TypeError, AttributeError, ArithmeticError) as exc:
        raise _fail("order", raw, str(exc)) from None


def _order(raw: Mapping[str, Any], valid_states: Collection[str], base: str) -> OrderRecord:
    oid = shop_id(raw.get("id"))
    if oid is None:
        raise ValueError("missing id")
    state = (raw.get("stateMachineState") or {}).get("technicalName")
    if not state:
        raise ValueError("no stateMachineState.technicalName (association not loaded?)")
    placed = parse_time(raw.get("orderDateTime")) or parse_time(raw.get("createdAt"))
    if placed is None:
        raise ValueError("neither orderDateTime nor createdAt")
    factor = decimal(raw.get("currencyFactor", 1))
    if factor <= 0:
        raise ValueError(f"currencyFactor {factor} is not positive")
    gross, net = raw.get("amountTotal"), raw.get("amountNet")
    if gross is None or net is None:
        raise ValueError("amountTotal or amountNet missing")
    base_gross = to_base(gross, factor)
    customer = raw.get("orderCustomer") or {}
    items = _items(raw.get("lineItems") or (), factor)
    codes = sorted({i.code for i in items if i.code})
    return OrderRecord(
        id=oid,
        number=_text(raw.get("orderNumber"), "orderNumber"),
        customer_id=shop_id(customer.get("customerId")),
        email=_text(customer.get("email"), "orderCustomer.email"),
        placed_at=placed,
        status=str(state),
        is_valid=state in valid_states,
        total_gross=cents(decimal(gross)),
        total_net=cents(decimal(net)),
        currency=_text((raw.get("currency") or {}).get("isoCode")) or base,
        base_currency_total_gross=base_gross,
        base_currency_total_net=to_base(net, factor),
        base_currency_refunded=base_gross if _payment_state(raw) == REFUNDED else 0.0,
        updated_at=parse_time(raw.get("updatedAt")),
        items=items,
        codes=tuple(codes),
        raw=dict(raw),
    )


def _payment_state(raw: Mapping[str, Any]) -> str | None:
    """The state of the newest transaction: an order may carry failed attempts before the one
    that was paid (and later refunded)."""
    transactions = [t for t in raw.get("transactions") or () if isinstance(t, Mapping)]
    if not transactions:
        return None
    latest = max(transactions, key=lambda t: str(t.get("createdAt") or ""))
    state = (latest.get("stateMachineState") or {}).get("technicalName")
    return str(state) if state else None


def _items(raw_items: Any, factor: Decimal) -> tuple[OrderItemRecord, ...]:
    """Line items in base currency, numbered 1.. by `position` (then id) for a stable key."""
    rows = [i for i in raw_items if isinstance(i, Mapping)]
    rows.sort(key=lambda i: (i.get("position") or 0, str(i.get("id") or "")))
    items = []
    for line, item in enumerate(rows, start=1):
        payload = item.get("payload") or {}
        kind = _ITEM_KINDS.get(str(item.get("type")), "other")
        code = _text(payload.get("code")) if kind == "promotion" else None
        items.append(
            OrderItemRecord(
                line=line,
                product_id=shop_id(item.get("productId") or None),
                sku=_text(payload.get("productNumber")),
                name=_text(item.get("label")),
                quantity=float(decimal(item.get("quantity") or 0)),
                unit_price=to_base(item.get("unitPrice") or 0, factor),
                total=to_base(item.get("totalPrice") or 0, factor),
                kind=kind,
                code=code,
            )
        )
    return tuple(items)


# ---------------------------------------------------------------------------------------------
# Groups and tags


def map_group(raw: Any) -> SlotValue:
    """A customer group: a value of the `groups` slot."""
    if not isinstance(raw, Mapping):
        raise RecordError(f"customer_group payload is not an object: {type(raw).__name__}")
    rid = _required_id("customer_group", raw)
    try:
        name = _text(raw.get("name"), "name") or _text((raw.get("translated") or {}).get("name"))
    except (ValueError, TypeError, AttributeError) as exc:
        raise _fail("customer_group", raw, str(exc)) from None
    return SlotValue(GROUPS, rid, name or "", raw=dict(raw))


def map_tag(raw: Any) -> SlotValue:
    """A tag: a value of the `tags` slot."""
    if not isinstance(raw, Mapping):
        raise RecordError(f"tag payload is not an object: {type(raw).__name__}")
    rid = _required_id("tag", raw)
    try:
        return SlotValue(TAGS, rid, _text(raw.get("name"), "name") or "")
    except ValueError as exc:
        raise _fail("tag", raw, str(exc)) from None


def _required_id(entity: str, raw: Mapping[str, Any]) -> str:
    try:
        rid = shop_id(raw.get("id"))
    except ValueError as exc:
        raise _fail(entity, raw, str(exc)) from None
    if rid is None:
        raise _fail(entity, raw, "missing id")
    return rid


# ---------------------------------------------------------------------------------------------
# Pages


def without_channels(raw: Any) -> Any:
    """A group row without its sales channels association (kept out of the stored raw)."""
    if isinstance(raw, dict):
        return {k: v for k, v in raw.items() if k != "salesChannels"}
    return raw


def map_rows(
    rows: list[Any], map_row: Callable[[Any], Any], entity: str
) -> tuple[list[Any], list[Quarantined]]:
    """Map each row; the rows that raise RecordError become Quarantined with the reason."""
    records, quarantined = [], []
    for raw in rows:
        try:
            records.append(map_row(raw))
        except RecordError as exc:
            rid = raw.get("id") if isinstance(raw, dict) else None
            quarantined.append(Quarantined(entity, rid, exc.message, raw))
    return records, quarantined
