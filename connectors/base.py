"""The Connector protocol, capabilities, and the canonical records connectors produce.

A connector is a small class per platform that speaks one shop's HTTP API and nothing else:
it never reads env vars, files or the mirror. It is built from its `ShopConfig` and an
`HttpClient` (connectors/http.py) and exposes the handful of members below. Records and write
operations are defined in `core.records` (core may not import connectors) and re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from loyalsync.core.records import (
    AddValue,
    Cursor,
    CustomerRecord,
    EnsureCampaign,
    EnsureValue,
    IssueCode,
    OpResult,
    OrderItemRecord,
    OrderRecord,
    Page,
    Quarantined,
    RemoveValue,
    SetDefault,
    SetValue,
    Slot,
    SlotOp,
    SlotValue,
    WriteOp,
    memberships,
)

if TYPE_CHECKING:
    from loyalsync.connectors.http import HttpClient
    from loyalsync.core.config import ShopConfig

__all__ = [
    "AddValue",
    "Capabilities",
    "CheckResult",
    "Connector",
    "ConnectorFactory",
    "CurrentState",
    "Cursor",
    "CustomerRecord",
    "EnsureCampaign",
    "EnsureValue",
    "IssueCode",
    "KnownPayloads",
    "OpResult",
    "OrderItemRecord",
    "OrderRecord",
    "Page",
    "Quarantined",
    "RemoveValue",
    "SetDefault",
    "SetValue",
    "Slot",
    "SlotOp",
    "SlotValue",
    "WriteOp",
    "memberships",
]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a platform can do; `plan` and `check` report the rest in plain words."""

    groups: bool = True  # customers can be moved between customer groups
    multiple_groups: bool = False  # a customer may belong to several groups at once
    tags: bool = False
    personal_codes: bool = False  # single-use discount codes bound to one customer
    deletion_scan: bool = True  # the connector can list every live customer id
    notes: tuple[str, ...] = ()  # plain-words caveats shown by `check` and `plan`

    def unsupported(self) -> list[str]:
        missing = []
        if not self.groups:
            missing.append("customer groups")
        if not self.tags:
            missing.append("customer tags")
        if not self.personal_codes:
            missing.append("personal discount codes")
        return missing


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What `check` learnt: the shop answers, our credentials work, and what it holds."""

    ok: bool
    platform: str
    version: str | None = None
    customers: int | None = None
    orders: int | None = None
    messages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CurrentState:
    """The values each membership slot has in the shop (its groups, tags, categories) and,
    per `one` slot, the default value a customer returns to (Shopware's default group).
    What else a connector needs to write stays in its own typed state."""

    values: tuple[SlotValue, ...] = ()
    defaults: tuple[tuple[str, str], ...] = ()  # (slot, value id)
    quarantined: tuple[Quarantined, ...] = ()  # value rows that could not be mapped

    def of(self, slot: str) -> tuple[SlotValue, ...]:
        """The values of one slot."""
        return tuple(v for v in self.values if v.slot == slot)

    def default(self, slot: str) -> str | None:
        """The id of the slot's default value, if it has one."""
        return dict(self.defaults).get(slot)


# (entity, ids) -> {id: raw payload the mirror holds}; ids the mirror does not hold are absent
KnownPayloads = Callable[[str, Sequence[str]], Mapping[str, Any]]


@runtime_checkable
class Connector(Protocol):
    """What every platform connector offers. Iterators yield `Page`s whose cursor is stored in
    the same transaction as the page's records, so a pull can resume after any crash. A
    customer record carries every slot the connector reads, empty ones too (`memberships(
    tags=())`): the mirror replaces those slots' rows and keeps the rest, which is how a slot
    the API cannot list in bulk (JTL's label custom field) keeps what pushes recorded.

    Optional member `use_known(known: KnownPayloads) -> None`: before a pull, sync hands the
    connector a look-up of the raw payloads the mirror already holds (by entity, "customers"
    or "orders", and ids). A connector that needs a follow-up request per record (line items
    fetched one order at a time) compares a page's rows with what the mirror stored and asks
    again only for rows that are new or changed, so that knowledge survives a restart. The
    look-up is read-only and answers in one mirror query per call; the connector keeps no
    SQLite handle. Connectors without it are pulled as before.

    Optional member `take_quarantined() -> Sequence[Quarantined]`: rows the connector met
    outside a page and could not use (a write's read-back answered with an entry that is not
    an object), handed over once; sync quarantines them after each batch of a push."""

    platform: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    slots: ClassVar[tuple[Slot, ...]]

    def check(self) -> CheckResult: ...

    def iter_customers(self, cursor: Cursor) -> Iterator[Page]: ...

    def iter_orders(self, cursor: Cursor) -> Iterator[Page]: ...

    def iter_customer_ids(self) -> Iterator[list[str]]: ...

    def current_state(self) -> CurrentState: ...

    def apply(self, ops: Sequence[WriteOp]) -> list[OpResult]: ...


class ConnectorFactory(Protocol):
    """A connector class: `cls(shop, http)` builds one; `simulator` optional (tests, demo).

    Everything platform-specific is declared here, on the class, so that core/ and sync/ never
    name a platform:
    - `slots`: the membership slots (core.records.Slot) the connector reads and writes;
    - `options`: core.config.OptionSpec for the shop's platform section (`shops[i].<platform>`),
      validated by the config loader, read by the connector from `shop.options`;
    - `credential_keys`: the keys `shops[i].credentials` must have;
    - `starter_config`: the shop section `loyalsync init --platform P` writes (YAML text);
    - `parse_error(response) -> (code, message)`: the platform's error body, for connectors.http;
    - optional `rate_limit_wait(response, now) -> seconds | None`: what the platform's
      rate-limit headers say about waiting (after a 429 without Retry-After, or a 2xx that used
      up the window), for connectors.http.
    """

    platform: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    slots: ClassVar[tuple[Slot, ...]]

    def __call__(self, shop: ShopConfig, http: HttpClient) -> Connector: ...
