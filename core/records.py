"""Canonical records and write operations: the plain data passed between layers.

Connectors map raw payloads into these records (pure functions) and apply these operations;
`core/mirror/` stores the records; `core/plan/` produces the operations. The types live in
`core` because `core` may not import `connectors`; `connectors/base.py` re-exports them.
All datetimes are tz-aware UTC; money is in the shop's base currency, rounded to cents.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

# ---------------------------------------------------------------------------------------------
# Membership slots: where a customer carries values we may manage (platform-neutral)

Cardinality = Literal["one", "many"]
# The slots the config speaks of: `push.groups`, `protected_groups` and the rule fields
# `group_id`/`group_name` address the slot named GROUPS, `push.tags` the slot named TAGS. A
# connector gives its slots these names when they play these parts (any cardinality).
GROUPS, TAGS = "groups", "tags"


@dataclass(frozen=True, slots=True)
class Slot:
    """A place in the shop where a customer carries values, declared by each connector.

    Shopware: `groups` (one) and `tags` (many); PrestaShop: `groups` (many, with a distinguished
    default, `id_default_group`); JTL: `groups` (one), `categories` (many), `label` (one, a
    custom field). The planner, config check, `plan` output and report speak only in slots.
    """

    name: str  # the key used in config and plans: "groups", "tags", "categories", "label"
    label: str  # for people: "customer group", "tag", "customer category", "custom field"
    cardinality: Cardinality
    has_default: bool = False  # a distinguished member (PrestaShop's id_default_group)
    prices: bool = False  # values drive prices/display: protected values live in such slots
    creatable: bool = True  # EnsureValue may create a missing value (else the admin must)
    free_text: bool = False  # values are free text written directly (a custom field)
    max_values: int | None = None  # a `many` slot holding at most this many per customer


@dataclass(frozen=True, slots=True)
class SlotValue:
    """A value that exists in the shop for one slot: a group, a tag, a category."""

    slot: str
    id: str
    name: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


Memberships = tuple[tuple[str, tuple[str, ...]], ...]  # ((slot, (value id, ...)), ...) sorted


def memberships(**slots: tuple[str, ...] | list[str] | str | None) -> Memberships:
    """Build the canonical (sorted, hashable) memberships value: memberships(groups=("3",))."""
    out = []
    for slot, values in sorted(slots.items()):
        if values is None:
            vals: tuple[str, ...] = ()
        elif isinstance(values, str):
            vals = (values,)
        else:
            vals = tuple(sorted(dict.fromkeys(str(v) for v in values)))
        out.append((slot, vals))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Records read from a shop


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    id: str
    email: str | None
    number: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    is_guest: bool = False
    country: str | None = None  # ISO 3166-1 alpha-2
    city: str | None = None
    postcode: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    # platform-neutral memberships (see Slot): ((slot, (value id, ...)), ...), and per slot
    # the distinguished member where the platform has one (PrestaShop id_default_group)
    memberships: Memberships = ()
    defaults: tuple[tuple[str, str], ...] = ()
    newsletter: bool | None = None  # newsletter consent where the platform says; None: unknown

    def values(self, slot: str) -> tuple[str, ...]:
        """The value ids this customer carries in `slot` (empty when none)."""
        for name, vals in self.memberships:
            if name == slot:
                return vals
        return ()

    def default(self, slot: str) -> str | None:
        return dict(self.defaults).get(slot)


@dataclass(frozen=True, slots=True)
class OrderItemRecord:
    line: int
    product_id: str | None
    sku: str | None
    name: str | None
    quantity: float
    unit_price: float
    total: float
    kind: str = "product"  # product | promotion | shipping | other
    code: str | None = None  # discount code carried by a promotion line


@dataclass(frozen=True, slots=True)
class OrderRecord:
    id: str
    number: str | None
    customer_id: str | None  # may be None: guest or deleted customer; keep the email
    email: str | None
    placed_at: datetime
    status: str  # the shop's state, normalised: open | in_progress | completed | cancelled | ...
    is_valid: bool  # counts for segmentation (configurable per shop)
    total_gross: float  # order currency
    total_net: float
    currency: str
    base_currency_total_gross: float  # shop base currency
    base_currency_total_net: float
    base_currency_refunded: float = 0.0
    updated_at: datetime | None = None
    items: tuple[OrderItemRecord, ...] = ()
    codes: tuple[str, ...] = ()  # discount codes redeemed with this order
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


# ---------------------------------------------------------------------------------------------
# Cursors and pages


def _dt_json(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _dt_parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a pull stands, stored in the mirror as JSON next to the data it describes.

    Every time in a cursor is the shop's, read from the shop's own data, never our clock: a
    shop whose clock runs behind ours must not lose changes (and one ahead must not re-read).
    `since` is the lower bound of the change window (None: the whole history). `after` is the
    keyset position inside the current pass (None: from the start), so an interrupted pass
    resumes at the last committed page. `high` is the newest change time seen in this pass.
    `started` is the shop's newest change time when the pass began (the connector asks the shop
    at the start of a pass): rows changed while the pass ran are newer than it, even those the
    keyset had passed already, so `finished()` makes it the next window's start.
    """

    since: datetime | None = None
    after: str | None = None
    high: datetime | None = None
    started: datetime | None = None  # the shop's newest change when this pass began

    def next_since(self) -> datetime | None:
        """Where the next pass's window starts: the shop's newest change when this pass began
        (the newest seen where the connector could not tell), never before this window."""
        mark = self.started if self.started is not None else self.high
        if mark is None or (self.since is not None and self.since > mark):
            return self.since
        return mark

    def advance(self, after: str | None, seen: datetime | None) -> Cursor:
        high = self.high
        if seen is not None and (high is None or seen > high):
            high = seen
        return replace(self, after=after, high=high)

    def finished(self) -> Cursor:
        return Cursor(since=self.next_since())

    def to_json(self) -> str:
        return json.dumps(
            {
                "since": _dt_json(self.since),
                "after": self.after,
                "high": _dt_json(self.high),
                "started": _dt_json(self.started),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            since=_dt_parse(data.get("since")),
            after=data.get("after"),
            high=_dt_parse(data.get("high")),
            started=_dt_parse(data.get("started")),
        )


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A raw payload that could not be mapped, and why."""

    entity: str
    id: str | None
    error: str
    raw: Any


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a pull: records, the cursor to store with them, and what failed to map."""

    records: tuple[Any, ...]
    cursor: Cursor
    quarantined: tuple[Quarantined, ...] = ()
    total: int | None = None  # the shop's total for the whole pass, when it tells


# ---------------------------------------------------------------------------------------------
# Write operations (produced by core/plan/, applied by connectors)


@dataclass(frozen=True, slots=True, order=True)
class EnsureCampaign:
    """One promotion per discount campaign: active, valid from/until, percent or amount off."""

    name: str
    percent: float | None
    amount: float | None
    valid_from: datetime
    valid_until: datetime
    code_prefix: str

    @property
    def key(self) -> str:
        return f"campaign:{self.name}"


@dataclass(frozen=True, slots=True, order=True)
class IssueCode:
    """A personal single-use code for one customer; `code` is deterministic, so a retried
    create never yields a second code."""

    campaign: str
    customer_id: str
    code: str
    customer_number: str | None = None
    email: str | None = None

    @property
    def key(self) -> str:
        return f"code:{self.campaign}:{self.customer_id}"


@dataclass(frozen=True, slots=True, order=True)
class EnsureValue:
    """Make sure the value `name` exists in `slot` (create the group, tag or category)."""

    slot: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.slot}:{self.name}"


@dataclass(frozen=True, slots=True, order=True)
class SetValue:
    """A `one` slot: set the customer's value to `value` (a name), or to the slot's default
    (the shop's default group) when `value` is None. `from_value` is the name as mirrored."""

    customer_id: str
    slot: str
    value: str | None
    from_value: str | None = None

    @property
    def key(self) -> str:
        return f"customer:{self.customer_id}:{self.slot}"


@dataclass(frozen=True, slots=True, order=True)
class AddValue:
    """A `many` slot: add the managed value `value` (a name); other values stay."""

    customer_id: str
    slot: str
    value: str

    @property
    def key(self) -> str:
        return f"customer:{self.customer_id}:{self.slot}+:{self.value}"


@dataclass(frozen=True, slots=True, order=True)
class RemoveValue:
    """A `many` slot: remove the managed value `value` (a name); other values stay."""

    customer_id: str
    slot: str
    value: str

    @property
    def key(self) -> str:
        return f"customer:{self.customer_id}:{self.slot}-:{self.value}"


@dataclass(frozen=True, slots=True, order=True)
class SetDefault:
    """A `many` slot with a distinguished member: make `value` (a name, already a member or
    added in the same plan) the customer's default (PrestaShop id_default_group)."""

    customer_id: str
    slot: str
    value: str

    @property
    def key(self) -> str:
        return f"customer:{self.customer_id}:{self.slot}:default"


SlotOp = EnsureValue | SetValue | AddValue | RemoveValue | SetDefault

WriteOp = EnsureValue | SetValue | AddValue | RemoveValue | SetDefault | EnsureCampaign | IssueCode


@dataclass(frozen=True, slots=True)
class OpResult:
    """What the shop said about one operation. `remote_id` is the shop's id of what was
    created or changed, when there is one."""

    op: WriteOp
    ok: bool
    error: str | None = None
    remote_id: str | None = None


def utcnow() -> datetime:
    """The only wall-clock read in core; pure code receives `as_of` instead."""
    return datetime.now(UTC)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Build many objects without the cyclic GC re-scanning them (and everything else alive)
    over and over: they hold no cycles, and pausing it roughly halves the time of a large
    batch (synthetic records; a plan's look at a million customers). Restores the previous
    state; also a decorator."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
