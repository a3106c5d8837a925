"""Values to question, not store (issue 11 section 6): the simulator on 127.0.0.1 serves
negative amounts and quantities, an unknown currency, an order from 2099, an e-mail that is
an object, megabyte strings and a duplicate id; the real pull quarantines or clamps each with
a reason, keeps the rest, and `status` counts the quarantine."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from loyalsync.connectors.shopware.client import ShopwareConnector
from loyalsync.connectors.shopware.sim_render import customer_json
from loyalsync.connectors.shopware.simulator import ShopwareSimulator
from loyalsync.core.mirror import Mirror
from loyalsync.sync.cli import run
from loyalsync.sync.pull import pull_entity
from tests.contract.harness import FakeClock
from tests.sync.conftest import write_config

Connect = Callable[..., ShopwareConnector]
FUTURE = datetime(2099, 1, 1, tzinfo=UTC)


def reasons(mirror: Mirror, entity: str) -> dict[str, str]:
    rows = mirror.conn.execute("SELECT id, error FROM _quarantine WHERE entity = ?", (entity,))
    return dict(rows.fetchall())


def test_orders_with_values_to_question_are_quarantined_and_the_cursor_stays_sane(
    sim: ShopwareSimulator, connect: Connect, clock: FakeClock, tmp_path: Path
) -> None:
    o1, o2, o3, o4, o5 = sorted(sim.orders)[:5]
    sim.corrupt_order(o1, amountTotal=-12.5)
    line = {"id": "f" * 32, "type": "product", "quantity": -3, "unitPrice": 10.0,
            "totalPrice": -30.0, "label": "Socks", "position": 1, "payload": {}}  # fmt: skip
    sim.corrupt_order(o2, lineItems=[line])
    sim.corrupt_order(o3, currency={"isoCode": "EURO", "factor": 1.0})
    sim.corrupt_order(o4, orderDateTime="2099-01-01T00:00:00.000+00:00")
    sim.store.orders[o4].updated_at = FUTURE  # the shop's own row: its aggregations see 2099
    with Mirror.open(tmp_path / "m.db") as mirror:
        counts = pull_entity(connect(sim), mirror, "sw-test", "orders", now=clock)
        assert counts.quarantined == 4
        assert mirror.count("orders", "sw-test") == len(sim.orders) - 4
        found = reasons(mirror, "orders")
        assert found[o1] == "negative amount: total_gross -12.5"
        assert found[o2] == "line 1: negative quantity -3"
        assert found[o3] == "unknown currency code 'EURO' (not ISO 4217)"
        assert found[o4].startswith("placed_at 2099-01-01 00:00 is in the future")
        cursor = mirror.get_cursor("sw-test", "orders")
        assert cursor is not None and cursor.since is not None and cursor.since < clock()
        # the next pull still sees an edit made now (a cursor at 2099 would skip it for years)
        clock.advance(hours=2)
        sim.set_order_state(o5, "completed")
        again = pull_entity(connect(sim), mirror, "sw-test", "orders", now=clock)
        assert again.updated >= 1
        status = mirror.conn.execute("SELECT status FROM orders WHERE id = ?", (o5,)).fetchone()
        assert status == ("completed",)


def test_customers_with_values_to_question_are_quarantined_or_clamped(
    sim: ShopwareSimulator,
    connect: Connect,
    clock: FakeClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    by_ai = sorted(sim.customers.values(), key=lambda r: r.ai)
    c1, c2, c3, first = by_ai[3].id, by_ai[4].id, by_ai[5].id, by_ai[0]
    sim.corrupt_customer(c1, email={"x": 1})
    sim.corrupt_customer(c2, firstName="A" * 3_000_000)
    sim.corrupt_customer(c3, accountType="N" * 2_000_000)
    sim.serve_bad_rows("customer", [customer_json(first, {}, sim.store.tables)])  # a 2nd copy
    caplog.set_level(logging.WARNING, logger="loyalsync")
    path = tmp_path / "m.db"
    with Mirror.open(path) as mirror:
        counts = pull_entity(connect(sim), mirror, "sw-test", "customers", now=clock)
        assert counts.quarantined == 3
        assert mirror.count("customers", "sw-test") == len(sim.customers) - 2
        found = reasons(mirror, "customers")
        assert found[c1] == f"customer {c1}: email is not text: dict"
        assert found[c2] == "first_name is 3,000,000 characters long (at most 1,000)"
        assert found[first.id] == "duplicate id within one page: the newest copy is kept"
        assert c3 not in found  # kept, its raw string clamped with a reason in the log
        raw = json.loads(
            mirror.conn.execute("SELECT raw FROM customers WHERE id = ?", (c3,)).fetchone()[0]
        )
        assert raw["accountType"].endswith("...[clamped: 2,000,000 characters]")
        assert len(raw["accountType"]) < 70_000
        stored = mirror.conn.execute("SELECT MAX(LENGTH(raw)) FROM _quarantine").fetchone()[0]
        assert stored < 200_000  # the quarantine keeps no megabytes either
    assert f"customers {c3}: accountType clamped from 2,000,000" in caplog.text
    config = write_config(tmp_path, [("sw-test", sim, sim.client_secret)], db=str(path))
    assert run(["--config", str(config), "status", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["shops"]["sw-test"]["quarantine"] == {"sw-test:customers": 3}
