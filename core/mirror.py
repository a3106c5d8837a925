"""The SQLite mirror: schema and migrations, upserts with their cursors, run log, quarantine,
push journal, segment membership and its history, issued discount codes.

This is the only module that performs SQLite I/O. It stores plain records (core.records) and
returns plain rows or pandas frames; it never talks to a shop. Every table's primary key starts
with `shop`, so one file serves many shops. The file holds personal data: it is created 0600.
Times are stored as UTC text `YYYY-MM-DDTHH:MM:SS.ffffffZ`, which sorts and compares correctly
and which SQLite's date functions understand.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlite_utils

from core.errors import ConfigError
from core.records import (
    Cursor,
    CustomerRecord,
    GroupRecord,
    OrderRecord,
    Quarantined,
    TagRecord,
    utcnow,
)

# ---------------------------------------------------------------------------------------------
# Schema: explicit, versioned migrations (PRAGMA user_version holds the applied version)

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE customers (
            shop TEXT NOT NULL, id TEXT NOT NULL, number TEXT, email TEXT,
            first_name TEXT, last_name TEXT, company TEXT, group_id TEXT,
            tags TEXT NOT NULL DEFAULT '[]', is_guest INTEGER NOT NULL DEFAULT 0,
            country TEXT, city TEXT, postcode TEXT,
            created_at TEXT, updated_at TEXT, deleted_at TEXT,
            raw TEXT NOT NULL DEFAULT '{}', row_hash TEXT, synced_at TEXT,
            PRIMARY KEY (shop, id)
        );
        CREATE INDEX customers_email ON customers (shop, email);
        CREATE TABLE orders (
            shop TEXT NOT NULL, id TEXT NOT NULL, number TEXT, customer_id TEXT, email TEXT,
            placed_at TEXT NOT NULL, status TEXT, is_valid INTEGER NOT NULL,
            total_gross REAL, total_net REAL, currency TEXT,
            base_currency_total_gross REAL, base_currency_total_net REAL,
            base_currency_refunded REAL NOT NULL DEFAULT 0,
            codes TEXT NOT NULL DEFAULT '[]', updated_at TEXT,
            raw TEXT NOT NULL DEFAULT '{}', row_hash TEXT, synced_at TEXT,
            PRIMARY KEY (shop, id)
        );
        CREATE INDEX orders_customer ON orders (shop, customer_id);
        CREATE INDEX orders_email ON orders (shop, email);
        CREATE INDEX orders_placed ON orders (shop, placed_at);
        CREATE TABLE order_items (
            shop TEXT NOT NULL, order_id TEXT NOT NULL, line INTEGER NOT NULL,
            product_id TEXT, sku TEXT, name TEXT, quantity REAL, unit_price REAL, total REAL,
            kind TEXT NOT NULL DEFAULT 'product', code TEXT,
            PRIMARY KEY (shop, order_id, line)
        );
        CREATE TABLE groups (
            shop TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,
            is_default INTEGER NOT NULL DEFAULT 0,
            raw TEXT NOT NULL DEFAULT '{}', PRIMARY KEY (shop, id)
        );
        CREATE TABLE tags (
            shop TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (shop, id)
        );
        CREATE TABLE segment_members (
            shop TEXT NOT NULL, customer_id TEXT NOT NULL, segment TEXT NOT NULL,
            family TEXT NOT NULL, since TEXT NOT NULL, as_of TEXT NOT NULL,
            PRIMARY KEY (shop, customer_id, segment)
        );
        CREATE INDEX segment_members_segment ON segment_members (shop, segment);
        CREATE TABLE segment_history (
            shop TEXT NOT NULL, customer_id TEXT NOT NULL, segment TEXT NOT NULL,
            family TEXT NOT NULL, event TEXT NOT NULL CHECK (event IN ('enter', 'exit')),
            at TEXT NOT NULL, run_id INTEGER
        );
        CREATE INDEX segment_history_customer ON segment_history (shop, customer_id, at);
        CREATE TABLE codes (
            shop TEXT NOT NULL, campaign TEXT NOT NULL, customer_id TEXT NOT NULL,
            code TEXT NOT NULL, status TEXT NOT NULL, issued_at TEXT NOT NULL,
            valid_until TEXT, redeemed_order_id TEXT, redeemed_at TEXT, run_id INTEGER,
            PRIMARY KEY (shop, campaign, customer_id, code)
        );
        CREATE UNIQUE INDEX codes_code ON codes (shop, code);
        CREATE TABLE _sync_state (
            shop TEXT NOT NULL, entity TEXT NOT NULL, cursor TEXT NOT NULL,
            updated_at TEXT NOT NULL, PRIMARY KEY (shop, entity)
        );
        CREATE TABLE _runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT, shop TEXT, kind TEXT NOT NULL,
            started_at TEXT NOT NULL, finished_at TEXT, outcome TEXT NOT NULL DEFAULT 'running',
            counts TEXT NOT NULL DEFAULT '{}', error TEXT, as_of TEXT
        );
        CREATE TABLE _quarantine (
            shop TEXT NOT NULL, entity TEXT NOT NULL, id TEXT NOT NULL, error TEXT NOT NULL,
            raw TEXT, run_id INTEGER, at TEXT NOT NULL, PRIMARY KEY (shop, entity, id)
        );
        CREATE TABLE _push_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER, shop TEXT NOT NULL,
            op_key TEXT NOT NULL, op TEXT NOT NULL, ok INTEGER NOT NULL, error TEXT,
            remote_id TEXT, at TEXT NOT NULL
        );
        CREATE INDEX _push_log_run ON _push_log (run_id);
        """,
    ),
    (
        2,
        # segmentation reads every order once per run, grouped per customer: covering the
        # columns it needs lets SQLite walk this index in customer order without touching the
        # table or sorting (half the time of the aggregate at a million customers)
        """
        CREATE INDEX orders_segment_summary ON orders (shop, customer_id, placed_at, is_valid,
            base_currency_total_gross, base_currency_total_net, base_currency_refunded);
        """,
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]

CUSTOMER_COLUMNS = (
    "shop", "id", "number", "email", "first_name", "last_name", "company", "group_id", "tags",
    "is_guest", "country", "city", "postcode", "created_at", "updated_at", "deleted_at", "raw",
    "row_hash", "synced_at",
)  # fmt: skip
ORDER_COLUMNS = (
    "shop", "id", "number", "customer_id", "email", "placed_at", "status", "is_valid",
    "total_gross", "total_net", "currency", "base_currency_total_gross",
    "base_currency_total_net", "base_currency_refunded", "codes", "updated_at", "raw",
    "row_hash", "synced_at",
)  # fmt: skip
ITEM_COLUMNS = (
    "shop", "order_id", "line", "product_id", "sku", "name", "quantity", "unit_price", "total",
    "kind", "code",
)  # fmt: skip


def db_time(value: datetime | None) -> str | None:
    """A tz-aware datetime as mirror text (UTC, microseconds, 'Z')."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: all times must be tz-aware")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


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


def _hash(row: Any) -> str:
    # repr of tuples of str/int/float/None is deterministic and much cheaper than JSON for
    # rows that already carry their raw payload as one (long) JSON string
    return hashlib.blake2b(repr(row).encode(), digest_size=12).hexdigest()


_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True, default=str)


def _json(value: Any) -> str:
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
        shop, c.id, c.number, c.email, c.first_name, c.last_name, c.company, c.group_id,
        _json(sorted(c.tags)), int(c.is_guest), c.country, c.city, c.postcode,
        db_time(c.created_at), db_time(c.updated_at), None, _json(c.raw),
    )  # fmt: skip
    return (*body, _hash(body), now)


def order_row(shop: str, o: OrderRecord, now: str) -> tuple[Any, ...]:
    items = [
        (i.line, i.product_id, i.sku, i.name, i.quantity, i.unit_price, i.total, i.kind, i.code)
        for i in o.items
    ]
    body = (
        shop, o.id, o.number, o.customer_id, o.email, db_time(o.placed_at), o.status,
        int(o.is_valid), o.total_gross, o.total_net, o.currency, o.base_currency_total_gross,
        o.base_currency_total_net, o.base_currency_refunded, _json(list(o.codes)),
        db_time(o.updated_at), _json(o.raw),
    )  # fmt: skip
    return (*body, _hash((body, items)), now)


def _upsert_sql(table: str, columns: Sequence[str], pk: Sequence[str]) -> str:
    cols = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in pk)
    return (
        f"INSERT INTO {table} ({cols}) VALUES ({marks}) "
        f"ON CONFLICT ({', '.join(pk)}) DO UPDATE SET {updates}"
    )


_CUSTOMER_UPSERT = _upsert_sql("customers", CUSTOMER_COLUMNS, ("shop", "id"))
_ORDER_UPSERT = _upsert_sql("orders", ORDER_COLUMNS, ("shop", "id"))
_ITEM_INSERT = (
    f"INSERT INTO order_items ({', '.join(ITEM_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(ITEM_COLUMNS))})"
)


class Mirror:
    """One SQLite mirror file. Use `Mirror.open(path)`; close with `.close()` or `with`."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self.db = sqlite_utils.Database(conn)

    # -- lifecycle ------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Mirror:
        path = str(path)
        if path != ":memory:":
            parent = Path(path).parent
            if not parent.is_dir():
                raise ConfigError(f"database directory {str(parent)!r} does not exist")
            # create with 0600 before SQLite opens it: the mirror holds personal data
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
            os.close(fd)
            os.chmod(path, 0o600)
        conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 30000")
        # bulk pulls insert into several indexes with random uuid keys: a larger page cache
        # and rarer WAL checkpoints keep a commit per page cheap (bench/bench_mirror.py)
        conn.execute("PRAGMA cache_size = -131072")
        conn.execute("PRAGMA wal_autocheckpoint = 10000")
        mirror = cls(conn, path)
        mirror.migrate()
        return mirror

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Mirror:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> int:
        """Apply every migration newer than the file's version, each in its own transaction."""
        current = self.schema_version
        if current > SCHEMA_VERSION:
            raise ConfigError(
                f"database {self.path!r} has schema version {current}, newer than this "
                f"loyalsync understands ({SCHEMA_VERSION}): upgrade loyalsync"
            )
        for version, script in MIGRATIONS:
            if version <= current:
                continue
            with self.transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {version}")
        return self.schema_version

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception. Not re-entrant."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- cursors --------------------------------------------------------------------------
    def get_cursor(self, shop: str, entity: str) -> Cursor | None:
        row = self.conn.execute(
            "SELECT cursor FROM _sync_state WHERE shop = ? AND entity = ?", (shop, entity)
        ).fetchone()
        return Cursor.from_json(row[0]) if row else None

    def _set_cursor(self, shop: str, entity: str, cursor: Cursor) -> None:
        self.conn.execute(
            "INSERT INTO _sync_state (shop, entity, cursor, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (shop, entity) DO UPDATE SET cursor = excluded.cursor, "
            "updated_at = excluded.updated_at",
            (shop, entity, cursor.to_json(), db_time(utcnow())),
        )

    def save_cursor(self, shop: str, entity: str, cursor: Cursor) -> None:
        with self.transaction():
            self._set_cursor(shop, entity, cursor)

    def delete_cursor(self, shop: str, entity: str) -> None:
        with self.transaction():
            self.conn.execute(
                "DELETE FROM _sync_state WHERE shop = ? AND entity = ?", (shop, entity)
            )

    def cursors(self, shop: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT shop, entity, cursor, updated_at FROM _sync_state"
        params: tuple[Any, ...] = ()
        if shop:
            sql += " WHERE shop = ?"
            params = (shop,)
        return [dict(r) for r in self.db.query(sql + " ORDER BY shop, entity", params)]

    # -- entity upserts -------------------------------------------------------------------
    def save_page(
        self,
        shop: str,
        entity: str,
        records: Sequence[CustomerRecord | OrderRecord],
        cursor: Cursor,
        *,
        quarantined: Sequence[Quarantined] = (),
        run_id: int | None = None,
        cursor_entity: str | None = None,
    ) -> UpsertCounts:
        """Upsert one page of records and advance its cursor in a single transaction, so a
        crash never leaves the cursor ahead of the data and re-reading a page is harmless."""
        with self.transaction():
            if entity == "customers":
                counts = self._upsert_customers(shop, records)  # type: ignore[arg-type]
            elif entity == "orders":
                counts = self._upsert_orders(shop, records)  # type: ignore[arg-type]
            else:
                raise ValueError(f"unknown entity {entity!r}")
            for q in quarantined:
                self._quarantine(shop, q, run_id)
            self._set_cursor(shop, cursor_entity or entity, cursor)
        return counts

    def _existing_hashes(self, table: str, shop: str, ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            marks = ", ".join("?" for _ in chunk)
            for rid, rhash in self.conn.execute(
                f"SELECT id, row_hash FROM {table} WHERE shop = ? AND id IN ({marks})",
                (shop, *chunk),
            ):
                found[rid] = rhash
        return found

    def _classify(
        self, table: str, shop: str, rows: list[tuple[Any, ...]]
    ) -> tuple[list[tuple[Any, ...]], UpsertCounts]:
        # de-duplicate within the page (last wins), then skip rows whose content is unchanged
        by_id = {row[1]: row for row in rows}
        existing = self._existing_hashes(table, shop, list(by_id))
        changed, new, updated, unchanged = [], 0, 0, 0
        for rid, row in by_id.items():
            old = existing.get(rid)
            if old is None:
                new += 1
            elif old == row[-2]:
                unchanged += 1
                continue
            else:
                updated += 1
            changed.append(row)
        return changed, UpsertCounts(new, updated, unchanged)

    def _upsert_customers(self, shop: str, records: Sequence[CustomerRecord]) -> UpsertCounts:
        now = db_time(utcnow()) or ""
        rows, counts = self._classify(
            "customers", shop, [customer_row(shop, c, now) for c in records]
        )
        self.conn.executemany(_CUSTOMER_UPSERT, rows)
        return counts

    def _upsert_orders(self, shop: str, records: Sequence[OrderRecord]) -> UpsertCounts:
        now = db_time(utcnow()) or ""
        by_id = {o.id: o for o in records}
        rows, counts = self._classify(
            "orders", shop, [order_row(shop, o, now) for o in by_id.values()]
        )
        self.conn.executemany(_ORDER_UPSERT, rows)
        changed = [by_id[row[1]] for row in rows]
        self.conn.executemany(
            "DELETE FROM order_items WHERE shop = ? AND order_id = ?",
            [(shop, o.id) for o in changed],
        )
        self.conn.executemany(
            _ITEM_INSERT,
            [
                (shop, o.id, i.line, i.product_id, i.sku, i.name, i.quantity, i.unit_price,
                 i.total, i.kind, i.code)
                for o in changed
                for i in o.items
            ],
        )  # fmt: skip
        return counts

    def replace_groups(
        self, shop: str, groups: Iterable[GroupRecord], default_id: str | None = None
    ) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM groups WHERE shop = ?", (shop,))
            self.conn.executemany(
                "INSERT INTO groups (shop, id, name, is_default, raw) VALUES (?, ?, ?, ?, ?)",
                [(shop, g.id, g.name, int(g.id == default_id), _json(g.raw)) for g in groups],
            )

    def replace_tags(self, shop: str, tags: Iterable[TagRecord]) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM tags WHERE shop = ?", (shop,))
            self.conn.executemany(
                "INSERT INTO tags (shop, id, name) VALUES (?, ?, ?)",
                [(shop, t.id, t.name) for t in tags],
            )

    def mark_deleted(self, shop: str, live_ids: set[str], at: datetime) -> int:
        """Customers the shop no longer has: set deleted_at and erase their personal data.
        Their orders keep anonymous facts (dates, amounts, items) for statistics."""
        known = [
            r[0]
            for r in self.conn.execute(
                "SELECT id FROM customers WHERE shop = ? AND deleted_at IS NULL", (shop,)
            )
        ]
        gone = [cid for cid in known if cid not in live_ids]
        stamp = db_time(at)
        with self.transaction():
            self.conn.executemany(
                "UPDATE customers SET deleted_at = ?, email = NULL, number = NULL, "
                "first_name = NULL, last_name = NULL, company = NULL, city = NULL, "
                "postcode = NULL, tags = '[]', raw = '{}', row_hash = NULL "
                "WHERE shop = ? AND id = ?",
                [(stamp, shop, cid) for cid in gone],
            )
            self.conn.executemany(
                "UPDATE orders SET email = NULL, raw = '{}' WHERE shop = ? AND customer_id = ?",
                [(shop, cid) for cid in gone],
            )
        return len(gone)

    # -- runs, quarantine, push journal ---------------------------------------------------
    def start_run(self, shop: str | None, kind: str, as_of: datetime | None = None) -> int:
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO _runs (shop, kind, started_at, as_of) VALUES (?, ?, ?, ?)",
                (shop, kind, db_time(utcnow()), db_time(as_of)),
            )
        return int(cur.lastrowid or 0)

    def finish_run(
        self,
        run_id: int,
        outcome: str,
        counts: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        with self.transaction():
            self.conn.execute(
                "UPDATE _runs SET finished_at = ?, outcome = ?, counts = ?, error = ? WHERE id = ?",
                (db_time(utcnow()), outcome, _json(counts or {}), error, run_id),
            )

    def runs(self, shop: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        where, params = ("WHERE shop = ?", (shop,)) if shop else ("", ())
        rows = self.db.query(
            f"SELECT * FROM _runs {where} ORDER BY id DESC LIMIT ?", (*params, limit)
        )
        return [{**r, "counts": json.loads(r["counts"])} for r in rows]

    def _quarantine(self, shop: str, q: Quarantined, run_id: int | None) -> None:
        self.conn.execute(
            "INSERT INTO _quarantine (shop, entity, id, error, raw, run_id, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (shop, entity, id) DO UPDATE SET "
            "error = excluded.error, raw = excluded.raw, run_id = excluded.run_id, "
            "at = excluded.at",
            (
                shop,
                q.entity,
                q.id or _hash(q.raw),
                q.error,
                _json(q.raw),
                run_id,
                db_time(utcnow()),
            ),
        )

    def quarantine_counts(self, shop: str | None = None) -> dict[str, int]:
        where, params = ("WHERE shop = ?", (shop,)) if shop else ("", ())
        sql = f"SELECT shop || ':' || entity, COUNT(*) FROM _quarantine {where} GROUP BY 1"
        return {k: v for k, v in self.conn.execute(sql, params)}

    def log_push(
        self,
        run_id: int | None,
        shop: str,
        entries: Iterable[tuple[str, dict[str, Any], bool, str | None, str | None]],
    ) -> None:
        """Journal writes sent to a shop: (op_key, op as data, ok, error, remote_id)."""
        now = db_time(utcnow())
        with self.transaction():
            self.conn.executemany(
                "INSERT INTO _push_log (run_id, shop, op_key, op, ok, error, remote_id, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (run_id, shop, k, _json(op), int(ok), err, rid, now)
                    for k, op, ok, err, rid in entries
                ],
            )

    # -- reading --------------------------------------------------------------------------
    def frame(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> pd.DataFrame:
        """Run a read-only query and return a DataFrame (used by segmentation loaders)."""
        return pd.read_sql_query(sql, self.conn, params=params)  # type: ignore[arg-type]

    def count(self, table: str, shop: str) -> int:
        return int(
            self.conn.execute(f"SELECT COUNT(*) FROM {table} WHERE shop = ?", (shop,)).fetchone()[0]
        )


# -- push
# What `sync/push.py` reads to plan and writes after each batch. Rows the push changed get
# row_hash 'pushed', so the next pull overwrites them with the shop's own version whatever it is.

from core.records import (  # noqa: E402  (this section's own imports, kept beside it)
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
        (_json(sorted(tags)), shop, op.customer_id),
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


# -- segmentation
# What `core/segments/run.py` reads and writes. Orders are aggregated in SQL, one GROUP BY pass
# per customer row (plus one per e-mail for orders without a customer row), so memory grows
# with customers, not orders; `core.segments.identity` merges the rows of one person. Stored
# membership is replaced by writing only what changed, with an 'enter' or 'exit' in
# segment_history for each change.

from core.config import SegmentationConfig  # noqa: E402  (this section's own imports)
from core.segments import diff as _seg_diff  # noqa: E402
from core.segments import identity as _seg_identity  # noqa: E402

# revenue of one valid order in the base currency; refunds are gross amounts, so the net
# revenue loses the refunded share of the order. Never below zero.
_SEG_REVENUE = {
    "gross": "MAX(o.base_currency_total_gross - o.base_currency_refunded, 0)",
    "net": "CASE WHEN o.base_currency_total_gross > 0 THEN MAX(o.base_currency_total_net * "
    "(1 - o.base_currency_refunded / o.base_currency_total_gross), 0) "
    "ELSE MAX(o.base_currency_total_net - o.base_currency_refunded, 0) END",
}
_SEG_AGGREGATES = (
    "COUNT(*) AS orders, TOTAL({revenue}) AS revenue, MIN(o.placed_at) AS first_order_at, "
    "MAX(o.placed_at) AS last_order_at"
)
_SEG_CONTACTS = "c.number, c.first_name, c.last_name, c.company"
_SEG_NO_CONTACTS = "NULL AS number, NULL AS first_name, NULL AS last_name, NULL AS company"
_SEG_CUSTOMERS = (
    "SELECT c.id, c.email, c.is_guest, c.created_at, {contacts}, c.group_id, "
    "c.country, c.city, c.postcode FROM customers c NOT INDEXED "
    "WHERE c.shop = :shop AND c.deleted_at IS NULL"
)
_SEG_PARTIALS = (
    "SELECT o.customer_id AS customer_id, NULL AS email, {aggregates} FROM orders o "
    "WHERE o.shop = :shop AND o.customer_id IS NOT NULL AND o.placed_at <= :as_of "
    "AND o.is_valid GROUP BY o.customer_id "
    "UNION ALL SELECT NULL, o.email, {aggregates} FROM orders o INDEXED BY orders_segment_summary "
    "WHERE o.shop = :shop AND o.customer_id IS NULL AND o.email IS NOT NULL "
    "AND o.placed_at <= :as_of AND o.is_valid GROUP BY o.email"
)  # the index: few orders lack a customer, while walking orders_email would visit them all
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
_SEG_MEMBER_COLUMNS = "customer_id, segment, family, since, as_of"


def load_summary(
    mirror: Mirror,
    shop: str,
    as_of: datetime,
    cfg: SegmentationConfig,
    *,
    products: bool = False,
    contacts: bool = True,
) -> pd.DataFrame:
    """The customer summary aggregate, one row per identity with a live customer row (columns:
    `core.segments.summary.RAW_DEFAULTS`; times as UTC datetimes). Only orders placed at or
    before `as_of` count; revenue is gross or net per `cfg.revenue`, in the base currency,
    refunds subtracted, invalid orders left out. `distinct_products` costs a join over every
    order line, so it is only counted when `products` is true (0 otherwise). Without
    `contacts` the number, names and company stay empty (less memory for a segment run)."""
    params = {"shop": shop, "as_of": db_time(as_of)}
    aggregates = _SEG_AGGREGATES.format(revenue=_SEG_REVENUE[cfg.revenue])
    names = _SEG_CONTACTS if contacts else _SEG_NO_CONTACTS
    customers = _seg_frame(mirror, _SEG_CUSTOMERS.format(contacts=names), params)
    groups = mirror.conn.execute("SELECT id, name FROM groups WHERE shop = ?", (shop,))
    customers["group_name"] = customers["group_id"].map(dict(groups.fetchall()))
    partials = _seg_frame(mirror, _SEG_PARTIALS.format(aggregates=aggregates), params)
    merge = cfg.merge_guests_by_email
    exact = None
    if products:
        counts = mirror.frame(_SEG_PRODUCTS, params)
        partials = partials.merge(counts, on=["customer_id", "email"], how="left")
        ids, emails = _seg_identity.merged_identity_members(partials, customers, merge)
        pairs = mirror.frame(
            _SEG_PAIRS, {**params, "ids": json.dumps(ids), "emails": json.dumps(emails)}
        )
        exact = _seg_identity.distinct_products(pairs, customers, merge)
    else:
        partials["distinct_products"] = 0
    partials["distinct_products"] = partials["distinct_products"].fillna(0)
    return _seg_identity.assemble(customers, partials, merge, exact)


def _seg_frame(mirror: Mirror, sql: str, params: dict[str, Any]) -> pd.DataFrame:
    """A query's rows as a frame, read in chunks: a million rows never sit in memory twice
    (once as Python tuples and once as columns)."""
    chunks = list(pd.read_sql_query(sql, mirror.conn, params=params, chunksize=100_000))
    if not chunks:
        return pd.read_sql_query(sql, mirror.conn, params=params)
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


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
    """Stored membership (customer_id, segment, family, since, as_of, sorted), optionally of
    one family or one segment. `since` is when the customer entered the segment; `as_of` the
    as_of of the run that wrote the row. Without `details`: customer_id and segment only,
    unsorted (cheaper for a million rows)."""
    columns = _SEG_MEMBER_COLUMNS if details else "customer_id, segment"
    sql = f"SELECT {columns} FROM segment_members WHERE shop = :shop"
    if segment is not None:
        sql += " AND segment = :segment"
    if family is not None:  # a range on the (shop, segment) index: 'family:' <= s < 'family;'
        sql += " AND segment >= :low AND segment < :high"
    params = {"shop": shop, "segment": segment, "low": f"{family}:", "high": f"{family};"}
    return _seg_frame(mirror, sql + (" ORDER BY customer_id, segment" if details else ""), params)


def load_signatures(mirror: Mirror, shop: str) -> pd.DataFrame:
    """Stored membership per customer: customer_id, signature (the segment names in primary
    key order joined by the unit separator, see core.segments.diff). One pass over the
    primary key index, one row per customer."""
    return _seg_frame(
        mirror,
        "SELECT customer_id, group_concat(segment, char(31)) AS signature "
        "FROM segment_members WHERE shop = :shop GROUP BY customer_id",
        {"shop": shop},
    )


def save_segments(
    mirror: Mirror,
    shop: str,
    members: pd.DataFrame,
    as_of: datetime,
    run_id: int | None = None,
    *,
    current: pd.DataFrame | None = None,
) -> dict[str, int]:
    """Make `members` (customer_id, segment, family) the shop's stored membership: delete the
    rows that exited, insert the rows that entered (since = as_of), and append one history
    event per change at as_of. Unchanged rows are not touched, so re-running with the same
    result writes nothing. `current`: the `load_signatures` read earlier in the same run, if
    any (the caller holds the run lock). Returns counts: entered, exited, members."""
    if current is None:
        current = load_signatures(mirror, shop)
    entered, exited = _seg_diff.membership_changes(current, members)
    stamp = db_time(as_of)
    gone = list(zip(exited["customer_id"].tolist(), exited["segment"].tolist(), strict=True))
    new = list(
        zip(
            entered["customer_id"].tolist(),
            entered["segment"].tolist(),
            entered["family"].tolist(),
            strict=True,
        )
    )
    with mirror.transaction() as conn:
        conn.executemany(
            "DELETE FROM segment_members WHERE shop = ? AND customer_id = ? AND segment = ?",
            ((shop, cid, seg) for cid, seg in gone),
        )
        conn.executemany(
            "INSERT INTO segment_members (shop, customer_id, segment, family, since, as_of) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ((shop, cid, seg, fam, stamp, stamp) for cid, seg, fam in new),
        )
        history = (
            "INSERT INTO segment_history (shop, customer_id, segment, family, event, at, run_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        conn.executemany(
            history,
            ((shop, cid, seg, seg.partition(":")[0], "exit", stamp, run_id) for cid, seg in gone),
        )
        conn.executemany(
            history, ((shop, cid, seg, fam, "enter", stamp, run_id) for cid, seg, fam in new)
        )
    return {"entered": len(new), "exited": len(gone), "members": len(members)}


# -- report


def load_movements(mirror: Mirror, shop: str, since: datetime, limit: int = 30) -> pd.DataFrame:
    """Moves between segments of one family (B to A, loyal to slipping) recorded since
    `since`: from_segment, to_segment, customers, most frequent first."""
    return mirror.frame(
        "SELECT x.segment AS from_segment, e.segment AS to_segment, COUNT(*) AS customers "
        "FROM segment_history e JOIN segment_history x ON x.shop = e.shop "
        "AND x.customer_id = e.customer_id AND x.family = e.family AND x.at = e.at "
        "AND x.event = 'exit' "
        "WHERE e.shop = ? AND e.event = 'enter' AND e.at >= ? "
        "GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT ?",
        (shop, db_time(since), limit),
    )


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
