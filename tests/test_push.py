"""sync.push against each simulator over real sockets: groups, tags, codes, protection, crash
safety, max_changes, partial failures and the write counts of a repeated or steady-state push."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from loyalsync.core.config import DiscountCampaign, GroupMapping, PushConfig, TagMapping
from loyalsync.core.errors import PlanRejectedError
from loyalsync.core.records import OpResult, WriteOp
from loyalsync.sync.push import PushResult, plan_shop, push_shop
from tests.push.harness import AS_OF, PLATFORMS, PushShop, pull, set_members

VIP, FREQUENT = "VIP (auto)", "Frequent buyers (auto)"
PUSH = PushConfig(
    enabled=True,
    batch_size=25,
    max_changes=100_000,
    tag_prefix="ls:",
    groups=(GroupMapping("loyalty:vip", VIP), GroupMapping("loyalty:frequent", FREQUENT)),
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


@pytest.fixture(params=sorted(PLATFORMS))
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PushShop]:
    with PLATFORMS[request.param](tmp_path) as started:
        pull(started)
        yield started


def membership(shop: PushShop, salt: int = 0) -> dict[str, set[str]]:
    """Segments for every registered customer; protected customers are in all of them."""
    members: dict[str, set[str]] = {}
    for i, cid in enumerate(shop.customer_ids()):
        n = i + salt
        segs = {
            s
            for s, every in (
                ("loyalty:vip", 6),
                ("rfm_segment:champions", 5),
                ("lifecycle:slipping", 7),
            )
            if n % every == 0
        }
        if n % 4 == 1:
            segs.add("loyalty:frequent")
        if shop.group_of(cid) == shop.protected_group:
            segs |= {"loyalty:vip", "rfm_segment:champions", "lifecycle:slipping"}
        members[cid] = segs
    return members


def truth(shop: PushShop) -> dict[str, tuple[str, frozenset[str]]]:
    return {cid: (shop.group_of(cid), frozenset(shop.tags_of(cid))) for cid in shop.customer_ids()}


def expected(
    shop: PushShop,
    before: dict[str, tuple[str, frozenset[str]]],
    members: dict[str, set[str]],
    push: PushConfig = PUSH,
) -> dict[str, tuple[str, frozenset[str]]]:
    """The desired state, worked out independently of core.plan from the issue's rules."""
    managed = {m.group for m in push.groups}
    want = {}
    for cid, (group, tags) in before.items():
        if group == shop.protected_group:
            want[cid] = (group, tags)
            continue
        segs = members.get(cid, set())
        target = next((m.group for m in push.groups if m.segment in segs), None)
        if target is None:
            target = shop.default_group if group in managed else group
        mine = {push.tag_prefix + m.tag for m in push.tags if m.segment in segs}
        want[cid] = (
            target,
            frozenset({t for t in tags if not t.startswith(push.tag_prefix)} | mine),
        )
    return want


def push(
    shop: PushShop, connector: Any = None, push_cfg: PushConfig = PUSH, days: float = 0, **kw: Any
) -> PushResult:
    return push_shop(
        connector or shop.connector(),
        shop.mirror,
        shop.shop,
        shop.config(push_cfg),
        as_of=AS_OF + timedelta(days=days),
        **kw,
    )


def test_groups_tags_and_codes_reach_the_desired_state_and_a_second_push_writes_nothing(
    shop: PushShop,
) -> None:
    before = truth(shop)
    members = membership(shop)
    set_members(shop, members, AS_OF)
    result = push(shop)
    assert result.failed == 0, result.failures[:3]
    assert truth(shop) == expected(shop, before, members)
    assert shop.group_names().count(VIP) == 1 and shop.group_names().count(FREQUENT) == 1
    assert any(group == VIP for group, _ in truth(shop).values())
    # hand-made tags survive, managed ones are the only ones added
    for cid, (_, tags) in before.items():
        assert {t for t in tags if not t.startswith("ls:")} <= shop.tags_of(cid)
    # an immediate second plan is empty and a second push sends no write at all
    assert plan_shop(
        shop.connector(), shop.mirror, shop.shop, shop.config(PUSH), as_of=AS_OF
    ).is_empty
    requests, writes = shop.write_requests(), shop.writes()
    again = push(shop)
    assert (again.applied, again.batches) == (0, 0)
    assert (shop.write_requests(), shop.writes()) == (requests, writes)


def test_protected_customers_are_identical_before_and_after(shop: PushShop) -> None:
    protected = [cid for cid in shop.customer_ids() if shop.group_of(cid) == shop.protected_group]
    assert protected, "the synthetic shop needs B2B customers"
    snapshots = {cid: shop.snapshot(cid) for cid in protected}
    set_members(shop, membership(shop), AS_OF)
    push(shop)
    set_members(shop, membership(shop, salt=3), AS_OF)
    pull(shop)
    push(shop, days=1)
    assert {cid: shop.snapshot(cid) for cid in protected} == snapshots


def test_customers_leaving_a_segment_are_moved_back_and_untagged(shop: PushShop) -> None:
    before = truth(shop)
    first = membership(shop)
    hand_tagged = [c for c, (g, t) in before.items() if t and g != shop.protected_group][:4]
    assert hand_tagged, "the synthetic shop needs customers with hand-made tags"
    for cid in hand_tagged:  # tagged by us next to their hand-made tags, then untagged
        first[cid] = first[cid] | {"rfm_segment:champions"}
    set_members(shop, first, AS_OF)
    push(shop)
    after_first = truth(shop)
    later = membership(shop, salt=2)  # most customers change segments
    for cid in hand_tagged:
        later[cid] = later[cid] - {"rfm_segment:champions"}
    set_members(shop, later, AS_OF)
    pull(shop)  # the mirror as the shop now has it, then plan against it
    push(shop, days=1)
    assert truth(shop) == expected(shop, after_first, later)
    left_vip = [
        cid for cid, (g, _) in after_first.items() if g == VIP and "loyalty:vip" not in later[cid]
    ]
    assert left_vip and all(shop.group_of(c) in (shop.default_group, FREQUENT) for c in left_vip)
    untagged = [
        cid
        for cid, (_, t) in after_first.items()
        if "ls:champions" in t and "rfm_segment:champions" not in later[cid]
    ]
    assert untagged and all("ls:champions" not in shop.tags_of(c) for c in untagged)
    hand = {cid: {t for t in tags if not t.startswith("ls:")} for cid, (_, tags) in before.items()}
    assert all(hand[cid] <= shop.tags_of(cid) for cid in hand)
    for cid in hand_tagged:
        assert "ls:champions" in after_first[cid][1] and "ls:champions" not in shop.tags_of(cid)
        assert hand[cid] and {t for t in shop.tags_of(cid) if not t.startswith("ls:")} == hand[cid]


def issued_codes(shop: PushShop) -> list[tuple[str, str, str]]:
    rows = shop.mirror.conn.execute(
        "SELECT customer_id, code, status FROM codes WHERE shop = ? AND campaign = 'winback'",
        (shop.shop.name,),
    ).fetchall()
    return sorted(rows)


def test_codes_are_issued_once_per_customer_across_runs(shop: PushShop) -> None:
    members = membership(shop)
    set_members(shop, members, AS_OF)
    for day in (0, 1, 10, 45):  # valid 30 days, cooldown 90
        if day:
            pull(shop)
        result = push(shop, days=day)
        assert result.failed == 0, result.failures[:3]
        assert {s for _, _, s in issued_codes(shop)} == {"issued" if day < 30 else "expired"}
    in_shop = shop.codes_of("winback")
    slipping = {
        c
        for c, s in members.items()
        if "lifecycle:slipping" in s and shop.group_of(c) != shop.protected_group
    }
    assert set(in_shop) == slipping
    assert all(len(codes) == 1 for codes in in_shop.values())
    mirrored = issued_codes(shop)
    assert [(c, code) for c, code, _ in mirrored] == sorted(
        (c, codes[0]) for c, codes in in_shop.items()
    )


def test_after_the_cooldown_a_member_gets_a_new_code(shop: PushShop) -> None:
    members = membership(shop)
    set_members(shop, members, AS_OF)
    push(shop)
    first = {c: code for c, code, _ in issued_codes(shop)}
    result = push(shop, days=100)  # the first codes expired, the cooldown (90 days) is over
    assert result.failed == 0, result.failures[:3]
    assert len(result.plan.codes) == len(first)
    in_shop = shop.codes_of("winback")
    assert all(len(codes) == 2 and first[c] in codes for c, codes in in_shop.items())


class Killed(Exception):
    """The process died: raised by the proxy below after N operations reached the shop."""


class KilledAfter:
    """The connector of a push that is killed after `n` write operations were sent."""

    def __init__(self, inner: Any, n: int) -> None:
        self.inner, self.left = inner, n
        self.platform, self.capabilities = inner.platform, inner.capabilities
        self.slots = inner.slots
        self.current_state = inner.current_state

    def apply(self, ops: Sequence[WriteOp]) -> list[OpResult]:
        if len(ops) <= self.left:
            self.left -= len(ops)
            return list(self.inner.apply(ops))
        if self.left:
            self.inner.apply(ops[: self.left])
        self.left = 0
        raise Killed(f"killed mid-batch after {len(ops)} operations were handed over")


@pytest.mark.parametrize("kill_after", [0, 1, 24, 90, 170])  # codes are the last ~27 of ~180
def test_a_killed_push_is_completed_by_the_next_without_duplicates(
    shop: PushShop, kill_after: int
) -> None:
    before = truth(shop)
    members = membership(shop)
    set_members(shop, members, AS_OF)
    total = len(
        plan_shop(shop.connector(), shop.mirror, shop.shop, shop.config(PUSH), as_of=AS_OF).ops
    )
    assert total > 170
    with pytest.raises(Killed):
        push(shop, KilledAfter(shop.connector(), kill_after))
    assert shop.mirror.runs(shop.shop.name, limit=1)[0]["outcome"] == "failed"
    result = push(shop, days=0.01)
    assert result.failed == 0, result.failures[:3]
    assert truth(shop) == expected(shop, before, members)
    assert len(shop.group_names()) == len(set(shop.group_names()))
    assert len(shop.tag_names()) == len(set(shop.tag_names()))
    in_shop = shop.codes_of("winback")
    assert all(len(codes) == 1 for codes in in_shop.values())
    assert len(issued_codes(shop)) == len(in_shop)
    requests, writes = shop.write_requests(), shop.writes()
    assert push(shop, days=0.02).applied == 0
    assert (shop.write_requests(), shop.writes()) == (requests, writes)


def test_max_changes_refuses_and_force_proceeds(shop: PushShop) -> None:
    set_members(shop, membership(shop), AS_OF)
    strict = PushConfig(**{**PUSH.__dict__, "max_changes": 0.05})
    writes = shop.writes()
    with pytest.raises(PlanRejectedError, match="max_changes"):
        push(shop, push_cfg=strict)
    assert shop.writes() == writes
    assert shop.mirror.runs(shop.shop.name, limit=1)[0]["outcome"] == "refused"
    assert issued_codes(shop) == []  # nothing recorded for a refused plan
    result = push(shop, push_cfg=strict, force=True)
    assert result.applied > 0 and result.failed == 0


def test_dry_run_shows_the_plan_and_sends_nothing(shop: PushShop) -> None:
    set_members(shop, membership(shop), AS_OF)
    requests = shop.write_requests()
    result = push(shop, dry_run=True)
    assert result.dry_run and result.run_id is None and not result.plan.is_empty
    assert result.plan == plan_shop(
        shop.connector(), shop.mirror, shop.shop, shop.config(PUSH), as_of=AS_OF
    )
    assert shop.write_requests() == requests and issued_codes(shop) == []


def test_rejected_writes_are_logged_and_the_run_goes_on(shop: PushShop) -> None:
    members = membership(shop)
    set_members(shop, members, AS_OF)
    gone = next(
        c
        for c, s in members.items()
        if "loyalty:vip" in s and shop.group_of(c) != shop.protected_group
    )
    shop.delete_customer(gone)  # deleted in the shop after the last pull
    too_long = PushConfig(
        **{**PUSH.__dict__, "tags": (*PUSH.tags, TagMapping("loyalty:vip", "x" * 300))}
    )
    result = push(shop, push_cfg=too_long)
    assert result.failed > 0 and result.applied > 0
    failed = dict(result.failures)
    assert any(key.startswith(f"customer:{gone}:") for key in failed)
    assert any("too long" in error for error in failed.values())  # the shop's own words
    run = shop.mirror.runs(shop.shop.name, limit=1)[0]
    assert run["outcome"] == "partial" and run["counts"]["failed"] == result.failed
    logged = shop.mirror.conn.execute(
        "SELECT COUNT(*), SUM(ok = 0), SUM(ok = 0 AND error IS NOT NULL) FROM _push_log WHERE run_id = ?",  # noqa: E501
        (result.run_id,),
    ).fetchone()
    assert logged == (len(result.plan.ops), result.failed, result.failed)
    assert "failed" in result.summary()


def test_steady_state_push_writes_in_proportion_to_the_changes(shop: PushShop) -> None:
    members = membership(shop)
    set_members(shop, members, AS_OF)
    push(shop)
    pull(shop)
    ids = [c for c in shop.customer_ids() if shop.group_of(c) != shop.protected_group]
    for cid in ids[: max(2, len(ids) // 100)]:  # about 1% change segment
        members[cid] = {"loyalty:vip", "rfm_segment:champions"} - members[cid]
    set_members(shop, members, AS_OF)
    requests = shop.write_requests()
    result = push(shop, days=1)
    changes = len(result.plan.ops)
    assert 0 < changes < 20
    assert shop.write_requests() - requests <= math.ceil(changes / PUSH.batch_size) + 1


# -- code statuses in the mirror (no shop needed) --------------------------------------------


def test_redemptions_from_pulled_orders_and_expiry_are_recorded(tmp_path: Path) -> None:
    from loyalsync.core.mirror import (
        Mirror,
        expire_codes,
        load_push_state,
        record_redemptions,
        save_planned_codes,
        save_push_results,
    )
    from loyalsync.core.records import Cursor, CustomerRecord, IssueCode, OrderRecord
    from loyalsync.sync.push import build_current

    with Mirror.open(tmp_path / "m.db") as mirror:
        people = [
            CustomerRecord(f"c{i}", f"c{i}@example.com", created_at=AS_OF - timedelta(days=400))
            for i in range(3)
        ]
        mirror.save_page("s", "customers", people, Cursor())
        start, until = AS_OF - timedelta(days=40), AS_OF - timedelta(days=10)
        codes = [("winback", f"c{i}", f"WB-CODE{i}", start, until) for i in range(3)]
        save_planned_codes(mirror, "s", codes, run_id=None)
        save_push_results(
            mirror,
            "s",
            [OpResult(IssueCode("winback", c, code), ok=True) for _, c, code, _, _ in codes[:2]],
        )
        order = OrderRecord(
            "o1",
            "1001",
            "c0",
            "c0@example.com",
            AS_OF - timedelta(days=20),
            "completed",
            True,
            50.0,
            42.0,
            "EUR",
            50.0,
            42.0,
            codes=("wb-code0",),
        )
        mirror.save_page("s", "orders", [order], Cursor())
        assert record_redemptions(mirror, "s") == 1
        assert expire_codes(mirror, "s", AS_OF) == 1  # c1; c0 was redeemed, c2 never confirmed
        assert record_redemptions(mirror, "s") == 0  # idempotent
        rows = mirror.conn.execute(
            "SELECT customer_id, status, redeemed_order_id, redeemed_at FROM codes ORDER BY 1"
        ).fetchall()
        assert rows == [
            ("c0", "redeemed", "o1", "2026-10-12T00:00:00.000000Z"),
            ("c1", "expired", None, None),
            ("c2", "planned", None, None),
        ]
        current = build_current(load_push_state(mirror, "s"))
        assert [(c.customer_id, c.status) for c in current.codes] == [
            ("c0", "redeemed"),
            ("c1", "expired"),
            ("c2", "planned"),
        ]
