"""Desired segment memberships vs the shop as mirrored -> a frozen, sorted Plan of writes.

Owns the rules of what a push changes in a shop (issues 5 and 12), per membership slot the
platform declares (`core.records.Slot`; `push.groups` addresses the slot `groups`, `push.tags`
the slot `tags`): in a `one` slot the first matching mapping wins and customers matching none
go back to the slot's default only from a managed value; in a `many` slot every managed value
that applies is added and managed values that no longer apply are removed (`push.tag_prefix`:
values in that namespace are ours too); values no mapping manages are never touched. Personal
discount codes (one per member, none within `cooldown_days`, none while
an unused one is still valid), protected values (`protected_groups`, in the slots that drive
prices: a customer holding one is never modified, in any slot), `min_age_days` (nobody younger
gets a managed value in a slot that drives prices; tags and codes still apply) and
`max_changes`. Pure: plain data in, plain data out, the clock arrives as `as_of`; no I/O.

Codes are deterministic (`personal_code`): the n-th code of a customer in a campaign is always
the same string, and `sync/push.py` records it before sending, so a retried or resumed push
never gives anybody a second code.

    model.py    inputs (slot mappings, Want, Current), the Plan and its limits, personal codes
    build.py    build_plan: the per-slot diff
    protect.py  which slots protected values live in; the check that each names a value
"""

from loyalsync.core.plan.build import build_plan, busy_customers
from loyalsync.core.plan.model import (
    GUEST,
    PROTECTED,
    TOO_YOUNG,
    UNSUPPORTED,
    CodeNow,
    Current,
    CustomerNow,
    Desired,
    Everything,
    Plan,
    Rules,
    SlotMapping,
    Want,
    build_desired,
    change_limit,
    check_limits,
    desired_from_signatures,
    managed_pairs,
    op_dict,
    personal_code,
    plan_candidates,
    slot_mappings,
)

__all__ = [
    "GUEST",
    "PROTECTED",
    "TOO_YOUNG",
    "UNSUPPORTED",
    "CodeNow",
    "Current",
    "CustomerNow",
    "Desired",
    "Everything",
    "Plan",
    "Rules",
    "SlotMapping",
    "Want",
    "build_desired",
    "build_plan",
    "busy_customers",
    "change_limit",
    "check_limits",
    "desired_from_signatures",
    "managed_pairs",
    "op_dict",
    "personal_code",
    "plan_candidates",
    "slot_mappings",
]
