"""Deleted customers and the mirror's own secrets. Mixed into `store.Mirror`.

When the shop no longer lists a customer, `mark_deleted` erases every personal datum the mirror
holds on them: the customer row keeps only its id and `deleted_at`; their orders (matched by
customer id and by the customer's e-mail, since Shopware nulls `customerId` on the orders of a
deleted customer but keeps the e-mail) lose e-mail and raw payload; codes, segment history and
the push journal name them by a random pseudonym (one per customer, unrelated to the shop's
id); quarantined rows of theirs go; the shop's kept segmentation columns (kept_rows.py) are dropped
and built again by the next run. A keyed hash of each erased e-mail (never the address) stays
in `_erased`, so an order re-read later under that address is anonymised before it is stored.

`shop_secret` makes a random per-shop secret on first use and keeps it in `_secrets` (the file
is 0600): the HMAC key of personal codes when the config sets none, and of the e-mail hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime

from loyalsync.core.mirror.kept_rows import forget_kept_rows
from loyalsync.core.mirror.rows import db_time, json_text
from loyalsync.core.records import OrderRecord, Quarantined, utcnow

CODE_SECRET = "code_secret"  # noqa: S105 (the name of a secret, not one)
ERASURE_SECRET = "erasure"  # noqa: S105 (the name of a secret, not one)
PSEUDONYM_PREFIX = "erased:"
_CHUNK = 900
_HEX_ID = re.compile(r"\b[0-9a-f]{32}\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


class Erasure:
    """Deletion and secret methods of the Mirror."""

    conn: sqlite3.Connection
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]

    # -- secrets --------------------------------------------------------------------------
    def shop_secret(self, shop: str, name: str) -> str:
        """The shop's secret `name`, made (random, 256 bits) and kept on first use (inside
        the caller's transaction when there is one)."""
        insert = (
            "INSERT OR IGNORE INTO _secrets (shop, name, value, created_at) VALUES (?, ?, ?, ?)",
            (shop, name, secrets.token_hex(32), db_time(utcnow())),
        )
        if self.conn.in_transaction:
            self.conn.execute(*insert)
        else:
            with self.transaction():
                self.conn.execute(*insert)
        row = self.conn.execute(
            "SELECT value FROM _secrets WHERE shop = ? AND name = ?", (shop, name)
        ).fetchone()
        return str(row[0])

    def email_hash(self, shop: str, email: str) -> str:
        """The keyed hash `_erased` keeps of an e-mail (trimmed, lower case)."""
        return _hash(self.shop_secret(shop, ERASURE_SECRET), email)

    # -- deletion -------------------------------------------------------------------------
    def mark_deleted(self, shop: str, live_ids: set[str], at: datetime) -> int:
        """Customers the shop no longer has: set deleted_at and erase their personal data
        everywhere. Their orders keep anonymous facts (dates, amounts, items) for statistics."""
        known = [
            r[0]
            for r in self.conn.execute(
                "SELECT id FROM customers WHERE shop = ? AND deleted_at IS NULL", (shop,)
            )
        ]
        gone = [cid for cid in known if cid not in live_ids]
        if not gone:
            return 0
        emails = self._emails_of(shop, gone)
        key = self.shop_secret(shop, ERASURE_SECRET)
        hashes = sorted({_hash(key, e) for e in emails})
        with self.transaction():
            self._erase(shop, gone, sorted(emails), hashes, db_time(at) or "")
        return len(gone)

    def _emails_of(self, shop: str, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(ids):
            marks = ", ".join("?" for _ in chunk)
            for table, column in (("customers", "id"), ("orders", "customer_id")):
                found.update(
                    str(r[0]).strip().lower()
                    for r in self.conn.execute(
                        f"SELECT DISTINCT email FROM {table} WHERE shop = ? "
                        f"AND {column} IN ({marks}) AND email IS NOT NULL",
                        (shop, *chunk),
                    )
                )
        return {e for e in found if e}

    def _erase(
        self, shop: str, gone: list[str], emails: list[str], hashes: list[str], stamp: str
    ) -> None:
        conn = self.conn
        conn.executemany(
            "INSERT OR IGNORE INTO _erased (shop, email_hash, at) VALUES (?, ?, ?)",
            [(shop, h, stamp) for h in hashes],
        )
        by_customer = [(shop, cid) for cid in gone]
        conn.executemany(
            "UPDATE customers SET deleted_at = ?, email = NULL, number = NULL, "
            "first_name = NULL, last_name = NULL, company = NULL, city = NULL, "
            "postcode = NULL, newsletter = NULL, raw = '{}', row_hash = NULL "
            "WHERE shop = ? AND id = ?",
            [(stamp, shop, cid) for cid in gone],
        )
        conn.executemany("DELETE FROM memberships WHERE shop = ? AND customer_id = ?", by_customer)
        forget_kept_rows(conn, shop)  # their e-mail and address in the kept columns: rebuilt
        conn.executemany(
            "UPDATE orders SET email = NULL, raw = '{}' WHERE shop = ? AND customer_id = ?",
            by_customer,
        )
        conn.executemany(
            "UPDATE orders SET email = NULL, raw = '{}' WHERE shop = ? AND lower(email) = ?",
            [(shop, e) for e in emails],
        )
        for cid in gone:
            self._pseudonymise(shop, cid, f"{PSEUDONYM_PREFIX}{secrets.token_hex(8)}", stamp)
        conn.executemany(
            "DELETE FROM _quarantine WHERE shop = ? AND (id = ? OR instr(lower(raw), ?) > 0)",
            [(shop, cid, cid) for cid in gone] + [(shop, e, e) for e in emails],
        )

    def _pseudonymise(self, shop: str, cid: str, alias: str, stamp: str) -> None:
        """Codes, segment history and journal of one erased customer under `alias`."""
        conn = self.conn
        conn.execute(
            "UPDATE codes SET customer_id = ? WHERE shop = ? AND customer_id = ?",
            (alias, shop, cid),
        )
        # their segments end with the erasure: the history stays complete, under the alias
        conn.execute(
            "INSERT INTO segment_changes (shop, customer_id, at, run_id, entered, exited) "
            "SELECT shop, ?, ?, NULL, '[]', json_group_array(segment) FROM segment_members "
            "WHERE shop = ? AND customer_id = ? GROUP BY shop",
            (alias, stamp, shop, cid),
        )
        conn.execute("DELETE FROM segment_members WHERE shop = ? AND customer_id = ?", (shop, cid))
        conn.execute(
            "UPDATE segment_changes SET customer_id = ? WHERE shop = ? AND customer_id = ?",
            (alias, shop, cid),
        )
        conn.execute(
            "UPDATE _push_log SET op_key = replace(op_key, ?1, ?2), "
            "op = json_set(op, '$.customer_id', ?2), "
            "remote_id = CASE WHEN remote_id = ?1 THEN ?2 ELSE remote_id END "
            "WHERE shop = ?3 AND json_valid(op) AND json_extract(op, '$.customer_id') = ?1",
            (cid, alias, shop),
        )

    def scrub_orders(self, shop: str, orders: Sequence[OrderRecord]) -> list[OrderRecord]:
        """Orders as they may be stored: those of erased customers (by customer id, or by an
        erased e-mail) without e-mail and raw payload."""
        ids = sorted({o.customer_id for o in orders if o.customer_id})
        deleted = self._deleted_among(shop, ids)
        erased = self._erased_among(shop, {o.email for o in orders if o.email})
        return [
            replace(o, email=None, raw={})
            if o.customer_id in deleted or (o.email and o.email.strip().lower() in erased)
            else o
            for o in orders
        ]

    def scrub_quarantined(self, shop: str, rows: Sequence[Quarantined]) -> list[Quarantined]:
        """Quarantined rows as they may be kept: a payload naming an erased customer (their
        id, or an erased e-mail) is dropped, the reason stays."""
        if not rows:
            return []
        texts = [json_text(q.raw) if not isinstance(q.raw, str) else q.raw for q in rows]
        ids = sorted({i for t in texts for i in _HEX_ID.findall(t.lower())})
        deleted = self._deleted_among(shop, ids)
        erased = self._erased_among(shop, {e for t in texts for e in _EMAIL.findall(t)})
        scrubbed = []
        for q, text in zip(rows, texts, strict=True):
            lower = text.lower()
            named = any(i in deleted for i in _HEX_ID.findall(lower)) or any(
                e.lower() in erased for e in _EMAIL.findall(text)
            )
            scrubbed.append(replace(q, raw={}) if named else q)
        return scrubbed

    def _deleted_among(self, shop: str, ids: Sequence[str]) -> set[str]:
        """The ids among `ids` of customers marked deleted."""
        found: set[str] = set()
        for chunk in _chunks(ids):
            marks = ", ".join("?" for _ in chunk)
            found.update(
                r[0]
                for r in self.conn.execute(
                    f"SELECT id FROM customers WHERE shop = ? AND deleted_at IS NOT NULL "
                    f"AND id IN ({marks})",
                    (shop, *chunk),
                )
            )
        return found

    def _erased_among(self, shop: str, emails: Iterable[str | None]) -> set[str]:
        """The e-mails (lower case) among `emails` that belonged to erased customers."""
        wanted = {e.strip().lower() for e in emails if e}
        if (
            not wanted
            or not self.conn.execute(
                "SELECT 1 FROM _erased WHERE shop = ? LIMIT 1", (shop,)
            ).fetchone()
        ):
            return set()
        key = self.shop_secret(shop, ERASURE_SECRET)
        by_hash = {_hash(key, e): e for e in wanted}
        found: set[str] = set()
        hashes = list(by_hash)
        for chunk in _chunks(hashes):
            marks = ", ".join("?" for _ in chunk)
            found.update(
                by_hash[r[0]]
                for r in self.conn.execute(
                    f"SELECT email_hash FROM _erased WHERE shop = ? AND email_hash IN ({marks})",
                    (shop, *chunk),
                )
            )
        return found


def _hash(key: str, email: str) -> str:
    return hmac.new(key.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
