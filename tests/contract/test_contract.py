"""The connector contract: every platform's connector against its simulator, over real sockets.

check; a full pull returns every customer and order exactly once; an incremental pull fetches
only what changed (counted in requests, not just in results); a crash mid-pull resumes without
loss or duplicates; every write operation applied twice changes the shop once; injected
429/502/503 and dropped connections still give the identical mirror; a token that stops
working mid-run is renewed; the deletion scan erases customers the shop no longer has.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from loyalsync.connectors.base import Connector, CurrentState, Page
from loyalsync.core.mirror import Mirror, UpsertCounts
from loyalsync.core.records import utcnow
from loyalsync.sync.pull import pull_entities, refresh_state, scan_deletions
from tests.contract.harness import Harness, ids_in_pages, mirror_dump

ENTITIES = ("customers", "orders")
MirrorFactory = Callable[..., Mirror]


class Crash(Exception):
    """Stands for a process dying between two pages."""


def pull_all(
    connector: Connector, mirror: Mirror, harness: Harness, **kw: Any
) -> dict[str, list[Page]]:
    pages: dict[str, list[Page]] = {e: [] for e in ENTITIES}
    on_page = kw.pop("on_page", None)

    def collect(entity: str, page: Page, counts: UpsertCounts) -> None:
        pages[entity].append(page)
        if on_page:
            on_page(entity, page, counts)

    refresh_state(connector, mirror, harness.shop.name)
    # pipelined (the default): both entities side by side, each a page ahead of the save
    pull_entities(connector, mirror, harness.shop.name, ENTITIES, on_page=collect, **kw)
    return pages


# the suite's core runs both ways: pipelined, and one entity after the other, page by page
PIPELINE = pytest.mark.parametrize("pipeline", [True, False], ids=["pipelined", "sequential"])


def test_check_reports_the_shop(harness: Harness) -> None:
    result = harness.connector().check()
    assert result.ok
    assert result.platform == harness.platform
    assert result.customers == len(harness.customer_ids())
    assert result.orders == len(harness.order_ids())


def test_current_state_lists_groups_tags_and_default_group(harness: Harness) -> None:
    state = harness.connector().current_state()
    assert isinstance(state, CurrentState)
    connector = harness.connector()
    assert {v.slot for v in state.values} <= {s.name for s in connector.slots}
    assert all(v.id and v.name for v in state.values)
    assert state.default("groups") == harness.default_group_id()
    assert harness.default_group_id() in {v.id for v in state.of("groups")}


@PIPELINE
def test_full_pull_returns_everything_exactly_once(
    harness: Harness, mirror_factory: MirrorFactory, pipeline: bool
) -> None:
    mirror = mirror_factory()
    pages = pull_all(harness.connector(), mirror, harness, pipeline=pipeline)
    for entity, truth in (("customers", harness.customer_ids()), ("orders", harness.order_ids())):
        seen = Counter(ids_in_pages(pages[entity]))
        assert set(seen) == truth
        assert max(seen.values()) == 1, "a record came twice in one pass"
        assert mirror.count(entity, harness.shop.name) == len(truth)
        assert not any(p.quarantined for p in pages[entity])
        assert harness.read_requests(entity) == harness.pages_needed(len(truth))


def test_incremental_pull_fetches_only_the_changes(
    harness: Harness, mirror_factory: MirrorFactory
) -> None:
    mirror = mirror_factory()
    connector = harness.connector()
    pull_all(connector, mirror, harness)
    cursors = {e: mirror.get_cursor(harness.shop.name, e) for e in ENTITIES}
    touched = harness.touch_customers(0.01, seed=3)
    added = harness.add_orders(7, seed=4)
    harness.reset_requests()

    pages = pull_all(connector, mirror, harness)

    for entity, changed in (("customers", touched), ("orders", added)):
        cursor = cursors[entity]
        assert cursor is not None
        fetched = list(ids_in_pages(pages[entity]))
        expected = harness.incremental_expectation(entity, cursor, changed)
        assert changed <= set(fetched)
        assert set(fetched) == expected
        assert len(fetched) == len(set(fetched))
        total = len(harness.customer_ids() if entity == "customers" else harness.order_ids())
        if entity not in getattr(harness, "full_scan", ()):  # JTL v1 customers: no filter
            assert len(expected) < total / 4, "the re-read window should be a small part"
        assert harness.read_requests(entity) == harness.pages_needed(len(expected))
    assert mirror.count("orders", harness.shop.name) == len(harness.order_ids())


@PIPELINE
@pytest.mark.parametrize("crash_after", [1, 3])
def test_crash_mid_pull_resumes_without_loss_or_duplicates(
    harness: Harness, mirror_factory: MirrorFactory, crash_after: int, pipeline: bool
) -> None:
    reference = mirror_factory("reference")
    pull_all(harness.connector(), reference, harness)

    mirror = mirror_factory("crashed")
    order_pages: list[Page] = []

    def die(entity: str, page: Page, counts: UpsertCounts) -> None:
        if entity == "orders":
            order_pages.append(page)
            if len(order_pages) == crash_after:
                raise Crash  # after the page and its cursor committed, as a kill would

    connector = harness.connector()
    with pytest.raises(Crash):
        pull_all(connector, mirror, harness, on_page=die, pipeline=pipeline)
    harness.reset_requests()
    resumed = pull_all(harness.connector(), mirror, harness, pipeline=pipeline)

    assert mirror_dump(mirror) == mirror_dump(reference)
    needed = harness.pages_needed(len(harness.order_ids()))
    assert harness.read_requests("orders") == needed - crash_after, "the resume started over"
    fetched = Counter(ids_in_pages(resumed["orders"]))
    assert max(fetched.values()) == 1


@PIPELINE
def test_faults_still_give_the_identical_mirror(
    harness: Harness, mirror_factory: MirrorFactory, pipeline: bool
) -> None:
    clean = mirror_factory("clean")
    pull_all(harness.connector(), clean, harness, pipeline=False)

    harness.inject_faults(0.2, seed=11)
    faulty = mirror_factory("faulty")
    pull_all(harness.connector(), faulty, harness, pipeline=pipeline)
    harness.inject_faults(0.0, seed=0)

    assert mirror_dump(faulty) == mirror_dump(clean)
    assert harness.sleeps, "no fault was injected (or no retry happened)"


def test_token_stopping_mid_run_is_renewed(harness: Harness, mirror_factory: MirrorFactory) -> None:
    if not getattr(harness, "uses_tokens", True):
        pytest.skip("authenticates with an API key: there is no token to renew")
    mirror = mirror_factory()

    def expire(entity: str, page: Page, counts: UpsertCounts) -> None:
        if entity == "customers" and harness.token_requests() == 1:
            harness.expire_tokens()

    pull_all(harness.connector(), mirror, harness, on_page=expire)
    assert harness.token_requests() == 2
    assert mirror.count("customers", harness.shop.name) == len(harness.customer_ids())
    assert mirror.count("orders", harness.shop.name) == len(harness.order_ids())


def test_every_write_operation_applied_twice_changes_the_shop_once(harness: Harness) -> None:
    ops = harness.write_ops()
    before = harness.shop_state()

    first = harness.connector().apply(ops)
    after_first = harness.shop_state()
    writes_first = harness.writes()
    second = harness.connector().apply(ops)

    assert [r.op for r in first] == ops and [r.op for r in second] == ops
    assert all(r.ok for r in first), [r.error for r in first if not r.ok]
    assert all(r.ok for r in second), [r.error for r in second if not r.ok]
    assert after_first != before
    assert harness.shop_state() == after_first
    assert harness.writes() == writes_first, "the second apply wrote to the shop again"


def test_each_write_operation_alone_is_idempotent(harness: Harness) -> None:
    ops = harness.write_ops()
    connector = harness.connector()
    for n in range(len(ops)):
        assert all(r.ok for r in connector.apply(ops[: n + 1]))
        state, writes = harness.shop_state(), harness.writes()
        assert all(r.ok for r in connector.apply([ops[n]]))
        assert harness.shop_state() == state and harness.writes() == writes, ops[n]


def test_deletion_scan_erases_customers_gone_from_the_shop(
    harness: Harness, mirror_factory: MirrorFactory
) -> None:
    mirror = mirror_factory()
    connector = harness.connector()
    pull_all(connector, mirror, harness)
    gone = harness.delete_customers(3)

    assert scan_deletions(connector, mirror, harness.shop.name, utcnow()) == 3
    rows = mirror.conn.execute(
        "SELECT id, email, deleted_at FROM customers WHERE deleted_at IS NOT NULL"
    ).fetchall()
    assert {r[0] for r in rows} == gone
    assert all(r[1] is None for r in rows)


def test_writes_under_faults_converge_and_leave_nothing_to_redo(harness: Harness) -> None:
    ops = harness.write_ops()
    harness.inject_faults(0.2, seed=5)
    first = harness.connector().apply(ops)
    harness.inject_faults(0.0, seed=0)
    assert all(r.ok for r in first), [r.error for r in first if not r.ok]
    assert harness.sleeps, "no fault was injected (or no retry happened)"
    state, writes = harness.shop_state(), harness.writes()
    assert all(r.ok for r in harness.connector().apply(ops))
    assert harness.shop_state() == state and harness.writes() == writes
