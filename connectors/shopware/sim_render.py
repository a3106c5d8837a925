"""The simulator's rows and their Shopware JSON, as the Admin API renders them.

Owns how the fake shop stores customers and orders (light mutable rows around the canonical
synth records, rendered on demand so a 100,000-customer shop stays small) and how any entity
becomes `application/json` output: camelCase fields, 32-hex ids, `apiAlias`, `autoIncrement`,
`updatedAt` null until the first update, float artefacts on some amounts, associations only
when asked for (the others are null), and `includes` applied per apiAlias
(../shared/research/shopware.md §2.1-2.8). Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from loyalsync.core.records import CustomerRecord, OrderRecord
from loyalsync.core.synth import synth_id

STOREFRONT_TYPE_ID = "8a243080f92e4c719546314b577cf82b"
LANGUAGE_ID = "2fbb5fe2e29a4d70aa5854ce7ce3e20b"  # Defaults::LANGUAGE_SYSTEM
VERSION_ID = "0fa91ce3e96a4bc2be4bd9ce752c3425"  # Defaults::LIVE_VERSION
STOREFRONT_ID = synth_id("sales_channel", "storefront")
HEADLESS_ID = synth_id("sales_channel", "headless")
HEADLESS_TYPE_ID = "f183ee5650cf4bdb8a774337575067a6"
SALUTATION_ID = synth_id("salutation", "not_specified")


@lru_cache(maxsize=256)
def state_id(machine: str, name: str) -> str:
    return synth_id("state", machine, name)


@lru_cache(maxsize=64)
def currency_id(iso: str) -> str:
    return synth_id("currency", iso)


@lru_cache(maxsize=256)
def country_id(iso: str) -> str:
    return synth_id("country", iso)


@lru_cache(maxsize=1024)
def promotion_id(code: str | None) -> str:
    return synth_id("promotion", code)


def child_id(parent: str, n: int) -> str:
    """A stable id for a row that belongs to `parent` (address, transaction, line item...):
    cheap enough to derive on every render."""
    return parent[n:] + parent[:n]


def stamp(value: datetime | None) -> str | None:
    """Shopware's JSON time: UTC, milliseconds, `+00:00` (rows hold UTC times)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="milliseconds")


def millis(rid: str) -> timedelta:
    """A stable sub-second part per id, so times look like a real shop's."""
    return timedelta(milliseconds=int(rid[:3], 16) % 1000)


def artefact(value: float, rid: str, salt: int = 0) -> float:
    """About one amount in six carries a float artefact (20826.300000000003), as PHP floats do."""
    if (int(rid[-2:], 16) + salt) % 6 or value == 0:
        return value
    return math.nextafter(value, math.inf)


@dataclass(slots=True)
class CustomerRow:
    ai: int
    rec: CustomerRecord
    group_id: str
    tag_ids: list[str]
    created_at: datetime
    updated_at: datetime | None
    last_login: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # raw overrides (questionable values)
    newsletter: bool | None = None  # 6.4's customer.newsletter; None: not a field (6.5+)

    @property
    def id(self) -> str:
        return self.rec.id


@dataclass(slots=True)
class OrderRow:
    ai: int
    rec: OrderRecord
    customer_id: str | None  # nulled when the customer is deleted (SetNullOnDelete)
    state: str
    payment_state: str
    created_at: datetime
    updated_at: datetime | None
    factor: float
    payment_changed_at: datetime | None = None  # order_transaction.updatedAt
    extra: dict[str, Any] = field(default_factory=dict)  # raw overrides (corrupt rows)
    buyer: dict[str, Any] = field(default_factory=dict)  # order_customer names, number

    @property
    def id(self) -> str:
        return self.rec.id


def buyer_json(customer: CustomerRow | None) -> dict[str, Any]:
    """The order_customer copy Shopware takes of the customer when the order is placed: it
    outlives the customer (only orderCustomer.customerId is nulled on deletion)."""
    if customer is None:
        return {}
    c = customer.rec
    return {
        "firstName": c.first_name,
        "lastName": c.last_name,
        "company": c.company,
        "customerNumber": c.number,
    }


def customer_json(
    row: CustomerRow, assoc: Mapping[str, Any], tables: Mapping[str, Any]
) -> dict[str, Any]:
    c = row.rec
    address_id = child_id(c.id, 16)
    data: dict[str, Any] = {
        "id": c.id,
        "autoIncrement": row.ai,
        "groupId": row.group_id,
        "salesChannelId": STOREFRONT_ID,
        "languageId": LANGUAGE_ID,
        "defaultBillingAddressId": address_id,
        "defaultShippingAddressId": address_id,
        "customerNumber": c.number,
        "salutationId": SALUTATION_ID,
        "firstName": c.first_name,
        "lastName": c.last_name,
        "company": c.company,
        "email": c.email,
        "title": None,
        "accountType": "business" if c.company else "private",
        "active": True,
        "guest": c.is_guest,
        "lastLogin": stamp(row.last_login),
        "birthday": None,
        "tagIds": list(row.tag_ids) or None,
        "customFields": None,
        "createdAt": stamp(row.created_at),
        "updatedAt": stamp(row.updated_at),
        "group": None,
        "tags": None,
        "defaultBillingAddress": None,
        "apiAlias": "customer",
    }
    if row.newsletter is not None:  # 6.4 only: removed in 6.5 (newsletter_recipient instead)
        data["newsletter"] = row.newsletter
    if "group" in assoc:
        group = tables["customer_group"].get(row.group_id)
        data["group"] = entity_json("customer_group", group) if group else None
    if "tags" in assoc:
        tags = [tables["tag"][t] for t in row.tag_ids if t in tables["tag"]]
        data["tags"] = [entity_json("tag", t) for t in tags]
    if "defaultBillingAddress" in assoc:
        nested = assoc["defaultBillingAddress"].get("associations") or {}
        data["defaultBillingAddress"] = _address(c, address_id, "country" in nested)
    data.update(row.extra)
    return data


def _address(c: CustomerRecord, address_id: str, with_country: bool) -> dict[str, Any]:
    iso = c.country or "DE"
    return {
        "id": address_id,
        "customerId": c.id,
        "countryId": country_id(iso),
        "company": c.company,
        "firstName": c.first_name,
        "lastName": c.last_name,
        "street": "Musterstraße 1",
        "zipcode": c.postcode,
        "city": c.city,
        "country": {"id": country_id(iso), "iso": iso, "apiAlias": "country"}
        if with_country
        else None,
        "apiAlias": "customer_address",
    }


def order_json(
    row: OrderRow, assoc: Mapping[str, Any], tables: Mapping[str, Any]
) -> dict[str, Any]:
    o = row.rec
    iso = o.currency
    gross, net = artefact(o.total_gross, o.id), artefact(o.total_net, o.id, 3)
    data: dict[str, Any] = {
        "id": o.id,
        "versionId": VERSION_ID,
        "autoIncrement": row.ai,
        "orderNumber": o.number,
        "billingAddressId": child_id(o.id, 4),
        "currencyId": currency_id(iso),
        "languageId": LANGUAGE_ID,
        "salesChannelId": STOREFRONT_ID,
        "orderDateTime": stamp(o.placed_at),
        "orderDate": o.placed_at.date().isoformat(),
        "amountTotal": gross,
        "amountNet": net,
        "positionPrice": gross,
        "taxStatus": "gross",
        "shippingTotal": 0,
        "currencyFactor": row.factor,
        "stateId": state_id("order.state", row.state),
        "affiliateCode": None,
        "campaignCode": None,
        "customerComment": None,
        "customFields": None,
        "createdAt": stamp(row.created_at),
        "updatedAt": stamp(row.updated_at),
        "orderCustomer": {  # autoloaded one-to-one
            "id": child_id(o.id, 8),
            "customerId": row.customer_id,
            "email": o.email,
            "customerNumber": None,
            **row.buyer,
            "apiAlias": "order_customer",
        },
        "stateMachineState": None,
        "lineItems": None,
        "transactions": None,
        "currency": None,
        "apiAlias": "order",
    }
    if "stateMachineState" in assoc:
        data["stateMachineState"] = _state("order.state", row.state)
    if "currency" in assoc:
        data["currency"] = {
            "id": currency_id(iso),
            "isoCode": iso,
            "factor": row.factor,
            "apiAlias": "currency",
        }
    if "lineItems" in assoc:
        data["lineItems"] = [_line_item(o, i) for i in o.items]
    if "transactions" in assoc:
        nested = assoc["transactions"].get("associations") or {}
        data["transactions"] = [_transaction(row, "stateMachineState" in nested)]
    data.update(row.extra)
    return data


def _state(machine: str, name: str) -> dict[str, Any]:
    return {"id": state_id(machine, name), "technicalName": name, "apiAlias": "state_machine_state"}


def _line_item(o: OrderRecord, item: Any) -> dict[str, Any]:
    rid = o.id[:24] + f"{item.line:08x}"
    promotion = item.kind == "promotion"
    payload = (
        {"code": item.code or "", "promotionId": promotion_id(item.code)}
        if promotion
        else {"productNumber": item.sku}
    )
    return {
        "id": rid,
        "orderId": o.id,
        "identifier": rid,
        "parentId": None,
        "type": "promotion" if promotion else "product",
        "referencedId": item.code if promotion else item.product_id,
        "productId": None if promotion else item.product_id,
        "label": item.name,
        "quantity": int(item.quantity),
        "unitPrice": artefact(item.unit_price, rid),
        "totalPrice": artefact(item.total, rid, 1),
        "payload": payload,
        "position": item.line,
        "apiAlias": "order_line_item",
    }


def _transaction(row: OrderRow, with_state: bool) -> dict[str, Any]:
    return {
        "id": child_id(row.id, 24),
        "orderId": row.id,
        "stateId": state_id("order_transaction.state", row.payment_state),
        "createdAt": stamp(row.created_at),
        "updatedAt": stamp(row.payment_changed_at),
        "stateMachineState": _state("order_transaction.state", row.payment_state)
        if with_state
        else None,
        "apiAlias": "order_transaction",
    }


def entity_json(entity: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row of a small entity (groups, tags, promotions...) as the API shows it."""
    data = {k: v for k, v in row.items() if not k.startswith("_")}
    data.setdefault("createdAt", None)
    data.setdefault("updatedAt", None)
    data["apiAlias"] = entity
    return data


def apply_includes(value: Any, includes: Mapping[str, Any]) -> Any:
    """Keep only the listed fields of every object whose apiAlias has an entry (plus apiAlias)."""
    if type(value) is list:
        return [apply_includes(v, includes) for v in value]
    if type(value) is not dict:
        return value
    keep = includes.get(value.get("apiAlias", ""))
    return {
        k: apply_includes(v, includes) if type(v) in _NESTED else v
        for k, v in value.items()
        if keep is None or k in keep or k == "apiAlias"
    }


_NESTED = (dict, list)


# Cheap accessors for the fields the connector filters and sorts on: no rendering needed
Getter = Callable[[Any], Any]
FAST: dict[str, dict[str, Getter]] = {
    "customer": {
        "id": lambda r: r.rec.id,
        "autoIncrement": lambda r: r.ai,
        "createdAt": lambda r: r.created_at,
        "updatedAt": lambda r: r.updated_at,
        "guest": lambda r: r.rec.is_guest,
        "groupId": lambda r: r.group_id,
        "email": lambda r: r.rec.email,
        "customerNumber": lambda r: r.rec.number,
    },
    "order": {
        "id": lambda r: r.rec.id,
        "autoIncrement": lambda r: r.ai,
        "createdAt": lambda r: r.created_at,
        "updatedAt": lambda r: r.updated_at,
        "orderDateTime": lambda r: r.rec.placed_at,
        "orderNumber": lambda r: r.rec.number,
        "orderCustomer.customerId": lambda r: r.customer_id,
        "stateMachineState.technicalName": lambda r: r.state,
    },
    # a small entity (plain dict rows), but one row per subscriber: keep its lookups cheap
    "newsletter_recipient": {
        "id": lambda r: r["id"],
        "email": lambda r: r["email"],
        "status": lambda r: r["status"],
        "salesChannelId": lambda r: r["salesChannelId"],
        "createdAt": lambda r: r["createdAt"],
        "updatedAt": lambda r: r["updatedAt"],
    },
}
TIME_FIELDS = frozenset(
    {"createdAt", "updatedAt", "orderDateTime", "validFrom", "validUntil", "lastLogin"}
)
