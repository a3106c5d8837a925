"""Bridge from the old one-group write operations to PrestaShop's `groups` slot operations.

Today's planner still emits `EnsureGroup` and `SetCustomerGroup(customer, group, from)`; the
connector is written against the slot operations (`EnsureValue`, `AddValue`, `RemoveValue`,
`SetDefault`). This module is the only place that knows the old ones: delete it (and its one
call in writer.py) once core/plan speaks slots. A move adds the new group and removes the group
it came from, unless that is one of the shop's built-in groups (Visitor, Guest, Customer) or
the customer's default, which we never manage; with `change_default_group` it also makes the
new group the default. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable

from loyalsync.core.records import (
    AddValue,
    EnsureGroup,
    EnsureValue,
    RemoveValue,
    SetCustomerGroup,
    SetDefault,
    SlotOp,
    WriteOp,
)

GROUPS = "groups"


def slot_ops(op: WriteOp, *, unmanaged: Iterable[str], change_default: bool) -> list[SlotOp] | None:
    """The slot operations an old operation stands for; None when `op` is not an old one.
    `unmanaged`: group names a move never removes (built-in groups)."""
    if isinstance(op, EnsureGroup):
        return [EnsureValue(GROUPS, op.name)]
    if not isinstance(op, SetCustomerGroup):
        return None
    keep = set(unmanaged)
    out: list[SlotOp] = []
    if op.group is not None:
        out.append(AddValue(op.customer_id, GROUPS, op.group))
        if change_default:
            out.append(SetDefault(op.customer_id, GROUPS, op.group))
    if op.from_group and op.from_group != op.group and op.from_group not in keep:
        out.append(RemoveValue(op.customer_id, GROUPS, op.from_group))
    return out
