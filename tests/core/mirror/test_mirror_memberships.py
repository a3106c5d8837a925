"""Memberships in the mirror: one table of (customer, slot, value) rows, replaced with each
changed customer; the values of every slot in another; migration 4 from an older file."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from loyalsync.core.mirror import Mirror, load_push_state, managed_view
from loyalsync.core.mirror.schema import SCHEMA_VERSION
from loyalsync.core.records import Cursor, CustomerRecord, SlotValue, memberships
from tests.core.mirror.test_mirror import mirror_at_version


def held(m: Mirror) -> list[tuple[object, ...]]:
    return m.conn.execute(
        "SELECT customer_id, slot, value, is_default FROM memberships ORDER BY 1, 2, 3"
    ).fetchall()


def test_memberships_are_sets_per_slot_replaced_with_the_customer(tmp_path: Path) -> None:
    with Mirror.open(tmp_path / "m.db") as m:
        a = CustomerRecord(
            "a", "a@example.com", memberships=memberships(groups=["3", "1"], tags=("t1",)),
            defaults=(("groups", "3"),),
        )  # fmt: skip
        b = CustomerRecord("b", "b@example.com", memberships=memberships(groups="1"))
        m.save_page("s", "customers", [a, b], Cursor())
        assert held(m) == [
            ("a", "groups", "1", 0),
            ("a", "groups", "3", 1),
            ("a", "tags", "t1", 0),
            ("b", "groups", "1", 0),
        ]
        # only the memberships changed: the customer is an update, and its rows are replaced
        moved = CustomerRecord("a", "a@example.com", memberships=memberships(groups="1", tags=()))
        counts = m.save_page("s", "customers", [moved, b], Cursor())
        assert (counts.updated, counts.unchanged) == (1, 1)
        assert held(m) == [("a", "groups", "1", 0), ("b", "groups", "1", 0)]
        m.mark_deleted("s", {"b"}, datetime(2026, 1, 1, tzinfo=UTC))
        assert held(m) == [("b", "groups", "1", 0)]  # a deleted customer holds nothing


def test_a_slot_the_record_does_not_carry_keeps_its_rows(tmp_path: Path) -> None:
    """A slot a connector cannot read cheaply (JTL's label custom field) is not in its
    records: the rows pushes recorded stay; every slot the record carries is replaced."""
    with Mirror.open(tmp_path / "m.db") as m:
        a = CustomerRecord("a", None, memberships=memberships(groups="1", label="Champions"))
        m.save_page("s", "customers", [a], Cursor())
        pulled = CustomerRecord("a", "new@example.com", memberships=memberships(groups="2"))
        m.save_page("s", "customers", [pulled], Cursor())
        assert held(m) == [("a", "groups", "2", 0), ("a", "label", "Champions", 0)]


def test_slot_values_replace_and_the_view_counts_per_slot(tmp_path: Path) -> None:
    with Mirror.open(tmp_path / "m.db") as m:
        values = [SlotValue("groups", "1", "Standard"), SlotValue("categories", "9", "Wine")]
        m.replace_values("s", values, [("groups", "1")])
        people = [
            CustomerRecord(f"c{i}", None, memberships=memberships(groups="1", categories=["9"]))
            for i in range(3)
        ]
        m.save_page("s", "customers", people, Cursor())
        state = load_push_state(m, "s")
        assert state["values"] == [("categories", "9", "Wine", 0), ("groups", "1", "Standard", 1)]
        assert len(state["memberships"]) == 6
        view = managed_view(m, "s")
        assert view["groups"] == [("Standard", 3)] and view["categories"] == [("Wine", 3)]


def test_migration_4_moves_groups_and_tags_into_the_membership_table(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A version-3 file (customers.group_id, customers.tags JSON, tables groups and tags):
    every group becomes a set of one in slot `groups`, every tag a row in slot `tags`, the
    shop's groups and tags become slot values, and the old columns and tables are gone."""
    path = tmp_path / "old.db"
    conn = mirror_at_version(path, 3)
    conn.executemany(
        "INSERT INTO customers (shop, id, email, group_id, tags) VALUES ('s', ?, ?, ?, ?)",
        [
            ("a", "a@example.com", "g1", '["t1","t2"]'),
            ("b", "b@example.com", "g2", "[]"),
            ("c", "c@example.com", None, '["t2"]'),
        ],
    )
    conn.executemany(
        "INSERT INTO groups (shop, id, name, is_default) VALUES ('s', ?, ?, ?)",
        [("g1", "Standard", 1), ("g2", "B2B", 0)],
    )
    conn.executemany(
        "INSERT INTO tags (shop, id, name) VALUES ('s', ?, ?)", [("t1", "ls:vip"), ("t2", "x")]
    )
    conn.commit()
    conn.close()
    with caplog.at_level(logging.INFO, logger="loyalsync.mirror"), Mirror.open(path) as m:
        assert m.schema_version == SCHEMA_VERSION >= 4
        assert "to schema version 4" in caplog.text
        assert held(m) == [
            ("a", "groups", "g1", 0),
            ("a", "tags", "t1", 0),
            ("a", "tags", "t2", 0),
            ("b", "groups", "g2", 0),
            ("c", "tags", "t2", 0),
        ]
        values = m.conn.execute(
            "SELECT slot, id, name, is_default FROM slot_values ORDER BY 1, 2"
        ).fetchall()
        assert values == [
            ("groups", "g1", "Standard", 1),
            ("groups", "g2", "B2B", 0),
            ("tags", "t1", "ls:vip", 0),
            ("tags", "t2", "x", 0),
        ]
        columns = {r[1] for r in m.conn.execute("PRAGMA table_info(customers)")}
        assert "group_id" not in columns and "tags" not in columns
        tables = {r[0] for r in m.conn.execute("SELECT name FROM sqlite_master")}
        assert not tables & {"groups", "tags"}
        # the migrated file works as a new one: a pull's page replaces the rows
        page = [CustomerRecord("a", "a@example.com", memberships=memberships(groups="g2", tags=()))]
        m.save_page("s", "customers", page, Cursor())
        assert [r for r in held(m) if r[0] == "a"] == [("a", "groups", "g2", 0)]
