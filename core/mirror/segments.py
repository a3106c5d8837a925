"""What segmentation reads and writes (`sync/segment.py` is the caller).

Orders are aggregated in SQL, one GROUP BY pass per customer row (plus one per e-mail for
orders without a customer row), so memory grows with customers, not orders;
`core.segments.identity` merges the rows of one person. Stored membership is replaced by
writing only what changed, with one segment_changes row (segments entered and exited) per
customer whose membership changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from loyalsync.core.config import SegmentationConfig
from loyalsync.core.mirror.kept_rows import (
    GROUP_OF,
    KeptRows,
    kept_rows,
)
from loyalsync.core.mirror.order_summary import (
    REVENUE,
    read_signature_codes,
    read_signatures,
    refresh_order_summary,
    refresh_signatures,
    signatures_kept,
    summary_answers,
    write_signatures,
)
from loyalsync.core.mirror.rows import db_time
from loyalsync.core.mirror.store import Mirror
from loyalsync.core.records import GROUPS
from loyalsync.core.segments import diff, identity
from loyalsync.core.segments.summary import utc_series

_SEG_REVENUE = REVENUE
_SEG_AGGREGATES = (
    "COUNT(*) AS orders, TOTAL({revenue}) AS revenue, MIN(o.placed_at) AS first_order_at, "
    "MAX(o.placed_at) AS last_order_at"
)
_SEG_CONTACTS = "c.number, c.first_name, c.last_name, c.company"
_SEG_NO_CONTACTS = "NULL AS number, NULL AS first_name, NULL AS last_name, NULL AS company"
_SEG_CUSTOMERS = (
    f"SELECT c.id, c.email, c.is_guest, c.created_at, {{contacts}}, {GROUP_OF} AS group_id, "
    "c.country, c.city, c.postcode FROM customers c INDEXED BY customers_segment "
    "WHERE c.shop = :shop AND c.deleted_at IS NULL"
)
_SEG_SHARED = ("group_id", "country", "city", "postcode")  # few distinct values, many rows
_SEG_PARTIALS = (
    "SELECT o.customer_id AS customer_id, NULL AS email, {aggregates} FROM orders o "
    "WHERE o.shop = :shop AND o.customer_id IS NOT NULL AND o.placed_at <= :as_of "
    "AND o.is_valid GROUP BY o.customer_id "
    "UNION ALL SELECT NULL, o.email, {aggregates} FROM orders o INDEXED BY orders_segment_summary "
    "WHERE o.shop = :shop AND o.customer_id IS NULL AND o.email IS NOT NULL "
    "AND o.placed_at <= :as_of AND o.is_valid GROUP BY o.email"
)  # the index: few orders lack a customer, while walking orders_email would visit them all
# the same partials from the kept per-customer summary (valid when `summary_answers`): orders
# without a customer row are few and still aggregated per e-mail
_SEG_GUEST_PARTIALS = (
    "SELECT NULL AS customer_id, o.email AS email, {aggregates} FROM orders o "
    "INDEXED BY orders_segment_summary "
    "WHERE o.shop = :shop AND o.customer_id IS NULL AND o.email IS NOT NULL "
    "AND o.placed_at <= :as_of AND o.is_valid GROUP BY o.email"
)
_SEG_KEPT_PARTIALS = (
    "SELECT customer_id, NULL AS email, orders, revenue_{revenue} AS revenue, first_order_at, "
    "last_order_at FROM order_summary WHERE shop = :shop UNION ALL "
    "SELECT * FROM (" + _SEG_GUEST_PARTIALS + ")"
)
_SEG_ITEMS = (
    "FROM orders o INDEXED BY orders_segment_summary CROSS JOIN order_items i "
    "ON i.shop = o.shop AND i.order_id = o.id "
    "WHERE o.shop = :shop AND o.is_valid AND o.placed_at <= :as_of AND i.kind = 'product' "
)
_SEG_PRODUCT = "COALESCE(i.product_id, i.sku)"
_SEG_PRODUCTS = (
    f"SELECT o.customer_id AS customer_id, NULL AS email, COUNT(DISTINCT {_SEG_PRODUCT}) "
    f"AS distinct_products {_SEG_ITEMS} AND o.customer_id IS NOT NULL GROUP BY o.customer_id "
    f"UNION ALL SELECT NULL, o.email, COUNT(DISTINCT {_SEG_PRODUCT}) {_SEG_ITEMS} "
    "AND o.customer_id IS NULL AND o.email IS NOT NULL GROUP BY o.email"
)
_SEG_PAIRS = (
    f"SELECT o.customer_id AS customer_id, o.email AS email, {_SEG_PRODUCT} AS product "
    f"{_SEG_ITEMS} AND o.customer_id IN (SELECT value FROM json_each(:ids)) "
    f"UNION ALL SELECT NULL, o.email, {_SEG_PRODUCT} {_SEG_ITEMS} AND o.customer_id IS NULL "
    "AND o.email IN (SELECT value FROM json_each(:emails))"
)
_SEG_PURCHASES = (
    "SELECT c.id AS customer_row_id, c.email AS customer_email, o.email AS order_email, "
    "i.product_id, i.sku FROM order_items i NOT INDEXED "
    "CROSS JOIN orders o ON o.shop = i.shop AND o.id = i.order_id "
    "LEFT JOIN customers c ON c.shop = o.shop AND c.id = o.customer_id AND c.deleted_at IS NULL "
    "WHERE i.shop = :shop AND o.is_valid AND o.placed_at <= :as_of AND ("
    "i.product_id IN (SELECT value FROM json_each(:refs)) "
    "OR i.sku IN (SELECT value FROM json_each(:refs)))"
)
_SEG_MEMBER_COLUMNS = (
    "customer_id, segment, substr(segment, 1, instr(segment, ':') - 1) AS family, since"
)


def load_summary(
    mirror: Mirror,
    shop: str,
    as_of: datetime,
    cfg: SegmentationConfig,
    *,
    products: bool = False,
    contacts: bool = True,
    refresh: bool = False,
) -> pd.DataFrame:
    """The customer summary aggregate, one row per identity with a live customer row (columns:
    `core.segments.summary.RAW_DEFAULTS`; times as UTC datetimes). Only orders placed at or
    before `as_of` count; revenue is gross or net per `cfg.revenue`, in the base currency,
    refunds subtracted, invalid orders left out. `distinct_products` costs a join over every
    order line, so it is only counted when `products` is true (0 otherwise). Without
    `contacts` the number, names and company stay empty (less memory for a segment run).
    Per-customer order figures come from the kept summary (`order_summary.py`) when it answers
    for `as_of`; `refresh` (a writer holding the lock) first brings it up to date."""
    params = {"shop": shop, "as_of": db_time(as_of), "groups": GROUPS}
    aggregates = _SEG_AGGREGATES.format(revenue=_SEG_REVENUE[cfg.revenue])
    if refresh:
        refresh_order_summary(mirror, shop)  # first: its changes note kept rows dirty
    kept = None if contacts else kept_rows(mirror, shop, write=refresh)
    if kept is not None:
        empty = dict.fromkeys(("number", "first_name", "last_name", "company"))
        customers = kept.customers.assign(**empty)
    else:
        names = _SEG_CONTACTS if contacts else _SEG_NO_CONTACTS
        sql = _SEG_CUSTOMERS.format(contacts=names)
        customers = _seg_frame(mirror, sql, params, shared=_SEG_SHARED)
    groups = mirror.conn.execute(
        "SELECT id, name FROM slot_values WHERE shop = ? AND slot = ?", (shop, GROUPS)
    )
    customers["group_name"] = customers["group_id"].map(dict(groups.fetchall()))
    if summary_answers(mirror, shop, as_of) and kept is not None:
        partials = _kept_partials(mirror, kept, cfg, params, aggregates)
    elif summary_answers(mirror, shop, as_of):
        kept_sql = _SEG_KEPT_PARTIALS.format(revenue=cfg.revenue, aggregates=aggregates)
        partials = _seg_frame(mirror, kept_sql, params)
    else:
        partials = _seg_frame(mirror, _SEG_PARTIALS.format(aggregates=aggregates), params)
    merge = cfg.merge_guests_by_email
    exact = None
    if products:
        counts = mirror.frame(_SEG_PRODUCTS, params)
        partials = partials.merge(counts, on=["customer_id", "email"], how="left")
        ids, emails = identity.merged_identity_members(partials, customers, merge)
        pairs = mirror.frame(
            _SEG_PAIRS, {**params, "ids": json.dumps(ids), "emails": json.dumps(emails)}
        )
        exact = identity.distinct_products(pairs, customers, merge)
    else:
        partials["distinct_products"] = 0
    partials["distinct_products"] = partials["distinct_products"].fillna(0)
    return identity.assemble(customers, partials, merge, exact)


def _kept_partials(
    mirror: Mirror, kept: KeptRows, cfg: SegmentationConfig, params: dict[str, Any], aggregates: str
) -> pd.DataFrame:
    """The per-customer partials from the kept order-summary columns, with the orders that
    have no customer row aggregated per e-mail by SQL (few)."""
    own = kept.orders
    mine = pd.DataFrame(
        {
            "customer_id": own["customer_id"].to_numpy(),
            "email": None,
            "orders": own["orders"].to_numpy(),
            "revenue": own[f"revenue_{cfg.revenue}"].to_numpy(),
            "first_order_at": own["first_order_at"],
            "last_order_at": own["last_order_at"],
        }
    )
    guests = _seg_frame(mirror, _SEG_GUEST_PARTIALS.format(aggregates=aggregates), params)
    if guests.empty:
        return mine
    for column in ("first_order_at", "last_order_at"):
        guests[column] = utc_series(guests[column]).dt.as_unit("ns")
    return pd.concat([mine, guests.astype({"customer_id": object})], ignore_index=True)


def _seg_frame(
    mirror: Mirror, sql: str, params: dict[str, Any], shared: Sequence[str] = ()
) -> pd.DataFrame:
    """A query's rows as a frame, read in chunks: a million rows never sit in memory twice
    (once as Python tuples and once as columns). The text columns in `shared` repeat few
    values (countries, cities, groups): each chunk keeps one string object per distinct value
    instead of one per row (the same values, a fraction of the memory)."""
    chunks = []
    for chunk in pd.read_sql_query(sql, mirror.conn, params=params, chunksize=100_000):
        for column in shared:
            chunk[column] = _shared_strings(chunk[column])
        chunks.append(chunk)
    if not chunks:
        return pd.read_sql_query(sql, mirror.conn, params=params)
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


def _shared_strings(values: pd.Series) -> pd.Series:
    """The same column, each distinct string one object (`values`' dtype kept)."""
    if values.dtype != object and not isinstance(values.dtype, pd.StringDtype):
        return values
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.asarray([*uniques, None], dtype=object)  # code -1: missing (NULL)
    return pd.Series(table[codes], index=values.index, dtype=values.dtype)


def load_purchases(mirror: Mirror, shop: str, refs: Sequence[str], as_of: datetime) -> pd.DataFrame:
    """Valid order lines (placed at or before as_of) whose product id or SKU is in `refs`:
    customer_row_id and customer_email (of a live customer row, else None), order_email,
    product_id, sku. Scans order_items once; used only when rules ask what was bought."""
    params = {"shop": shop, "as_of": db_time(as_of), "refs": json.dumps(list(refs))}
    return mirror.frame(_SEG_PURCHASES, params)


def load_members(
    mirror: Mirror,
    shop: str,
    *,
    family: str | None = None,
    segment: str | None = None,
    details: bool = True,
) -> pd.DataFrame:
    """Stored membership (customer_id, segment, family, since; sorted), optionally of one
    family or one segment. `since` is when the customer entered the segment. Without
    `details`: customer_id and segment only, unsorted (cheaper for a million rows)."""
    columns = _SEG_MEMBER_COLUMNS if details else "customer_id, segment"
    sql = f"SELECT {columns} FROM segment_members WHERE shop = :shop"
    if segment is not None:
        sql += " AND segment = :segment"
    if family is not None:  # 'family:' <= segment < 'family;'
        sql += " AND segment >= :low AND segment < :high"
    params = {"shop": shop, "segment": segment, "low": f"{family}:", "high": f"{family};"}
    return _seg_frame(mirror, sql + (" ORDER BY customer_id, segment" if details else ""), params)


def load_signatures(mirror: Mirror, shop: str, *, refresh: bool = False) -> pd.DataFrame:
    """Stored membership per customer: customer_id, signature (the segment names in primary
    key order joined by the unit separator, see core.segments.diff). From the kept
    signatures when they are current (`refresh`, for a writer holding the lock, brings them up
    to date first), else one pass over the primary key index; one row per customer."""
    if refresh:
        refresh_signatures(mirror, shop)
    if signatures_kept(mirror, shop):
        kept = read_signatures(mirror.conn, shop)
        if kept is not None:
            return pd.DataFrame({"customer_id": kept[0], "signature": kept[1]})
    return _seg_frame(
        mirror,
        "SELECT customer_id, group_concat(segment, char(31)) AS signature "
        "FROM segment_members WHERE shop = :shop GROUP BY customer_id",
        {"shop": shop},
    )


def load_kept_signatures(
    mirror: Mirror, shop: str, mentioning: Iterable[str] | None = None
) -> tuple[list[str], list[str]] | None:
    """(customer ids, signatures) from the kept signatures, read in one snapshot with the
    check that they are current; None when they are not (the caller reads the membership).
    With `mentioning`, only the signatures whose text contains one of those segment names
    (a superset of the customers in them: the caller splits the names)."""
    with mirror.snapshot() as conn:
        if not signatures_kept(mirror, shop):
            return None
        found = read_signature_codes(conn, shop)
    if found is None:
        return None
    ids, codes, texts = found
    table = np.asarray([*texts, None], dtype=object)
    if mentioning is not None:  # each distinct signature searched once
        names = sorted(set(mentioning))
        wanted = np.asarray([any(n in t for n in names) for t in texts] + [False], dtype=bool)
        ids, codes = ids[wanted[codes]], codes[wanted[codes]]
    return ids.tolist(), table[codes].tolist()


def save_segments(
    mirror: Mirror,
    shop: str,
    members: pd.DataFrame | diff.Membership,
    as_of: datetime,
    run_id: int | None = None,
    *,
    current: pd.DataFrame | None = None,
) -> dict[str, int]:
    """Make `members` (customer_id, segment, family rows, or a `diff.Membership`) the shop's
    stored membership: delete the rows that exited, insert the rows that entered (since =
    as_of), and append one segment_changes row (entered and exited segments) per customer
    whose membership changed, and store every customer's signature (two columns, see
    order_summary.py). Unchanged customers' rows are not touched, so re-running with the
    same result writes no membership or history row. `current`: the `load_signatures` read
    earlier in the same run, if any (the caller holds the run lock). Returns counts:
    entered, exited, members, customers (changed)."""
    if current is None:
        current = load_signatures(mirror, shop)
    if not isinstance(members, diff.Membership):
        members = diff.membership_of_rows(members)
    changes = diff.membership_changes_of(current, members)
    params = {"shop": shop, "at": db_time(as_of), "run_id": run_id}
    rows = changes.rows
    with mirror.transaction() as conn:
        # the changes go in once, as one row per customer; SQL then expands the JSON lists
        # (customer order, so the membership's key pages fill in order); a rollback drops the
        # staging table with everything else
        conn.execute(_SEG_STAGE_CREATE)
        conn.executemany(
            "INSERT INTO temp._segment_stage (customer_id, entered, exited) VALUES (?, ?, ?)",
            zip(
                rows["customer_id"].tolist(),
                rows["entered"].tolist(),
                rows["exited"].tolist(),
                strict=True,
            ),
        )
        # kept signatures: written here from the run's own (every customer's, as the
        # membership now stands), with the membership triggers held off meanwhile (they
        # note what other paths change)
        built = conn.execute(
            "DELETE FROM segment_signatures_state WHERE shop = ? RETURNING built_at", (shop,)
        ).fetchall()
        if changes.exited:
            conn.execute(_SEG_DELETE_EXITED, params)
        conn.execute(_SEG_INSERT_ENTERED, params)
        conn.execute(_SEG_INSERT_CHANGES, params)
        if built:
            conn.execute(
                "INSERT INTO segment_signatures_state (shop, built_at) VALUES (?, ?)",
                (shop, built[0][0]),
            )
        write_signatures(conn, shop, *_signatures_of(members))
        conn.execute(_SEG_CLEAR_NOTES, params)
        conn.execute("DROP TABLE temp._segment_stage")
    if not signatures_kept(mirror, shop):
        refresh_signatures(mirror, shop)  # other paths' changes noted meanwhile
    return {
        "entered": changes.entered,
        "exited": changes.exited,
        "members": members.rows,
        "customers": len(rows),
    }


_SEG_STAGE_CREATE = (
    "CREATE TEMP TABLE _segment_stage (customer_id TEXT NOT NULL, entered TEXT NOT NULL, "
    "exited TEXT NOT NULL)"
)
_SEG_DELETE_EXITED = (
    "DELETE FROM segment_members WHERE shop = :shop AND (customer_id, segment) IN "
    "(SELECT s.customer_id, j.value FROM temp._segment_stage s, json_each(s.exited) j)"
)  # one primary key look-up per exited row
_SEG_INSERT_ENTERED = (
    "INSERT INTO segment_members (shop, customer_id, segment, since) "
    "SELECT :shop, s.customer_id, j.value, :at FROM temp._segment_stage s, json_each(s.entered) j"
)
_SEG_CLEAR_NOTES = (
    "DELETE FROM segment_signatures_dirty WHERE shop = :shop AND customer_id IN "
    "(SELECT customer_id FROM temp._segment_stage)"
)  # the changed customers' signatures as this run leaves them: no longer pending


def _signatures_of(members: diff.Membership) -> tuple[np.ndarray, np.ndarray]:
    """(ids, signatures) of the customers of `members` holding a segment, in its order."""
    texts = np.asarray([diff.SEP.join(n) for n in members.names] or [""], dtype=object)
    held = np.asarray([bool(n) for n in members.names] or [False], dtype=bool)[members.combo]
    return np.asarray(members.ids, dtype=object)[held], texts[members.combo[held]]


_SEG_INSERT_CHANGES = (
    "INSERT INTO segment_changes (shop, customer_id, at, run_id, entered, exited) "
    "SELECT :shop, customer_id, :at, :run_id, entered, exited FROM temp._segment_stage"
)


def load_movements(mirror: Mirror, shop: str, since: datetime, limit: int = 30) -> pd.DataFrame:
    """Moves between segments of one family (B to A, loyal to slipping) recorded since
    `since`: from_segment, to_segment, customers, most frequent first. A move is an exit and
    an entry of the same family for one customer in one run."""
    return mirror.frame(
        "SELECT x.value AS from_segment, e.value AS to_segment, COUNT(*) AS customers "
        "FROM segment_changes c, json_each(c.exited) x, json_each(c.entered) e "
        "WHERE c.shop = ? AND c.at >= ? AND c.exited <> '[]' AND c.entered <> '[]' "
        "AND substr(x.value, 1, instr(x.value, ':')) = substr(e.value, 1, instr(e.value, ':')) "
        "GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT ?",
        (shop, db_time(since), limit),
    )
