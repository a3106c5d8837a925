"""Write operations -> Sync API rows, against what the shop already has. Pure: no I/O.

Owns the translation of loyalsync's write operations into `POST /api/_action/sync` rows
(../shared/research/shopware.md §3): deterministic ids (md5 of a loyalsync key, 32 hex like a
Shopware uuid) make every row an idempotent upsert, and operations the shop already reflects
produce no row at all, so applying the same operations twice changes the shop once. The view
of the shop is updated as rows are planned, so later operations in the same list see earlier
ones (ensure a group, then move customers into it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from loyalsync.core.records import (
    GROUPS,
    TAGS,
    AddValue,
    EnsureCampaign,
    EnsureValue,
    IssueCode,
    OpResult,
    RemoveValue,
    SetValue,
    WriteOp,
)

# Sync operations in dependency order: what a row refers to is written by an earlier operation
OPERATIONS = (
    ("customer_group", "upsert"),
    ("tag", "upsert"),
    ("promotion", "upsert"),
    ("promotion_sales_channel", "delete"),
    ("customer", "upsert"),
    ("customer_tag", "upsert"),
    ("customer_tag", "delete"),
    ("promotion_individual_code", "upsert"),
    ("promotion_persona_customer", "upsert"),
)


def stable_id(kind: str, *parts: str) -> str:
    """A deterministic Shopware id for something loyalsync creates."""
    return hashlib.md5(
        ":".join(("loyalsync", kind, *parts)).encode(), usedforsecurity=False
    ).hexdigest()


def group_id(name: str) -> str:
    return stable_id("group", name)


def tag_id(name: str) -> str:
    return stable_id("tag", name)


def campaign_id(name: str) -> str:
    return stable_id("campaign", name)


def code_id(campaign: str, customer_id: str, code: str) -> str:
    """One id per personal code: a retried create of the same code is an upsert, and a later
    code for the same customer (after the campaign's cooldown) is a new row."""
    return stable_id("code", campaign, customer_id, code)


@dataclass
class CustomerState:
    group_id: str | None
    tag_ids: set[str]


@dataclass
class ShopView:
    """What the shop has now, as far as the planned operations need to know."""

    groups: dict[str, str] = field(default_factory=dict)  # name -> id
    display_gross: dict[str, bool] = field(default_factory=dict)  # group id -> displayGross
    default_group_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)  # name -> id
    sales_channels: tuple[str, ...] = ()
    customers: dict[str, CustomerState] = field(default_factory=dict)
    promotions: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> raw
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> raw
    protected: frozenset[str] = frozenset()  # group names and ids never touched


@dataclass(frozen=True, slots=True, eq=False)  # identity: rows are told apart, not compared
class Row:
    op: int  # index of the operation in the list being applied
    entity: str
    action: str
    payload: dict[str, Any]


class _Refused(Exception):
    """An operation that cannot be planned; its message goes into the push log."""


@dataclass
class SyncPlan:
    rows: list[Row]  # to send, in dependency order
    done: dict[int, OpResult]  # already reflected by the shop (ok) or impossible (failed)
    remote: dict[int, str | None]  # the shop id each planned operation writes


def plan_rows(ops: Sequence[WriteOp], view: ShopView) -> SyncPlan:
    """Rows to send and the results already known: operations the shop already reflects (ok,
    nothing to send) and operations that cannot be applied."""
    plan = SyncPlan([], {}, {})
    for index, op in enumerate(ops):
        try:
            planned, remote = _plan(op, view)
        except _Refused as exc:
            plan.done[index] = OpResult(op, ok=False, error=str(exc))
            continue
        if planned:
            plan.rows.extend(Row(index, e, a, p) for e, a, p in planned)
            plan.remote[index] = remote
        else:
            plan.done[index] = OpResult(op, ok=True, remote_id=remote)
    order = {key: n for n, key in enumerate(OPERATIONS)}
    plan.rows.sort(key=lambda r: order[(r.entity, r.action)])  # stable: op order kept
    return plan


Planned = tuple[list[tuple[str, str, dict[str, Any]]], str | None]


def _plan(op: WriteOp, view: ShopView) -> Planned:
    """The slot operations map onto Shopware's two slots: `groups` (one: `customer.groupId`)
    and `tags` (many: `customer_tag` rows)."""
    if isinstance(op, EnsureValue) and op.slot == GROUPS:
        return _ensure_group(op, view)
    if isinstance(op, SetValue) and op.slot == GROUPS:
        return _set_group(op, view)
    if isinstance(op, EnsureValue) and op.slot == TAGS:
        if op.name in view.tags:
            return [], view.tags[op.name]
        view.tags[op.name] = tag_id(op.name)
        return [("tag", "upsert", {"id": tag_id(op.name), "name": op.name})], tag_id(op.name)
    if isinstance(op, AddValue | RemoveValue) and op.slot == TAGS:
        return _tag(op, view)
    if isinstance(op, EnsureCampaign):
        return _campaign(op, view)
    if isinstance(op, IssueCode):
        return _code(op, view)
    slot = getattr(op, "slot", None)
    if slot == GROUPS:
        raise _Refused(f"a Shopware customer has exactly one group: {type(op).__name__} is not "
                       "possible in the groups slot (SetValue is)")  # fmt: skip
    where = f" in slot {slot!r}" if slot else ""
    raise _Refused(f"operation {type(op).__name__}{where} is not supported by Shopware")


def _ensure_group(op: EnsureValue, view: ShopView) -> Planned:
    if op.name in view.groups:
        return [], view.groups[op.name]
    gid = group_id(op.name)
    # displayGross switches the storefront between gross and net prices: copy the default's
    gross = view.display_gross.get(view.default_group_id or "", True)
    view.groups[op.name] = gid
    view.display_gross[gid] = gross
    return [("customer_group", "upsert", {"id": gid, "name": op.name, "displayGross": gross})], gid


def _customer(view: ShopView, customer_id: str) -> CustomerState:
    state = view.customers.get(customer_id)
    if state is None:
        raise _Refused(f"customer {customer_id} not found in the shop")
    return state


def _set_group(op: SetValue, view: ShopView) -> Planned:
    if op.value is None:
        target = view.default_group_id
        if target is None:
            raise _Refused("the shop has no default customer group (storefront sales channel)")
    elif op.value in view.groups:
        target = view.groups[op.value]
    else:
        raise _Refused(f"customer group {op.value!r} does not exist; ensure it first")
    state = _customer(view, op.customer_id)
    names = {gid: name for name, gid in view.groups.items()}
    for gid in (state.group_id, target):
        if gid and (gid in view.protected or names.get(gid) in view.protected):
            raise _Refused(f"customer group {names.get(gid, gid)!r} is protected")
    if state.group_id == target:
        return [], op.customer_id
    if op.from_value and op.from_value not in (state.group_id, names.get(state.group_id or "")):
        # someone moved the customer since the plan was made: their decision stands
        now = names.get(state.group_id or "", state.group_id)
        raise _Refused(f"customer is in group {now!r} now, not {op.from_value!r}; re-plan")
    state.group_id = target
    return [("customer", "upsert", {"id": op.customer_id, "groupId": target})], op.customer_id


def _tag(op: AddValue | RemoveValue, view: ShopView) -> Planned:
    state = _customer(view, op.customer_id)
    tid = view.tags.get(op.value)
    if isinstance(op, RemoveValue):
        if tid is None or tid not in state.tag_ids:
            return [], tid
        state.tag_ids.discard(tid)
        return [("customer_tag", "delete", {"customerId": op.customer_id, "tagId": tid})], tid
    if tid is None:
        raise _Refused(f"tag {op.value!r} does not exist; ensure it first")
    if tid in state.tag_ids:
        return [], tid
    state.tag_ids.add(tid)
    return [("customer_tag", "upsert", {"customerId": op.customer_id, "tagId": tid})], tid


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def promotion_payload(op: EnsureCampaign, channels: Sequence[str]) -> dict[str, Any]:
    """One promotion per campaign with individual codes, only for its persona customers.
    Shopware's defaults are inactive and code-less (§3.5), so every flag is explicit."""
    if (op.percent is None) == (op.amount is None):
        raise _Refused(f"campaign {op.name!r} needs exactly one of percent or amount")
    pid = campaign_id(op.name)
    kind, value = ("percentage", op.percent) if op.percent is not None else ("absolute", op.amount)
    return {
        "id": pid,
        "name": op.name,
        "active": True,
        "validFrom": op.valid_from.astimezone(UTC).isoformat(),
        "validUntil": op.valid_until.astimezone(UTC).isoformat(),
        "maxRedemptionsGlobal": None,
        "maxRedemptionsPerCustomer": 1,
        "priority": 1,
        "exclusive": False,
        "preventCombination": True,
        "useSetGroups": False,
        "useCodes": True,
        "useIndividualCodes": True,
        "individualCodePattern": f"{op.code_prefix}-%s%s%s%s%d%d%d%d",
        "customerRestriction": True,
        "salesChannels": [
            {"id": stable_id("promotion-channel", op.name, c), "salesChannelId": c, "priority": 1}
            for c in channels
        ],
        "discounts": [
            {
                "id": stable_id("discount", op.name),
                "scope": "cart",
                "type": kind,
                "value": value,
                "considerAdvancedRules": False,
            }
        ],
    }


_SAME = (
    "name",
    "active",
    "maxRedemptionsPerCustomer",
    "useCodes",
    "useIndividualCodes",
    "customerRestriction",
    "individualCodePattern",
)


def promotion_matches(existing: dict[str, Any], desired: dict[str, Any]) -> bool:
    if any(existing.get(k) != desired[k] for k in _SAME):
        return False
    for key in ("validFrom", "validUntil"):
        if _time(existing.get(key)) != _time(desired[key]):
            return False
    discounts = {
        (d.get("type"), float(d.get("value") or 0)) for d in existing.get("discounts") or ()
    }
    wanted = {(d["type"], float(d["value"])) for d in desired["discounts"]}
    channels = {c.get("salesChannelId") for c in existing.get("salesChannels") or ()}
    return discounts == wanted and channels == {
        c["salesChannelId"] for c in desired["salesChannels"]
    }


def _campaign(op: EnsureCampaign, view: ShopView) -> Planned:
    if not view.sales_channels:
        raise _Refused("no storefront sales channel to offer the promotion in")
    desired = promotion_payload(op, view.sales_channels)
    pid = desired["id"]
    existing = view.promotions.get(pid)
    if existing is not None and promotion_matches(existing, desired):
        return [], pid
    planned: list[tuple[str, str, dict[str, Any]]] = [("promotion", "upsert", desired)]
    keep = {c["salesChannelId"] for c in desired["salesChannels"]}
    for row in (existing or {}).get("salesChannels") or ():
        if row.get("salesChannelId") not in keep and row.get("id"):
            planned.append(("promotion_sales_channel", "delete", {"id": row["id"]}))
    view.promotions[pid] = desired
    return planned, pid


def _code(op: IssueCode, view: ShopView) -> Planned:
    pid = campaign_id(op.campaign)
    if pid not in view.promotions:
        raise _Refused(f"campaign {op.campaign!r} does not exist in the shop; ensure it first")
    _customer(view, op.customer_id)
    cid = code_id(op.campaign, op.customer_id, op.code)
    existing = view.codes.get(cid)
    if existing is not None and existing.get("promotionId") == pid:
        return [], cid  # already issued: the code is deterministic, so this is a retry
    view.codes[cid] = {"id": cid, "promotionId": pid, "code": op.code}
    return [
        ("promotion_individual_code", "upsert", {"id": cid, "promotionId": pid, "code": op.code}),
        (
            "promotion_persona_customer",
            "upsert",
            {"promotionId": pid, "customerId": op.customer_id},
        ),
    ], cid
