"""The SQLite mirror: migrations, file mode, atomic page + cursor commits, runs, deletions."""

from __future__ import annotations

import logging
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from loyalsync.core.errors import ConfigError
from loyalsync.core.mirror import (
    SCHEMA_VERSION,
    Mirror,
    db_time,
    load_members,
    load_movements,
    parse_db_time,
)
from loyalsync.core.mirror.schema import MIGRATIONS
from loyalsync.core.records import Cursor, CustomerRecord, OrderItemRecord, OrderRecord, Quarantined

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def customer(i: int, **kw: object) -> CustomerRecord:
    base = {
        "id": f"c{i:04d}",
        "email": f"user{i}@example.com",
        "first_name": "Ann",
        "last_name": f"L{i}",
        "country": "DE",
        "city": "Berlin",
        "postcode": "10115",
        "created_at": T0 + timedelta(days=i),
    }
    base.update(kw)
    return CustomerRecord(**base)  # type: ignore[arg-type]


def mirror_at_version(path: Path, version: int) -> sqlite3.Connection:
    """An open connection to a new file migrated only up to `version` (an older mirror)."""
    conn = sqlite3.connect(path)
    for number, script in MIGRATIONS:
        if number <= version:
            conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {version}")
    return conn


def order(i: int, customer_id: str, **kw: object) -> OrderRecord:
    base = {
        "id": f"o{i:05d}",
        "number": str(10000 + i),
        "customer_id": customer_id,
        "email": "x@example.com",
        "placed_at": T0 + timedelta(days=i),
        "status": "completed",
        "is_valid": True,
        "total_gross": 119.0,
        "total_net": 100.0,
        "currency": "EUR",
        "base_currency_total_gross": 119.0,
        "base_currency_total_net": 100.0,
        "items": (OrderItemRecord(1, "p1", "SKU-1", "Thing", 1, 119.0, 119.0),),
    }
    base.update(kw)
    return OrderRecord(**base)  # type: ignore[arg-type]


def dump(m: Mirror, table: str) -> list[tuple[object, ...]]:
    cols = [r[1] for r in m.conn.execute(f"PRAGMA table_info({table})") if r[1] != "synced_at"]
    return m.conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY 1, 2, 3").fetchall()


def test_file_is_private_and_migrated(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Mirror.open(path) as m:
        assert m.schema_version == SCHEMA_VERSION
        assert m.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with Mirror.open(path) as m:  # re-opening applies nothing twice
        assert m.migrate() == SCHEMA_VERSION


def test_version_2_membership_and_history_survive_migration_3(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file written by the version-2 schema (one history row per event, membership with
    family and as_of columns) keeps every membership and every event after migrating."""
    path = tmp_path / "old.db"
    conn = mirror_at_version(path, 2)
    day1, day2 = "2026-06-01T00:00:00.000000Z", "2026-06-02T00:00:00.000000Z"
    conn.executemany(
        "INSERT INTO segment_members VALUES ('s', ?, ?, ?, ?, ?)",
        [("a", "abc:B", "abc", day2, day2), ("a", "loyalty:vip", "loyalty", day1, day1)],
    )
    events = [
        ("a", "abc:A", "abc", "enter", day1, 1),
        ("a", "loyalty:vip", "loyalty", "enter", day1, 1),
        ("a", "abc:A", "abc", "exit", day2, 2),
        ("a", "abc:B", "abc", "enter", day2, 2),
    ]
    conn.executemany("INSERT INTO segment_history VALUES ('s', ?, ?, ?, ?, ?, ?)", events)
    conn.commit()
    conn.close()
    with caplog.at_level(logging.INFO, logger="loyalsync.mirror"), Mirror.open(path) as m:
        assert m.schema_version == SCHEMA_VERSION
        assert "to schema version 3" in caplog.text
        members = load_members(m, "s")
        assert members.values.tolist() == [
            ["a", "abc:B", "abc", day2],
            ["a", "loyalty:vip", "loyalty", day1],
        ]
        view = m.conn.execute(
            "SELECT customer_id, segment, family, event, at, run_id FROM segment_history"
        ).fetchall()
        assert sorted(view) == sorted(events)
        moves = load_movements(m, "s", datetime(2026, 6, 1, tzinfo=UTC))
        assert moves.values.tolist() == [["abc:A", "abc:B", 1]]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    Mirror.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ConfigError, match="newer than this loyalsync understands"):
        Mirror.open(path)


def test_missing_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        Mirror.open(tmp_path / "nope" / "m.db")


def test_upsert_counts_new_updated_unchanged(tmp_path: Path) -> None:
    m = Mirror.open(tmp_path / "m.db")
    first = m.save_page("s", "customers", [customer(1), customer(2)], Cursor(after="2"))
    assert (first.new, first.updated, first.unchanged) == (2, 0, 0)
    again = m.save_page(
        "s", "customers", [customer(1), customer(2, city="Hamburg")], Cursor(after="2")
    )
    assert (again.new, again.updated, again.unchanged) == (0, 1, 1)
    assert m.conn.execute("SELECT city FROM customers WHERE id='c0002'").fetchone()[0] == "Hamburg"
    assert m.get_cursor("s", "customers") == Cursor(after="2")
    assert m.get_cursor("other", "customers") is None  # shops are separate


def test_order_items_replaced_with_the_order(tmp_path: Path) -> None:
    m = Mirror.open(tmp_path / "m.db")
    m.save_page("s", "orders", [order(1, "c1")], Cursor())
    two = (OrderItemRecord(1, "p1", "A", "a", 1, 1, 1), OrderItemRecord(2, "p2", "B", "b", 2, 2, 4))
    m.save_page("s", "orders", [order(1, "c1", items=two)], Cursor())
    assert m.conn.execute("SELECT sku FROM order_items ORDER BY line").fetchall() == [
        ("A",),
        ("B",),
    ]


def test_crash_inside_a_page_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    """A fault in the middle of a page's transaction rolls back its rows AND its cursor, so
    the next run re-reads exactly that page and ends identical to an uninterrupted run."""
    pages = [[customer(i) for i in range(p * 50, p * 50 + 50)] for p in range(4)]
    cursors = [Cursor(after=str(p * 50 + 49)) for p in range(4)]

    clean = Mirror.open(tmp_path / "clean.db")
    for page, cur in zip(pages, cursors, strict=True):
        clean.save_page("s", "customers", page, cur)

    m = Mirror.open(tmp_path / "crash.db")
    m.conn.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON customers WHEN NEW.id = 'c0120' "
        "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
    )
    done = 0
    with pytest.raises(sqlite3.IntegrityError, match="disk on fire"):
        for page, cur in zip(pages, cursors, strict=True):
            m.save_page("s", "customers", page, cur)
            done += 1
    assert done == 2
    assert m.count("customers", "s") == 100  # page 3 rolled back entirely, rows 100-119 too
    assert m.get_cursor("s", "customers") == cursors[1]  # the cursor never ran ahead
    m.conn.execute("DROP TRIGGER boom")
    # resume from the stored cursor: the pages after it
    resume_at = int(m.get_cursor("s", "customers").after or 0) + 1  # type: ignore[union-attr]
    for page, cur in zip(pages, cursors, strict=True):
        if int(page[0].id[1:]) >= resume_at:
            m.save_page("s", "customers", page, cur)
    assert dump(m, "customers") == dump(clean, "customers")
    assert m.get_cursor("s", "customers") == clean.get_cursor("s", "customers")


def test_quarantine_and_runs(tmp_path: Path) -> None:
    m = Mirror.open(tmp_path / "m.db")
    run = m.start_run("s", "pull")
    q = Quarantined("orders", "o9", "amountTotal is not a number", {"amountTotal": "x"})
    m.save_page("s", "orders", [order(1, "c1")], Cursor(), quarantined=[q], run_id=run)
    m.save_page("s", "orders", [], Cursor(), quarantined=[q], run_id=run)  # same record again
    m.finish_run(run, "partial", {"orders": {"new": 1, "quarantined": 1}})
    assert m.quarantine_counts("s") == {"s:orders": 1}
    (last,) = m.runs("s")
    assert last["outcome"] == "partial" and last["counts"]["orders"]["new"] == 1


def test_mark_deleted_erases_personal_data_keeps_order_facts(tmp_path: Path) -> None:
    m = Mirror.open(tmp_path / "m.db")
    m.save_page("s", "customers", [customer(1), customer(2)], Cursor())
    m.save_page("s", "orders", [order(1, "c0001"), order(2, "c0002")], Cursor())
    assert m.mark_deleted("s", {"c0002"}, T0) == 1
    row = m.conn.execute("SELECT email, last_name, deleted_at, raw FROM customers WHERE id='c0001'")
    assert row.fetchone() == (None, None, db_time(T0), "{}")
    facts = m.conn.execute("SELECT email, base_currency_total_gross FROM orders WHERE id='o00001'")
    assert facts.fetchone() == (None, 119.0)
    assert m.mark_deleted("s", {"c0002"}, T0) == 0  # idempotent


def test_db_time_roundtrip_and_naive_rejected() -> None:
    value = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    assert db_time(value) == "2026-03-04T05:06:07.890000Z"
    assert parse_db_time(db_time(value)) == value
    with pytest.raises(ValueError, match="naive"):
        db_time(datetime(2026, 1, 1))


def test_newer_schema_is_refused_before_anything_changes(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ConfigError, match="newer than this loyalsync understands"):
        Mirror.open(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_a_version_11_file_finds_redemptions_through_the_orders_with_codes(
    tmp_path: Path,
) -> None:
    """Migration 12's partial index holds exactly the orders with a code, and the redemption
    check (which reads through it) still finds a code used in any case."""
    from loyalsync.core.mirror import record_redemptions, save_planned_codes

    path = tmp_path / "old.db"
    mirror_at_version(path, 11).close()
    with Mirror.open(path) as m:
        m.save_page("s", "customers", [CustomerRecord(id="c1", email="a@example.com")], Cursor())
        used = order(2, "c1", codes=("winback-abc",))
        m.save_page("s", "orders", [order(1, "c1"), used, order(3, "c1")], Cursor())
        save_planned_codes(m, "s", [("wb", "c1", "WINBACK-ABC", T0, None)], None)
        m.conn.execute("UPDATE codes SET status = 'issued'")
        indexed = m.conn.execute(
            "SELECT id FROM orders INDEXED BY orders_with_codes WHERE shop = 's' AND codes != '[]'"
        ).fetchall()
        assert indexed == [(used.id,)]
        assert record_redemptions(m, "s") == 1
        row = m.conn.execute("SELECT status, redeemed_order_id FROM codes").fetchone()
        assert row == ("redeemed", used.id)
