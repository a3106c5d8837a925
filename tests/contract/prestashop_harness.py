"""The contract-suite harness for PrestaShop (1.7.8, 8.1, 9.0): the simulator with a
300-customer shop, the connector built through the registry with pages of 50."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from loyalsync.connectors import build_connector
from loyalsync.connectors.base import Connector
from loyalsync.connectors.prestashop.simulator import Faults, PrestaShopSimulator
from loyalsync.core.config import ShopConfig
from loyalsync.core.records import (
    AddValue,
    Cursor,
    EnsureCampaign,
    EnsureValue,
    IssueCode,
    RemoveValue,
    WriteOp,
)
from loyalsync.core.synth import SynthSpec
from tests.contract.harness import FAULT_READ_TIMEOUT, FAULT_STALL, FakeClock

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
PAGE_SIZE = 50


def shop_time(text: str, sim: PrestaShopSimulator) -> datetime | None:
    if not text or text.startswith("0000"):
        return None
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=sim.tz).astimezone(UTC)


class PrestaShopHarness:
    platform = "prestashop"
    page_size = PAGE_SIZE

    def __init__(
        self,
        version: str,
        customers: int = 300,
        seed: int = 7,
        clock_offset: timedelta = timedelta(0),
        **sim_options: Any,
    ) -> None:
        self.clock = FakeClock(AS_OF + timedelta(hours=12))  # ours; the shop's is offset
        spec = SynthSpec(customers=customers, seed=seed, as_of=AS_OF + clock_offset)
        self.sim = PrestaShopSimulator.from_spec(
            spec, version=version, clock=self.clock, clock_offset=clock_offset, **sim_options
        )
        self.sim.start()
        self.shop = ShopConfig(
            name=f"contract-prestashop-{version}",
            platform="prestashop",
            url=self.sim.url,
            credentials={"api_key": self.sim.key},
            requests_per_second=10_000,
            page_size=PAGE_SIZE,
        )
        self.sleeps: list[float] = []

    def connector(self) -> Connector:
        return build_connector(self.shop, sleep=self.sleeps.append, now=self.clock)

    def close(self) -> None:
        self.sim.stop()

    # -- truth ----------------------------------------------------------------------------
    def customer_ids(self) -> set[str]:
        return {str(i) for i in self.sim.store.live_customers()}

    def order_ids(self) -> set[str]:
        return {str(i) for i in self.sim.table("orders")}

    def default_group_id(self) -> str:
        return "3"  # PS_CUSTOMER_GROUP

    # -- changes --------------------------------------------------------------------------
    def touch_customers(self, fraction: float, seed: int) -> set[str]:
        self.clock.advance(hours=1)
        return {str(i) for i in self.sim.touch_customers(fraction, seed)}

    def add_orders(self, n: int, seed: int) -> set[str]:
        self.clock.advance(minutes=5)
        return {str(i) for i in self.sim.add_orders(n, seed)}

    def delete_customers(self, n: int) -> set[str]:
        ids = self.sim.store.live_customers()[:n]
        return {str(i) for i in self.sim.delete_customers(ids)}

    def incremental_expectation(self, entity: str, cursor: Cursor, changed: set[str]) -> set[str]:
        """PrestaShop re-reads on purpose only the lag window before the cursor (the newest
        date_upd seen, by the shop's clock)."""
        assert cursor.since is not None
        start = cursor.since - timedelta(minutes=self.shop.lag_minutes)
        rows = self.sim.table(entity)
        expected = set(changed)
        for rid, row in rows.items():
            if entity == "customers" and rid == self.sim.store.anonymous_id:
                continue
            stamp = shop_time(row.get("date_upd", ""), self.sim)
            if stamp is not None and stamp >= start:
                expected.add(str(rid))
        return expected

    def pages_needed(self, rows: int) -> int:
        return rows // PAGE_SIZE + 1  # keyset pages stop on the first short (or empty) page

    def read_requests(self, entity: str) -> int:
        path = f"/api/{entity}"
        return sum(
            1
            for r in self.sim.requests(path, method="GET")
            if r.path == path and r.status == 200 and r.query.get("display") == "full"
        )

    def reset_requests(self) -> None:
        self.sim.reset_logs()

    # -- faults and auth ------------------------------------------------------------------
    def inject_faults(self, share: float, seed: int) -> None:
        """Every fault kind the simulator has, `share` of all requests; a short read timeout
        while faults are on (connectors built afterwards use it)."""
        self.sim.set_faults(Faults.mixed(share, seed, stall=FAULT_STALL) if share else None)
        self.shop = replace(self.shop, timeout=FAULT_READ_TIMEOUT if share else 30.0)

    def expire_tokens(self) -> None:
        pytest.skip("PrestaShop authenticates with a static webservice key: no token to renew")

    def token_requests(self) -> int:
        return 1  # the key is never exchanged for a token

    # -- writes ---------------------------------------------------------------------------
    def _customers(self) -> dict[str, str]:
        rows = [self.sim.table("customers")[i] for i in self.sim.store.live_customers()]
        plain = [
            str(r["id"])
            for r in rows
            if r["is_guest"] == "0" and r["associations"]["groups"] == ["3"]
        ]
        b2b = next(str(r["id"]) for r in rows if "4" in r["associations"]["groups"])
        return {"a": plain[0], "b": plain[1], "b2b": b2b}

    def write_ops(self) -> list[WriteOp]:
        c = self._customers()
        start = AS_OF + timedelta(days=1)
        return [
            EnsureValue("groups", "VIP (auto)"),
            EnsureValue("groups", "Winback (auto)"),
            AddValue(c["a"], "groups", "VIP (auto)"),
            AddValue(c["b"], "groups", "Winback (auto)"),
            RemoveValue(c["b2b"], "groups", "Customer"),
            EnsureCampaign("winback", 10.0, None, start, start + timedelta(days=30), "WB"),
            IssueCode("winback", c["a"], "WB-AAAA1111"),
            IssueCode("winback", c["b"], "WB-BBBB2222"),
        ]

    def shop_state(self) -> Any:
        customers = {
            cid: (list(r["associations"].get("groups", [])), r["id_default_group"])
            for cid, r in self.sim.table("customers").items()
        }
        return {
            "customers": customers,
            "groups": copy.deepcopy(self.sim.table("groups")),
            "cart_rules": copy.deepcopy(self.sim.table("cart_rules")),
        }

    def writes(self) -> list[Any]:
        return list(self.sim.write_log)


def _factory(version: str) -> Callable[[Path], AbstractContextManager[PrestaShopHarness]]:
    @contextmanager
    def prestashop_harness(
        tmp_path: Path, clock_offset: timedelta = timedelta(0)
    ) -> Iterator[PrestaShopHarness]:
        harness = PrestaShopHarness(version, clock_offset=clock_offset)
        try:
            yield harness
        finally:
            harness.close()

    return prestashop_harness


VERSIONS = ("1.7.8", "8.1", "9.0")
HARNESSES = {f"prestashop-{v}": _factory(v) for v in VERSIONS}
