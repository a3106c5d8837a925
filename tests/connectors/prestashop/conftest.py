"""Fixtures for the PrestaShop connector tests: the simulator on 127.0.0.1, a fake clock and
the connector built through the registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from loyalsync.connectors import build_connector
from loyalsync.connectors.prestashop.client import PrestaShopConnector
from loyalsync.connectors.prestashop.simulator import PrestaShopSimulator
from loyalsync.core.config import ShopConfig
from loyalsync.core.synth import SynthSpec
from tests.contract.harness import FakeClock

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(AS_OF + timedelta(hours=12))


@pytest.fixture
def make_sim(clock: FakeClock) -> Iterator[Callable[..., PrestaShopSimulator]]:
    started: list[PrestaShopSimulator] = []

    def make(customers: int = 80, seed: int = 5, **options: Any) -> PrestaShopSimulator:
        # the seeded history is the shop's: dated by its clock (ours plus the offset)
        offset = options.get("clock_offset", timedelta(0))
        spec = SynthSpec(customers=customers, seed=seed, as_of=AS_OF + offset)
        options.setdefault("clock", clock)
        sim = PrestaShopSimulator.from_spec(spec, **options)
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


def shop_for(sim: PrestaShopSimulator, **overrides: Any) -> ShopConfig:
    shop = ShopConfig(
        name="ps-test",
        platform="prestashop",
        url=sim.url,
        credentials={"api_key": sim.key},
        requests_per_second=10_000,
        page_size=25,
    )
    return replace(shop, **overrides)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def connect(clock: FakeClock, sleeps: list[float]) -> Callable[..., PrestaShopConnector]:
    def make(sim: PrestaShopSimulator, **overrides: Any) -> PrestaShopConnector:
        connector = build_connector(shop_for(sim, **overrides), sleep=sleeps.append, now=clock)
        assert isinstance(connector, PrestaShopConnector)
        return connector

    return make
