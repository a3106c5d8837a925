"""Building the plan: desired memberships vs the shop as mirrored -> `model.Plan` (the rules
are in the package docstring). Pure: plain data in, plain data out, the clock arrives as
`as_of`. Memberships are diffed per slot the platform declares (`core.records.Slot`): a `one`
slot gets its value set, a `many` slot gets managed values added and removed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from loyalsync.core.config import PushConfig
from loyalsync.core.errors import ConfigError
from loyalsync.core.plan.model import (
    EXPIRED,
    GUEST,
    ISSUED,
    KEPT,
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
    SlotMapping,
    Want,
    change_limit,
    personal_code,
    slot_mappings,
)
from loyalsync.core.plan.protect import protection_slots
from loyalsync.core.records import (
    AddValue,
    EnsureCampaign,
    EnsureValue,
    IssueCode,
    RemoveValue,
    SetValue,
    Slot,
    WriteOp,
    collector_paused,
)


def build_plan(
    desired: Desired,
    current: Current,
    *,
    as_of: datetime,
    push: PushConfig,
    slots: Sequence[Slot],
    rules: Rules = Rules(),
    can: Abilities = Everything(),
) -> Plan:
    """Diff what customers should have against what the mirror says they have, in the
    membership `slots` the platform declares."""
    declared = {s.name: s for s in slots}
    mappings = [m for m in slot_mappings(push) if m.pairs or m.prefix]
    diffs = [_SlotDiff(declared[m.slot], m, current, rules, as_of) for m in mappings
             if m.slot in declared]  # fmt: skip
    protection = _Protection(slots, current, rules)
    ops: list[WriteOp] = []
    skipped: list[Skip] = []
    nothing = Want()
    for cid in sorted(current.customers):
        customer = current.customers[cid]
        want = desired.customers.get(cid, nothing)
        if want is nothing and not any(d.holds_managed(customer) for d in diffs):
            continue  # the common case on a big shop: nothing wanted, nothing managed held
        mine: list[WriteOp] = []
        why: list[Skip] = []
        for diff in diffs:
            diff.diff(customer, want, mine, why)
        if (mine or why) and (protected := protection.of(customer)):
            why = [Skip(cid, PROTECTED, protected)]
            mine = []
        ops += mine
        skipped += why
    codes, new_codes, code_skips = _plan_codes(desired, current, as_of, push, rules, protection)
    unsupported, cant = _unsupported_slots(desired, current, mappings, declared, rules.platform)
    if not can.personal_codes:
        codes, message, code_cant = _drop_codes(codes, push, rules.platform)
        unsupported += message
        cant += code_cant
        new_codes = []
    issued = [op for op in codes if isinstance(op, IssueCode)]
    return Plan(
        shop=rules.shop,
        as_of=as_of,
        ensures=tuple(_ensures(issued, current, push, diffs, new_codes, as_of)),
        sets=tuple(
            sorted(
                (op for op in ops if isinstance(op, SetValue)),
                key=lambda op: (op.customer_id, op.slot),
            )
        ),
        adds=tuple(sorted(op for op in ops if isinstance(op, AddValue))),
        removes=tuple(sorted(op for op in ops if isinstance(op, RemoveValue))),
        codes=tuple(sorted(issued, key=lambda op: (op.campaign, op.customer_id))),
        new_codes=tuple(sorted(new_codes, key=lambda c: (c.campaign, c.customer_id))),
        skipped=tuple(sorted(set(skipped + cant + code_skips), key=_skip_key)),
        unsupported=tuple(unsupported),
        notes=tuple(_empty_segments(desired, push)),
        customer_count=current.customer_count,
        limit=change_limit(push.max_changes, current.customer_count),
        slots=tuple(slots),
    )


@collector_paused()  # many small sets and tuples, no cycles
def busy_customers(
    candidates: Iterable[str],
    desired: Desired,
    held: Iterable[tuple[str, str, str, int]],
    codes: Sequence[CodeNow],
    *,
    values: Mapping[str, Mapping[str, str]],
    defaults: Mapping[str, str],
    push: PushConfig,
    slots: Sequence[Slot],
    as_of: datetime,
) -> set[str]:
    """The `candidates` (`plan_candidates`) for whom `build_plan` can write or skip anything.
    `held`: (customer id, slot, value id, the rows the customer holds in that slot) for every
    managed value held (`managed_pairs`); `codes`: every code of the shop. A candidate is left
    out when it is settled: in every mapped slot it holds exactly the managed values it wants
    (in a `one` slot as its only value there), it wants no value of a slot the platform lacks,
    and no campaign has a code to send it. Such a customer gets no write and no skip (so
    neither protection, `min_age_days` nor a full slot come into it), and a `Current` of the
    busy customers alone (with `total`) gives the same plan. On a steady day at a million
    customers that is a few thousand customers instead of every member of a mapped segment."""
    declared = {s.name: s for s in slots}
    mappings = [m for m in slot_mappings(push) if m.pairs or m.prefix]
    named = {(slot, vid): name for slot, ids in values.items() for vid, name in ids.items()}
    for m in mappings:  # customers without a row in a `one` slot hold its default value
        slot = declared.get(m.slot)
        default = defaults.get(m.slot, "")
        managed = bool(default) and m.manages(named.get((m.slot, default), default))
        if slot and slot.cardinality == "one" and managed:
            return set(candidates)  # a managed default: the plan may move anybody back
    have: dict[str, list[tuple[str, str]]] = {}
    alone: dict[str, list[str]] = {}  # the slots where the customer holds one row
    for cid, slot_name, value_id, rows in held:
        have.setdefault(cid, []).append((slot_name, named.get((slot_name, value_id), value_id)))
        if rows == 1:
            alone.setdefault(cid, []).append(slot_name)
    history: dict[tuple[str, str], list[CodeNow]] = defaultdict(list)
    for code in codes:
        history[(code.campaign, code.customer_id)].append(code)
    pending = {code.customer_id for code in codes if code.status == PLANNED}
    cooldowns = {c.name: c.cooldown_days for c in push.discounts}

    def settled(want: Want, mine: frozenset[tuple[str, str]], single: frozenset[str]) -> bool:
        for m in mappings:
            slot = declared.get(m.slot)
            wanted = want.of(m.slot)
            got = {name for s, name in mine if s == m.slot}
            if slot is None:
                ok = not (m.pairs and wanted)  # an unsupported change is a skip
            elif slot.cardinality == "one":
                ok = got == {wanted[0]} and m.slot in single if wanted else not got
            else:
                ok = got == set(wanted)
            if not ok:
                return False
        return True

    nothing: Want = Want()
    # customers share few combinations: each is decided once (a Want by identity: customers
    # of one combination of segments share one, see build_desired)
    known: dict[tuple[int, frozenset[tuple[str, str]], frozenset[str]], bool] = {}
    none: frozenset[Any] = frozenset()
    wants = desired.customers
    busy: set[str] = set()
    for cid in candidates:
        want = wants.get(cid, nothing)
        if cid in pending or (
            want.campaigns
            and any(
                name in cooldowns
                and _may_issue(history.get((name, cid), []), as_of, cooldowns[name])
                for name in want.campaigns
            )
        ):
            busy.add(cid)
            continue
        mine, single = none, none  # most hold no managed value (nor a slot of one row)
        if cid in have:
            mine, single = frozenset(have[cid]), frozenset(alone.get(cid, ()))
        key = (id(want), mine, single)
        done = known.get(key)
        if done is None:
            done = known[key] = settled(want, mine, single)
        if not done:
            busy.add(cid)
    return busy


def _skip_key(skip: Skip) -> tuple[str, str, str]:
    return (skip.reason, skip.customer_id, skip.detail)


class _Protection:
    """Protected values ('never modify this customer'): names or ids of values in the slots
    that drive prices (every slot when the platform marks none), on every slot kind."""

    def __init__(self, slots: Sequence[Slot], current: Current, rules: Rules) -> None:
        self.slots = protection_slots(slots)
        self.current = current
        self.protected = rules.protected_groups

    def of(self, customer: CustomerNow) -> str | None:
        """Why the customer is protected ('in protected customer group ...'), or None."""
        if not self.protected:
            return None
        for slot in self.slots:
            for value_id in sorted(customer.of(slot.name)):
                name = self.current.name(slot.name, value_id)
                if value_id in self.protected or name in self.protected:
                    return f"in protected {slot.label} {name!r}"
        return None


class _SlotDiff:
    """One slot's rules: which values we manage, what each customer should carry there."""

    def __init__(
        self, slot: Slot, mapping: SlotMapping, current: Current, rules: Rules, as_of: datetime
    ) -> None:
        self.slot = slot
        self.mapping = mapping
        self.current = current
        self.min_age = timedelta(days=rules.min_age_days)
        self.as_of = as_of
        self.default = current.default_name(slot.name)

    def holds_managed(self, customer: CustomerNow) -> bool:
        slot = self.slot.name
        return any(self.mapping.manages(self.current.name(slot, v)) for v in customer.of(slot))

    def diff(self, c: CustomerNow, want: Want, ops: list[WriteOp], skipped: list[Skip]) -> None:
        if self.slot.cardinality == "one":
            self._diff_one(c, want.of(self.slot.name)[:1], ops, skipped)
        else:
            self._diff_many(c, set(want.of(self.slot.name)), ops, skipped)

    def _too_young(self, c: CustomerNow, target: str, skipped: list[Skip]) -> bool:
        """Values that drive prices are not given to customers younger than min_age_days."""
        if not self.slot.prices:
            return False
        age = (self.as_of - c.born) if c.born else None
        if age is not None and age >= self.min_age:
            return False
        days = "unknown" if age is None else f"{age.days} days"
        need = f"{target!r} needs {self.min_age.days} days"
        skipped.append(Skip(c.id, TOO_YOUNG, f"customer age {days}, {need}"))
        return True

    def _diff_one(
        self, c: CustomerNow, want: tuple[str, ...], ops: list[WriteOp], skipped: list[Skip]
    ) -> None:
        held = sorted(c.of(self.slot.name))
        now = self.current.name(self.slot.name, held[0]) if held else self.default
        if not want:
            if now is not None and self.mapping.manages(now):  # returned only from ours
                ops.append(SetValue(c.id, self.slot.name, None, now))
            return
        if now == want[0] or self._too_young(c, want[0], skipped):
            return  # a young customer stays where it is, even in another managed value
        ops.append(SetValue(c.id, self.slot.name, want[0], now))

    def _diff_many(
        self, c: CustomerNow, want: set[str], ops: list[WriteOp], skipped: list[Skip]
    ) -> None:
        slot = self.slot.name
        held = {self.current.name(slot, v) for v in c.of(slot)}
        adds = sorted(want - held)
        if adds and self._too_young(c, adds[0], skipped):
            adds = []
        if adds and self.slot.max_values is not None:  # no room: unmanaged values are kept
            stays = {h for h in held if h in want or not self.mapping.manages(h)}
            adds = adds[: max(0, self.slot.max_values - len(stays))]
            if not adds and stays - want:
                kept = ", ".join(repr(v) for v in sorted(stays - want))
                skipped.append(Skip(c.id, KEPT, f"holds {self.slot.label} {kept} (not managed)"))
        ops += [AddValue(c.id, slot, name) for name in adds]
        ops += [
            RemoveValue(c.id, slot, name)
            for name in sorted(held - want)
            if self.mapping.manages(name)
        ]


def _plan_codes(
    desired: Desired,
    current: Current,
    as_of: datetime,
    push: PushConfig,
    rules: Rules,
    protection: _Protection,
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
    key = rules.code_secret
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
            if (protected := protection.of(customer)) is not None:
                skipped.append(Skip(cid, PROTECTED, protected))
                continue
            if customer.is_guest:
                skipped.append(Skip(cid, GUEST, "a guest checkout has no account for a code"))
                continue
            if pending:
                code = pending[0]
            else:
                if not key:  # fail closed: a code keyed by something public can be guessed
                    raise ConfigError("personal codes need a code secret (Rules.code_secret)")
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


def _unsupported_slots(
    desired: Desired,
    current: Current,
    mappings: Sequence[SlotMapping],
    declared: dict[str, Slot],
    platform: str,
) -> tuple[list[str], list[Skip]]:
    """Mappings for a slot the platform does not declare: said in plain words, with what
    they would have changed, and every customer concerned skipped as unsupported."""
    messages: list[str] = []
    skipped: list[Skip] = []
    for mapping in mappings:
        if mapping.slot in declared or not mapping.pairs:
            continue
        wanted = {
            cid: len(want.of(mapping.slot))
            for cid, want in desired.customers.items()
            if want.of(mapping.slot) and cid in current.customers
        }
        messages.append(
            f"{platform} cannot set {mapping.what}, so {mapping.key} is ignored for this shop: "
            f"{_count(sum(wanted.values()), 'change')} for {_count(len(wanted), 'customer')} "
            "not planned"
        )
        skipped += [Skip(cid, UNSUPPORTED, mapping.what) for cid in sorted(wanted)]
    return messages, skipped


def _drop_codes(
    codes: list[WriteOp], push: PushConfig, platform: str
) -> tuple[list[WriteOp], list[str], list[Skip]]:
    if not push.discounts:
        return [], [], []
    who = {op.customer_id for op in codes if isinstance(op, IssueCode)}
    message = (
        f"{platform} cannot set personal discount codes, so push.discounts is ignored for this "
        f"shop: {_count(len(codes), 'change')} for {_count(len(who), 'customer')} not planned"
    )
    return [], [message], [Skip(cid, UNSUPPORTED, "personal discount codes") for cid in who]


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _ensures(
    codes: list[IssueCode],
    current: Current,
    push: PushConfig,
    diffs: Sequence[_SlotDiff],
    new_codes: list[CodeNow],
    as_of: datetime,
) -> list[EnsureValue | EnsureCampaign]:
    """Managed values the shop lacks, slot by slot (where the platform may create them); a
    campaign whenever codes are sent for it, with a validity covering every code of the
    campaign (stable between runs that issue nothing)."""
    ensures: list[EnsureValue | EnsureCampaign] = []
    for diff in diffs:
        if diff.slot.creatable and not diff.slot.free_text:
            have = current.names(diff.slot.name)
            ensures += [EnsureValue(diff.slot.name, n) for n in diff.mapping.names if n not in have]
    sending = {op.campaign for op in codes}
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
    keyed: list[tuple[str, tuple[Any, ...]]] = [
        ("push.groups", push.groups), ("push.tags", push.tags), ("push.discounts", push.discounts),
        *((f"push.slots.{slot}", maps) for slot, maps in sorted(push.slots.items())),
    ]  # fmt: skip
    for key, mappings in keyed:
        for m in mappings:
            if m.segment not in desired.segments:
                notes.append(f"{key}: no customer is in segment {m.segment!r}")
    return list(dict.fromkeys(notes))
