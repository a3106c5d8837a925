"""The contract-suite harness for Shopware 6: the simulator with a 300-customer shop."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from loyalsync.connectors import build_connector
from loyalsync.connectors.base import Connector
from loyalsync.connectors.shopware.platform import option
from loyalsync.connectors.shopware.simulator import Faults, ShopwareSimulator
from loyalsync.core.config import ShopConfig
from loyalsync.core.records import (
    GROUPS,
    TAGS,
    AddValue,
    Cursor,
    EnsureCampaign,
    EnsureValue,
    IssueCode,
    RemoveValue,
    SetValue,
    WriteOp,
)
from loyalsync.core.synth import B2B_GROUP_ID, DEFAULT_GROUP_ID, HAND_TAGS, SynthSpec
from tests.contract.harness import FAULT_READ_TIMEOUT, FAULT_STALL, FakeClock

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
PAGE_SIZE = 50  # 300 customers: six full pages and an empty one; ~850 orders: 18 pages


class ShopwareHarness:
    platform = "shopware"
    page_size = PAGE_SIZE

    def __init__(
        self,
        customers: int = 300,
        seed: int = 7,
        clock_offset: timedelta = timedelta(0),
        **sim_options: Any,
    ) -> None:
        self.clock = FakeClock(AS_OF + timedelta(hours=12))  # ours; the shop's is offset
        spec = SynthSpec(customers=customers, seed=seed, as_of=AS_OF + clock_offset)
        self.sim = ShopwareSimulator.from_spec(
            spec, clock=self.clock, clock_offset=clock_offset, **sim_options
        )
        self.sim.start()
        self.shop = ShopConfig(
            name="contract-shopware",
            platform="shopware",
            url=self.sim.url,
            credentials={"client_id": self.sim.client_id, "client_secret": self.sim.client_secret},
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
        return set(self.sim.customers)

    def order_ids(self) -> set[str]:
        return set(self.sim.orders)

    def default_group_id(self) -> str:
        return DEFAULT_GROUP_ID

    # -- changes --------------------------------------------------------------------------
    def touch_customers(self, fraction: float, seed: int) -> set[str]:
        self.clock.advance(hours=1)
        return set(self.sim.touch_customers(fraction, seed))

    def add_orders(self, n: int, seed: int) -> set[str]:
        self.clock.advance(minutes=5)
        return set(self.sim.add_orders(n, seed))

    def delete_customers(self, n: int) -> set[str]:
        return set(self.sim.delete_customers(sorted(self.sim.customers)[:n]))

    def incremental_expectation(self, entity: str, cursor: Cursor, changed: set[str]) -> set[str]:
        """Shopware re-reads on purpose: rows changed in the lag window before the cursor, and
        orders placed in the last `recent_orders_days` (payment changes do not move
        `order.updatedAt`)."""
        assert cursor.since is not None
        start = cursor.since - timedelta(minutes=self.shop.lag_minutes)
        rows = self.sim.customers if entity == "customers" else self.sim.orders
        # by the shop's newest order time (the cursor), not by anyone's clock
        recent = cursor.since - timedelta(days=option(self.shop, "recent_orders_days"))
        expected = set(changed)
        for row in rows.values():
            stamps = [row.created_at, row.updated_at]
            if entity == "orders" and row.rec.placed_at >= recent:
                expected.add(row.id)
            if any(s is not None and s >= start for s in stamps):
                expected.add(row.id)
        return expected

    def pages_needed(self, rows: int) -> int:
        # keyset pages stop on a short page or once the first page's exact total is read
        return max(1, -(-rows // PAGE_SIZE))

    def read_requests(self, entity: str) -> int:
        path = "/api/search/" + {"customers": "customer", "orders": "order"}[entity]
        return sum(1 for r in self.sim.requests(path) if r.path == path and r.status == 200)

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
        return sum(1 for r in self.sim.requests("/api/oauth/token") if r.status == 200)

    # -- writes ---------------------------------------------------------------------------
    def _customers(self) -> dict[str, str]:
        rows = sorted(self.sim.customers.values(), key=lambda r: r.id)
        plain = [
            r.id
            for r in rows
            if not r.rec.is_guest and r.group_id == DEFAULT_GROUP_ID and not r.tag_ids
        ]
        b2b = next(r.id for r in rows if r.group_id == B2B_GROUP_ID)
        newsletter = next(r.id for r in rows if HAND_TAGS[0].id in r.tag_ids)
        return {"a": plain[0], "b": plain[1], "b2b": b2b, "tagged": newsletter}

    def write_ops(self) -> list[WriteOp]:
        c = self._customers()
        start = AS_OF + timedelta(days=1)
        return [
            EnsureValue("groups", "VIP (auto)"),
            SetValue(c["a"], "groups", "VIP (auto)"),
            SetValue(c["b2b"], "groups", None, from_value=B2B_GROUP_ID),
            EnsureValue("tags", "ls:champions"),
            AddValue(c["a"], "tags", "ls:champions"),
            AddValue(c["b"], "tags", "ls:champions"),
            RemoveValue(c["tagged"], "tags", HAND_TAGS[0].name),
            EnsureCampaign("winback", 10.0, None, start, start + timedelta(days=30), "WB"),
            IssueCode("winback", c["a"], "WB-AAAA1111"),
            IssueCode("winback", c["b"], "WB-BBBB2222"),
        ]

    def shop_state(self) -> Any:
        def rows(entity: str) -> list[dict[str, Any]]:
            found = copy.deepcopy(list(self.sim.table(entity).values()))
            for row in found:
                row.pop("updatedAt", None)
            return sorted(found, key=lambda r: r["id"])

        customers = {cid: (r.group_id, sorted(r.tag_ids)) for cid, r in self.sim.customers.items()}
        entities = (
            "customer_group",
            "tag",
            "promotion",
            "promotion_discount",
            "promotion_sales_channel",
            "promotion_individual_code",
        )
        return {
            "customers": customers,
            "persona": sorted(self.sim.persona),
            **{e: rows(e) for e in entities},
        }

    def writes(self) -> list[Any]:
        return list(self.sim.write_log)

    def memberships(self, customer_id: str) -> dict[str, set[str]]:
        """The shop's truth per slot (value names), for the membership-slot tests."""
        row = self.sim.customers[customer_id]
        groups = {gid: r["name"] for gid, r in self.sim.table("customer_group").items()}
        tags = {tid: r["name"] for tid, r in self.sim.table("tag").items()}
        return {GROUPS: {groups[row.group_id]}, TAGS: {tags[t] for t in row.tag_ids}}


@contextmanager
def shopware_harness(
    tmp_path: Path, clock_offset: timedelta = timedelta(0)
) -> Iterator[ShopwareHarness]:
    harness = ShopwareHarness(clock_offset=clock_offset)
    try:
        yield harness
    finally:
        harness.close()
