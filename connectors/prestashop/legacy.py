"""Bridge from the old one-group write operations to PrestaShop's `groups` slot operations.

Today's planner still emits `EnsureGroup` and `SetCustomerGroup(customer, group, from)`; the
connector is written against the slot operations (`EnsureValue`, `AddValue`, `RemoveValue`,
`SetDefault`). This module is the only place that knows the old ones: delete it (and its one
call in writer.py) once core/plan speaks slots.

The old operation does not say which groups are managed, and on PrestaShop a customer keeps
every group we do not manage. So: a return (`group` None) removes the group it names (the old
planner emits it only for managed groups); a move adds the new group and removes the other
groups known to be managed - every group named as a target or ensured through this connector -
never a built-in group and never a group only seen as `from_group` (it may be hand-assigned).
With `change_default_group` a move also makes the new group the default. Pure.
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


def slot_ops(
    op: WriteOp, *, managed: set[str], unmanaged: Iterable[str], change_default: bool
) -> list[SlotOp] | None:
    """The slot operations an old operation stands for; None when `op` is not an old one.
    `managed` (updated here) holds the group names known to be managed; `unmanaged` the
    built-in group names a move never removes."""
    if isinstance(op, EnsureGroup):
        managed.add(op.name)
        return [EnsureValue(GROUPS, op.name)]
    if not isinstance(op, SetCustomerGroup):
        return None
    keep = set(unmanaged)
    out: list[SlotOp] = []
    if op.group is None:
        if op.from_group and op.from_group not in keep:
            out.append(RemoveValue(op.customer_id, GROUPS, op.from_group))
        return out
    managed.add(op.group)
    out.append(AddValue(op.customer_id, GROUPS, op.group))
    if change_default:
        out.append(SetDefault(op.customer_id, GROUPS, op.group))
    others = sorted(managed - keep - {op.group})
    out += [RemoveValue(op.customer_id, GROUPS, name) for name in others]
    return out
