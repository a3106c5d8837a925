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
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, Protocol

from loyalsync.core.config import PushConfig
from loyalsync.core.errors import PlanRejectedError
from loyalsync.core.records import (
    AddTag,
    EnsureCampaign,
    EnsureGroup,
    EnsureTag,
    IssueCode,
    RemoveTag,
    SetCustomerGroup,
    WriteOp,
)

PROTECTED = "protected"
TOO_YOUNG = "too young"
UNSUPPORTED = "unsupported"
GUEST = "guest"
# code statuses in the mirror's `codes` table
PLANNED, ISSUED, REDEEMED, EXPIRED = "planned", "issued", "redeemed", "expired"


class Abilities(Protocol):
    """What the platform can write (`connectors.base.Capabilities` fits)."""

    @property
    def groups(self) -> bool: ...
    @property
    def tags(self) -> bool: ...
    @property
    def personal_codes(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Everything:
    groups: bool = True
    tags: bool = True
    personal_codes: bool = True


# ---------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True, slots=True)
class Want:
    """What one customer should have: a managed group (None: none), managed tag names (with
    the prefix) and the campaigns whose segment they are in."""

    group: str | None = None
    tags: frozenset[str] = frozenset()
    campaigns: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Desired:
    customers: Mapping[str, Want]  # only customers who want something
    segments: frozenset[str] = frozenset()  # every segment with at least one member


def build_desired(members: Mapping[str, Iterable[str]], push: PushConfig) -> Desired:
    """customer id -> segment names ('family:value') turned into what each customer wants."""
    wants: dict[str, Want] = {}
    seen: set[str] = set()
    for customer_id, segments in members.items():
        mine = set(segments)
        seen |= mine
        group = next((m.group for m in push.groups if m.segment in mine), None)
        tags = frozenset(push.tag_prefix + m.tag for m in push.tags if m.segment in mine)
        campaigns = frozenset(c.name for c in push.discounts if c.segment in mine)
        if group or tags or campaigns:
            wants[customer_id] = Want(group, tags, campaigns)
    return Desired(wants, frozenset(seen))


@dataclass(frozen=True, slots=True)
class CustomerNow:
    """One customer as mirrored. `born` is the earlier of sign-up and first valid order."""

    id: str
    group_id: str | None = None
    tags: frozenset[str] = frozenset()  # tag names
    born: datetime | None = None
    is_guest: bool = False
    number: str | None = None
    email: str | None = None


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
    groups: Mapping[str, str] = field(default_factory=dict)  # id -> name
    default_group_id: str | None = None
    tags: frozenset[str] = frozenset()  # names of the tags the shop has
    codes: tuple[CodeNow, ...] = ()

    def group_name(self, group_id: str | None) -> str | None:
        return self.groups.get(group_id or "", group_id)


@dataclass(frozen=True)
class Rules:
    """The per-shop settings a plan follows besides `push:`."""

    shop: str = ""
    platform: str = "this platform"
    protected_groups: frozenset[str] = frozenset()  # names or ids
    min_age_days: int = 0
    code_secret: str = ""  # HMAC key for personal codes (default: the shop name)


# ---------------------------------------------------------------------------------------------
# The plan


@dataclass(frozen=True, slots=True)
class Skip:
    customer_id: str
    reason: str  # protected | too young | unsupported | guest
    detail: str


@dataclass(frozen=True)
class Plan:
    """What one push writes, kind by kind, each sorted; `ops` is the order to send them in."""

    shop: str
    as_of: datetime
    ensures: tuple[EnsureGroup | EnsureTag | EnsureCampaign, ...] = ()
    moves: tuple[SetCustomerGroup, ...] = ()
    tag_adds: tuple[AddTag, ...] = ()
    tag_removes: tuple[RemoveTag, ...] = ()
    codes: tuple[IssueCode, ...] = ()
    new_codes: tuple[CodeNow, ...] = ()  # to record as 'planned' before sending
    skipped: tuple[Skip, ...] = ()
    unsupported: tuple[str, ...] = ()  # plain words: what this platform cannot do
    notes: tuple[str, ...] = ()
    customer_count: int = 0
    limit: int = 0  # most customers one run may change (push.max_changes)

    @property
    def ops(self) -> tuple[WriteOp, ...]:
        return (*self.ensures, *self.moves, *self.tag_adds, *self.tag_removes, *self.codes)

    @property
    def groups_to_create(self) -> list[str]:
        return [op.name for op in self.ensures if isinstance(op, EnsureGroup)]

    @property
    def changed_customers(self) -> int:
        changes = (self.moves, self.tag_adds, self.tag_removes, self.codes)
        return len({op.customer_id for ops in changes for op in ops})

    @property
    def is_empty(self) -> bool:
        return not self.ops

    @property
    def over_limit(self) -> bool:
        return self.changed_customers > self.limit

    @property
    def counts(self) -> dict[str, int]:
        counts = {
            "groups_to_create": len(self.groups_to_create),
            "tags_to_create": sum(isinstance(op, EnsureTag) for op in self.ensures),
            "moves": len(self.moves),
            "tag_adds": len(self.tag_adds),
            "tag_removes": len(self.tag_removes),
            "codes": len(self.codes),
            "customers_changed": self.changed_customers,
            "customers": self.customer_count,
        }
        for reason, n in sorted(Counter(s.reason for s in self.skipped).items()):
            counts[f"skipped_{reason.replace(' ', '_')}"] = n
        return counts

    def summary(self) -> str:
        c = self.counts
        text = "nothing to change"
        if not self.is_empty:
            text = (
                f"{c['customers_changed']} customers: {c['moves']} group moves, "
                f"{c['tag_adds']} tags added, {c['tag_removes']} removed, {c['codes']} codes"
            )
        if c["groups_to_create"] or c["tags_to_create"]:
            text += f" (create {c['groups_to_create']} groups, {c['tags_to_create']} tags)"
        skipped = Counter(s.reason for s in self.skipped)
        if skipped:
            text += "; skipped " + ", ".join(f"{n} {r}" for r, n in sorted(skipped.items()))
        return text

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
