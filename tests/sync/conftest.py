"""A simulated Shopware shop plus a config file pointing at it, for orchestration tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from loyalsync.connectors.shopware import simulator

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass
class Shop:
    sim: Any
    config: Path
    directory: Path

    def writes(self) -> int:
        return sum(
            1
            for r in self.sim.request_log
            if r.method in ("POST", "PATCH", "DELETE")
            and not r.path.startswith(("/api/search", "/api/oauth"))
        )


def write_config(directory: Path, shops: list[tuple[str, Any, str]], push: bool = False,
                 db: str = "m.db", protected: str = "B2B / Händler",
                 max_changes: float = 0.9) -> Path:  # fmt: skip
    lines = [f"database: {db}", "shops:"]
    for name, sim, secret in shops:
        lines += [
            f"  - name: {name}",
            "    platform: shopware",
            f"    url: {sim.url}",
            "    credentials:",
            f"      client_id: {sim.client_id}",
            f"      client_secret: {secret}",
            "    requests_per_second: 1000",
            "    page_size: 100",
            f'    protected_groups: ["{protected}"]',
        ]
    lines += [
        "push:",
        f"  enabled: {'true' if push else 'false'}",
        f"  max_changes: {max_changes}",
        "  groups: [{segment: 'loyalty:vip', group: 'VIP (auto)'}]",
        "  tags: [{segment: 'rfm_segment:champions', tag: champions}]",
    ]
    path = directory / "loyalsync.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    sim = simulator.serve(customers=400, seed=11, as_of=AS_OF)
    try:
        yield Shop(sim, write_config(tmp_path, [("main", sim, sim.client_secret)]), tmp_path)
    finally:
        sim.stop()
