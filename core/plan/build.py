"""Building the plan: desired memberships vs the shop as mirrored -> `model.Plan` (the rules
are in the package docstring). Pure: plain data in, plain data out, the clock arrives as
`as_of`."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from loyalsync.core.config import PushConfig
from loyalsync.core.plan.model import (
    EXPIRED,
    GUEST,
    ISSUED,
    PLANNED,
    PROTECTED,
    REDEEMED,
    TOO_YOUNG,
    UNSUPPORTED,
    Abilities,
    CodeNow,
    Current,
    CustomerNow,
    Desired,
    Everything,
    Plan,
    Rules,
    Skip,
    Want,
    change_limit,
    personal_code,
)
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
