"""Desired segment memberships vs the shop as mirrored -> a frozen, sorted Plan of writes.

Owns the rules of what a push changes in a shop (issue 5): managed customer groups (the first
matching `push.groups` mapping wins; customers matching none go back to the default group only
when they sit in a managed group), managed tags (`push.tag_prefix` + tag; only managed tags are
ever removed), personal discount codes (one per member, none within `cooldown_days`, none while
an unused one is still valid), protected groups (never touched), `min_age_days` (nobody younger
is moved into a managed group; tags and codes still apply, they change no prices) and
`max_changes`. Pure: plain data in, plain data out, the clock arrives as `as_of`; no I/O.

Codes are deterministic (`personal_code`): the n-th code of a customer in a campaign is always
the same string, and `sync/push.py` records it before sending, so a retried or resumed push
never gives anybody a second code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Protocol

from core.config import PushConfig
from core.errors import PlanRejectedError
from core.records import (
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


# ---------------------------------------------------------------------------------------------
# Building


def build_plan(
    desired: Desired,
    current: Current,
    *,
    as_of: datetime,
    push: PushConfig,
    rules: Rules = Rules(),
    can: Abilities = Everything(),
) -> Plan:
    """Diff what customers should have against what the mirror says they have."""
    ops: list[WriteOp] = []
    skipped: list[Skip] = []
    groups = _GroupRules(push, current, rules, as_of)
    managed_tags = frozenset(push.tag_prefix + m.tag for m in push.tags)
    managed_ids = {gid for gid, name in current.groups.items() if name in groups.managed}
    nothing = Want()
    for cid in sorted(current.customers):
        customer = current.customers[cid]
        want = desired.customers.get(cid, nothing)
        if want is nothing and not customer.tags and customer.group_id not in managed_ids:
            continue  # the common case on a big shop: nothing wanted, nothing managed held
        mine: list[WriteOp] = []
        why: list[Skip] = []
        groups.diff(customer, want, mine, why)
        removable = {t for t in customer.tags if _is_managed(t, managed_tags, push.tag_prefix)}
        mine += [AddTag(cid, t) for t in sorted(want.tags - customer.tags)]
        mine += [RemoveTag(cid, t) for t in sorted(removable - want.tags)]
        if (mine or why) and (protected := _protection(customer, current, rules)):
            why = [Skip(cid, PROTECTED, f"in protected group {protected!r}")]
            mine = []
        ops += mine
        skipped += why
    codes, new_codes, code_skips = _plan_codes(desired, current, as_of, push, rules)
    ops, unsupported, cant = _drop_unsupported(ops + codes, push, rules.platform, can)
    new_codes = new_codes if can.personal_codes else []
    by_kind: dict[type[Any], list[Any]] = defaultdict(list)
    for op in ops:
        by_kind[type(op)].append(op)
    return Plan(
        shop=rules.shop,
        as_of=as_of,
        ensures=tuple(_ensures(ops, current, push, can, new_codes, as_of)),
        moves=tuple(sorted(by_kind[SetCustomerGroup], key=lambda op: op.customer_id)),
        tag_adds=tuple(sorted(by_kind[AddTag])),
        tag_removes=tuple(sorted(by_kind[RemoveTag])),
        codes=tuple(sorted(by_kind[IssueCode], key=lambda op: (op.campaign, op.customer_id))),
        new_codes=tuple(sorted(new_codes, key=lambda c: (c.campaign, c.customer_id))),
        skipped=tuple(sorted(set(skipped + cant + code_skips), key=_skip_key)),
        unsupported=tuple(unsupported),
        notes=tuple(_empty_segments(desired, push)),
        customer_count=len(current.customers),
        limit=change_limit(push.max_changes, len(current.customers)),
    )


def _skip_key(skip: Skip) -> tuple[str, str, str]:
    return (skip.reason, skip.customer_id, skip.detail)


def _is_managed(tag: str, managed: frozenset[str], prefix: str) -> bool:
    """Configured managed tags, and (with a non-empty prefix) any tag in our namespace, so a
    mapping dropped from the config is cleaned up too; hand-made tags never match."""
    return tag in managed or (bool(prefix) and tag.startswith(prefix))


def _protection(customer: CustomerNow, current: Current, rules: Rules) -> str | None:
    name = current.group_name(customer.group_id)
    for candidate in (customer.group_id, name):
        if candidate and candidate in rules.protected_groups:
            return name or candidate
    return None


class _GroupRules:
    def __init__(self, push: PushConfig, current: Current, rules: Rules, as_of: datetime) -> None:
        self.managed = frozenset(m.group for m in push.groups)
        self.current = current
        self.min_age = timedelta(days=rules.min_age_days)
        self.as_of = as_of
        self.default = current.group_name(current.default_group_id)

    def diff(self, c: CustomerNow, want: Want, ops: list[WriteOp], skipped: list[Skip]) -> None:
        now = self.current.group_name(c.group_id) if c.group_id else self.default
        if want.group is None:
            if now in self.managed:  # returned only from groups we manage
                ops.append(SetCustomerGroup(c.id, None, now))
            return
        if now == want.group:
            return
        age = (self.as_of - c.born) if c.born else None
        if age is None or age < self.min_age:
            days = "unknown" if age is None else f"{age.days} days"
            need = f"{want.group!r} needs {self.min_age.days} days"
            skipped.append(Skip(c.id, TOO_YOUNG, f"customer age {days}, {need}"))
            return  # stays where it is, even in another managed group
        ops.append(SetCustomerGroup(c.id, want.group, now))


def _plan_codes(
    desired: Desired, current: Current, as_of: datetime, push: PushConfig, rules: Rules
) -> tuple[list[WriteOp], list[CodeNow], list[Skip]]:
    """Planned codes are re-sent as they were recorded (a resumed push); members without a
    code in the cooldown and without a valid unused one get the next deterministic code."""
    history: dict[tuple[str, str], list[CodeNow]] = defaultdict(list)
    for code in current.codes:
        history[(code.campaign, code.customer_id)].append(code)
    used = {code.code for code in current.codes}
    ops: list[WriteOp] = []
    new: list[CodeNow] = []
    skipped: list[Skip] = []
    key = rules.code_secret or rules.shop
    for campaign in push.discounts:
        members = {c for c, w in desired.customers.items() if campaign.name in w.campaigns}
        members |= {
            c.customer_id
            for c in current.codes
            if (c.campaign, c.status) == (campaign.name, PLANNED)
        }
        for cid in sorted(members & current.customers.keys()):
            customer = current.customers[cid]
            past = history.get((campaign.name, cid), [])
            pending = [c for c in past if c.status == PLANNED]
            wanted = campaign.name in desired.customers.get(cid, Want()).campaigns
            if not pending and not (wanted and _may_issue(past, as_of, campaign.cooldown_days)):
                continue
            if (protected := _protection(customer, current, rules)) is not None:
                skipped.append(Skip(cid, PROTECTED, f"in protected group {protected!r}"))
                continue
            if customer.is_guest:
                skipped.append(Skip(cid, GUEST, "a guest checkout has no account for a code"))
                continue
            if pending:
                code = pending[0]
            else:
                serial = len(past)
                text = personal_code(campaign.code_prefix, key, campaign.name, cid, serial)
                while text in used:  # a clash with another customer's code: skip that serial
                    serial += 1
                    text = personal_code(campaign.code_prefix, key, campaign.name, cid, serial)
                until = as_of + timedelta(days=campaign.valid_days)
                code = CodeNow(campaign.name, cid, text, PLANNED, as_of, until)
                used.add(text)
                new.append(code)
            ops.append(IssueCode(campaign.name, cid, code.code, customer.number, customer.email))
    return ops, new, skipped


def _may_issue(past: list[CodeNow], as_of: datetime, cooldown_days: int) -> bool:
    cooldown = timedelta(days=cooldown_days)
    for code in past:
        if code.status in (ISSUED, REDEEMED, EXPIRED) and as_of - code.issued_at < cooldown:
            return False
        if code.status == ISSUED and (code.valid_until is None or code.valid_until > as_of):
            return False  # still holds an unused, valid code
    return True


def _drop_unsupported(
    ops: list[WriteOp], push: PushConfig, platform: str, can: Abilities
) -> tuple[list[WriteOp], list[str], list[Skip]]:
    checks = (
        (can.groups, bool(push.groups), (SetCustomerGroup,), "customer groups", "push.groups"),
        (can.tags, bool(push.tags), (AddTag, RemoveTag), "customer tags", "push.tags"),
        (can.personal_codes, bool(push.discounts), (IssueCode,), "personal discount codes",
         "push.discounts"),
    )  # fmt: skip
    messages: list[str] = []
    skipped: list[Skip] = []
    for able, configured, kinds, what, key in checks:
        if able or not configured:
            continue
        dropped = [op for op in ops if isinstance(op, kinds)]
        ops = [op for op in ops if not isinstance(op, kinds)]
        who = {getattr(op, "customer_id", "") for op in dropped}
        messages.append(
            f"{platform} cannot set {what}, so {key} is ignored for this shop: "
            f"{_count(len(dropped), 'change')} for {_count(len(who), 'customer')} not planned"
        )
        skipped += [Skip(cid, UNSUPPORTED, what) for cid in sorted(who)]
    return ops, messages, skipped


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _ensures(
    ops: list[WriteOp],
    current: Current,
    push: PushConfig,
    can: Abilities,
    new_codes: list[CodeNow],
    as_of: datetime,
) -> list[EnsureGroup | EnsureTag | EnsureCampaign]:
    """Managed groups and tags the shop lacks; a campaign whenever codes are sent for it, with
    a validity covering every code of the campaign (stable between runs that issue nothing)."""
    ensures: list[EnsureGroup | EnsureTag | EnsureCampaign] = []
    names = set(current.groups.values())
    if can.groups:
        wanted = dict.fromkeys(m.group for m in push.groups)
        ensures += [EnsureGroup(g) for g in wanted if g not in names]
    if can.tags:
        tags = dict.fromkeys(push.tag_prefix + m.tag for m in push.tags)
        ensures += [EnsureTag(t) for t in tags if t not in current.tags]
    sending = {op.campaign for op in ops if isinstance(op, IssueCode)}
    for campaign in push.discounts:
        if campaign.name not in sending:
            continue
        mine = [c for c in (*current.codes, *new_codes) if c.campaign == campaign.name]
        start = min((c.issued_at for c in mine), default=as_of)
        end = max((c.valid_until for c in mine if c.valid_until), default=as_of)
        ensures.append(
            EnsureCampaign(
                campaign.name, campaign.percent, campaign.amount,
                start.replace(microsecond=0), end.replace(microsecond=0), campaign.code_prefix,
            )
        )  # fmt: skip
    return ensures


def _empty_segments(desired: Desired, push: PushConfig) -> list[str]:
    """Configured segments nobody is in: often a typo, or a family segmentation never stores."""
    notes = []
    for key, mappings in (("push.groups", push.groups), ("push.tags", push.tags),
                          ("push.discounts", push.discounts)):  # fmt: skip
        for m in mappings:
            if m.segment not in desired.segments:
                notes.append(f"{key}: no customer is in segment {m.segment!r}")
    return list(dict.fromkeys(notes))
