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

from loyalsync.core.mirror.rows import db_time, json_text
from loyalsync.core.mirror.store import Mirror
from loyalsync.core.records import (
    AddTag,
    EnsureGroup,
    EnsureTag,
    IssueCode,
    OpResult,
    RemoveTag,
    SetCustomerGroup,
)

_CODE_COLUMNS = "campaign, customer_id, code, status, issued_at, valid_until"
# the earlier of sign-up and first valid order (mirror times compare correctly as text)
_BORN = "MIN(COALESCE(c.created_at, f.first), COALESCE(f.first, c.created_at))"


def load_push_state(mirror: Mirror, shop: str) -> dict[str, list[tuple[Any, ...]]]:
    """Plain rows for the push planner: live customers (id, group_id, tags JSON, born,
    is_guest, number, email), groups (id, name, is_default), tags (id, name) and codes
    (campaign, customer_id, code, status, issued_at, valid_until)."""
    customers = mirror.conn.execute(
        f"SELECT c.id, c.group_id, c.tags, {_BORN}, c.is_guest, c.number, c.email "
        "FROM customers c LEFT JOIN (SELECT customer_id, MIN(placed_at) AS first FROM orders "
        "WHERE shop = ? AND is_valid GROUP BY customer_id) f ON f.customer_id = c.id "
        "WHERE c.shop = ? AND c.deleted_at IS NULL ORDER BY c.id",
        (shop, shop),
    ).fetchall()

    def rows(columns: str, table: str) -> list[tuple[Any, ...]]:
        sql = f"SELECT {columns} FROM {table} WHERE shop = ? ORDER BY 1, 2"
        return mirror.conn.execute(sql, (shop,)).fetchall()

    return {
        "customers": customers,
        "groups": rows("id, name, is_default", "groups"),
        "tags": rows("id, name", "tags"),
        "codes": rows(_CODE_COLUMNS, "codes"),
    }


def load_push_members(mirror: Mirror, shop: str) -> dict[str, set[str]]:
    """customer id -> the segments ('family:value') the customer is in now."""
    members: dict[str, set[str]] = {}
    for cid, segment in mirror.conn.execute(
        "SELECT customer_id, segment FROM segment_members WHERE shop = ?", (shop,)
    ):
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
    if isinstance(op, EnsureGroup | EnsureTag):
        table = "groups" if isinstance(op, EnsureGroup) else "tags"
        sql = f"SELECT 1 FROM {table} WHERE shop = ? AND name = ?"
        if not conn.execute(sql, (shop, op.name)).fetchone():
            conn.execute(
                f"INSERT INTO {table} (shop, id, name) VALUES (?, ?, ?)",
                (shop, result.remote_id or op.name, op.name),
            )
    elif isinstance(op, SetCustomerGroup):
        where, args = ("name = ?", (op.group,)) if op.group else ("is_default = 1", ())
        conn.execute(
            "UPDATE customers SET row_hash = 'pushed', group_id = (SELECT id FROM groups "
            f"WHERE shop = ? AND {where} ORDER BY id LIMIT 1) WHERE shop = ? AND id = ?",
            (shop, *args, shop, op.customer_id),
        )
    elif isinstance(op, AddTag | RemoveTag):
        _save_customer_tag(conn, shop, op, result.remote_id)
    elif isinstance(op, IssueCode):
        conn.execute(
            "UPDATE codes SET status = 'issued' WHERE shop = ? AND campaign = ? AND "
            "customer_id = ? AND code = ? AND status = 'planned'",
            (shop, op.campaign, op.customer_id, op.code),
        )


def _save_customer_tag(
    conn: sqlite3.Connection, shop: str, op: AddTag | RemoveTag, remote_id: str | None
) -> None:
    found = conn.execute(
        "SELECT id FROM tags WHERE shop = ? AND name = ?", (shop, op.tag)
    ).fetchone()
    tag_id = found[0] if found else remote_id
    row = conn.execute(
        "SELECT tags FROM customers WHERE shop = ? AND id = ?", (shop, op.customer_id)
    ).fetchone()
    if row is None or tag_id is None:
        return
    tags = set(json.loads(row[0] or "[]"))
    tags = tags | {tag_id} if isinstance(op, AddTag) else tags - {tag_id}
    conn.execute(
        "UPDATE customers SET tags = ?, row_hash = 'pushed' WHERE shop = ? AND id = ?",
        (json_text(sorted(tags)), shop, op.customer_id),
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
    the earliest such order (SQLite takes the bare column o.id from the MIN(placed_at) row)."""
    with mirror.transaction():
        cur = mirror.conn.execute(
            "UPDATE codes SET status = 'redeemed', redeemed_order_id = u.order_id, "
            "redeemed_at = u.placed_at FROM (SELECT UPPER(j.value) AS code, o.id AS order_id, "
            "MIN(o.placed_at) AS placed_at FROM orders o, json_each(o.codes) j "
            "WHERE o.shop = ? AND o.codes != '[]' GROUP BY UPPER(j.value)) AS u "
            "WHERE codes.shop = ? AND UPPER(codes.code) = u.code AND codes.status != 'redeemed'",
            (shop, shop),
        )
    return cur.rowcount


def managed_view(mirror: Mirror, shop: str) -> dict[str, list[tuple[str, int]]]:
    """What the shop holds now as mirrored: customers per group, per tag, codes per status."""
    groups = mirror.conn.execute(
        "SELECT COALESCE(g.name, c.group_id), COUNT(*) FROM customers c LEFT JOIN groups g "
        "ON g.shop = c.shop AND g.id = c.group_id WHERE c.shop = ? AND c.deleted_at IS NULL "
        "GROUP BY 1 ORDER BY 2 DESC",
        (shop,),
    ).fetchall()
    tags = mirror.conn.execute(
        "SELECT COALESCE(t.name, j.value), COUNT(*) FROM customers c, json_each(c.tags) j "
        "LEFT JOIN tags t ON t.shop = c.shop AND t.id = j.value WHERE c.shop = ? "
        "GROUP BY 1 ORDER BY 2 DESC",
        (shop,),
    ).fetchall()
    codes = mirror.conn.execute(
        "SELECT campaign || ': ' || status, COUNT(*) FROM codes WHERE shop = ? "
        "GROUP BY 1 ORDER BY 1",
        (shop,),
    ).fetchall()
    return {"groups": groups, "tags": tags, "codes": codes}


def load_contacts(mirror: Mirror, shop: str) -> dict[str, tuple[Any, ...]]:
    """customer id -> (number, email, first name, last name) of the live customers, so a plan
    can name the people it changes (`plan --json`, `plan -v`)."""
    rows = mirror.conn.execute(
        "SELECT id, number, email, first_name, last_name FROM customers "
        "WHERE shop = ? AND deleted_at IS NULL",
        (shop,),
    )
    return {cid: (number, email, first, last) for cid, number, email, first, last in rows}
