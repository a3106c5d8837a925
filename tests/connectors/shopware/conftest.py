"""Fixtures for the Shopware tests: the simulator on 127.0.0.1, a fake clock, sample files."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from loyalsync.connectors import build_connector
from loyalsync.connectors.shopware.client import ShopwareConnector
from loyalsync.connectors.shopware.simulator import ShopwareSimulator
from loyalsync.core.config import ShopConfig
from loyalsync.core.synth import SynthSpec
from tests.contract.harness import FakeClock
from tests.paths import FIXTURES

FIXTURES = FIXTURES / "shopware"
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(AS_OF + timedelta(hours=12))


@pytest.fixture
def make_sim(clock: FakeClock) -> Iterator[Callable[..., ShopwareSimulator]]:
    started: list[ShopwareSimulator] = []

    def make(customers: int = 120, seed: int = 5, **options: Any) -> ShopwareSimulator:
        spec = SynthSpec(customers=customers, seed=seed, as_of=AS_OF)
        sim = ShopwareSimulator.from_spec(spec, clock=clock, **options)
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., ShopwareSimulator]) -> ShopwareSimulator:
    return make_sim()


def shop_for(sim: ShopwareSimulator, **overrides: Any) -> ShopConfig:
    shop = ShopConfig(
        name="sw-test",
        platform="shopware",
        url=sim.url,
        credentials={"client_id": sim.client_id, "client_secret": sim.client_secret},
        requests_per_second=10_000,
        page_size=40,
    )
    return replace(shop, **overrides)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def connect(clock: FakeClock, sleeps: list[float]) -> Callable[..., ShopwareConnector]:
    def make(sim: ShopwareSimulator, **overrides: Any) -> ShopwareConnector:
        connector = build_connector(shop_for(sim, **overrides), sleep=sleeps.append, now=clock)
        assert isinstance(connector, ShopwareConnector)
        return connector

    return make


class Api:
    """Raw calls to the simulator (for criteria semantics), with a token."""

    def __init__(self, sim: ShopwareSimulator) -> None:
        self.sim = sim
        self.session = requests.Session()
        body = {
            "grant_type": "client_credentials",
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
        }
        token = self.session.post(sim.url + "/api/oauth/token", json=body, timeout=5).json()
        self.headers = {
            "Authorization": f"Bearer {token['access_token']}",
            "Accept": "application/json",
        }

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> requests.Response:
        return self.session.request(
            method, self.sim.url + path, json=body, timeout=5, headers={**self.headers, **headers}
        )

    def search(self, entity: str, body: Any) -> requests.Response:
        return self.call("POST", f"/api/search/{entity}", body)


@pytest.fixture
def api(sim: ShopwareSimulator) -> Iterator[Api]:
    client = Api(sim)
    yield client
    client.session.close()
