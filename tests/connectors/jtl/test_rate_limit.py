"""JTL's rate limit (research §5.3): the simulator counts requests in fixed windows on the
shop's clock and answers with X-RateLimit-*; the connector pauses when a 2xx says the window
is used up, waits the window out after a 429, and lets Retry-After win when it is sent. The
injected sleep advances the shared fake clock, so nothing really waits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from loyalsync.connectors import build_connector
from loyalsync.connectors.jtl.platform import rate_limit_wait
from loyalsync.core.records import Cursor
from tests.contract.jtl_harness import JtlHarness


@pytest.fixture
def harness(request: pytest.FixtureRequest) -> Iterator[JtlHarness]:
    options: dict[str, Any] = getattr(request, "param", {})
    h = JtlHarness(customers=60, seed=5, rate_limit=(10, 45.0), **options)
    try:
        yield h
    finally:
        h.close()


def connector(h: JtlHarness) -> Any:
    def sleep(seconds: float) -> None:  # the shop's clock moves on; nothing really waits
        h.sleeps.append(seconds)
        h.clock.advance(seconds=seconds)

    shop = replace(h.shop, page_size=5)
    clock = lambda: h.clock().timestamp()  # noqa: E731 (the bucket's and the pause's clock)
    return build_connector(shop, sleep=sleep, now=h.clock, clock=clock)


def statuses(h: JtlHarness) -> list[int]:
    return [r.status for r in h.sim.requests("/customers", method="GET")]


def test_a_used_up_window_pauses_the_next_request_instead_of_drawing_429(
    harness: JtlHarness,
) -> None:
    pages = list(connector(harness).iter_customers(Cursor()))

    assert sum(len(p.records) for p in pages) == len(harness.sim.customers)
    assert 429 not in statuses(harness), "the connector ran into the limit"
    assert len(pages) == 12
    waits = [s for s in harness.sleeps if s > 1]
    assert waits == [45.0]


def test_after_a_429_the_window_is_waited_out_and_the_request_repeated(
    harness: JtlHarness,
) -> None:
    for _ in range(10):  # another app of the same tenant used up the window
        requests.get(harness.sim.url + "/info", timeout=5)

    page = next(connector(harness).iter_customers(Cursor()))

    assert len(page.records) == 5
    assert statuses(harness) == [429, 200]
    assert harness.sleeps == [45.0]


@pytest.mark.parametrize("harness", [{"retry_after": True}], indirect=True)
def test_retry_after_wins_when_the_server_sends_it(harness: JtlHarness) -> None:
    for _ in range(10):
        requests.get(harness.sim.url + "/info", timeout=5)
    harness.clock.advance(seconds=44)  # the window ends in a second; Retry-After says 1 s

    next(connector(harness).iter_customers(Cursor()))

    assert statuses(harness) == [429, 200]
    assert harness.sleeps == [1.0]


NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def answer(status: int, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update({k.replace("_", "-"): v for k, v in headers.items()})
    return response


def test_the_header_parser_reads_remaining_reset_and_the_interval() -> None:
    room = answer(200, X_RateLimit_Remaining="3", X_RateLimit_Interval_Length_Seconds="45")
    assert rate_limit_wait(room, NOW) is None
    used = answer(200, X_RateLimit_Remaining="0", X_RateLimit_Interval_Length_Seconds="45")
    assert rate_limit_wait(used, NOW) == 45.0
    delay = answer(429, X_RateLimit_Remaining="0", X_RateLimit_Reset="12")
    assert rate_limit_wait(delay, NOW) == 12.0
    epoch = answer(429, X_RateLimit_Reset=str(int(NOW.timestamp()) + 30))
    assert rate_limit_wait(epoch, NOW) == 30.0
    assert rate_limit_wait(answer(429), NOW) is None  # nothing said: the HTTP layer backs off
    assert rate_limit_wait(answer(200, X_RateLimit_Remaining="many"), NOW) is None
