"""The fault suite's slow variants (marked `slow`: the kill -9 tests at 8 more seeds per
connector) run only when asked for with `-m slow` (`pytest -m slow tests/faults`); a plain
`pytest` / `make test` runs the representative subset (2 seeds per connector and command).
Other modules' `slow` tests are not affected."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "slow" in (config.getoption("-m") or ""):
        return
    here = __file__.rsplit("/", 1)[0]
    kept, dropped = [], []
    for item in items:
        mine = str(item.fspath).startswith(here)
        (dropped if mine and item.get_closest_marker("slow") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
