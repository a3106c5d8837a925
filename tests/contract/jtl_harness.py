"""The contract-suite harness for JTL-Wawi, in both flavours (on-premise, cloud)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from loyalsync.connectors import build_connector
from loyalsync.connectors.base import Connector
from loyalsync.connectors.jtl.platform import option
from loyalsync.connectors.jtl.simulator import Faults, JtlSimulator
from loyalsync.core.config import ShopConfig
from loyalsync.core.records import (
    AddValue,
    Cursor,
    EnsureValue,
    RemoveValue,
    SetValue,
    WriteOp,
)
from loyalsync.core.synth import SynthSpec
from tests.contract.harness import FAULT_READ_TIMEOUT, FAULT_STALL, FakeClock

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
PAGE_SIZE = 50


class JtlHarness:
    platform = "jtl"
    page_size = PAGE_SIZE
    full_scan = ("customers",)  # v1 has no changed-since filter for customers (§8.7)

    def __init__(
        self,
        flavour: str = "onprem",
        customers: int = 300,
        seed: int = 7,
        clock_offset: timedelta = timedelta(0),
        options: dict[str, Any] | None = None,
        **sim_options: Any,
    ) -> None:
        self.clock = FakeClock(AS_OF + timedelta(hours=12))
        spec = SynthSpec(customers=customers, seed=seed, as_of=AS_OF + clock_offset)
        self.sim = JtlSimulator.from_spec(
            spec, flavour=flavour, clock=self.clock, clock_offset=clock_offset, **sim_options
        )
        self.sim.start()
        api = self.sim.api
        if flavour == "cloud":
            credentials = {
                "client_id": api.client_id,
                "client_secret": api.client_secret,
                "tenant_id": api.tenant,
            }
            section = {"flavour": "cloud", "token_url": self.sim.token_url}
        else:
            credentials, section = {"api_key": api.api_key}, {"flavour": "onprem"}
        self.shop = ShopConfig(
            name=f"contract-jtl-{flavour}",
            platform="jtl",
            url=self.sim.url,
            credentials=credentials,
            requests_per_second=10_000,
            page_size=PAGE_SIZE,
            # one line-item request at a time: the simulator's seeded faults then hit the same
            # requests every run (threads would deal them out in a different order each time)
            options={
                **section,
                "label_field": "Segment",
                "line_item_workers": 1,
                **(options or {}),
            },
        )
        self.sleeps: list[float] = []
        self.uses_tokens = flavour == "cloud"  # on-premise: an API key, no token to renew

    def connector(self) -> Connector:
        return build_connector(self.shop, sleep=self.sleeps.append, now=self.clock)

    def close(self) -> None:
        self.sim.stop()

    # -- truth ----------------------------------------------------------------------------
    def customer_ids(self) -> set[str]:
        return set(self.sim.customers)

    def order_ids(self) -> set[str]:
        return {o.id for o in self.sim.store.visible_orders()}

    def default_group_id(self) -> str:
        return "1"

    # -- changes --------------------------------------------------------------------------
    def touch_customers(self, fraction: float, seed: int) -> set[str]:
        self.clock.advance(hours=1)
        return set(self.sim.store.touch_customers(fraction, seed))

    def add_orders(self, n: int, seed: int) -> set[str]:
        self.clock.advance(minutes=5)
        return set(self.sim.store.add_orders(n, seed))

    def delete_customers(self, n: int) -> set[str]:
        return set(self.sim.store.delete_customers(sorted(self.sim.customers, key=int)[:n]))

    def incremental_expectation(self, entity: str, cursor: Cursor, changed: set[str]) -> set[str]:
        """Every customer (a full scan each pass); orders created since the shop's newest
        order time known minus max(lag, recent_orders_days)."""
        if entity == "customers":
            return self.customer_ids()
        assert cursor.since is not None
        back = max(
            timedelta(minutes=self.shop.lag_minutes),
            timedelta(days=option(self.shop, "recent_orders_days")),
        )
        start = cursor.since - back
        return {o.id for o in self.sim.store.visible_orders() if o.created >= start} | changed

    def pages_needed(self, rows: int) -> int:
        return max(1, -(-rows // PAGE_SIZE))

    def read_requests(self, entity: str) -> int:
        path = {"customers": "/customers", "orders": "/salesOrders"}[entity]
        return sum(1 for r in self.sim.requests(path, method="GET") if r.status == 200)

    def reset_requests(self) -> None:
        self.sim.reset_logs()

    # -- faults and auth ------------------------------------------------------------------
    def inject_faults(self, share: float, seed: int) -> None:
        """Every fault kind the simulator has, `share` of all requests; a short read timeout
        while faults are on (connectors built afterwards use it)."""
        self.sim.set_faults(Faults.mixed(share, seed, stall=FAULT_STALL) if share else None)
        self.shop = replace(self.shop, timeout=FAULT_READ_TIMEOUT if share else 30.0)

    def expire_tokens(self) -> None:
        self.sim.expire_tokens()

    def token_requests(self) -> int:
        return sum(1 for r in self.sim.requests("/oauth2/token") if r.status == 200)

    # -- writes ---------------------------------------------------------------------------
    def _customers(self) -> dict[str, str]:
        rows = sorted(self.sim.customers.values(), key=lambda r: r["Id"])
        plain = [str(r["Id"]) for r in rows if r["CustomerGroupId"] == 1]
        b2b = next(str(r["Id"]) for r in rows if r["CustomerGroupId"] == 2)
        press = next(str(r["Id"]) for r in rows if r["CustomerCategoryId"] == 2)
        return {"a": plain[0], "b": plain[1], "b2b": b2b, "press": press}

    def write_ops(self) -> list[WriteOp]:
        c = self._customers()
        return [
            EnsureValue("groups", "VIP (auto)"),
            SetValue(c["a"], "groups", "VIP (auto)"),
            SetValue(c["b2b"], "groups", None, from_value="2"),
            EnsureValue("categories", "ls:champions"),
            AddValue(c["a"], "categories", "ls:champions"),
            AddValue(c["b"], "categories", "ls:champions"),
            RemoveValue(c["press"], "categories", "Presse"),
            EnsureValue("label", "Segment"),
            SetValue(c["a"], "label", "Champions"),
            SetValue(c["b"], "label", "Loyal"),
        ]

    def shop_state(self) -> Any:
        store = self.sim.store
        customers = {
            cid: (r["CustomerGroupId"], r["CustomerCategoryId"])
            for cid, r in store.customers.items()
        }
        return {
            "customers": customers,
            "groups": sorted(map(repr, store.groups.values())),
            "categories": sorted(map(repr, store.categories.values())),
            "fields": repr(sorted(store.field_values.items())),
        }

    def writes(self) -> list[Any]:
        return list(self.sim.write_log)


@contextmanager
def jtl_harness(tmp_path: Path, **options: Any) -> Iterator[JtlHarness]:
    harness = JtlHarness(flavour="onprem", **options)
    try:
        yield harness
    finally:
        harness.close()


@contextmanager
def jtl_cloud_harness(tmp_path: Path, **options: Any) -> Iterator[JtlHarness]:
    harness = JtlHarness(flavour="cloud", **options)
    try:
        yield harness
    finally:
        harness.close()
