"""core.plan with literal data: groups, tags, codes, protection, age, limits, order, idempotence."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalsync.core.config import DiscountCampaign, GroupMapping, PushConfig, TagMapping
from loyalsync.core.errors import PlanRejectedError
from loyalsync.core.plan import (
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
    build_plan,
    change_limit,
    check_limits,
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
)

NOW = datetime(2026, 11, 1, tzinfo=UTC)
OLD = NOW - timedelta(days=400)
PUSH = PushConfig(
    enabled=True,
    max_changes=1000,
    tag_prefix="ls:",
    groups=(
        GroupMapping("loyalty:vip", "VIP (auto)"),
        GroupMapping("loyalty:frequent", "Frequent (auto)"),
    ),
    tags=(
        TagMapping("rfm_segment:champions", "champions"),
        TagMapping("lifecycle:slipping", "slipping"),
    ),
    discounts=(
        DiscountCampaign(
            "winback",
            "lifecycle:slipping",
            percent=10,
            valid_days=30,
            cooldown_days=90,
            code_prefix="WB",
        ),
    ),
)
GROUPS = {"g-default": "Standard", "g-b2b": "B2B", "g-vip": "VIP (auto)", "g-hand": "Friends"}
RULES = Rules(shop="s1", platform="shopware", protected_groups=frozenset({"B2B"}), min_age_days=14)


def customer(
    cid: str, group: str = "g-default", tags: tuple[str, ...] = (), **kw: object
) -> CustomerNow:
    base: dict[str, object] = {"born": OLD, "number": f"N-{cid}", "email": f"{cid}@example.com"}
    base.update(kw)
    return CustomerNow(cid, group, frozenset(tags), **base)  # type: ignore[arg-type]


def current(*customers: CustomerNow, codes: tuple[CodeNow, ...] = (), **kw: object) -> Current:
    base: dict[str, object] = {
        "groups": GROUPS,
        "default_group_id": "g-default",
        "tags": frozenset({"newsletter", "ls:champions", "ls:slipping", "ls:old-mapping"}),
    }
    base.update(kw)
    return Current({c.id: c for c in customers}, codes=codes, **base)  # type: ignore[arg-type]


def plan_for(members: dict[str, set[str]], now: Current, **kw: object) -> Plan:
    opts: dict[str, object] = {"as_of": NOW, "push": PUSH, "rules": RULES}
    opts.update(kw)
    return build_plan(build_desired(members, PUSH), now, **opts)  # type: ignore[arg-type]


# -- groups ------------------------------------------------------------------------------------


def test_first_matching_mapping_decides_and_missing_groups_are_created() -> None:
    plan = plan_for(
        {"a": {"loyalty:frequent", "loyalty:vip"}, "b": {"loyalty:frequent"}},
        current(customer("a"), customer("b"), customer("c")),
    )
    assert plan.groups_to_create == ["Frequent (auto)"]  # "VIP (auto)" exists already
    assert plan.moves == (
        SetCustomerGroup("a", "VIP (auto)", "Standard"),
        SetCustomerGroup("b", "Frequent (auto)", "Standard"),
    )


def test_leavers_return_to_default_only_from_managed_groups() -> None:
    plan = plan_for(
        {},
        current(customer("in-vip", "g-vip"), customer("friend", "g-hand"), customer("std")),
    )
    assert plan.moves == (SetCustomerGroup("in-vip", None, "VIP (auto)"),)


def test_members_already_in_place_need_nothing() -> None:
    plan = plan_for({"a": {"loyalty:vip"}}, current(customer("a", "g-vip")))
    assert plan.moves == ()
    assert plan.changed_customers == 0


def test_protected_customers_are_never_touched() -> None:
    now = current(
        customer("by-name", "g-b2b", ("ls:old-mapping", "newsletter")),
        customer("by-id", "g-b2b"),
        customer("ok"),
    )
    rules = replace(RULES, protected_groups=frozenset({"B2B", "g-b2b"}))
    members = {
        cid: {"loyalty:vip", "rfm_segment:champions", "lifecycle:slipping"}
        for cid in ("by-name", "by-id", "ok")
    }
    plan = plan_for(members, now, rules=rules)
    touched = {op.customer_id for op in plan.ops if hasattr(op, "customer_id")}
    assert touched == {"ok"}
    assert {(s.customer_id, s.reason) for s in plan.skipped} == {
        ("by-name", PROTECTED),
        ("by-id", PROTECTED),
    }


def test_too_young_customers_are_not_moved_into_managed_groups_but_tagged() -> None:
    young = customer("young", born=NOW - timedelta(days=3))
    unknown = customer("unknown", born=None)
    plan = plan_for(
        {"young": {"loyalty:vip", "rfm_segment:champions"}, "unknown": {"loyalty:vip"}},
        current(young, unknown),
    )
    assert plan.moves == ()
    assert plan.tag_adds == (AddTag("young", "ls:champions"),)
    assert {(s.customer_id, s.reason) for s in plan.skipped} == {
        ("young", TOO_YOUNG),
        ("unknown", TOO_YOUNG),
    }


# -- tags --------------------------------------------------------------------------------------


def test_tags_added_on_entry_removed_on_exit_and_hand_made_tags_kept() -> None:
    now = current(
        customer("enter", tags=("newsletter",)),
        customer("leave", tags=("newsletter", "ls:champions", "ls:old-mapping", "VIP-hand")),
    )
    plan = plan_for({"enter": {"rfm_segment:champions"}}, now)
    assert plan.tag_adds == (AddTag("enter", "ls:champions"),)
    assert plan.tag_removes == (
        RemoveTag("leave", "ls:champions"),
        RemoveTag("leave", "ls:old-mapping"),  # our prefix, mapping gone from the config
    )
    removed = {op.tag for op in plan.tag_removes}
    assert not removed & {"newsletter", "VIP-hand"}


def test_without_prefix_only_configured_tags_are_removed() -> None:
    push = replace(PUSH, tag_prefix="")
    now = current(customer("a", tags=("champions", "newsletter", "slipping-by-hand")))
    plan = build_plan(build_desired({}, push), now, as_of=NOW, push=push, rules=RULES)
    assert plan.tag_removes == (RemoveTag("a", "champions"),)


def test_missing_managed_tags_are_created() -> None:
    plan = plan_for({}, current(customer("a"), tags=frozenset({"ls:champions"})))
    assert [op for op in plan.ensures if isinstance(op, EnsureTag)] == [EnsureTag("ls:slipping")]


# -- codes -------------------------------------------------------------------------------------


def test_members_get_one_deterministic_code_and_the_campaign_is_ensured() -> None:
    plan = plan_for({"a": {"lifecycle:slipping"}}, current(customer("a")))
    code = personal_code("WB", "s1", "winback", "a", 0)
    assert plan.codes == (IssueCode("winback", "a", code, "N-a", "a@example.com"),)
    assert code.startswith("WB-") and len(code) == 13
    assert plan.new_codes[0].valid_until == NOW + timedelta(days=30)
    campaign = next(op for op in plan.ensures if isinstance(op, EnsureCampaign))
    assert (campaign.valid_from, campaign.valid_until) == (NOW, NOW + timedelta(days=30))
    again = plan_for({"a": {"lifecycle:slipping"}}, current(customer("a")))
    assert again == plan


def issued(cid: str, days_ago: int, status: str = "issued", valid_days: int = 30) -> CodeNow:
    at = NOW - timedelta(days=days_ago)
    return CodeNow(
        "winback", cid, f"WB-{cid}-{days_ago}", status, at, at + timedelta(days=valid_days)
    )


@pytest.mark.parametrize(
    ("history", "expect_new"),
    [
        ((issued("a", 10),), False),  # valid and unused
        ((issued("a", 60, "expired"),), False),  # expired but inside the cooldown
        ((issued("a", 60, "redeemed"),), False),
        ((issued("a", 100, "expired"),), True),  # cooldown over
        ((issued("a", 100, "redeemed"),), True),
        ((issued("a", 100, "issued", valid_days=365),), False),  # still holds a valid code
    ],
)
def test_cooldown_and_valid_codes_block_a_second_code(
    history: tuple[CodeNow, ...], expect_new: bool
) -> None:
    plan = plan_for({"a": {"lifecycle:slipping"}}, current(customer("a"), codes=history))
    assert bool(plan.codes) is expect_new
    if expect_new:  # the next serial: never the string of an earlier code
        assert plan.codes[0].code == personal_code("WB", "s1", "winback", "a", 1)


def test_planned_codes_are_resent_unchanged_even_after_leaving_the_segment() -> None:
    pending = CodeNow(
        "winback", "a", "WB-RECORDED", "planned", NOW - timedelta(days=1), NOW + timedelta(days=29)
    )
    plan = plan_for({}, current(customer("a"), codes=(pending,)))
    assert [c.code for c in plan.codes] == ["WB-RECORDED"]
    assert plan.new_codes == ()  # already recorded
    campaign = next(op for op in plan.ensures if isinstance(op, EnsureCampaign))
    assert campaign.valid_from == pending.issued_at.replace(microsecond=0)


def test_guests_and_protected_customers_get_no_code() -> None:
    now = current(customer("guest", is_guest=True), customer("b2b", "g-b2b"))
    plan = plan_for({"guest": {"lifecycle:slipping"}, "b2b": {"lifecycle:slipping"}}, now)
    assert plan.codes == ()
    assert {(s.customer_id, s.reason) for s in plan.skipped} == {
        ("guest", GUEST),
        ("b2b", PROTECTED),
    }


def test_a_code_clash_takes_the_next_serial() -> None:
    taken = personal_code("WB", "s1", "winback", "a", 0)
    other = CodeNow("winback", "zz", taken, "issued", NOW - timedelta(days=1), NOW)
    plan = plan_for({"a": {"lifecycle:slipping"}}, current(customer("a"), codes=(other,)))
    assert plan.codes[0].code == personal_code("WB", "s1", "winback", "a", 1)


# -- capabilities, limits, order ---------------------------------------------------------------


def test_what_the_platform_cannot_do_is_said_in_plain_words() -> None:
    can = Everything(tags=False, personal_codes=False)
    plan = plan_for(
        {"a": {"loyalty:vip", "rfm_segment:champions", "lifecycle:slipping"}},
        current(customer("a")),
        rules=replace(RULES, platform="prestashop"),
        can=can,
    )
    assert plan.tag_adds == () and plan.codes == () and plan.new_codes == ()
    assert not any(isinstance(op, EnsureTag | EnsureCampaign) for op in plan.ensures)
    assert plan.moves == (SetCustomerGroup("a", "VIP (auto)", "Standard"),)
    assert plan.unsupported == (
        "prestashop cannot set customer tags, so push.tags is ignored for this shop: "
        "2 changes for 1 customer not planned",
        "prestashop cannot set personal discount codes, so push.discounts is ignored for this "
        "shop: 1 change for 1 customer not planned",
    )
    assert {s.reason for s in plan.skipped} == {UNSUPPORTED}


def test_segments_nobody_is_in_are_noted() -> None:
    plan = plan_for({"a": {"loyalty:vip"}}, current(customer("a")))
    assert "push.tags: no customer is in segment 'rfm_segment:champions'" in plan.notes


@pytest.mark.parametrize(
    ("max_changes", "customers", "limit"), [(0.25, 10, 3), (0.25, 8, 2), (5, 1000, 5), (1, 3, 1)]
)
def test_change_limit(max_changes: float, customers: int, limit: int) -> None:
    assert change_limit(max_changes, customers) == limit


def test_max_changes_refuses_unless_forced() -> None:
    now = current(*(customer(f"c{i}") for i in range(10)))
    members = {f"c{i}": {"loyalty:vip"} for i in range(4)}
    plan = plan_for(members, now, push=replace(PUSH, max_changes=0.3))
    assert (plan.changed_customers, plan.limit, plan.over_limit) == (4, 3, True)
    with pytest.raises(PlanRejectedError, match=r"changes 4 of 10 customers.*\(3\).*--force"):
        check_limits(plan)
    check_limits(plan, force=True)
    check_limits(plan_for(members, now, push=replace(PUSH, max_changes=0.4)))


def test_order_is_deterministic_and_safe() -> None:
    customers = [customer(f"c{i:02d}", tags=("ls:champions",) if i % 3 else ()) for i in range(30)]
    members = {f"c{i:02d}": {"loyalty:vip", "lifecycle:slipping"} for i in range(0, 30, 2)}
    plans = []
    for seed in range(3):
        random.Random(seed).shuffle(customers)
        shuffled = dict(random.Random(seed).sample(sorted(members.items()), len(members)))
        plans.append(plan_for(shuffled, current(*customers)))
    assert plans[0] == plans[1] == plans[2]
    kinds = [type(op) for op in plans[0].ops]
    order = [EnsureGroup, EnsureTag, EnsureCampaign, SetCustomerGroup, AddTag, RemoveTag, IssueCode]
    assert kinds == sorted(kinds, key=order.index)
    json.dumps(plans[0].to_dict())  # --json output is plain data


# -- re-applying an applied plan is a no-op ----------------------------------------------------


def applied(plan: Plan, now: Current) -> Current:
    """A faithful fake of the shop (and the mirror's view) after every op of `plan` succeeded."""
    names = {name: gid for gid, name in now.groups.items()}
    groups, tags = dict(now.groups), set(now.tags)
    for op in plan.ensures:
        if isinstance(op, EnsureGroup):
            groups[f"g-{op.name}"] = op.name
            names[op.name] = f"g-{op.name}"
        elif isinstance(op, EnsureTag):
            tags.add(op.name)
    people = dict(now.customers)
    for move in plan.moves:
        target = names[move.group] if move.group else now.default_group_id
        people[move.customer_id] = replace(people[move.customer_id], group_id=target)
    for add in plan.tag_adds:
        c = people[add.customer_id]
        people[add.customer_id] = replace(c, tags=c.tags | {add.tag})
    for remove in plan.tag_removes:
        c = people[remove.customer_id]
        people[remove.customer_id] = replace(c, tags=c.tags - {remove.tag})
    sent = {(c.campaign, c.customer_id, c.code) for c in plan.codes}
    codes = tuple(
        replace(c, status="issued") if (c.campaign, c.customer_id, c.code) in sent else c
        for c in (*now.codes, *plan.new_codes)
    )
    return replace(now, customers=people, groups=groups, tags=frozenset(tags), codes=codes)


SEGMENTS = [
    "loyalty:vip",
    "loyalty:frequent",
    "rfm_segment:champions",
    "lifecycle:slipping",
    "abc:A",
]
TAGS = ["newsletter", "ls:champions", "ls:slipping", "ls:stale", "hand"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(GROUPS)),
            st.frozensets(st.sampled_from(TAGS)),
            st.frozensets(st.sampled_from(SEGMENTS)),
            st.integers(0, 40),
        ),
        max_size=12,
    )
)
def test_second_plan_after_applying_is_empty(
    rows: list[tuple[str, frozenset[str], frozenset[str], int]],
) -> None:
    people = [
        customer(f"c{i}", g, tuple(t), born=NOW - timedelta(days=age))
        for i, (g, t, _, age) in enumerate(rows)
    ]
    members = {f"c{i}": set(segs) for i, (_, _, segs, _) in enumerate(rows)}
    now = current(*people)
    first = plan_for(members, now)
    second = plan_for(members, applied(first, now))
    assert second.is_empty, second.to_dict()
    b2b = {c.id for c in people if c.group_id == "g-b2b"}
    assert not {getattr(op, "customer_id", None) for op in first.ops} & b2b
    for op in first.tag_removes:
        assert op.tag.startswith("ls:")
