"""Shopware sync requests that fail, against the simulator over 127.0.0.1 (issue 17, Faults):
a 500 before the transaction committed, a connection dropped before or after the shop
processed the request, an answer after the read timeout. Every row is an upsert with a fixed id
or a delete by key, so a request is sent again as it is, with no read-back: one apply ends
where a fault-free twin ends, with no second group, tag, promotion or code. A 500 that never
goes away is tried a bounded number of times; one naming an integrity violation (our rows'
fault) is not sent again as it is but halved (test_writer.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import pytest

from loyalsync.connectors.shopware.simulator import Faults
from loyalsync.connectors.shopware.sync_plan import tag_id
from loyalsync.connectors.shopware.writer import SYNC_PATH
from loyalsync.core.records import EnsureValue
from tests.contract.harness import FAULT_READ_TIMEOUT, FAULT_STALL, twin_harnesses
from tests.contract.shopware_harness import ShopwareHarness


@pytest.fixture
def twins() -> Iterator[tuple[ShopwareHarness, ShopwareHarness]]:
    yield from twin_harnesses(ShopwareHarness)


def sync_statuses(h: ShopwareHarness) -> Counter[int]:
    return Counter(r.status for r in h.sim.requests(SYNC_PATH))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_failed_sync_requests_are_sent_again_in_the_same_run(
    twins: tuple[ShopwareHarness, ShopwareHarness], seed: int
) -> None:
    clean, faulty = twins
    ops = clean.write_ops()
    assert ops == faulty.write_ops()  # twins
    assert all(r.ok for r in clean.connector().apply(ops, batch_size=3))
    faulty.sim.set_faults(
        Faults(
            server_error=0.4,  # before the transaction committed
            dropped=0.2,  # half before, half after processing
            timed_out=0.1,  # processed, the answer after the read timeout
            stall=FAULT_STALL,
            seed=seed,
            writes_only=True,
        )
    )
    faulty.shop = replace(faulty.shop, timeout=FAULT_READ_TIMEOUT)
    results = faulty.connector().apply(ops, batch_size=3)  # ONE run, several requests
    faulty.sim.set_faults(None)
    assert [r.error for r in results if not r.ok] == []
    assert faulty.shop_state() == clean.shop_state()
    assert sync_statuses(faulty)[500] >= 1, "no sync request was answered 500"
    assert faulty.sleeps, "every resend waits the policy's backoff (injected: never really slept)"


def test_a_500_that_never_goes_away_is_tried_a_bounded_number_of_times() -> None:
    h = ShopwareHarness()
    try:
        h.sim.set_faults(Faults(server_error=1.0, writes_only=True))  # the shop never writes
        connector = h.connector()
        results = connector.apply([EnsureValue("tags", "ls:never")])
        h.sim.set_faults(None)
        attempts = connector.http.policy.max_attempts
        assert not results[0].ok and "the shop failed on this write" in (results[0].error or "")
        assert sync_statuses(h) == Counter({500: attempts})
        assert len(h.sleeps) == attempts - 1 and tag_id("ls:never") not in h.sim.table("tag")
    finally:
        h.close()


def test_a_refusal_is_not_sent_again() -> None:
    h = ShopwareHarness()
    try:
        results = h.connector().apply([EnsureValue("groups", "x" * 300)])  # name too long
        assert not results[0].ok and "too long" in (results[0].error or "")
        assert sync_statuses(h) == Counter({400: 1}) and not h.sleeps
    finally:
        h.close()
