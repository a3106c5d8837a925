"""The plan's vocabulary: what goes in (desired membership, the shop as mirrored, the rules of
the shop) and what comes out (a frozen Plan of write operations, with the skips and the
safety limit), plus the deterministic personal codes. Pure data and small pure helpers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, Protocol

from loyalsync.core.config import PushConfig
from loyalsync.core.errors import PlanRejectedError
from loyalsync.core.records import (
    GROUPS,
    TAGS,
    AddValue,
    EnsureCampaign,
    EnsureValue,
    IssueCode,
    RemoveValue,
    SetValue,
    Slot,
    WriteOp,
)

SEPARATOR = "\x1f"  # between the segment names of a signature (core.segments.diff.SEP)
PROTECTED = "protected"
TOO_YOUNG = "too young"
KEPT = "unmanaged value kept"  # a slot with max_values is full of values we do not manage
UNSUPPORTED = "unsupported"
GUEST = "guest"
# code statuses in the mirror's `codes` table
PLANNED, ISSUED, REDEEMED, EXPIRED = "planned", "issued", "redeemed", "expired"


class Abilities(Protocol):
    """What the platform can do besides its slots (`connectors.base.Capabilities` fits)."""

    @property
    def personal_codes(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Everything:
    personal_codes: bool = True


# ---------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True, slots=True)
class SlotMapping:
    """The `push:` mappings that address one slot: (segment, value name) pairs in config order.
    With a `prefix`, any value in that namespace is ours too (a mapping dropped from the
    config is cleaned up); values outside it that no mapping names are never touched."""

    slot: str
    key: str  # where in the config: "push.groups"
    what: str  # plain words for a platform without the slot: "customer groups"
    pairs: tuple[tuple[str, str], ...]
    prefix: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for _, name in self.pairs))

    def manages(self, name: str) -> bool:
        return name in self.names or (bool(self.prefix) and name.startswith(self.prefix))


def slot_mappings(push: PushConfig) -> tuple[SlotMapping, ...]:
    """`push.groups` addresses the slot named GROUPS, `push.tags` (with `push.tag_prefix`)
    the slot named TAGS, `push.slots.<name>` any other slot, on any platform whose connector
    declares them."""
    return tuple(
        SlotMapping(
            slot, key, what,
            tuple((seg, push.tag_prefix + name) for seg, name in pairs) if slot == TAGS else pairs,
            push.tag_prefix if slot == TAGS else "",
        )
        for slot, key, what, pairs in push.slot_lists()
    )  # fmt: skip


def managed_pairs(
    push: PushConfig,
    values: Mapping[str, Mapping[str, str]],
    held: Iterable[tuple[str, str]],
) -> list[tuple[str, str]]:
    """The (slot, value id) pairs among `held` that a plan manages: their name (the id when
    the slot has no such value, as `Current.name`) is named or prefixed by a mapping of the
    slot. `build_plan` leaves a customer who holds none of them and wants nothing alone."""
    mappings = [m for m in slot_mappings(push) if m.pairs or m.prefix]
    return [
        (slot, vid)
        for slot, vid in held
        if any(m.slot == slot and m.manages(values.get(slot, {}).get(vid, vid)) for m in mappings)
    ]


def plan_candidates(desired: Desired, holders: Iterable[str], coded: Iterable[str]) -> set[str]:
    """Every customer `build_plan` can write to or skip: those who want something, those
    holding a managed value (`managed_pairs`) and those with codes. A `Current` holding only
    these (and `total`, the shop's count) gives the same plan as one holding everybody."""
    return {*desired.customers, *holders, *coded}


@dataclass(frozen=True, slots=True)
class Want:
    """What one customer should have: per slot the managed value names that apply, in mapping
    order (a `one` slot takes the first), and the campaigns whose segment they are in."""

    values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    campaigns: frozenset[str] = frozenset()

    def of(self, slot: str) -> tuple[str, ...]:
        for name, values in self.values:
            if name == slot:
                return values
        return ()


@dataclass(frozen=True)
class Desired:
    customers: Mapping[str, Want]  # only customers who want something
    segments: frozenset[str] = frozenset()  # every segment with at least one member


def build_desired(members: Mapping[str, Iterable[str]], push: PushConfig) -> Desired:
    """customer id -> segment names ('family:value') turned into what each customer wants.
    Customers share few combinations of segments: each combination is worked out once."""
    wants: dict[str, Want] = {}
    seen: set[str] = set()
    mappings = [m for m in slot_mappings(push) if m.pairs]
    known: dict[frozenset[str], Want | None] = {}
    for customer_id, segments in members.items():
        mine = frozenset(segments)
        if mine not in known:
            seen |= mine
            known[mine] = _want(mine, mappings, push)
        want = known[mine]
        if want is not None:
            wants[customer_id] = want
    return Desired(wants, frozenset(seen))


def desired_from_signatures(
    ids: Sequence[str], signatures: Sequence[str], referenced: Iterable[str], push: PushConfig
) -> Desired:
    """`build_desired` from each customer's stored signature (the segment names joined by the
    unit separator, `core.segments.diff`), keeping only the `referenced` segments (what
    `load_plan_members` keeps): the same Desired, each distinct signature split once."""
    names = frozenset(referenced)
    mappings = [m for m in slot_mappings(push) if m.pairs]
    known: dict[str, Want | None] = {}
    seen: set[str] = set()
    customers: dict[str, Want] = {}
    for cid, signature in zip(ids, signatures, strict=True):
        if signature in known:
            want = known[signature]
        else:
            mine = frozenset(signature.split(SEPARATOR)) & names
            seen |= mine
            want = known[signature] = _want(mine, mappings, push) if mine else None
        if want is not None:
            customers[cid] = want
    return Desired(customers, frozenset(seen))


def _want(mine: frozenset[str], mappings: list[SlotMapping], push: PushConfig) -> Want | None:
    values = []
    for mapping in mappings:
        names = tuple(dict.fromkeys(name for seg, name in mapping.pairs if seg in mine))
        if mapping.slot == GROUPS and push.groups_mode != "all":
            names = names[:1]  # the first matching segment decides the managed group
        if names:
            values.append((mapping.slot, names))
    campaigns = frozenset(c.name for c in push.discounts if c.segment in mine)
    return Want(tuple(values), campaigns) if values or campaigns else None


@dataclass(frozen=True, slots=True)
class CustomerNow:
    """One customer as mirrored: per slot the value ids it carries. `born` is the earlier of
    sign-up and first valid order."""

    id: str
    values: Mapping[str, frozenset[str]] = field(default_factory=dict)
    born: datetime | None = None
    is_guest: bool = False
    number: str | None = None
    email: str | None = None

    def of(self, slot: str) -> frozenset[str]:
        return self.values.get(slot, frozenset())


@dataclass(frozen=True, slots=True)
class CodeNow:
    """A code in the mirror's `codes` table (or one a plan is about to record)."""

    campaign: str
    customer_id: str
    code: str
    status: str
    issued_at: datetime
    valid_until: datetime | None = None


@dataclass(frozen=True)
class Current:
    """The shop as mirrored by the last pull (plus what earlier pushes wrote)."""

    customers: Mapping[str, CustomerNow]
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # slot -> id -> name
    defaults: Mapping[str, str] = field(default_factory=dict)  # slot -> its default value id
    codes: tuple[CodeNow, ...] = ()
    # how many live customers the shop has, when `customers` holds only those a plan can
    # touch (`plan_candidates`); None: `customers` is everybody
    total: int | None = None

    @property
    def customer_count(self) -> int:
        return len(self.customers) if self.total is None else self.total

    def name(self, slot: str, value_id: str) -> str:
        """A value's name (its id when the shop has no such value)."""
        return self.values.get(slot, {}).get(value_id, value_id)

    def names(self, slot: str) -> set[str]:
        return set(self.values.get(slot, {}).values())

    def default_name(self, slot: str) -> str | None:
        found = self.defaults.get(slot)
        return None if found is None else self.name(slot, found)


@dataclass(frozen=True)
class Rules:
    """The per-shop settings a plan follows besides `push:`."""

    shop: str = ""
    platform: str = "this platform"
    protected_groups: frozenset[str] = frozenset()  # names or ids
    min_age_days: int = 0
    code_secret: str = ""  # HMAC key for personal codes: the mirror's random per-shop secret


# ---------------------------------------------------------------------------------------------
# The plan


@dataclass(frozen=True, slots=True)
class Skip:
    customer_id: str
    reason: str  # protected | too young | unsupported | guest
    detail: str


@dataclass(frozen=True)
class Plan:
    """What one push writes, kind by kind, each sorted; `ops` is the order to send them in.
    `slots` are the platform's membership slots (for counts and labels)."""

    shop: str
    as_of: datetime
    ensures: tuple[EnsureValue | EnsureCampaign, ...] = ()
    sets: tuple[SetValue, ...] = ()
    adds: tuple[AddValue, ...] = ()
    removes: tuple[RemoveValue, ...] = ()
    codes: tuple[IssueCode, ...] = ()
    new_codes: tuple[CodeNow, ...] = ()  # to record as 'planned' before sending
    skipped: tuple[Skip, ...] = ()
    unsupported: tuple[str, ...] = ()  # plain words: what this platform cannot do
    notes: tuple[str, ...] = ()
    customer_count: int = 0
    limit: int = 0  # most customers one run may change (push.max_changes)
    slots: tuple[Slot, ...] = ()

    @property
    def ops(self) -> tuple[WriteOp, ...]:
        return (*self.ensures, *self.sets, *self.adds, *self.removes, *self.codes)

    def to_create(self, slot: str) -> list[str]:
        """Names of the values the plan creates in `slot`."""
        return [op.name for op in self.ensures if isinstance(op, EnsureValue) and op.slot == slot]

    @property
    def changed_customers(self) -> int:
        changes = (self.sets, self.adds, self.removes, self.codes)
        return len({op.customer_id for ops in changes for op in ops})

    @property
    def is_empty(self) -> bool:
        return not self.ops

    @property
    def over_limit(self) -> bool:
        return self.changed_customers > self.limit

    @property
    def counts(self) -> dict[str, int]:
        """Per slot `<slot>_to_create` and `<slot>_set` (a `one` slot) or `<slot>_added` and
        `<slot>_removed` (a `many` slot), then codes, customers and skips."""
        counts: dict[str, int] = {}
        for slot in self.slots:
            counts[f"{slot.name}_to_create"] = len(self.to_create(slot.name))
        for slot in self.slots:
            if slot.cardinality == "one":
                counts[f"{slot.name}_set"] = sum(op.slot == slot.name for op in self.sets)
            else:
                counts[f"{slot.name}_added"] = sum(op.slot == slot.name for op in self.adds)
                counts[f"{slot.name}_removed"] = sum(op.slot == slot.name for op in self.removes)
        counts["codes"] = len(self.codes)
        counts["customers_changed"] = self.changed_customers
        counts["customers"] = self.customer_count
        for reason, n in sorted(Counter(s.reason for s in self.skipped).items()):
            counts[f"skipped_{reason.replace(' ', '_')}"] = n
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "shop": self.shop,
            "as_of": self.as_of.isoformat(),
            "counts": self.counts,
            "limit": self.limit,
            "over_limit": self.over_limit,
            "changes": [op_dict(op) for op in self.ops],
            "skipped": [asdict(s) for s in self.skipped],
            "unsupported": list(self.unsupported),
            "notes": list(self.notes),
        }


def op_dict(op: WriteOp) -> dict[str, Any]:
    """A write operation as JSON-ready data: {"op": "AddTag", "customer_id": ..., ...}."""
    data = {f.name: getattr(op, f.name) for f in fields(op)}
    data = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}
    return {"op": type(op).__name__, **data}


def change_limit(max_changes: float, customer_count: int) -> int:
    """`max_changes` >= 1 is a number of customers; below 1 a share of the shop's customers."""
    if max_changes >= 1:
        return int(max_changes)
    return math.ceil(max_changes * customer_count)


def check_limits(plan: Plan, *, force: bool = False) -> None:
    """Refuse a plan that changes more customers than `push.max_changes` allows."""
    if force or not plan.over_limit:
        return
    raise PlanRejectedError(
        f"the plan changes {plan.changed_customers} of {plan.customer_count} customers, more "
        f"than push.max_changes allows ({plan.limit}); review it with `loyalsync plan` and "
        f"push with --force if it is right",
        shop=plan.shop or None,
    )


def personal_code(prefix: str, key: str, campaign: str, customer_id: str, serial: int) -> str:
    """The `serial`-th (0-based) code of a customer in a campaign: always the same string."""
    message = "\x1f".join((campaign, customer_id, str(serial))).encode()
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()
    return f"{prefix}-{base64.b32encode(digest).decode()[:10]}"
