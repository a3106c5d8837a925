"""Deleted customers lose their personal data everywhere, and personal codes are keyed by a
secret nobody can guess (issue 11 section 6), against the Shopware simulator on 127.0.0.1
with the real pull, segmentation, push and deletion scan."""

from __future__ import annotations

import logging
import re
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from loyalsync.core.mirror import Mirror
from loyalsync.core.mirror.kept_rows import _decode
from loyalsync.sync.pull import pull_shop
from loyalsync.sync.push import plan_shop
from loyalsync.sync.segment import segment_shop
from tests.push.harness import AS_OF, ShopwareShop, pull, set_members, shopware_shop
from tests.sync.test_push import PUSH, push


def rows(conn: sqlite3.Connection) -> list[tuple[str, dict[str, str]]]:
    """(table, {column: text in lower case}) of every row of every table of the mirror."""
    tables = [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not r[0].startswith("sqlite_")
    ]
    found = []
    for table in tables:
        if table == "segment_rows":  # columns of many customers: one row per customer
            found += kept_customer_rows(conn)
            continue
        cur = conn.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cur.description]
        for row in cur:
            found.append((table, {n: str(v).lower() for n, v in zip(names, row, strict=True) if v}))
    return found


def kept_customer_rows(conn: sqlite3.Connection) -> list[tuple[str, dict[str, str]]]:
    """The kept segmentation columns (one BLOB per column, see core/mirror/kept_rows.py) as
    one row per customer, so the checks below look at each customer's values together."""
    columns: dict[tuple[str, str], dict[str, list[object]]] = {}
    for shop, part, data in conn.execute("SELECT shop, part, data FROM segment_rows"):
        frame, _, column = part.partition(".")
        values = list(_decode(bytes(data), frame, column))
        columns.setdefault((shop, frame), {})[column] = values
    found = []
    for (shop, frame), by_column in columns.items():
        for values in zip(*by_column.values(), strict=True):
            row = {n: str(v).lower() for n, v in zip(by_column, values, strict=True) if v}
            found.append(("segment_rows", {"shop": shop, "frame": frame, **row}))
    return found


def traces(conn: sqlite3.Connection, victim: Any) -> list[tuple[str, str, str]]:
    """Where the mirror still holds the victim's personal data: the e-mail anywhere; the
    customer number as a cell or a JSON value (order numbers may look alike); the first and
    last name together in a row; the city with the postcode in a row."""
    email, number = victim.email.lower(), victim.number.lower()
    first, last = victim.first_name.lower(), victim.last_name.lower()
    city, postcode = victim.city.lower(), (victim.postcode or "").lower()
    quoted = re.compile(r'"customernumber":\s*"' + re.escape(number) + '"')
    hits = []
    for table, row in rows(conn):
        text = " | ".join(row.values())
        numbers = [v for col, v in row.items() if not (table == "orders" and col == "number")]
        for what, found in (
            ("email", email in text),
            ("number", any(v == number or re.search(quoted, v) for v in numbers)),
            ("name", first in text and last in text),
            ("address", city in text and postcode in text),
        ):
            if found:
                hits.append((table, what, text[:100]))
    return hits


def pick_victim(shop: ShopwareShop) -> Any:
    """A registered customer with orders, a name, a number and an address, not protected."""
    with_orders = {o.customer_id for o in shop.sim.orders.values()}
    for cid in shop.customer_ids():
        rec = shop.sim.customers[cid].rec
        named = all((rec.email, rec.number, rec.first_name, rec.last_name, rec.city))
        if named and cid in with_orders and shop.group_of(cid) != shop.protected_group:
            return rec
    raise AssertionError("no customer to delete")


def test_after_the_deletion_scan_nothing_personal_of_a_deleted_customer_remains(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with shopware_shop(tmp_path, customers=120) as shop:
        name = shop.shop.name
        pull(shop)
        victim = pick_victim(shop)
        segment_shop(shop.mirror, shop.shop, shop.config(PUSH).segmentation, AS_OF)
        # the victim gets a code, a group and a tag: the journal and codes know them
        members = {cid: {"lifecycle:slipping"} for cid in shop.customer_ids()[:20]}
        members[victim.id] = {"lifecycle:slipping", "loyalty:vip", "rfm_segment:champions"}
        set_members(shop, members, AS_OF)
        assert push(shop).failed == 0
        conn = shop.mirror.conn
        journal = " ".join(r[0] for r in conn.execute("SELECT op FROM _push_log"))
        assert '"op":"IssueCode"' in journal and victim.id in journal
        assert "@" not in journal  # the journal keeps what was done, not to whom by name
        assert conn.execute(
            "SELECT COUNT(*) FROM codes WHERE customer_id = ?", (victim.id,)
        ).fetchone() == (1,)

        before = {what for _, what, _ in traces(conn, victim)}
        assert before == {"email", "number", "name", "address"}  # all there before
        orders = [o.id for o in shop.sim.orders.values() if o.customer_id == victim.id]
        shop.sim.delete_customers([victim.id])
        shop.clock.advance(hours=1)
        result = pull_shop(shop.connector(), shop.mirror, shop.shop, deletion_scan=True)
        assert result.deleted == 1
        # the shop changes the victim's orders afterwards: re-read with e-mail and names
        # (orderCustomer outlives the customer), they are anonymised before they are stored
        for oid in orders:
            shop.sim.set_order_state(oid, "completed")
        shop.sim.corrupt_order(orders[0], amountTotal=-1.0)  # and one of them is quarantined
        shop.clock.advance(hours=1)
        again = pull_shop(shop.connector(), shop.mirror, shop.shop, deletion_scan=False)
        assert again.entities["orders"].updated >= len(orders) - 1
        assert conn.execute(
            "SELECT error, raw FROM _quarantine WHERE id = ?", (orders[0],)
        ).fetchone() == ("negative amount: total_gross -1.0", "{}")
        segment_shop(
            shop.mirror, shop.shop, shop.config(PUSH).segmentation, AS_OF + timedelta(days=1)
        )
        assert traces(conn, victim) == []
        # the id stays where it marks the deletion and links anonymous order facts only
        holders = {table for table, row in rows(conn) if victim.id in " ".join(row.values())}
        assert holders <= {"customers", "orders"}, holders
        aliases = conn.execute(
            "SELECT DISTINCT json_extract(op, '$.customer_id') FROM _push_log "
            "WHERE op_key LIKE '%erased:%'"
        ).fetchall()
        assert len(aliases) == 1 and aliases[0][0].startswith("erased:")  # one pseudonym
        # the facts stay: the code under a pseudonym, the orders without a name
        assert conn.execute(
            "SELECT COUNT(*) FROM codes WHERE customer_id LIKE 'erased:%'"
        ).fetchone() == (1,)
        marks = ", ".join("?" for _ in orders)
        stored = conn.execute(
            f"SELECT COUNT(*), COUNT(email) FROM orders WHERE shop = ? AND id IN ({marks})",
            (name, *orders),
        ).fetchone()
        assert stored == (len(orders), 0)
    log_text = caplog.text.lower()
    assert victim.email.lower() not in log_text and victim.number.lower() not in log_text


def test_personal_codes_are_keyed_by_a_secret_of_the_mirror(tmp_path: Path) -> None:
    codes = []
    for n in (1, 2):
        with _shop(tmp_path, n) as shop:
            pull(shop)
            set_members(shop, {cid: {"lifecycle:slipping"} for cid in shop.customer_ids()}, AS_OF)
            plans = [
                plan_shop(shop.connector(), shop.mirror, shop.shop, shop.config(PUSH), as_of=AS_OF)
                for _ in range(2)
            ]
            first, second = ({c.customer_id: c.code for c in p.codes} for p in plans)
            assert first and first == second  # the same mirror: the same codes
            codes.append(first)
            name = shop.shop.name
            secret = shop.mirror.shop_secret(name, "code_secret")
    assert codes[0].keys() == codes[1].keys()
    assert all(codes[0][cid] != codes[1][cid] for cid in codes[0])  # another mirror: others
    assert len(secret) == 64 and secret != name


def _shop(tmp_path: Path, n: int) -> Any:
    folder = tmp_path / f"m{n}"
    folder.mkdir()
    return shopware_shop(folder, customers=60)


def test_the_code_secret_never_reaches_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with shopware_shop(tmp_path, customers=60) as shop:
        pull(shop)
        set_members(shop, {cid: {"lifecycle:slipping"} for cid in shop.customer_ids()}, AS_OF)
        assert push(shop).failed == 0
        secret = shop.mirror.shop_secret(shop.shop.name, "code_secret")
        with Mirror.open(tmp_path / "mirror.db") as again:
            assert again.shop_secret(shop.shop.name, "code_secret") == secret
    assert secret not in caplog.text
