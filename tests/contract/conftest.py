"""Fixtures of the contract suite: one run of every test per registered platform."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loyalsync.core.mirror import Mirror
from tests.contract.harness import Harness
from tests.contract.platforms import PLATFORMS


@pytest.fixture(params=sorted(PLATFORMS))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    with PLATFORMS[request.param](tmp_path) as started:
        yield started


@pytest.fixture
def mirror_factory(tmp_path: Path) -> Iterator[object]:
    opened: list[Mirror] = []

    def make(name: str = "m") -> Mirror:
        mirror = Mirror.open(tmp_path / f"{name}.db")
        opened.append(mirror)
        return mirror

    yield make
    for mirror in opened:
        mirror.close()
