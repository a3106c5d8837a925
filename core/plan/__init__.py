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

    model.py  inputs, the Plan and its limits, personal codes
    build.py  build_plan
"""

from loyalsync.core.plan.build import build_plan
from loyalsync.core.plan.model import (
    GUEST,
    PROTECTED,
    TOO_YOUNG,
    UNSUPPORTED,
    CodeNow,
    Current,
    CustomerNow,
    Everything,
    Plan,
    Rules,
    build_desired,
    change_limit,
    check_limits,
    op_dict,
    personal_code,
)

__all__ = [
    "GUEST",
    "PROTECTED",
    "TOO_YOUNG",
    "UNSUPPORTED",
    "CodeNow",
    "Current",
    "CustomerNow",
    "Everything",
    "Plan",
    "Rules",
    "build_desired",
    "build_plan",
    "change_limit",
    "check_limits",
    "op_dict",
    "personal_code",
]
