"""`loyalsync plan` and `loyalsync push` for one shop: mirror -> Plan -> the shop's writes.

Owns the orchestration of a push (issue 5): read segment membership (the segments the mappings
name, plus the address segments, which segmentation derives but never stores) and the shop as
mirrored (only the customers a plan can touch: on a million-customer shop a fraction), build
the plan (core.plan, pure), refuse it above `push.max_changes` unless forced, record new
codes as 'planned' before anything is sent, apply the operations in batches of
`push.batch_size` through the connector, journal every result in `_push_log` with the run id,
and update the mirror's view after each batch, so an immediate second plan is empty and a
second push sends nothing. No SQLite here (core.mirror), no HTTP (the connector), no rules
(core.plan). A push killed at any point is completed by the next one: the journal and view are
written per batch, codes were recorded before sending, and connectors look up before writing.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any

from loyalsync.connectors.base import Connector
from loyalsync.core.config import Config, ShopConfig
from loyalsync.core.errors import ConfigError
from loyalsync.core.mirror import (
    Mirror,
    expire_codes,
    load_kept_signatures,
    load_push_addresses,
    load_push_codes,
    load_push_customers,
    load_push_members,
    load_push_overview,
    load_value_holders,
    parse_db_time,
    record_redemptions,
    save_planned_codes,
    save_push_results,
)
from loyalsync.core.mirror.privacy import CODE_SECRET
from loyalsync.core.plan import (
    CodeNow,
    Current,
    CustomerNow,
    Desired,
    Plan,
    Rules,
    build_desired,
    build_plan,
    busy_customers,
    check_limits,
    desired_from_signatures,
    managed_pairs,
    op_dict,
    plan_candidates,
)
from loyalsync.core.plan.protect import check_protected_groups, protection_slots
from loyalsync.core.records import OpResult, Slot, WriteOp
from loyalsync.core.segments.families import TRANSIENT_FAMILIES
from loyalsync.core.segments.geography import address_segments
from loyalsync.sync.pull import refresh_state
from loyalsync.sync.render import push_summary
from loyalsync.sync.runs import recorded_run

log = logging.getLogger("loyalsync.push")

BatchCallback = Callable[[int, list[OpResult]], None]


class PushDisabledError(ConfigError):
    """`push.enabled` is false: no command writes to the shop, whatever its options."""


@dataclass
class PushResult:
    """What one push did: the plan, how many writes the shop accepted, and what failed why."""

    shop: str
    plan: Plan
    run_id: int | None = None
    dry_run: bool = False
    forced: bool = False  # applied above push.max_changes because of --force
    applied: int = 0
    batches: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (op key, shop's error)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def reasons(self, top: int = 5) -> list[tuple[str, int]]:
        return Counter(error for _, error in self.failures).most_common(top)

    def summary(self) -> str:
        return push_summary(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "shop": self.shop,
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "applied": self.applied,
            "failed": self.failed,
            "batches": self.batches,
            "failures": [{"op": key, "error": error} for key, error in self.failures],
            "plan": self.plan.to_dict(),
        }


# ---------------------------------------------------------------------------------------------
# Planning


def build_current(
    state: dict[str, list[tuple[Any, ...]]],
    total: int | None = None,
    codes: tuple[CodeNow, ...] | None = None,
) -> Current:
    """The planner's view of the shop from the mirror's plain rows (`load_push_state`);
    `total`: the shop's live customers when the rows hold only some (see Current.total);
    `codes`: `state["codes"]` already parsed (`parse_codes`)."""
    held: dict[str, dict[str, frozenset[str]]] = {}
    for (cid, slot), rows in groupby(sorted(state["memberships"]), key=itemgetter(0, 1)):
        held.setdefault(cid, {})[slot] = frozenset(row[2] for row in rows)
    empty: dict[str, frozenset[str]] = {}
    customers = {
        cid: CustomerNow(
            cid, held.get(cid, empty), parse_db_time(born), bool(is_guest), number, email
        )
        for cid, born, is_guest, number, email in state["customers"]
    }
    names, defaults = _slot_values(state["values"])
    if codes is None:
        codes = parse_codes(state["codes"])
    return Current(customers=customers, values=names, defaults=defaults, codes=codes, total=total)


def parse_codes(rows: Sequence[tuple[Any, ...]]) -> tuple[CodeNow, ...]:
    """The mirror's code rows (campaign, customer_id, code, status, issued_at, valid_until)
    as the planner's CodeNow; a row without an issue time is none of the plan's business."""
    return tuple(
        CodeNow(campaign, cid, code, status, issued, parse_db_time(until))
        for campaign, cid, code, status, issued_at, until in rows
        if (issued := parse_db_time(issued_at)) is not None
    )


def _slot_values(
    rows: Sequence[tuple[Any, ...]],
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """(slot -> value id -> name, slot -> its default value id) from (slot, id, name,
    is_default) rows in id order: the first value marked default is the slot's default."""
    names: dict[str, dict[str, str]] = {}
    defaults: dict[str, str] = {}
    for slot, vid, name, is_default in rows:
        names.setdefault(slot, {})[vid] = name
        if is_default:
            defaults.setdefault(slot, vid)
    return names, defaults


def protected_value_pairs(current: Current, slots: Sequence[Slot]) -> list[tuple[str, str]]:
    """(id, name) of the values `protected_groups` may name: those of the slots that drive
    prices (every slot when the platform marks none), as the planner matches them."""
    return [
        pair for s in protection_slots(slots) for pair in current.values.get(s.name, {}).items()
    ]


def plan_rules(connector: Connector, shop: ShopConfig, config: Config, mirror: Mirror) -> Rules:
    """The planner's rules; personal codes are keyed by the shop's random secret in the mirror
    (made on first use, never logged), so nobody can compute them from the shop's name."""
    return Rules(
        shop=shop.name,
        platform=getattr(connector, "platform", shop.platform),
        protected_groups=frozenset(shop.protected_groups),
        min_age_days=config.segmentation.min_age_days,
        code_secret=mirror.shop_secret(shop.name, CODE_SECRET),
    )


def load_plan_members(mirror: Mirror, shop: str, config: Config) -> dict[str, set[str]]:
    """customer id -> segments, for planning: stored membership, plus the address segments
    (country, city, postcode) that push mappings name, derived now for the segmented customers
    because segmentation never stores them. Addresses are read only when a mapping needs them."""
    names = {name for _, name in config.push.segment_references()}
    members = load_push_members(mirror, shop, names)  # no other segment can matter to a plan
    wanted = {name for name in names if name.partition(":")[0] in TRANSIENT_FAMILIES}
    if wanted:
        addresses = load_push_addresses(mirror, shop)
        found = address_segments(addresses, config.segmentation.geography, wanted)
        for customer_id, segments in found.items():
            members.setdefault(customer_id, set()).update(segments)
    return members


def load_plan_desired(mirror: Mirror, shop: str, config: Config) -> Desired:
    """What every customer should have: `build_desired` of `load_plan_members`, read from the
    kept signatures when they are current (one row per customer instead of a scan of every
    membership row) and no mapping names an address segment (derived, never stored)."""
    names = {name for _, name in config.push.segment_references()}
    if not any(name.partition(":")[0] in TRANSIENT_FAMILIES for name in names):
        kept = load_kept_signatures(mirror, shop, mentioning=names)
        if kept is not None:
            return desired_from_signatures(*kept, names, config.push)
    return build_desired(load_plan_members(mirror, shop, config), config.push)


def load_plan_current(
    mirror: Mirror,
    shop: str,
    config: Config,
    desired: Desired,
    *,
    slots: Sequence[Slot],
    as_of: datetime,
) -> Current:
    """The shop as mirrored, for the customers a plan can write to or skip (`busy_customers`
    among `plan_candidates`: on a big shop's steady day a few thousand), with every code and
    the shop's count of customers: the same plan as from every customer, without reading the
    others. `slots`: the platform's (connector.slots)."""
    overview = load_push_overview(mirror, shop)
    values, defaults = _slot_values(overview["values"])
    managed = managed_pairs(config.push, values, overview["held"])
    held = load_value_holders(mirror, shop, managed) if managed else []
    only = plan_candidates(desired, {row[0] for row in held}, overview["coded"])
    codes = parse_codes(load_push_codes(mirror, shop))
    busy = busy_customers(
        only, desired, held, codes, values=values, defaults=defaults, push=config.push,
        slots=slots, as_of=as_of,
    )  # fmt: skip
    customers, memberships = load_push_customers(mirror, shop, busy)
    state = {"customers": customers, "memberships": memberships, "values": overview["values"]}
    return build_current(state, total=overview["customers"], codes=codes)


def plan_shop(
    connector: Connector, mirror: Mirror, shop: ShopConfig, config: Config, *, as_of: datetime
) -> Plan:
    """The plan a push would apply now. Writes nothing to the shop: it reads the shop's groups
    and tags (pulls do not) into the mirror, and brings code statuses up to date (redeemed on
    pulled orders, expired), as a push does first."""
    if connector.slots:
        refresh_state(connector, mirror, shop.name)
    record_redemptions(mirror, shop.name)
    expire_codes(mirror, shop.name, as_of)
    desired = load_plan_desired(mirror, shop.name, config)
    slots = connector.slots
    current = load_plan_current(mirror, shop.name, config, desired, slots=slots, as_of=as_of)
    check_protected_groups(shop.name, shop.protected_groups, protected_value_pairs(current, slots))
    return build_plan(
        desired,
        current,
        as_of=as_of,
        push=config.push,
        slots=slots,
        rules=plan_rules(connector, shop, config, mirror),
        can=connector.capabilities,
    )


# ---------------------------------------------------------------------------------------------
# Pushing


def push_shop(
    connector: Connector,
    mirror: Mirror,
    shop: ShopConfig,
    config: Config,
    *,
    as_of: datetime,
    force: bool = False,
    dry_run: bool = False,
    on_batch: BatchCallback | None = None,
) -> PushResult:
    """Plan and apply. Raises PushDisabledError when `push.enabled` is false (`force` does not
    change that) and PlanRejectedError above `push.max_changes` unless `force`.
    Writes the shop rejects are journalled and counted (`.failed`); the run goes on."""
    plan = plan_shop(connector, mirror, shop, config, as_of=as_of)
    result = PushResult(shop.name, plan, dry_run=dry_run, forced=force and plan.over_limit)
    if dry_run:
        return result
    if not config.push.enabled:
        raise PushDisabledError(
            "push.enabled is false in the config: nothing was written (--force only lifts "
            "push.max_changes); review `loyalsync plan`, then set push.enabled: true",
            shop=shop.name,
        )
    with recorded_run(mirror, shop.name, "push", as_of) as run:
        result.run_id = run.id
        run.counts = lambda: _counts(result)
        check_limits(plan, force=force)
        codes = plan.new_codes
        new = [(c.campaign, c.customer_id, c.code, c.issued_at, c.valid_until) for c in codes]
        save_planned_codes(mirror, shop.name, new, run.id)
        for batch in batches(plan.ops, config.push.batch_size):
            results = apply_batch(connector, mirror, shop.name, run.id, batch)
            result.batches += 1
            result.applied += sum(r.ok for r in results)
            result.failures += [(r.op.key, r.error or "failed") for r in results if not r.ok]
            if on_batch:
                on_batch(result.batches, results)
            run.heartbeat()
        run.outcome = "partial" if result.failed else "ok"
    log.info("[%s] push done: %s", shop.name, result.summary())
    return result


def batches(ops: Sequence[WriteOp], size: int) -> list[list[WriteOp]]:
    return [list(ops[i : i + size]) for i in range(0, len(ops), max(1, size))]


def apply_batch(
    connector: Connector, mirror: Mirror, shop: str, run_id: int | None, batch: list[WriteOp]
) -> list[OpResult]:
    """Send one batch, journal every result, then update the mirror's view of what succeeded.
    An operation the connector gave no result for counts as failed. Rows the connector set
    aside while writing (its read-backs met entries it could not use) are quarantined."""
    results = list(connector.apply(batch))
    answered = {r.op for r in results}
    missing = [op for op in batch if op not in answered]
    results += [OpResult(op, ok=False, error="no result from the connector") for op in missing]
    mirror.log_push(
        run_id, shop, [(r.op.key, op_dict(r.op), r.ok, r.error, r.remote_id) for r in results]
    )
    save_push_results(mirror, shop, results)
    set_aside = getattr(connector, "take_quarantined", None)  # optional, connectors/base.py
    if callable(set_aside) and (bad := list(set_aside())):
        mirror.save_quarantined(shop, bad, run_id)
        log.warning("[%s] %d unusable rows in the shop's answers quarantined", shop, len(bad))
    for r in results:
        if not r.ok:
            log.warning("[%s] %s failed: %s", shop, r.op.key, r.error)
    return results


def _counts(result: PushResult) -> dict[str, Any]:
    return {
        **result.plan.counts,
        "applied": result.applied,
        "failed": result.failed,
        "batches": result.batches,
    }
