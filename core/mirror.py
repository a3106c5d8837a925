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
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


def _hash(row: Sequence[Any]) -> str:
    return hashlib.blake2b(json.dumps(row, default=str).encode(), digest_size=12).hexdigest()


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


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

    def shops(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT DISTINCT shop FROM customers ORDER BY 1")]
