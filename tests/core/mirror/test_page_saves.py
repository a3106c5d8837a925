"""Page saves made cheaper without changing what is stored: migration 9 drops an index another
one covers; child rows (order items, memberships) are replaced only for rows the mirror already
had; `core.plausible` walks a raw payload only when it holds a string to clamp."""

from __future__ import annotations

from pathlib import Path

from loyalsync.core import plausible
from loyalsync.core.mirror import SCHEMA_VERSION, Mirror
from loyalsync.core.records import (
    Cursor,
    OrderItemRecord,
    Page,
    memberships,
)
from tests.core.mirror.test_mirror import T0, customer, mirror_at_version, order


def items_of(m: Mirror) -> list[tuple[str, int, str]]:
    return m.conn.execute("SELECT order_id, line, sku FROM order_items ORDER BY 1, 2").fetchall()


def test_migration_9_drops_the_index_the_segment_summary_covers(tmp_path: Path) -> None:
    path = tmp_path / "v6.db"
    conn = mirror_at_version(path, 6)
    conn.execute(
        "INSERT INTO orders (shop, id, customer_id, placed_at, is_valid) "
        "VALUES ('s', 'o1', 'c1', '2026-01-01T00:00:00.000000Z', 1)"
    )
    conn.commit()
    conn.close()
    with Mirror.open(path) as m:
        assert m.schema_version == SCHEMA_VERSION >= 9
        indexes = {
            r[0] for r in m.conn.execute("SELECT name FROM sqlite_master WHERE type='index'")
        }
        assert "orders_customer" not in indexes and "orders_segment_summary" in indexes
        plan = " ".join(
            str(r[-1])
            for r in m.conn.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM orders WHERE shop = 's' AND customer_id = 'c1'"
            )
        )
        assert "orders_segment_summary" in plan, plan  # a customer's orders: still an index
        assert m.conn.execute("SELECT id FROM orders WHERE customer_id = 'c1'").fetchall() == [
            ("o1",)
        ]


def test_changed_orders_get_their_items_replaced_and_new_ones_just_inserted(
    tmp_path: Path,
) -> None:
    with Mirror.open(tmp_path / "m.db") as m:
        first = m.save_page("s", "orders", [order(1, "c1"), order(2, "c1")], Cursor())
        assert (first.new, first.updated) == (2, 0)
        two_lines = (
            OrderItemRecord(1, "p1", "SKU-A", "A", 1, 50.0, 50.0),
            OrderItemRecord(2, "p2", "SKU-B", "B", 1, 69.0, 69.0),
        )
        again = m.save_page(
            "s", "orders", [order(1, "c1", items=two_lines), order(2, "c1"), order(3, "c2")],
            Cursor(),
        )  # fmt: skip
        assert (again.new, again.updated, again.unchanged) == (1, 1, 1)
        assert items_of(m) == [
            ("o00001", 1, "SKU-A"),
            ("o00001", 2, "SKU-B"),
            ("o00002", 1, "SKU-1"),
            ("o00003", 1, "SKU-1"),
        ]


def test_a_row_stored_without_a_hash_counts_as_new_and_its_children_are_replaced(
    tmp_path: Path,
) -> None:
    with Mirror.open(tmp_path / "m.db") as m:
        m.save_page("s", "orders", [order(1, "c1")], Cursor())
        m.save_page("s", "customers", [customer(1, memberships=memberships(groups="g1"))], Cursor())
        m.conn.execute("UPDATE orders SET row_hash = NULL")
        m.conn.execute("UPDATE customers SET row_hash = NULL")
        counts = m.save_page("s", "orders", [order(1, "c1")], Cursor())  # no duplicate item
        assert (counts.new, counts.updated) == (1, 0)
        assert items_of(m) == [("o00001", 1, "SKU-1")]
        m.save_page("s", "customers", [customer(1, memberships=memberships(groups="g2"))], Cursor())
        held = m.conn.execute("SELECT customer_id, slot, value FROM memberships").fetchall()
        assert held == [("c0001", "groups", "g2")]


def test_only_a_payload_with_a_long_string_is_walked_and_clamped() -> None:
    long = "x" * (plausible.MAX_RAW_TEXT + 1)
    deep = {"a": [{"b": {"c": long}}], "n": 1}
    plain = {"a": [{"b": {"c": "short"}}], "n": 1, "t": None}
    page = Page(records=(order(1, "c1", raw=deep), order(2, "c1", raw=plain)), cursor=Cursor())
    kept, clamps = plausible.question_page(page, "orders", plausible.horizon_of(T0), Cursor())
    assert [(c.id, c.field, c.length) for c in clamps] == [("o00001", "a[0].b.c", len(long))]
    assert kept.records[0].raw["a"][0]["b"]["c"].endswith("...[clamped: 65,537 characters]")
    assert kept.records[1].raw is plain  # untouched, not copied
