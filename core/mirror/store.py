"""The `Mirror`: one SQLite file, its connection, migrations, cursors, page upserts, runs,
quarantine and push journal. Every other module of the package works through a Mirror."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import sqlite_utils

from loyalsync.core.errors import ConfigError
from loyalsync.core.mirror.privacy import Erasure
from loyalsync.core.mirror.rows import (
    CUSTOMER_UPSERT,
    ITEM_INSERT,
    MEMBERSHIP_INSERT,
    ORDER_UPSERT,
    UpsertCounts,
    content_hash,
    customer_row,
    db_time,
    json_text,
    membership_rows,
    order_row,
)
from loyalsync.core.mirror.runlog import RunLog
from loyalsync.core.mirror.schema import MIGRATIONS, SCHEMA_VERSION
from loyalsync.core.records import (
    Cursor,
    CustomerRecord,
    OrderRecord,
    Quarantined,
    SlotValue,
    utcnow,
)

log = logging.getLogger("loyalsync.mirror")


class Mirror(RunLog, Erasure):
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
        cls(conn, path).check_version()  # refuse a newer file before changing anything in it
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

    def check_version(self) -> int:
        """The file's schema version; a ConfigError (and the connection closed) if newer."""
        current = self.schema_version
        if current > SCHEMA_VERSION:
            self.conn.close()
            raise ConfigError(
                f"database {self.path!r} has schema version {current}, newer than this "
                f"loyalsync understands ({SCHEMA_VERSION}): upgrade loyalsync"
            )
        return current

    def migrate(self) -> int:
        """Apply every migration newer than the file's version, each in its own transaction.
        Versions need not be contiguous: each applies once, in order, if above the file's."""
        current = self.check_version()
        for version, script in MIGRATIONS:
            if version <= current:
                continue
            if current:  # an existing file: say so, a large mirror may take a minute
                log.info("updating the mirror %s to schema version %d", self.path, version)
            with self.transaction():
                for statement in _statements(script):
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

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """Reads from one snapshot of the file (BEGIN ... COMMIT); inside a transaction that
        is already open (a writer's), just that transaction."""
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
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
            for q in self.scrub_quarantined(shop, quarantined):
                self._quarantine(shop, q, run_id)
            self._set_cursor(shop, cursor_entity or entity, cursor)
        return counts

    def raw_payloads(self, shop: str, entity: str, ids: Sequence[str]) -> dict[str, Any]:
        """The raw payloads stored for these ids of a synced entity ("customers" or "orders");
        ids the mirror does not hold (or holds erased, with an empty payload) are absent."""
        if entity not in ("customers", "orders"):
            raise ValueError(f"unknown entity {entity!r}")
        found: dict[str, Any] = {}
        for start in range(0, len(ids), 900):
            chunk = list(ids[start : start + 900])
            marks = ", ".join("?" for _ in chunk)
            for rid, raw in self.conn.execute(
                f"SELECT id, raw FROM {entity} WHERE shop = ? AND id IN ({marks}) "
                "AND raw != '{}'",
                (shop, *chunk),
            ):
                found[rid] = json.loads(raw)
        return found

    def _existing_hashes(self, table: str, shop: str, ids: Sequence[str]) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
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
    ) -> tuple[list[tuple[Any, ...]], UpsertCounts, list[str]]:
        """The rows to write (de-duplicated within the page, last wins; unchanged content
        skipped), the counts, and the ids of the rows to write that the mirror already has:
        only those can have child rows (items, memberships) to replace. Synced rows are
        never deleted (a deletion in the shop sets `deleted_at`), so a new id has none."""
        by_id = {row[1]: row for row in rows}
        existing = self._existing_hashes(table, shop, list(by_id))
        changed, known, new, updated, unchanged = [], [], 0, 0, 0
        for rid, row in by_id.items():
            if rid in existing:
                old = existing[rid]
                if old == row[-2]:
                    unchanged += 1
                    continue
                known.append(rid)
                updated += old is not None  # a row stored without a hash counts as new
                new += old is None
            else:
                new += 1
            changed.append(row)
        return changed, UpsertCounts(new, updated, unchanged), known

    def _upsert_customers(self, shop: str, records: Sequence[CustomerRecord]) -> UpsertCounts:
        """Changed customers are written with their memberships: the rows of every slot the
        record carries are replaced by the set the shop has now; a slot it does not carry (one
        the connector cannot read cheaply, e.g. a custom field) keeps what pushes recorded."""
        now = db_time(utcnow()) or ""
        by_id = {c.id: c for c in records}
        rows, counts, known = self._classify(
            "customers", shop, [customer_row(shop, c, now) for c in by_id.values()]
        )
        self.conn.executemany(CUSTOMER_UPSERT, rows)
        changed = [by_id[row[1]] for row in rows]
        replaced = set(known)  # only rows the mirror had can have memberships to replace
        self.conn.executemany(
            "DELETE FROM memberships WHERE shop = ? AND customer_id = ? AND slot = ?",
            [(shop, c.id, slot) for c in changed if c.id in replaced for slot, _ in c.memberships],
        )
        self.conn.executemany(
            MEMBERSHIP_INSERT,
            [m for c in changed if c.memberships for m in membership_rows(shop, c)],
        )
        return counts

    def _upsert_orders(self, shop: str, records: Sequence[OrderRecord]) -> UpsertCounts:
        now = db_time(utcnow()) or ""
        by_id = {o.id: o for o in self.scrub_orders(shop, records)}
        rows, counts, known = self._classify(
            "orders", shop, [order_row(shop, o, now) for o in by_id.values()]
        )
        self.conn.executemany(ORDER_UPSERT, rows)
        changed = [by_id[row[1]] for row in rows]
        self.conn.executemany(
            "DELETE FROM order_items WHERE shop = ? AND order_id = ?",
            [(shop, rid) for rid in known],
        )
        self.conn.executemany(
            ITEM_INSERT,
            [
                (shop, o.id, i.line, i.product_id, i.sku, i.name, i.quantity, i.unit_price,
                 i.total, i.kind, i.code)
                for o in changed
                for i in o.items
            ],
        )  # fmt: skip
        return counts

    def replace_values(
        self, shop: str, values: Iterable[SlotValue], defaults: Iterable[tuple[str, str]] = ()
    ) -> None:
        """The values every membership slot has in the shop now (groups, tags, ...), with
        each slot's default value (`defaults`: (slot, value id) pairs)."""
        default = set(defaults)
        with self.transaction():
            self.conn.execute("DELETE FROM slot_values WHERE shop = ?", (shop,))
            self.conn.executemany(
                "INSERT OR REPLACE INTO slot_values (shop, slot, id, name, is_default, raw) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (shop, v.slot, v.id, v.name, int((v.slot, v.id) in default), json_text(v.raw))
                    for v in values
                ],
            )

    # -- quarantine, push journal (runs: runlog.RunLog) -----------------------------------
    def _quarantine(self, shop: str, q: Quarantined, run_id: int | None) -> None:
        self.conn.execute(
            "INSERT INTO _quarantine (shop, entity, id, error, raw, run_id, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (shop, entity, id) DO UPDATE SET "
            "error = excluded.error, raw = excluded.raw, run_id = excluded.run_id, "
            "at = excluded.at",
            (
                shop,
                q.entity,
                q.id or content_hash(q.raw),
                q.error,
                json_text(q.raw),
                run_id,
                db_time(utcnow()),
            ),
        )

    def save_quarantined(
        self, shop: str, rows: Iterable[Quarantined], run_id: int | None = None
    ) -> None:
        """Keep rows that could not be mapped outside a page (groups, tags) with their reason."""
        with self.transaction():
            for q in rows:
                self._quarantine(shop, q, run_id)

    def quarantine_counts(self, shop: str | None = None) -> dict[str, int]:
        where, params = ("WHERE shop = ?", (shop,)) if shop else ("", ())
        sql = f"SELECT shop || ':' || entity, COUNT(*) FROM _quarantine {where} GROUP BY 1"
        return dict(self.conn.execute(sql, params))

    def log_push(
        self,
        run_id: int | None,
        shop: str,
        entries: Iterable[tuple[str, dict[str, Any], bool, str | None, str | None]],
    ) -> None:
        """Journal writes sent to a shop: (op_key, op as data, ok, error, remote_id). The
        journal keeps what was done, not to whom by name: e-mails and numbers are dropped."""
        now = db_time(utcnow())
        with self.transaction():
            self.conn.executemany(
                "INSERT INTO _push_log (run_id, shop, op_key, op, ok, error, remote_id, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (run_id, shop, k, json_text(_nameless(op)), int(ok), err, rid, now)
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


def _statements(script: str) -> list[str]:
    """The SQL statements of a migration script, whole: a trigger's body holds semicolons of
    its own, so pieces are joined until SQLite calls the statement complete."""
    statements, buffer = [], ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n\t;"):
                statements.append(buffer)
            buffer = ""
    if buffer.strip(" \n\t;"):
        raise ValueError(f"incomplete SQL at the end of a migration: {buffer.strip()[:80]!r}")
    return statements


JOURNAL_OMITS = frozenset({"email", "customer_number", "first_name", "last_name"})


def _nameless(op: dict[str, Any]) -> dict[str, Any]:
    """An operation as the journal keeps it: without the recipient's personal data."""
    return {k: v for k, v in op.items() if k not in JOURNAL_OMITS}
