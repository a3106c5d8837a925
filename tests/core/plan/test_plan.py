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
    AddValue,
    EnsureCampaign,
    EnsureValue,
    IssueCode,
    RemoveValue,
    SetValue,
    Slot,
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
RULES = Rules(
    shop="s1",
    platform="myshop",
    protected_groups=frozenset({"B2B"}),
    min_age_days=14,
    code_secret="test-secret",
)
# a platform with one customer group per customer (it drives prices) and any number of tags
SLOTS = (Slot("groups", "customer group", "one", prices=True), Slot("tags", "tag", "many"))
SHOP_TAGS = ("newsletter", "ls:champions", "ls:slipping", "ls:old-mapping")


def customer(
    cid: str, group: str | None = "g-default", tags: tuple[str, ...] = (), **kw: object
) -> CustomerNow:
    """Tags by name here; the mirror holds ids, which equal the names in these tests."""
    base: dict[str, object] = {"born": OLD, "number": f"N-{cid}", "email": f"{cid}@example.com"}
    base.update(kw)
    values = {"groups": frozenset({group} if group else ()), "tags": frozenset(tags)}
    return CustomerNow(cid, {k: v for k, v in values.items() if v}, **base)  # type: ignore[arg-type]


def current(
    *customers: CustomerNow,
    codes: tuple[CodeNow, ...] = (),
    tags: tuple[str, ...] | frozenset[str] = SHOP_TAGS,
) -> Current:
    values = {"groups": dict(GROUPS), "tags": {t: t for t in tags}}
    return Current({c.id: c for c in customers}, values, {"groups": "g-default"}, codes=codes)


def plan_for(members: dict[str, set[str]], now: Current, **kw: object) -> Plan:
    opts: dict[str, object] = {"as_of": NOW, "push": PUSH, "rules": RULES, "slots": SLOTS}
    opts.update(kw)
    desired = build_desired(members, opts["push"])  # type: ignore[arg-type]
    return build_plan(desired, now, **opts)  # type: ignore[arg-type]


def group_of(c: CustomerNow) -> str | None:
    return next(iter(c.of("groups")), None)


# -- groups ------------------------------------------------------------------------------------


def test_first_matching_mapping_decides_and_missing_groups_are_created() -> None:
    plan = plan_for(
        {"a": {"loyalty:frequent", "loyalty:vip"}, "b": {"loyalty:frequent"}},
        current(customer("a"), customer("b"), customer("c")),
    )
    assert plan.to_create("groups") == ["Frequent (auto)"]  # "VIP (auto)" exists already
    assert plan.sets == (
        SetValue("a", "groups", "VIP (auto)", "Standard"),
        SetValue("b", "groups", "Frequent (auto)", "Standard"),
    )


def test_leavers_return_to_default_only_from_managed_groups() -> None:
    plan = plan_for(
        {},
        current(customer("in-vip", "g-vip"), customer("friend", "g-hand"), customer("std")),
    )
    assert plan.sets == (SetValue("in-vip", "groups", None, "VIP (auto)"),)


def test_members_already_in_place_need_nothing() -> None:
    plan = plan_for({"a": {"loyalty:vip"}}, current(customer("a", "g-vip")))
    assert plan.sets == ()
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
    assert plan.sets == ()
    assert plan.adds == (AddValue("young", "tags", "ls:champions"),)
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
    assert plan.adds == (AddValue("enter", "tags", "ls:champions"),)
    assert plan.removes == (
        RemoveValue("leave", "tags", "ls:champions"),
        RemoveValue("leave", "tags", "ls:old-mapping"),  # our prefix, mapping gone from the config
    )
    removed = {op.value for op in plan.removes}
    assert not removed & {"newsletter", "VIP-hand"}


def test_without_prefix_only_configured_tags_are_removed() -> None:
    push = replace(PUSH, tag_prefix="")
    now = current(customer("a", tags=("champions", "newsletter", "slipping-by-hand")))
    plan = build_plan(build_desired({}, push), now, as_of=NOW, push=push, rules=RULES, slots=SLOTS)
    assert plan.removes == (RemoveValue("a", "tags", "champions"),)


def test_missing_managed_tags_are_created() -> None:
    plan = plan_for({}, current(customer("a"), tags=frozenset({"ls:champions"})))
    assert plan.to_create("tags") == ["ls:slipping"]
    assert [op for op in plan.ensures if isinstance(op, EnsureValue)] == [
        EnsureValue("groups", "Frequent (auto)"),
        EnsureValue("tags", "ls:slipping"),
    ]


# -- codes -------------------------------------------------------------------------------------


def test_members_get_one_deterministic_code_and_the_campaign_is_ensured() -> None:
    plan = plan_for({"a": {"lifecycle:slipping"}}, current(customer("a")))
    code = personal_code("WB", "test-secret", "winback", "a", 0)
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
        assert plan.codes[0].code == personal_code("WB", "test-secret", "winback", "a", 1)


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
    taken = personal_code("WB", "test-secret", "winback", "a", 0)
    other = CodeNow("winback", "zz", taken, "issued", NOW - timedelta(days=1), NOW)
    plan = plan_for({"a": {"lifecycle:slipping"}}, current(customer("a"), codes=(other,)))
    assert plan.codes[0].code == personal_code("WB", "test-secret", "winback", "a", 1)


# -- capabilities, limits, order ---------------------------------------------------------------


def test_what_the_platform_cannot_do_is_said_in_plain_words() -> None:
    """A platform without a `tags` slot and without personal codes."""
    plan = plan_for(
        {"a": {"loyalty:vip", "rfm_segment:champions", "lifecycle:slipping"}},
        current(customer("a")),
        rules=replace(RULES, platform="othershop"),
        can=Everything(personal_codes=False),
        slots=SLOTS[:1],
    )
    assert plan.adds == () and plan.codes == () and plan.new_codes == ()
    assert not any(
        isinstance(op, EnsureCampaign) or getattr(op, "slot", "") == "tags" for op in plan.ensures
    )
    assert plan.sets == (SetValue("a", "groups", "VIP (auto)", "Standard"),)
    assert plan.unsupported == (
        "othershop cannot set customer tags, so push.tags is ignored for this shop: "
        "2 changes for 1 customer not planned",
        "othershop cannot set personal discount codes, so push.discounts is ignored for this "
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
    order = [EnsureValue, EnsureCampaign, SetValue, AddValue, RemoveValue, IssueCode]
    assert kinds == sorted(kinds, key=order.index)
    ensured = [op.slot for op in plans[0].ensures if isinstance(op, EnsureValue)]
    assert ensured == sorted(ensured, key=["groups", "tags"].index)  # slots in declared order
    json.dumps(plans[0].to_dict())  # --json output is plain data


# -- re-applying an applied plan is a no-op ----------------------------------------------------


def applied(plan: Plan, now: Current) -> Current:
    """A faithful fake of the shop (and the mirror's view) after every op of `plan` succeeded."""
    values = {slot: dict(v) for slot, v in now.values.items()}
    for op in plan.ensures:
        if isinstance(op, EnsureValue):
            vid = f"g-{op.name}" if op.slot == "groups" else op.name
            values.setdefault(op.slot, {})[vid] = op.name
    ids = {slot: {name: vid for vid, name in v.items()} for slot, v in values.items()}
    people = {cid: {k: set(v) for k, v in c.values.items()} for cid, c in now.customers.items()}
    for s in plan.sets:
        target = ids[s.slot][s.value] if s.value else now.defaults[s.slot]
        people[s.customer_id][s.slot] = {target}
    for add in plan.adds:
        people[add.customer_id].setdefault(add.slot, set()).add(ids[add.slot][add.value])
    for remove in plan.removes:
        people[remove.customer_id][remove.slot].discard(
            ids[remove.slot].get(remove.value, remove.value)
        )
    customers = {
        cid: replace(now.customers[cid], values={k: frozenset(v) for k, v in held.items()})
        for cid, held in people.items()
    }
    sent = {(c.campaign, c.customer_id, c.code) for c in plan.codes}
    codes = tuple(
        replace(c, status="issued") if (c.campaign, c.customer_id, c.code) in sent else c
        for c in (*now.codes, *plan.new_codes)
    )
    return replace(now, customers=customers, values=values, codes=codes)


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
    b2b = {c.id for c in people if group_of(c) == "g-b2b"}
    assert not {getattr(op, "customer_id", None) for op in first.ops} & b2b
    for op in first.removes:
        assert op.value.startswith("ls:")


# -- a `many` group slot (a customer in several groups at once) ------------------------------

MANY = (Slot("groups", "customer group", "many", prices=True, has_default=True),)


def many(cid: str, *groups: str, **kw: object) -> CustomerNow:
    base: dict[str, object] = {"born": OLD, "number": f"N-{cid}", "email": f"{cid}@example.com"}
    base.update(kw)
    return CustomerNow(cid, {"groups": frozenset(groups)}, **base)  # type: ignore[arg-type]


def test_a_many_group_slot_adds_and_removes_only_managed_groups() -> None:
    """With `groups_mode: all` every mapping that applies is added (not just the first),
    managed groups that no longer apply are removed, and the customer's other groups stay."""
    now = current(
        many("a", "g-default", "g-hand", "g-vip"),
        many("b", "g-default"),
        many("c", "g-vip", "g-hand"),
    )
    members = {"a": {"loyalty:frequent"}, "b": {"loyalty:vip", "loyalty:frequent"}}
    push = replace(PUSH, tags=(), discounts=(), groups_mode="all")
    plan = plan_for(members, now, slots=MANY, push=push)
    assert plan.sets == ()
    assert plan.adds == (
        AddValue("a", "groups", "Frequent (auto)"),
        AddValue("b", "groups", "Frequent (auto)"),
        AddValue("b", "groups", "VIP (auto)"),
    )
    assert plan.removes == (
        RemoveValue("a", "groups", "VIP (auto)"),
        RemoveValue("c", "groups", "VIP (auto)"),
    )
    assert plan.to_create("groups") == ["Frequent (auto)"]
    assert plan.counts["groups_added"] == 3 and plan.counts["groups_removed"] == 2


def test_by_default_the_first_matching_segment_decides_in_a_many_slot_too() -> None:
    """`groups_mode: first` (the default): one managed group per customer, the first mapping
    that applies; another managed group they hold is removed, their other groups stay."""
    now = current(many("a", "g-default", "g-hand", "g-vip"), many("b", "g-default"))
    both = {"loyalty:vip", "loyalty:frequent"}
    members = {"a": {"loyalty:frequent"}, "b": both}
    plan = plan_for(members, now, slots=MANY, push=replace(PUSH, tags=(), discounts=()))
    assert plan.adds == (
        AddValue("a", "groups", "Frequent (auto)"),
        AddValue("b", "groups", "VIP (auto)"),
    )
    assert plan.removes == (RemoveValue("a", "groups", "VIP (auto)"),)
    members = {"a": both, "b": both}  # VIP comes first in push.groups
    plan = plan_for(members, now, slots=MANY, push=replace(PUSH, tags=(), discounts=()))
    assert plan.adds == (AddValue("b", "groups", "VIP (auto)"),) and plan.removes == ()


def test_a_protected_value_in_a_many_slot_keeps_the_customer_unmodified() -> None:
    """B2B is one of several groups: the customer is still never modified (no group added
    or removed, no code)."""
    now = current(many("b2b", "g-default", "g-b2b", "g-vip"), many("ok", "g-default"))
    members = {cid: {"loyalty:frequent", "lifecycle:slipping"} for cid in ("b2b", "ok")}
    plan = plan_for(members, now, slots=MANY)
    assert {op.customer_id for op in plan.ops if hasattr(op, "customer_id")} == {"ok"}
    assert [(s.customer_id, s.reason, s.detail) for s in plan.skipped if s.reason == PROTECTED] == [
        ("b2b", PROTECTED, "in protected customer group 'B2B'")
    ]


def test_too_young_customers_get_no_managed_group_in_a_many_slot() -> None:
    now = current(many("young", "g-default", "g-vip", born=NOW - timedelta(days=2)))
    plan = plan_for({"young": {"loyalty:frequent"}}, now, slots=MANY)
    assert plan.adds == ()
    assert plan.removes == (RemoveValue("young", "groups", "VIP (auto)"),)
    assert [s.reason for s in plan.skipped] == [TOO_YOUNG]
