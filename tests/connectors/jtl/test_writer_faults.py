"""JTL-Wawi writes that fail, against the simulator over 127.0.0.1 (issue 17, Faults): a 500
before the Wawi committed, a connection dropped before the request reached it, an answer lost
or late after it processed the write. A group or category create is read back (its table) and
sent again only when missing; the PATCHes set a value, so after a 500 the redo reads the
customer and sends what still differs. One apply ends where a fault-free twin ends, with no
second group or category; a write that never takes effect is tried a bounded number of times,
and a 4xx refusal is never sent twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import pytest

from loyalsync.connectors.jtl.simulator import Faults
from loyalsync.core.records import EnsureValue, SetValue
from tests.contract.harness import FAULT_READ_TIMEOUT, FAULT_STALL, twin_harnesses
from tests.contract.jtl_harness import JtlHarness

FLAVOURS = ("onprem", "cloud")


@pytest.fixture(params=FLAVOURS)
def twins(request: pytest.FixtureRequest) -> Iterator[tuple[JtlHarness, JtlHarness]]:
    yield from twin_harnesses(lambda: JtlHarness(request.param))


def created(h: JtlHarness) -> Counter[str]:
    """Groups and categories the shop made (its write log), by kind."""
    return Counter(w["kind"] for w in h.sim.write_log if w["kind"] in ("group", "category"))


def test_failed_writes_are_redone_in_the_same_run(twins: tuple[JtlHarness, JtlHarness]) -> None:
    clean, faulty = twins
    ops = clean.write_ops()
    assert ops == faulty.write_ops()  # twins
    assert all(r.ok for r in clean.connector().apply(ops))
    faulty.sim.set_faults(
        Faults(
            server_error=0.3,  # before the Wawi's transaction committed
            dropped=0.15,  # before the Wawi saw the request
            lost=0.15,  # processed, the answer never arrives
            timed_out=0.1,  # processed, the answer after the read timeout
            stall=FAULT_STALL,
            seed=3,
            writes_only=True,
        )
    )
    faulty.shop = replace(faulty.shop, timeout=FAULT_READ_TIMEOUT)
    results = faulty.connector().apply(ops)  # ONE run
    faulty.sim.set_faults(None)
    assert [r.error for r in results if not r.ok] == []
    assert faulty.shop_state() == clean.shop_state()
    assert created(faulty) == created(clean), "a group or category was created twice"
    failed = Counter(r.status for r in faulty.sim.request_log if r.method in ("POST", "PATCH"))
    assert failed[500] >= 2 and failed[0] >= 2, f"the faults hardly hit writes: {failed}"
    assert faulty.sleeps, "every redo waits the policy's backoff (injected: never really slept)"


def test_a_write_that_never_takes_effect_is_tried_a_bounded_number_of_times() -> None:
    h = JtlHarness()
    try:
        cid = h.write_ops()[1].customer_id  # type: ignore[attr-defined]
        h.sim.set_faults(Faults(server_error=1.0, writes_only=True))  # the Wawi never writes
        connector = h.connector()
        ops = [EnsureValue("groups", "Stammkunden"), SetValue(cid, "groups", "B2B / Händler")]
        results = connector.apply(ops)
        h.sim.set_faults(None)
        attempts = connector.http.policy.max_attempts
        assert not results[0].ok and "read back: not created" in (results[0].error or "")
        assert not results[1].ok and "no read-back needed" in (results[1].error or "")
        assert len(h.sim.requests("/customerGroups", method="POST")) == attempts
        assert len(h.sim.requests(f"/customers/{cid}", method="PATCH")) == attempts
        assert len(h.sleeps) == 2 * (attempts - 1)
        assert created(h) == Counter() and h.sim.write_log == []
    finally:
        h.close()


def test_a_refusal_is_not_sent_again() -> None:
    h = JtlHarness()
    try:
        results = h.connector().apply([EnsureValue("groups", "")])  # the Wawi: Name is required
        assert not results[0].ok and "rejected" in (results[0].error or "")
        assert len(h.sim.requests("/customerGroups", method="POST")) == 1 and not h.sleeps
    finally:
        h.close()
