"""What `sync/push.py` reads to plan (shop state, stored membership, the segmented customers'
addresses) and writes after each batch, and what the shop holds now as mirrored (for the
report). Rows the push changed get row_hash 'pushed', so the next pull overwrites them with the
shop's own version whatever it is."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from loyalsync.core.mirror.rows import db_time
from loyalsync.core.mirror.store import Mirror
from loyalsync.core.records import (
    AddValue,
    EnsureValue,
    IssueCode,
    OpResult,
    RemoveValue,
    SetDefault,
    SetValue,
)

_CODE_COLUMNS = "campaign, customer_id, code, status, issued_at, valid_until"
# the earlier of sign-up and first valid order (mirror times compare correctly as text)
_BORN = "MIN(COALESCE(c.created_at, f.first), COALESCE(f.first, c.created_at))"


def load_push_state(
    mirror: Mirror, shop: str, only: Iterable[str] | None = None
) -> dict[str, list[tuple[Any, ...]]]:
    """Plain rows for the push planner: live customers (id, born, is_guest, number, email),
    their memberships (customer_id, slot, value id), the values each slot has in the shop
    (slot, id, name, is_default) and codes (campaign, customer_id, code, status, issued_at,
    valid_until). With `only`, the customers and memberships of those customer ids alone
    (`load_push_overview` says which ids a plan can touch)."""
    customers, held = load_push_customers(mirror, shop, only)
    values = mirror.conn.execute(
        "SELECT slot, id, name, is_default FROM slot_values WHERE shop = ? ORDER BY 1, 2",
        (shop,),
    ).fetchall()
    return {
        "customers": customers,
        "memberships": held,
        "values": values,
        "codes": load_push_codes(mirror, shop),
    }


def load_push_codes(mirror: Mirror, shop: str) -> list[tuple[Any, ...]]:
    """Every code of the shop: campaign, customer_id, code, status, issued_at, valid_until."""
    sql = f"SELECT {_CODE_COLUMNS} FROM codes WHERE shop = ? ORDER BY 1, 2"
    return mirror.conn.execute(sql, (shop,)).fetchall()


def load_push_customers(
    mirror: Mirror, shop: str, only: Iterable[str] | None = None
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The customer and membership rows of `load_push_state`, of everybody or of `only`."""
    if only is None:
        return _all_push_customers(mirror, shop)
    return _some_push_customers(mirror, shop, only)


Rows = list[tuple[Any, ...]]


def _all_push_customers(mirror: Mirror, shop: str) -> tuple[Rows, Rows]:
    customers = mirror.conn.execute(
        f"SELECT c.id, {_BORN}, c.is_guest, c.number, c.email "
        "FROM customers c LEFT JOIN (SELECT customer_id, MIN(placed_at) AS first FROM orders "
        "WHERE shop = ? AND is_valid GROUP BY customer_id) f ON f.customer_id = c.id "
        "WHERE c.shop = ? AND c.deleted_at IS NULL ORDER BY c.id",
        (shop, shop),
    ).fetchall()
    held = mirror.conn.execute(
        "SELECT m.customer_id, m.slot, m.value FROM memberships m JOIN customers c "
        "ON c.shop = m.shop AND c.id = m.customer_id AND c.deleted_at IS NULL "
        "WHERE m.shop = ? ORDER BY 1, 2, 3",
        (shop,),
    ).fetchall()
    return customers, held


def _some_push_customers(mirror: Mirror, shop: str, only: Iterable[str]) -> tuple[Rows, Rows]:
    """The rows of `_all_push_customers` for the ids in `only` (one look-up per id)."""
    conn = mirror.conn
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS _plan_only (id TEXT PRIMARY KEY) WITHOUT ROWID")
    try:
        conn.execute("DELETE FROM temp._plan_only")
        conn.execute(  # one parameter for all ids: a fraction of the cost of one insert each
            "INSERT OR IGNORE INTO temp._plan_only (id) SELECT value FROM json_each(?)",
            (json.dumps([str(i) for i in only]),),
        )
        customers = conn.execute(
            "SELECT id, MIN(COALESCE(created_at, first), COALESCE(first, created_at)), "
            "is_guest, number, email FROM (SELECT c.id, c.created_at, c.is_guest, c.number, "
            "c.email, (SELECT MIN(o.placed_at) FROM orders o WHERE o.shop = :shop "
            "AND o.customer_id = c.id AND o.is_valid) AS first FROM temp._plan_only p "
            "CROSS JOIN customers c ON c.shop = :shop AND c.id = p.id "
            "WHERE c.deleted_at IS NULL) ORDER BY id",
            {"shop": shop},
        ).fetchall()  # the same `born` as _BORN, the first valid order looked up per id
        held = conn.execute(
            "SELECT m.customer_id, m.slot, m.value FROM temp._plan_only p "
            "CROSS JOIN customers c ON c.shop = :shop AND c.id = p.id AND c.deleted_at IS NULL "
            "CROSS JOIN memberships m ON m.shop = c.shop AND m.customer_id = c.id "
            "ORDER BY 1, 2, 3",
            {"shop": shop},
        ).fetchall()
    finally:
        conn.execute("DELETE FROM temp._plan_only")
    return customers, held


def load_push_overview(mirror: Mirror, shop: str) -> dict[str, Any]:
    """What tells a planner which customers it can touch, without reading them all: the
    number of live customers (`customers`), the distinct (slot, value id) pairs they hold
    (`held`), the slots' values (`values`: slot, id, name, is_default) and the customer ids
    with codes (`coded`)."""
    conn = mirror.conn
    live = (  # the partial index of the live customers: a fraction of the table's pages
        "SELECT COUNT(*) FROM customers INDEXED BY customers_segment "
        "WHERE shop = ? AND deleted_at IS NULL"
    )
    held = _distinct_values(conn, shop)
    values = conn.execute(
        "SELECT slot, id, name, is_default FROM slot_values WHERE shop = ? ORDER BY 1, 2",
        (shop,),
    ).fetchall()
    coded = conn.execute("SELECT DISTINCT customer_id FROM codes WHERE shop = ?", (shop,))
    return {
        "customers": int(conn.execute(live, (shop,)).fetchone()[0]),
        "held": held,
        "values": values,
        "coded": [row[0] for row in coded.fetchall()],
    }


def _distinct_values(conn: sqlite3.Connection, shop: str) -> list[tuple[str, str]]:
    """The distinct (slot, value id) pairs held, in order: a seek or two of the
    memberships_value index per pair (a shop holds a few dozen values; its million membership
    rows are never walked)."""
    base = "SELECT slot, value FROM memberships INDEXED BY memberships_value WHERE shop = ? "
    same_slot = base + "AND slot = ? AND value > ? ORDER BY value LIMIT 1"
    next_slot = base + "AND slot > ? ORDER BY slot, value LIMIT 1"
    found: list[tuple[str, str]] = []
    row = conn.execute(base + "ORDER BY slot, value LIMIT 1", (shop,)).fetchone()
    while row is not None:
        found.append((row[0], row[1]))
        row = (
            conn.execute(same_slot, (shop, row[0], row[1])).fetchone()
            or conn.execute(next_slot, (shop, row[0])).fetchone()
        )
    return found


def load_value_holders(
    mirror: Mirror, shop: str, pairs: Iterable[tuple[str, str]]
) -> list[tuple[str, str, str, int]]:
    """Who holds any of the (slot, value id) `pairs` (live customers or not): customer_id,
    slot, value and how many rows the customer holds in that slot (one look-up each)."""
    found = mirror.conn.execute(
        "SELECT m.customer_id, m.slot, m.value, (SELECT COUNT(*) FROM memberships n "
        "WHERE n.shop = m.shop AND n.customer_id = m.customer_id AND n.slot = m.slot) "
        "FROM memberships m WHERE m.shop = ? AND "
        "(m.slot, m.value) IN (SELECT json_extract(j.value, '$[0]'), json_extract(j.value, "
        "'$[1]') FROM json_each(?) j)",
        (shop, json.dumps([list(p) for p in pairs])),
    )
    return found.fetchall()


def load_push_members(
    mirror: Mirror, shop: str, segments: Iterable[str] | None = None
) -> dict[str, set[str]]:
    """customer id -> the segments ('family:value') the customer is in now; with `segments`,
    only those segments (customers in none of them are left out)."""
    members: dict[str, set[str]] = {}
    sql = "SELECT customer_id, segment FROM segment_members WHERE shop = ?"
    params: tuple[str, ...] = (shop,)
    if segments is not None:
        sql += " AND segment IN (SELECT value FROM json_each(?))"
        params = (shop, json.dumps(sorted(set(segments))))
    for cid, segment in mirror.conn.execute(sql, params):
        members.setdefault(cid, set()).add(segment)
    return members


def load_push_addresses(mirror: Mirror, shop: str) -> pd.DataFrame:
    """customer_id, country, city, postcode of every live customer with stored membership
    (segmented customers: the representatives of merged identities, no excluded protected
    customers), for the address segments segmentation derives but never stores."""
    # one pass over the customers and one over the membership's primary key (for the set of
    # ids): at a million customers faster than a look-up of each member's row by id
    return mirror.frame(
        "SELECT c.id AS customer_id, c.country, c.city, c.postcode FROM customers c NOT INDEXED "
        "WHERE c.shop = :shop AND c.deleted_at IS NULL "
        "AND c.id IN (SELECT customer_id FROM segment_members WHERE shop = :shop)",
        {"shop": shop},
    )


def save_planned_codes(
    mirror: Mirror,
    shop: str,
    codes: Iterable[tuple[str, str, str, datetime, datetime | None]],
    run_id: int | None,
) -> None:
    """Record codes as 'planned' before they are sent (campaign, customer_id, code, issued_at,
    valid_until): a push killed after sending never issues a second code."""
    rows = [
        (shop, campaign, cid, code, db_time(at), db_time(until), run_id)
        for campaign, cid, code, at, until in codes
    ]
    with mirror.transaction():
        mirror.conn.executemany(
            f"INSERT INTO codes (shop, {_CODE_COLUMNS}, run_id) "
            "VALUES (?, ?, ?, ?, 'planned', ?, ?, ?) ON CONFLICT DO NOTHING",
            rows,
        )


def save_push_results(mirror: Mirror, shop: str, results: Sequence[OpResult]) -> None:
    """Update the mirror's view after writes the shop accepted, so the next plan is empty."""
    with mirror.transaction() as conn:
        for result in results:
            if result.ok:
                _save_push_result(conn, shop, result)


def _save_push_result(conn: sqlite3.Connection, shop: str, result: OpResult) -> None:
    op = result.op
    if isinstance(op, EnsureValue):
        sql = "SELECT 1 FROM slot_values WHERE shop = ? AND slot = ? AND name = ?"
        if not conn.execute(sql, (shop, op.slot, op.name)).fetchone():
            conn.execute(
                "INSERT INTO slot_values (shop, slot, id, name) VALUES (?, ?, ?, ?)",
                (shop, op.slot, result.remote_id or op.name, op.name),
            )
    elif isinstance(op, SetValue | AddValue | RemoveValue | SetDefault):
        _save_membership(conn, shop, op, result.remote_id)
    elif isinstance(op, IssueCode):
        conn.execute(
            "UPDATE codes SET status = 'issued' WHERE shop = ? AND campaign = ? AND "
            "customer_id = ? AND code = ? AND status = 'planned'",
            (shop, op.campaign, op.customer_id, op.code),
        )


def _value_id(
    conn: sqlite3.Connection, shop: str, slot: str, name: str | None, remote_id: str | None
) -> str | None:
    """The id of a slot's value by name (None: the slot's default value); a name the shop
    lists no value for (free text, e.g. a custom field label) is its own id."""
    where, args = ("name = ?", (name,)) if name is not None else ("is_default = 1", ())
    found = conn.execute(
        f"SELECT id FROM slot_values WHERE shop = ? AND slot = ? AND {where} ORDER BY id LIMIT 1",
        (shop, slot, *args),
    ).fetchone()
    return found[0] if found else (remote_id or name) if name is not None else None


def _save_membership(
    conn: sqlite3.Connection,
    shop: str,
    op: SetValue | AddValue | RemoveValue | SetDefault,
    remote_id: str | None,
) -> None:
    """The customer's rows in the op's slot after the shop accepted it; the customer row gets
    row_hash 'pushed' so the next pull takes the shop's own version whatever it is."""
    remote = remote_id if isinstance(op, AddValue | RemoveValue) else None  # the value's id
    value_id = _value_id(conn, shop, op.slot, op.value, remote)
    key = (shop, op.customer_id, op.slot)
    if isinstance(op, SetValue):
        conn.execute("DELETE FROM memberships WHERE shop = ? AND customer_id = ? AND slot = ?", key)
    if isinstance(op, RemoveValue):
        conn.execute(
            "DELETE FROM memberships WHERE shop = ? AND customer_id = ? AND slot = ? AND value = ?",
            (*key, value_id),
        )
    elif isinstance(op, SetDefault) and value_id is not None:
        conn.execute(
            "UPDATE memberships SET is_default = (value = ?) "
            "WHERE shop = ? AND customer_id = ? AND slot = ?",
            (value_id, *key),
        )
    elif value_id is not None:
        conn.execute(
            "INSERT OR IGNORE INTO memberships (shop, customer_id, slot, value) "
            "VALUES (?, ?, ?, ?)",
            (*key, value_id),
        )
    conn.execute(
        "UPDATE customers SET row_hash = 'pushed' WHERE shop = ? AND id = ?",
        (shop, op.customer_id),
    )


def expire_codes(mirror: Mirror, shop: str, as_of: datetime) -> int:
    """Issued codes past their validity and never redeemed become 'expired'."""
    with mirror.transaction():
        cur = mirror.conn.execute(
            "UPDATE codes SET status = 'expired' WHERE shop = ? AND status = 'issued' "
            "AND valid_until IS NOT NULL AND valid_until <= ?",
            (shop, db_time(as_of)),
        )
    return cur.rowcount


def record_redemptions(mirror: Mirror, shop: str) -> int:
    """Codes found on pulled orders (`orders.codes`, case-insensitive) become 'redeemed' with
    the earliest such order (SQLite takes the bare column o.id from the MIN(placed_at) row).
    Reads only the orders that carry a code (a partial index, migration 12), and groups only
    the codes that are ours and not yet redeemed."""
    with mirror.transaction():
        cur = mirror.conn.execute(
            "UPDATE codes SET status = 'redeemed', redeemed_order_id = u.order_id, "
            "redeemed_at = u.placed_at FROM (SELECT UPPER(j.value) AS code, o.id AS order_id, "
            "MIN(o.placed_at) AS placed_at FROM orders o INDEXED BY orders_with_codes, "
            "json_each(o.codes) j WHERE o.shop = ? AND o.codes != '[]' "
            "AND UPPER(j.value) IN (SELECT UPPER(code) FROM codes WHERE shop = ? "
            "AND status != 'redeemed') GROUP BY UPPER(j.value)) AS u "
            "WHERE codes.shop = ? AND UPPER(codes.code) = u.code AND codes.status != 'redeemed'",
            (shop, shop, shop),
        )
    return cur.rowcount


def managed_view(mirror: Mirror, shop: str) -> dict[str, list[tuple[str, int]]]:
    """What the shop holds now as mirrored: per slot the live customers per value (by name),
    and under "codes" the codes per campaign and status."""
    view: dict[str, list[tuple[str, int]]] = {}
    for slot, name, count in mirror.conn.execute(
        "SELECT m.slot, COALESCE(v.name, m.value), COUNT(*) FROM memberships m "
        "JOIN customers c ON c.shop = m.shop AND c.id = m.customer_id AND c.deleted_at IS NULL "
        "LEFT JOIN slot_values v ON v.shop = m.shop AND v.slot = m.slot AND v.id = m.value "
        "WHERE m.shop = ? GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2",
        (shop,),
    ):
        view.setdefault(slot, []).append((name, count))
    view["codes"] = mirror.conn.execute(
        "SELECT campaign || ': ' || status, COUNT(*) FROM codes WHERE shop = ? "
        "GROUP BY 1 ORDER BY 1",
        (shop,),
    ).fetchall()
    return view


def load_contacts(mirror: Mirror, shop: str) -> dict[str, tuple[Any, ...]]:
    """customer id -> (number, email, first name, last name) of the live customers, so a plan
    can name the people it changes (`plan --json`, `plan -v`)."""
    rows = mirror.conn.execute(
        "SELECT id, number, email, first_name, last_name FROM customers "
        "WHERE shop = ? AND deleted_at IS NULL",
        (shop,),
    )
    return {cid: (number, email, first, last) for cid, number, email, first, last in rows}
