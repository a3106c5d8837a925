"""Mirror rows: times as mirror text, the row builders and upsert statements for synced records.

Pure: turns canonical records (core.records) into the tuples `store.Mirror` writes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from loyalsync.core.mirror.schema import CUSTOMER_COLUMNS, ITEM_COLUMNS, ORDER_COLUMNS
from loyalsync.core.records import CustomerRecord, OrderRecord


def db_time(value: datetime | None) -> str | None:
    """A tz-aware datetime as mirror text (UTC, microseconds, 'Z')."""
    if value is None:
        return None
    if value.tzinfo is not UTC:  # most mapped times are UTC already: no conversion then
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: all times must be tz-aware")
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_db_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.new + other.new, self.updated + other.updated, self.unchanged + other.unchanged
        )


def content_hash(row: Any) -> str:
    # repr of tuples of str/int/float/None is deterministic and much cheaper than JSON for
    # rows that already carry their raw payload as one (long) JSON string
    return hashlib.blake2b(repr(row).encode(), digest_size=12).hexdigest()


_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True, default=str)


def json_text(value: Any) -> str:
    if not value:  # the common empty raw/tags/codes: skip the encoder entirely
        return (
            "{}"
            if isinstance(value, dict)
            else "[]"
            if isinstance(value, list | tuple)
            else _ENCODER.encode(value)
        )
    return _ENCODER.encode(value)


def customer_row(shop: str, c: CustomerRecord, now: str) -> tuple[Any, ...]:
    body = (
        shop, c.id, c.number, c.email, c.first_name, c.last_name, c.company, int(c.is_guest),
        c.country, c.city, c.postcode, db_time(c.created_at), db_time(c.updated_at), None,
        json_text(c.raw),
    )  # fmt: skip
    consent = None if c.newsletter is None else int(c.newsletter)
    # consent joins the hash only where the platform says it: older hashes stay valid
    hashed = (body, c.memberships, c.defaults) + (() if consent is None else (consent,))
    return (*body[:-1], consent, body[-1], content_hash(hashed), now)


def membership_rows(shop: str, c: CustomerRecord) -> list[tuple[str, str, str, str, int]]:
    """(shop, customer_id, slot, value, is_default) for every value the customer carries."""
    defaults = dict(c.defaults)
    return [
        (shop, c.id, slot, value, int(defaults.get(slot) == value))
        for slot, values in c.memberships
        for value in values
    ]


def order_row(shop: str, o: OrderRecord, now: str) -> tuple[Any, ...]:
    items = [
        (i.line, i.product_id, i.sku, i.name, i.quantity, i.unit_price, i.total, i.kind, i.code)
        for i in o.items
    ]
    body = (
        shop, o.id, o.number, o.customer_id, o.email, db_time(o.placed_at), o.status,
        int(o.is_valid), o.total_gross, o.total_net, o.currency, o.base_currency_total_gross,
        o.base_currency_total_net, o.base_currency_refunded, json_text(list(o.codes)),
        db_time(o.updated_at), json_text(o.raw),
    )  # fmt: skip
    return (*body, content_hash((body, items)), now)


def _upsert_sql(table: str, columns: Sequence[str], pk: Sequence[str]) -> str:
    cols = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in pk)
    return (
        f"INSERT INTO {table} ({cols}) VALUES ({marks}) "
        f"ON CONFLICT ({', '.join(pk)}) DO UPDATE SET {updates}"
    )


CUSTOMER_UPSERT = _upsert_sql("customers", CUSTOMER_COLUMNS, ("shop", "id"))
ORDER_UPSERT = _upsert_sql("orders", ORDER_COLUMNS, ("shop", "id"))
MEMBERSHIP_INSERT = (
    "INSERT OR IGNORE INTO memberships (shop, customer_id, slot, value, is_default) "
    "VALUES (?, ?, ?, ?, ?)"
)
ITEM_INSERT = (
    f"INSERT INTO order_items ({', '.join(ITEM_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(ITEM_COLUMNS))})"
)
