"""What the contract suite needs from each platform: a harness around its simulator.

A platform joins the suite by adding one factory to `PLATFORMS` in `platforms.py`: a context
manager that starts its simulator on 127.0.0.1 with a small synthetic shop (a few hundred
customers, so the whole suite stays fast) and yields an object with the members of `Harness`.
The suite drives pulls through `sync.pull` against a real temporary mirror and compares
mirrors by querying them; it never mocks loyalsync's own functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from loyalsync.connectors.base import Connector
from loyalsync.core.config import ShopConfig
from loyalsync.core.mirror import Mirror
from loyalsync.core.records import Cursor, WriteOp

# Under injected faults the connector's read timeout is FAULT_READ_TIMEOUT and a timed-out answer
# arrives FAULT_STALL seconds late: the only real waits of the fault tests (tiny, and bounded).
FAULT_READ_TIMEOUT = 0.15
FAULT_STALL = 0.5


@dataclass
class FakeClock:
    """A settable UTC clock shared by a simulator and the connector under test."""

    current: datetime

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


class Harness(Protocol):
    platform: str
    shop: ShopConfig
    clock: FakeClock
    sleeps: list[float]  # every back-off the HTTP layer asked for (never really slept)
    page_size: int

    def connector(self) -> Connector: ...

    # the fake shop's truth
    def customer_ids(self) -> set[str]: ...
    def order_ids(self) -> set[str]: ...
    def default_group_id(self) -> str: ...

    # changes behind the connector's back
    def touch_customers(self, fraction: float, seed: int) -> set[str]: ...
    def add_orders(self, n: int, seed: int) -> set[str]: ...
    def delete_customers(self, n: int) -> set[str]: ...

    def incremental_expectation(self, entity: str, cursor: Cursor, changed: set[str]) -> set[str]:
        """Ids an incremental pull from `cursor` must fetch: the changes plus whatever the
        platform documents as deliberately re-read (lag window, recent orders...)."""
        ...

    def pages_needed(self, rows: int) -> int: ...
    def read_requests(self, entity: str) -> int: ...  # successful list/search calls so far
    def reset_requests(self) -> None: ...

    # faults and auth
    def inject_faults(self, share: float, seed: int) -> None: ...
    def expire_tokens(self) -> None: ...
    def token_requests(self) -> int: ...

    # writes
    def write_ops(self) -> list[WriteOp]: ...
    def shop_state(self) -> Any: ...  # comparable snapshot of everything write ops touch
    def writes(self) -> list[Any]: ...  # the simulator's write log (entries it applied)


class SlotHarness(Protocol):
    """What the membership-slot tests (test_slots.py) need; every `Harness` has it. The
    optional `memberships(customer_id) -> {slot: {value name, ...}}` reads the simulator's
    truth; without it the tests read the shop back through the connector (a fresh pull)."""

    platform: str
    shop: ShopConfig
    clock: FakeClock  # the tests' `as_of`

    def connector(self) -> Connector: ...


# ---------------------------------------------------------------------------------------------
# Mirror helpers


class _Closable(Protocol):
    def close(self) -> None: ...


H = TypeVar("H", bound=_Closable)


def twin_harnesses(make: Callable[[], H]) -> Iterator[tuple[H, H]]:
    """Two harnesses of the same synthetic shop, a clean one to compare a faulty one against
    (for a fixture to `yield from`); both closed afterwards, also when the second fails to
    start."""
    clean = make()
    try:
        faulty = make()
        try:
            yield clean, faulty
        finally:
            faulty.close()
    finally:
        clean.close()


MIRROR_TABLES = ("customers", "orders", "order_items", "memberships", "slot_values")


def mirror_dump(mirror: Mirror) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the entity tables, sorted, without the sync bookkeeping (synced_at)."""
    dump: dict[str, list[tuple[Any, ...]]] = {}
    for table in MIRROR_TABLES:
        columns = [r[1] for r in mirror.conn.execute(f"PRAGMA table_info({table})")]
        keep = [c for c in columns if c != "synced_at"]
        rows = mirror.conn.execute(f"SELECT {', '.join(keep)} FROM {table}").fetchall()
        dump[table] = sorted(rows, key=repr)
    return dump


def ids_in_pages(pages: list[Any]) -> Iterator[str]:
    for page in pages:
        for record in page.records:
            yield record.id
