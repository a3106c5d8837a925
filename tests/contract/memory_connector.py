"""A tiny in-memory connector for the tests only: one `many` slot of customer groups with a
distinguished default (the shape of PrestaShop's groups), no tags, no personal codes.

It proves that the planner, the push path and the mirror are platform-neutral: nothing above
`connectors/` knows it exists. It is registered for the tests through the registry's hook
(`connectors.registered`), never shipped. Its "shop" is a `MemoryShop` in this process, found
by the shop's url (`http://memory.test/<name>`, never contacted), standing in for the outside
world a real connector reaches over HTTP; the connector still gets its HTTP client from the
registry and ignores it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from loyalsync.connectors import build_connector, registered
from loyalsync.connectors.base import (
    AddValue,
    Capabilities,
    CheckResult,
    Connector,
    CurrentState,
    Cursor,
    CustomerRecord,
    EnsureValue,
    OpResult,
    Page,
    RemoveValue,
    SetDefault,
    Slot,
    SlotValue,
    WriteOp,
    memberships,
)
from loyalsync.core.config import OptionSpec, ShopConfig
from loyalsync.core.records import GROUPS
from tests.contract.harness import FakeClock

PLATFORM = "memory"
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
DEFAULT_GROUP = "Customer"
PROTECTED_GROUP = "Wholesale"
HAND_GROUP = "Newsletter club"  # made by hand in the shop: no mapping manages it


@dataclass
class MemoryCustomer:
    id: str
    email: str
    created_at: datetime
    groups: set[str]  # group ids
    default: str
    is_guest: bool = False
    updated_at: datetime = AS_OF


@dataclass
class MemoryShop:
    """The fake shop's truth: groups (id -> name), customers, and every write it applied."""

    name: str
    groups: dict[str, str] = field(default_factory=dict)
    customers: dict[str, MemoryCustomer] = field(default_factory=dict)
    write_log: list[tuple[str, ...]] = field(default_factory=list)

    def group_id(self, name: str) -> str | None:
        return next((gid for gid, n in sorted(self.groups.items()) if n == name), None)


SHOPS: dict[str, MemoryShop] = {}  # url -> shop, while a harness runs


def small_shop(name: str, customers: int = 12) -> MemoryShop:
    """Groups 1-3 (default, protected, hand-made); every third customer in the hand-made group,
    customer 5 protected, customer 11 a guest."""
    shop = MemoryShop(name, {"1": DEFAULT_GROUP, "2": PROTECTED_GROUP, "3": HAND_GROUP})
    for n in range(1, customers + 1):
        groups = {"1"} | ({"3"} if n % 3 == 0 else set()) | ({"2"} if n == 5 else set())
        shop.customers[str(n)] = MemoryCustomer(
            id=str(n),
            email=f"c{n}@example.com",
            created_at=AS_OF - timedelta(days=400 - n),
            groups=groups,
            default="2" if n == 5 else "1",
            is_guest=n == 11,
        )
    return shop


class MemoryConnector:
    platform: ClassVar[str] = PLATFORM
    capabilities: ClassVar[Capabilities] = Capabilities(
        groups=True, multiple_groups=True, tags=False, personal_codes=False
    )
    slots: ClassVar[tuple[Slot, ...]] = (
        Slot(GROUPS, "customer group", "many", has_default=True, prices=True),
    )
    options: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("page_size", 5, "customers per page", "int"),
    )
    credential_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, shop: ShopConfig, http: Any) -> None:
        self.store = SHOPS[shop.url]
        self.page_size = int(shop.options.get("page_size", 5))

    def check(self) -> CheckResult:
        return CheckResult(True, PLATFORM, "1", len(self.store.customers), 0)

    def _record(self, c: MemoryCustomer) -> CustomerRecord:
        return CustomerRecord(
            id=c.id,
            email=c.email,
            is_guest=c.is_guest,
            created_at=c.created_at,
            updated_at=c.updated_at,
            memberships=memberships(groups=sorted(c.groups)),
            defaults=((GROUPS, c.default),),
        )

    def iter_customers(self, cursor: Cursor) -> Iterator[Page]:
        """Keyset pages by id; no change window (every pass re-reads all: upserts by key)."""
        ids = sorted(self.store.customers, key=int)
        if cursor.after is not None:
            ids = [i for i in ids if int(i) > int(cursor.after)]
        for start in range(0, len(ids), self.page_size):
            chunk = [self.store.customers[i] for i in ids[start : start + self.page_size]]
            cursor = cursor.advance(chunk[-1].id, max(c.updated_at for c in chunk))
            yield Page(tuple(self._record(c) for c in chunk), cursor, total=len(ids))

    def iter_orders(self, cursor: Cursor) -> Iterator[Page]:
        yield Page((), cursor, total=0)

    def iter_customer_ids(self) -> Iterator[list[str]]:
        yield sorted(self.store.customers, key=int)

    def current_state(self) -> CurrentState:
        values = tuple(SlotValue(GROUPS, gid, name) for gid, name in self.store.groups.items())
        return CurrentState(values, ((GROUPS, "1"),))

    def apply(self, ops: Sequence[WriteOp]) -> list[OpResult]:
        return [self._apply(op) for op in ops]

    def _apply(self, op: WriteOp) -> OpResult:
        if not isinstance(op, EnsureValue | AddValue | RemoveValue | SetDefault):
            return OpResult(op, False, f"{type(op).__name__} is not supported here")
        if op.slot != GROUPS:
            return OpResult(op, False, f"no slot {op.slot!r}")
        if isinstance(op, EnsureValue):
            return self._ensure(op)
        gid = self.store.group_id(op.value)
        customer = self.store.customers.get(op.customer_id)
        if gid is None or customer is None:
            return OpResult(op, False, f"no group {op.value!r} or customer {op.customer_id!r}")
        return self._change(op, customer, gid)

    def _ensure(self, op: EnsureValue) -> OpResult:
        gid = self.store.group_id(op.name)
        if gid is None:
            gid = str(max(int(g) for g in self.store.groups) + 1)
            self.store.groups[gid] = op.name
            self.store.write_log.append(("create", gid, op.name))
        return OpResult(op, True, remote_id=gid)

    def _change(self, op: WriteOp, c: MemoryCustomer, gid: str) -> OpResult:
        before = (set(c.groups), c.default)
        if isinstance(op, AddValue):
            c.groups.add(gid)
        elif isinstance(op, RemoveValue):
            c.groups.discard(gid)
            if c.default == gid:  # a customer always keeps a default: back to the shop's
                c.groups.add("1")
                c.default = "1"
        elif gid in c.groups:
            c.default = gid
        else:
            return OpResult(op, False, f"customer {c.id} is not in group {gid}")
        if (c.groups, c.default) != before:
            c.updated_at += timedelta(seconds=1)
            self.store.write_log.append((type(op).__name__, c.id, gid))
        return OpResult(op, True, remote_id=gid)


# ---------------------------------------------------------------------------------------------
# The harness the membership-slot tests use (tests/contract/test_slots.py)


class MemoryHarness:
    platform = PLATFORM

    def __init__(self, name: str = "memory-shop") -> None:
        self.store = small_shop(name)
        self.clock = FakeClock(AS_OF + timedelta(hours=12))
        self.shop = ShopConfig(
            name=name, platform=PLATFORM, url=f"http://memory.test/{name}", options={"page_size": 5}
        )
        self.sleeps: list[float] = []

    def connector(self) -> Connector:
        return build_connector(self.shop, sleep=self.sleeps.append, now=self.clock)

    def memberships(self, customer_id: str) -> dict[str, set[str]]:
        c = self.store.customers[customer_id]
        return {GROUPS: {self.store.groups[g] for g in c.groups}}

    def writes(self) -> list[Any]:
        return list(self.store.write_log)


@contextmanager
def memory_harness(tmp_path: Path, **_: Any) -> Iterator[MemoryHarness]:
    harness = MemoryHarness()
    with registered(PLATFORM, MemoryConnector):
        SHOPS[harness.shop.url] = harness.store
        try:
            yield harness
        finally:
            del SHOPS[harness.shop.url]
