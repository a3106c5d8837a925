"""The per-customer order summary kept in the mirror: what segmentation reads instead of
aggregating every order of the shop's history on every run.

One row per customer id with valid orders: their count, revenue gross and net (base currency,
refunds subtracted, never below zero) and first and last order time. The first refresh of a
shop builds it from all orders; from then on the triggers of migration 5 note in
`order_summary_dirty` every customer whose orders were inserted, changed (customer, time,
validity, amounts) or deleted, by whatever path, and `refresh_order_summary` re-aggregates just
those. The summary holds every order, so it answers for an `as_of` at or after the shop's newest
order (the daily run); an earlier `as_of` (a what-if) is aggregated live.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from loyalsync.core.mirror.kept_rows import (
    decode_text,
    decode_text_codes,
    encode_text,
    forget_kept_rows,
)
from loyalsync.core.mirror.rows import db_time
from loyalsync.core.mirror.store import Mirror
from loyalsync.core.records import utcnow
from loyalsync.core.segments.keys import positions

if TYPE_CHECKING:
    import sqlite3

# revenue of one valid order in the base currency; refunds are gross amounts, so the net
# revenue loses the refunded share of the order. Never below zero.
REVENUE = {
    "gross": "MAX(o.base_currency_total_gross - o.base_currency_refunded, 0)",
    "net": "CASE WHEN o.base_currency_total_gross > 0 THEN MAX(o.base_currency_total_net * "
    "(1 - o.base_currency_refunded / o.base_currency_total_gross), 0) "
    "ELSE MAX(o.base_currency_total_net - o.base_currency_refunded, 0) END",
}
_AGGREGATE = (
    "INSERT INTO order_summary (shop, customer_id, orders, revenue_gross, revenue_net, "
    "first_order_at, last_order_at) "
    f"SELECT o.shop, o.customer_id, COUNT(*), TOTAL({REVENUE['gross']}), "
    f"TOTAL({REVENUE['net']}), MIN(o.placed_at), MAX(o.placed_at) "
    "FROM orders o INDEXED BY orders_segment_summary "
    "WHERE o.shop = ? AND o.customer_id IS NOT NULL AND o.is_valid {only} "
    "GROUP BY o.customer_id"
)
_DIRTY = "SELECT d.customer_id FROM order_summary_dirty d WHERE d.shop = ?"


def refresh_order_summary(mirror: Mirror, shop: str) -> int:
    """Bring the shop's summary up to date in one transaction: built from every order the
    first time, afterwards re-aggregated for the customers noted dirty. Returns how many
    customers were (re)aggregated."""
    with mirror.transaction() as conn:
        built = conn.execute("SELECT 1 FROM order_summary_state WHERE shop = ?", (shop,))
        if built.fetchone() is None:
            conn.execute("DELETE FROM order_summary WHERE shop = ?", (shop,))
            conn.execute(_AGGREGATE.format(only=""), (shop,))
            conn.execute(
                "INSERT INTO order_summary_state (shop, built_at) VALUES (?, ?)",
                (shop, db_time(utcnow())),
            )
            conn.execute("DELETE FROM order_summary_dirty WHERE shop = ?", (shop,))
            return int(
                conn.execute(
                    "SELECT COUNT(*) FROM order_summary WHERE shop = ?", (shop,)
                ).fetchone()[0]
            )
        dirty = int(
            conn.execute(
                "SELECT COUNT(*) FROM order_summary_dirty WHERE shop = ?", (shop,)
            ).fetchone()[0]
        )
        if dirty:
            conn.execute(
                f"DELETE FROM order_summary WHERE shop = ? AND customer_id IN ({_DIRTY})",
                (shop, shop),
            )
            conn.execute(_AGGREGATE.format(only=f"AND o.customer_id IN ({_DIRTY})"), (shop, shop))
            conn.execute("DELETE FROM order_summary_dirty WHERE shop = ?", (shop,))
        return dirty


def summary_answers(mirror: Mirror, shop: str, as_of: datetime) -> bool:
    """Whether the kept summary gives the aggregate at `as_of`: built, nothing pending, and no
    order of the shop placed after `as_of`."""
    conn = mirror.conn
    if conn.execute("SELECT 1 FROM order_summary_state WHERE shop = ?", (shop,)).fetchone() is None:
        return False
    if conn.execute("SELECT 1 FROM order_summary_dirty WHERE shop = ? LIMIT 1", (shop,)).fetchone():
        return False
    newest = conn.execute("SELECT MAX(placed_at) FROM orders WHERE shop = ?", (shop,)).fetchone()
    limit = db_time(as_of)
    return newest[0] is None or (limit is not None and str(newest[0]) <= limit)


def forget_order_summary(mirror: Mirror, shop: str) -> None:
    """Drop the shop's kept summary, signatures and customer rows (rebuilt by the next
    refresh)."""
    with mirror.transaction() as conn:
        for table in (
            "order_summary", "order_summary_dirty", "order_summary_state",
            "segment_signatures", "segment_signatures_dirty", "segment_signatures_state",
        ):  # fmt: skip
            conn.execute(f"DELETE FROM {table} WHERE shop = ?", (shop,))
        forget_kept_rows(conn, shop)


# ---------------------------------------------------------------------------------------------
# Stored membership signatures (what the next segmentation diffs against), kept the same way:
# per shop two columns (migration 14), the customer ids and each one's signature, encoded as
# kept_rows encodes text (the signatures as codes into their few thousand distinct values)

_SIGNATURE = (
    "SELECT customer_id, group_concat(segment, char(31)) FROM segment_members "
    "WHERE shop = ? {only} GROUP BY customer_id"
)  # one pass over the primary key: segments in key order, as core.segments.diff expects
_SIGNATURE_DIRTY = "SELECT d.customer_id FROM segment_signatures_dirty d WHERE d.shop = ?"


def refresh_signatures(mirror: Mirror, shop: str) -> int:
    """Bring the shop's kept signatures up to date (built from the membership the first time,
    afterwards for the customers whose membership rows changed). Returns customers redone."""
    with mirror.transaction() as conn:
        built = conn.execute("SELECT 1 FROM segment_signatures_state WHERE shop = ?", (shop,))
        if built.fetchone() is None:
            rows = conn.execute(_SIGNATURE.format(only=""), (shop,)).fetchall()
            ids = np.asarray([r[0] for r in rows], dtype=object)
            write_signatures(conn, shop, ids, np.asarray([r[1] for r in rows], dtype=object))
            conn.execute("DELETE FROM segment_signatures_dirty WHERE shop = ?", (shop,))
            return -1
        dirty = int(
            conn.execute(
                "SELECT COUNT(*) FROM segment_signatures_dirty WHERE shop = ?", (shop,)
            ).fetchone()[0]
        )
        if dirty:
            kept = read_signatures(conn, shop)
            ids, texts = kept if kept is not None else (_EMPTY, _EMPTY)
            noted = conn.execute(_SIGNATURE_DIRTY, (shop,)).fetchall()
            only = f"AND customer_id IN ({_SIGNATURE_DIRTY})"
            fresh = dict(conn.execute(_SIGNATURE.format(only=only), (shop, shop)).fetchall())
            ids, texts = _spliced(ids, texts, [r[0] for r in noted], fresh)
            write_signatures(conn, shop, ids, texts)
            conn.execute("DELETE FROM segment_signatures_dirty WHERE shop = ?", (shop,))
        return dirty


_EMPTY = np.zeros(0, dtype=object)


def _spliced(
    ids: np.ndarray, texts: np.ndarray, noted: list[str], fresh: dict[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    """The kept (ids, signatures) with each noted customer's signature as the membership now
    has it: replaced in place, dropped when they hold no segment, appended when new."""
    texts = texts.copy()
    at = positions(ids, np.asarray(noted, dtype=object)) if len(ids) else np.full(len(noted), -1)
    keep = np.ones(len(ids), dtype=bool)
    added_ids, added_texts = [], []
    for customer_id, where in zip(noted, at.tolist(), strict=True):
        text = fresh.get(customer_id)
        if where >= 0 and text is not None:
            texts[where] = text
        elif where >= 0:
            keep[where] = False
        elif text is not None:
            added_ids.append(customer_id)
            added_texts.append(text)
    return (
        np.concatenate([ids[keep], np.asarray(added_ids, dtype=object)]),
        np.concatenate([texts[keep], np.asarray(added_texts, dtype=object)]),
    )


def write_signatures(
    conn: sqlite3.Connection, shop: str, ids: np.ndarray, texts: np.ndarray
) -> None:
    """Store the shop's signatures (inside the caller's transaction) and mark them built: one
    per customer holding a segment, in any order (a run stores its own order, so the next
    run's ids compare in one pass)."""
    conn.execute(
        "INSERT OR REPLACE INTO segment_signatures (shop, customer_ids, signatures) "
        "VALUES (?, ?, ?)",
        (shop, encode_text(ids, shared=False), encode_text(texts, shared=True)),
    )
    state = "SELECT built_at FROM segment_signatures_state WHERE shop = ?"
    if conn.execute(state, (shop,)).fetchone() is None:
        conn.execute(
            "INSERT INTO segment_signatures_state (shop, built_at) VALUES (?, ?)",
            (shop, db_time(utcnow())),
        )


def read_signatures(conn: sqlite3.Connection, shop: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The shop's kept (customer ids, signatures) as object arrays; None if never stored."""
    found = read_signature_codes(conn, shop)
    if found is None:
        return None
    ids, codes, texts = found
    return ids, np.asarray([*texts, None], dtype=object)[codes]


def read_signature_codes(
    conn: sqlite3.Connection, shop: str
) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """The kept (customer ids, code of each one's signature, the distinct signatures); None
    if never stored."""
    found = conn.execute(
        "SELECT customer_ids, signatures FROM segment_signatures WHERE shop = ?", (shop,)
    ).fetchone()
    if found is None:
        return None
    return (decode_text(bytes(found[0])), *decode_text_codes(bytes(found[1])))


def signatures_kept(mirror: Mirror, shop: str) -> bool:
    """Whether `segment_signatures` holds the shop's stored membership as it is now."""
    conn = mirror.conn
    state = "SELECT 1 FROM segment_signatures_state WHERE shop = ?"
    if conn.execute(state, (shop,)).fetchone() is None:
        return False
    pending = "SELECT 1 FROM segment_signatures_dirty WHERE shop = ? LIMIT 1"
    return conn.execute(pending, (shop,)).fetchone() is None
