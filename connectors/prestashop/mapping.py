"""PrestaShop raw records -> canonical records (pure; no HTTP).

Owns research/prestashop.md §2.6 for what we mirror: customers with their groups (a `many`
slot with `id_default_group` as its default), newsletter consent, guest flag and the address
chosen for geography; orders with their rows, validity from the order state's flags
(`logable`, `paid`) and never from state ids, amounts converted to the base currency with the
order's `conversion_rate`, and the codes of the cart rules used. Dates are shop-local and
stored UTC. The psgdpr "Anonymous" customer is recognised here and left out by the client.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from loyalsync.connectors.prestashop import parse
from loyalsync.core.errors import RecordError
from loyalsync.core.records import (
    GROUPS,
    CustomerRecord,
    OrderItemRecord,
    OrderRecord,
    SlotValue,
    memberships,
)

ANONYMOUS_EMAIL = "anonymous@psgdpr.com"


@dataclass(frozen=True)
class OrderState:
    id: str
    name: str
    logable: bool
    paid: bool
    shipped: bool
    delivery: bool


@dataclass(frozen=True)
class Address:
    id: str
    customer_id: str
    country: str | None
    city: str | None
    postcode: str | None
    deleted: bool
    updated_at: datetime | None


@dataclass
class Reference:
    """The shop's reference data every mapping needs (read once per connector)."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    language: str | None = None  # PS_LANG_DEFAULT
    countries: dict[str, str] = field(default_factory=dict)  # id -> ISO alpha-2
    currencies: dict[str, str] = field(default_factory=dict)  # id -> ISO code
    states: dict[str, OrderState] = field(default_factory=dict)
    config: dict[str, str] = field(default_factory=dict)  # PS_* configuration values
    base_currency: str = "EUR"

    def state_status(self, state_id: str | None) -> tuple[str, bool]:
        """(normalised status, counts as a sale) of an order state, from its flags and the
        PS_OS_* configuration (ids differ per shop; research §2.6)."""
        state = self.states.get(state_id or "")
        if state_id and state_id == self.config.get("PS_OS_REFUND"):
            return "refunded", False
        failed = (self.config.get("PS_OS_CANCELED"), self.config.get("PS_OS_ERROR"))
        if state_id and state_id in failed:
            return "cancelled", False
        if state is None:
            return "open", False
        valid = state.logable or state.paid
        if valid and state.shipped:
            return "completed", True
        return ("in_progress", True) if valid else ("open", False)


def need_object(raw: Any, what: str) -> dict[str, Any]:
    """`raw` itself when it is an object; else a RecordError naming `what` and the type."""
    if not isinstance(raw, dict):
        raise RecordError(f"{what} payload is not an object: {type(raw).__name__}")
    return raw


def row_id(raw: dict[str, Any], what: str) -> str:
    """A reference row's id (PrestaShop ids are positive integers), or a RecordError."""
    need_object(raw, what)
    rid = parse.text(raw.get("id")) if not isinstance(raw.get("id"), dict | bool) else None
    if rid is None or not rid.isdigit() or rid == "0":
        raise RecordError(f"{what} without a valid id: {raw.get('id')!r:.40}")
    return rid


def map_state(raw: dict[str, Any], language: str | None) -> OrderState:
    sid = row_id(raw, "order state")
    return OrderState(
        id=sid,
        name=parse.language_text(raw.get("name"), language) or sid,
        logable=parse.flag(raw.get("logable")),
        paid=parse.flag(raw.get("paid")),
        shipped=parse.flag(raw.get("shipped")),
        delivery=parse.flag(raw.get("delivery")),
    )


def map_group(raw: dict[str, Any], language: str | None) -> SlotValue:
    """A group as a value of the `groups` slot (its name in the shop's default language)."""
    gid = row_id(raw, "group")
    name = parse.language_text(raw.get("name"), language) or gid
    return SlotValue(GROUPS, gid, name, raw=raw)


def map_address(raw: dict[str, Any], ref: Reference) -> Address:
    """An address for geography; a RecordError without an id or with a broken date."""
    return Address(
        id=row_id(raw, "address"),
        customer_id=parse.text(raw.get("id_customer")) or "0",
        country=ref.countries.get(parse.text(raw.get("id_country")) or ""),
        city=parse.text(raw.get("city")),
        postcode=parse.text(raw.get("postcode")),
        deleted=parse.flag(raw.get("deleted")),
        updated_at=parse.shop_time(raw.get("date_upd"), ref.tz, "address date_upd"),
    )


def best_address(addresses: list[Address]) -> Address | None:
    """A customer's most recent active address (latest date_upd, then highest id)."""
    active = [a for a in addresses if not a.deleted]
    if not active:
        return None
    oldest = datetime.min.replace(tzinfo=UTC)
    return max(active, key=lambda a: (a.updated_at or oldest, int(a.id or 0)))


def is_anonymous(raw: dict[str, Any]) -> bool:
    """The psgdpr module's customer that anonymised orders are re-attached to (§2.5)."""
    email = raw.get("email") if isinstance(raw, dict) else None
    return (parse.text(email) or "").lower() == ANONYMOUS_EMAIL


def map_customer(raw: dict[str, Any], ref: Reference, address: Address | None) -> CustomerRecord:
    cid = parse.text(need_object(raw, "customer").get("id"))
    if cid is None:
        raise RecordError("customer without id")
    groups = parse.association_ids(raw, GROUPS)
    default = parse.text(raw.get("id_default_group"))
    if default and default not in groups:
        groups.append(default)  # the default is always a member (PrestaShop adds it on save)
    return CustomerRecord(
        id=cid,
        email=parse.text(raw.get("email")),
        number=cid,
        first_name=parse.text(raw.get("firstname")),
        last_name=parse.text(raw.get("lastname")),
        company=parse.text(raw.get("company")),
        is_guest=parse.flag(raw.get("is_guest")),
        country=address.country if address else None,
        city=address.city if address else None,
        postcode=address.postcode if address else None,
        created_at=parse.shop_time(raw.get("date_add"), ref.tz, "date_add"),
        updated_at=parse.shop_time(raw.get("date_upd"), ref.tz, "date_upd"),
        raw={k: v for k, v in raw.items() if k not in ("passwd", "secure_key")},
        memberships=memberships(groups=groups),
        defaults=((GROUPS, default),) if default else (),
        newsletter=_consent(raw),
    )


def _items(raw: dict[str, Any], oid: str) -> tuple[OrderItemRecord, ...]:
    """The order's rows; an entry that is not an object makes the order a RecordError (its
    items and amounts cannot be trusted), as JTL's line items do."""
    assoc = raw.get("associations")
    rows = assoc.get("order_rows") if isinstance(assoc, dict) else None
    items = []
    for line, row in enumerate(rows if isinstance(rows, list) else [], start=1):
        if not isinstance(row, dict):
            raise RecordError(
                f"order {oid}: order_rows entry {line} is not an object: {type(row).__name__}"
            )
        quantity = parse.number(row.get("product_quantity"), "product_quantity")
        unit = parse.number(
            row.get("unit_price_tax_incl") or row.get("product_price"), "unit_price_tax_incl"
        )
        if not math.isfinite(unit * quantity):
            raise RecordError(f"order {oid}: order_rows entry {line} has an infinite total")
        items.append(
            OrderItemRecord(
                line=line,
                product_id=parse.text(row.get("product_id")),
                sku=parse.text(row.get("product_reference")),
                name=parse.text(row.get("product_name")),
                quantity=quantity,
                unit_price=round(unit, 2),
                total=round(unit * quantity, 2),
            )
        )
    return tuple(items)


def map_order(
    raw: dict[str, Any], ref: Reference, codes: tuple[str, ...] = (), anonymous: str | None = None
) -> OrderRecord:
    oid = parse.text(need_object(raw, "order").get("id"))
    if oid is None:
        raise RecordError("order without id")
    placed = parse.shop_time(raw.get("date_add"), ref.tz, "date_add")
    if placed is None:
        raise RecordError(f"order {oid} has no date_add")
    status, valid = ref.state_status(parse.text(raw.get("current_state")))
    if not ref.states:  # the key may not read order_states: the shop's own flag
        valid = parse.flag(raw.get("valid"))
    gross = parse.number(raw.get("total_paid_tax_incl") or raw.get("total_paid"), "total_paid")
    net = parse.number(raw.get("total_paid_tax_excl"), "total_paid_tax_excl")
    rate = parse.number(raw.get("conversion_rate"), "conversion_rate") or 1.0
    if not math.isfinite(gross / rate) or not math.isfinite(net / rate):
        raise RecordError(f"order {oid}: conversion_rate {rate!r} makes the base amounts infinite")
    customer = parse.text(raw.get("id_customer"))
    if customer in ("0", anonymous):
        customer = None  # a deleted or GDPR-anonymised customer
    return OrderRecord(
        id=oid,
        number=parse.text(raw.get("reference")),
        customer_id=customer,
        email=None,
        placed_at=placed,
        status=status,
        is_valid=valid,
        total_gross=round(gross, 2),
        total_net=round(net, 2),
        currency=ref.currencies.get(parse.text(raw.get("id_currency")) or "", ref.base_currency),
        base_currency_total_gross=round(gross / rate, 2),
        base_currency_total_net=round(net / rate, 2),
        updated_at=parse.shop_time(raw.get("date_upd"), ref.tz, "date_upd"),
        items=_items(raw, oid),
        codes=codes,
        raw={k: v for k, v in raw.items() if k != "secure_key"},
    )


def _consent(raw: dict[str, Any]) -> bool | None:
    """Newsletter consent (`newsletter`, or the partner opt-in `optin`); None when the
    payload carries neither field (a `display=[...]` list without them)."""
    if "newsletter" not in raw and "optin" not in raw:
        return None
    return parse.flag(raw.get("newsletter")) or parse.flag(raw.get("optin"))
