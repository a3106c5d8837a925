"""Pipelined pulls (sync.pull with `pipeline`, sync.streams): the next page is fetched while one
is saved, customers and orders are pulled side by side, and a failure while fetching leaves the
mirror and its cursors consistent and resumable.

The overlap is proved by event order, not by time: a second connection to the mirror holds the
write lock, so no page can commit; the Shopware simulator (real sockets) notes which requests
arrive meanwhile. Without pipelining the pull would wait for the lock and never send them.
"""

from __future__ import annotations

import sqlite3
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from loyalsync.connectors.base import Page
from loyalsync.core.errors import ApiError
from loyalsync.core.mirror import Mirror, UpsertCounts
from loyalsync.sync.pull import PullResult, pull_entities, pull_shop
from loyalsync.sync.streams import END, PageStreams
from tests.contract.harness import ids_in_pages, mirror_dump
from tests.contract.shopware_harness import ShopwareHarness

WAIT = 60.0  # seconds an event may take to arrive before the test gives up (never reached)
Route = Callable[[str, str, Any, Any], tuple[int, Any]]


@pytest.fixture
def harness() -> Iterator[ShopwareHarness]:
    started = ShopwareHarness(customers=300)  # 7 customer pages of 50, ~18 order pages
    yield started
    started.close()


def watch(harness: ShopwareHarness, hook: Callable[[str, int], tuple[int, Any] | None]) -> None:
    """Call `hook(entity, n)` as the n-th search request for an entity reaches the fake shop;
    a (status, body) it returns is answered instead of the shop's own."""
    api = harness.sim.api
    route: Route = api.route
    seen: dict[str, int] = {}
    lock = threading.Lock()

    def routed(method: str, path: str, body: Any, headers: Any) -> tuple[int, Any]:
        if path.startswith("/api/search/"):
            entity = path.rsplit("/", 1)[-1]
            with lock:
                seen[entity] = n = seen.get(entity, 0) + 1
            answer = hook(entity, n)
            if answer is not None:
                return answer
        return route(method, path, body, headers)

    api.route = routed  # type: ignore[method-assign]


def committed(path: Path, table: str) -> int:
    """Rows committed in the mirror file, as another process would see them."""
    with sqlite3.connect(path) as reader:
        return int(reader.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


@contextmanager
def write_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection holding the mirror's write lock: nothing commits until released."""
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        yield blocker
    finally:
        if blocker.in_transaction:
            blocker.execute("ROLLBACK")
        blocker.close()


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(work()), daemon=True)
    thread.start()
    return thread, out


def test_the_next_page_is_requested_before_this_page_commits(
    harness: ShopwareHarness, tmp_path: Path
) -> None:
    path = tmp_path / "m.db"
    mirror = Mirror.open(path)
    asked_second, rows_then = threading.Event(), []

    def hook(entity: str, n: int) -> None:
        if entity == "customer" and n == 2:
            rows_then.append(committed(path, "customers"))
            asked_second.set()

    watch(harness, hook)
    connector = harness.connector()
    with write_lock(path):
        pull, out = in_thread(lambda: pull_entities(connector, mirror, "s", ("customers",)))
        assert asked_second.wait(WAIT), "page 2 was not asked for while page 1 waited to commit"
    pull.join(WAIT)
    assert rows_then == [0], "page 1 had committed before page 2 was asked for"
    assert out and out[0]["customers"].new == len(harness.customer_ids())
    mirror.close()


def test_customers_and_orders_are_pulled_side_by_side(
    harness: ShopwareHarness, tmp_path: Path
) -> None:
    path = tmp_path / "m.db"
    mirror = Mirror.open(path)
    both = {"customer": threading.Event(), "order": threading.Event()}
    # the run log and the shop's groups are written first; the lock is taken as the first page
    # is asked for, before any page can commit
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    locking, taken = threading.Lock(), []

    def hook(entity: str, n: int) -> None:
        with locking:
            if entity in both and not taken:
                blocker.execute("BEGIN IMMEDIATE")
                taken.append(entity)
        if entity in both and n == 2:  # a first page each is in hand, the second asked for
            both[entity].set()

    watch(harness, hook)
    connector = harness.connector()
    pull, out = in_thread(lambda: pull_shop(connector, mirror, harness.shop, backfill=True))
    try:
        for event in both.values():
            assert event.wait(WAIT), "the entities were not pulled side by side"
        assert committed(path, "customers") == committed(path, "orders") == 0
    finally:
        with locking:
            blocker.execute("ROLLBACK")
    pull.join(WAIT)
    blocker.close()
    result = out[0]
    assert isinstance(result, PullResult) and list(result.entities) == ["customers", "orders"]
    assert mirror.count("customers", "contract-shopware") == len(harness.customer_ids())
    assert mirror.count("orders", "contract-shopware") == len(harness.order_ids())
    mirror.close()


def refuse_third_customer_page(harness: ShopwareHarness) -> None:
    bad = {"errors": [{"status": "400", "code": "SIM__REFUSED", "detail": "refused page 3"}]}

    def hook(entity: str, n: int) -> tuple[int, Any] | None:
        return (400, bad) if entity == "customer" and n == 3 else None

    watch(harness, hook)


@pytest.mark.parametrize("both", [False, True], ids=["customers", "side-by-side"])
def test_a_fetch_failing_mid_stream_leaves_a_consistent_resumable_mirror(
    harness: ShopwareHarness, tmp_path: Path, both: bool
) -> None:
    reference = Mirror.open(tmp_path / "reference.db")
    pull_shop(harness.connector(), reference, harness.shop, deletion_scan=False, pipeline=False)
    route = harness.sim.api.route
    refuse_third_customer_page(harness)
    entities = ("customers", "orders") if both else ("customers",)
    mirror = Mirror.open(tmp_path / "m.db")
    pages: dict[str, list[Page]] = {"customers": [], "orders": []}

    def collect(entity: str, page: Page, counts: UpsertCounts) -> None:
        pages[entity].append(page)

    with pytest.raises(ApiError) as raised:
        pull_entities(harness.connector(), mirror, harness.shop.name, entities, on_page=collect)

    # the connector's own error, raised where it happened (in the fetching thread)
    assert raised.value.status == 400
    frames = [f.name for f in traceback.extract_tb(raised.value.__traceback__)]
    assert "search" in frames, frames
    # everything handed over before the failure committed, with its cursor; nothing else did
    shop = harness.shop.name
    assert len(pages["customers"]) == 2
    assert mirror.get_cursor(shop, "customers") == pages["customers"][-1].cursor
    for entity in entities:  # orders, pulled alongside, stopped wherever they were
        stored = {r[0] for r in mirror.conn.execute(f"SELECT id FROM {entity}")}
        assert stored == set(ids_in_pages(pages[entity]))

    harness.sim.api.route = route  # type: ignore[method-assign]
    harness.sim.reset_logs()
    pull_shop(harness.connector(), mirror, harness.shop, deletion_scan=False)
    assert mirror_dump(mirror) == mirror_dump(reference)
    again = [r for r in harness.sim.request_log if r.path == "/api/search/customer"]
    # the two saved pages are not read again: the rest in full pages and the closing short
    # (here: empty) one, since a resumed pass has no total from a first page to stop at
    remaining = len(harness.customer_ids()) - 2 * harness.page_size
    assert len(again) == remaining // harness.page_size + 1, "the resume started over"
    reference.close()
    mirror.close()


# ---------------------------------------------------------------------------------------------
# PageStreams on plain iterators


def test_streams_keep_each_streams_order_and_end_each_once() -> None:
    with PageStreams({"a": iter(range(5)), "b": iter("xyz")}) as streams:
        got = list(streams)
    assert [v for n, v in got if n == "a"] == [0, 1, 2, 3, 4, END]
    assert [v for n, v in got if n == "b"] == ["x", "y", "z", END]


def test_a_producer_is_never_more_than_depth_pages_ahead() -> None:
    taken: list[int] = []

    def counted() -> Iterator[int]:
        for n in range(20):
            taken.append(n)
            yield n

    with PageStreams({"a": counted()}, depth=2) as streams:
        for _, value in streams:
            if isinstance(value, int):
                # the page in hand and at most one more fetched: never a third
                assert len(taken) <= value + 2


def test_an_error_arrives_after_the_pages_before_it_and_stops_the_others() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ApiError("refused", status=400)

    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            while True:
                yield 0
        finally:
            closed.set()

    seen: list[Any] = []
    with (
        pytest.raises(ApiError, match="refused"),
        PageStreams({"a": failing(), "b": endless()}) as streams,
    ):
        for name, value in streams:
            if name == "a":
                seen.append(value)
    assert seen == [1, 2]
    assert closed.wait(WAIT), "the other producer went on after the consumer gave up"
