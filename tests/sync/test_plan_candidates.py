"""Planning reads only the customers a plan can touch (`load_plan_current`): the plan is the
same as one built from every customer of the shop, on random mirrors with managed, unmanaged,
prefixed, unknown and protected values, deleted customers, codes in every status and
customers who want nothing; and on the day after a push the shop accepted, when most
customers are settled (they hold what they want) and only the busy ones are read
(`busy_customers`), on every platform's slots."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from loyalsync.connectors.jtl.platform import SLOTS as JTL_SLOTS
from loyalsync.connectors.prestashop.spec import SLOTS as PRESTASHOP_SLOTS
from loyalsync.connectors.shopware.platform import SLOTS
from loyalsync.core.config import (
    Config,
    DiscountCampaign,
    GroupMapping,
    PushConfig,
    ShopConfig,
    TagMapping,
    ValueMapping,
)
from loyalsync.core.mirror import (
    Mirror,
    db_time,
    expire_codes,
    load_push_overview,
    load_push_state,
    load_value_holders,
    save_planned_codes,
    save_push_results,
)
from loyalsync.core.plan import (
    Rules,
    build_desired,
    build_plan,
    managed_pairs,
    plan_candidates,
)
from loyalsync.core.records import (
    GROUPS,
    TAGS,
    Cursor,
    CustomerRecord,
    IssueCode,
    OpResult,
    OrderRecord,
    Slot,
    SlotValue,
    memberships,
)
from loyalsync.sync.push import build_current, load_plan_current, load_plan_members

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
SEGMENTS = ("loyalty:vip", "loyalty:frequent", "rfm_segment:champions", "lifecycle:slipping",
            "abc:A", "abc:B", "inactive:3m")  # fmt: skip
GROUP_VALUES = {"g-std": "Standard", "g-vip": "VIP (auto)", "g-freq": "Frequent (auto)",
                "g-b2b": "B2B"}  # fmt: skip
TAG_VALUES = {"t-champ": "ls:champions", "t-old": "ls:retired", "t-hand": "handmade",
              "t-slip": "ls:slipping"}  # fmt: skip


def push_config() -> PushConfig:
    return PushConfig(
        enabled=True,
        groups=(
            GroupMapping("loyalty:vip", "VIP (auto)"),
            GroupMapping("loyalty:frequent", "Frequent (auto)"),
        ),
        tags=(
            TagMapping("rfm_segment:champions", "champions"),
            TagMapping("lifecycle:slipping", "slipping"),
            TagMapping("loyalty:nobody", "never"),
        ),
        discounts=(DiscountCampaign("winback", "lifecycle:slipping", percent=10),),
    )


CATEGORY_VALUES = {"k-top": "Top (auto)", "k-own": "Own category"}


def fill(mirror: Mirror, rng: random.Random, n: int) -> None:
    values = [SlotValue(GROUPS, i, name) for i, name in GROUP_VALUES.items()]
    values += [SlotValue(TAGS, i, name) for i, name in TAG_VALUES.items()]
    values += [SlotValue("categories", i, name) for i, name in CATEGORY_VALUES.items()]
    mirror.replace_values("s", values, defaults=[(GROUPS, "g-std")])
    people, orders = [], []
    for i in range(n):
        group = rng.choice([*GROUP_VALUES, "g-unknown", None])
        tags = rng.sample([*TAG_VALUES, "ls:champions"], rng.randrange(3))  # an id as a name
        created = AS_OF - timedelta(days=rng.randrange(60)) if rng.random() < 0.9 else None
        people.append(
            CustomerRecord(
                f"c{i:03d}", f"c{i}@example.com", number=f"N{i}", created_at=created,
                is_guest=rng.random() < 0.1,
                memberships=memberships(
                    groups=group, tags=tags,
                    categories=rng.sample([*CATEGORY_VALUES], rng.randrange(2)),
                    label=rng.choice([None, "VIP label", "own label"]),
                ),
            )
        )  # fmt: skip
        for k in range(rng.randrange(3)):
            placed = AS_OF - timedelta(days=rng.randrange(90))
            orders.append(
                OrderRecord(
                    f"o{i}-{k}", None, f"c{i:03d}", None, placed, "completed",
                    rng.random() < 0.8, 10.0, 8.0, "EUR", 10.0, 8.0,
                )
            )  # fmt: skip
    mirror.save_page("s", "customers", people, Cursor())
    mirror.save_page("s", "orders", orders, Cursor())
    with mirror.transaction() as conn:
        gone = [(db_time(AS_OF), f"c{i:03d}") for i in range(n) if rng.random() < 0.1]
        conn.executemany("UPDATE customers SET deleted_at = ? WHERE shop = 's' AND id = ?", gone)
        rows = [
            ("s", f"c{i:03d}", s, db_time(AS_OF))
            for i in range(n + 5)
            for s in SEGMENTS
            if rng.random() < 0.15
        ]  # fmt: skip  (ids past n: members without a row)
        conn.executemany("INSERT INTO segment_members VALUES (?, ?, ?, ?)", rows)
    coded = rng.sample(range(n), n // 8)
    codes = [("winback", f"c{i:03d}", f"WB-{i}", AS_OF - timedelta(days=rng.randrange(40)),
              AS_OF + timedelta(days=rng.randrange(-20, 20))) for i in coded]  # fmt: skip
    save_planned_codes(mirror, "s", codes, run_id=None)
    sent = [OpResult(IssueCode("winback", c, code), ok=True) for _, c, code, _, _ in codes[::2]]
    save_push_results(mirror, "s", sent)


@pytest.mark.parametrize("seed", range(6))
def test_plan_from_candidates_equals_plan_from_everybody(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    push = push_config()
    shop = ShopConfig(name="s", platform="shopware", url="http://s", protected_groups=("B2B",))
    config = Config(shops=(shop,), push=push)
    rules = Rules(shop="s", protected_groups=frozenset({"B2B"}), min_age_days=rng.choice([0, 30]),
                  code_secret="k")  # fmt: skip
    with Mirror.open(tmp_path / "m.db") as mirror:
        fill(mirror, rng, 150)
        desired = build_desired(load_plan_members(mirror, "s", config), push)
        everybody = build_current(load_push_state(mirror, "s"))
        some = load_plan_current(mirror, "s", config, desired, slots=SLOTS, as_of=AS_OF)
    assert some.total == len(everybody.customers)
    assert 0 < len(some.customers) < len(everybody.customers)  # the point: fewer read
    plan = build_plan(desired, everybody, as_of=AS_OF, push=push, slots=SLOTS, rules=rules)
    assert plan.ops  # a plan worth comparing
    again = build_plan(desired, some, as_of=AS_OF, push=push, slots=SLOTS, rules=rules)
    assert again == plan
    assert again.to_dict() == plan.to_dict()


def test_plan_members_keep_only_referenced_segments(tmp_path: Path) -> None:
    """The desired state (and the empty-segment notes) from the referenced segments alone
    equal those from every stored segment."""
    from loyalsync.core.mirror import load_push_members

    push = push_config()
    config = Config(shops=(ShopConfig(name="s", platform="shopware", url="http://s"),), push=push)
    with Mirror.open(tmp_path / "m.db") as mirror:
        fill(mirror, random.Random(9), 80)
        full = build_desired(load_push_members(mirror, "s"), push)
        kept = build_desired(load_plan_members(mirror, "s", config), push)
    assert kept.customers == full.customers
    referenced = {name for _, name in push.segment_references()}
    assert kept.segments == full.segments & referenced
    assert "loyalty:nobody" not in kept.segments


PLATFORMS = {"shopware": SLOTS, "prestashop": PRESTASHOP_SLOTS, "jtl": JTL_SLOTS}


def slot_config(default_managed: bool = False) -> PushConfig:
    """push_config with the slots JTL declares besides groups (categories, a label); with
    `default_managed` a mapping names the groups' default value too."""
    base = push_config()
    if default_managed:
        base = PushConfig(
            groups=(*base.groups, GroupMapping("abc:A", "Standard")), tags=base.tags,
            discounts=base.discounts,
        )  # fmt: skip
    slots = {
        "categories": (ValueMapping("rfm_segment:champions", "Top (auto)"),),
        "label": (ValueMapping("loyalty:vip", "VIP label"),),
    }
    return PushConfig(
        enabled=True, groups=base.groups, tags=base.tags, discounts=base.discounts, slots=slots
    )


def accept(mirror: Mirror, plan: object) -> None:
    """Record `plan` as a push the shop accepted in full."""
    new = [(c.campaign, c.customer_id, c.code, c.issued_at, c.valid_until)
           for c in plan.new_codes]  # type: ignore[attr-defined]  # fmt: skip
    save_planned_codes(mirror, "s", new, run_id=None)
    save_push_results(mirror, "s", [OpResult(op, ok=True) for op in plan.ops])  # type: ignore[attr-defined]


HAND_MADE = (
    (GROUPS, "g-b2b"), (GROUPS, "g-vip"), (GROUPS, "g-std"), (TAGS, "t-champ"),
    ("categories", "k-own"), ("label", "own label"),
)  # fmt: skip


def disturb(mirror: Mirror, rng: random.Random, n: int) -> None:
    """The days after: segments entered and left, an admin's hand in groups, tags and
    categories (a second row in a one-value slot too), a planned code left behind."""
    with mirror.transaction() as conn:
        for i in rng.sample(range(n), n // 10):
            cid = f"c{i:03d}"
            segment = rng.choice(SEGMENTS)
            conn.execute(
                "DELETE FROM segment_members WHERE shop = 's' AND customer_id = ? AND segment = ?",
                (cid, segment),
            )
            if rng.random() < 0.5:
                conn.execute(
                    "INSERT INTO segment_members VALUES ('s', ?, ?, ?)", (cid, segment, AS_OF)
                )
        for i in rng.sample(range(n), n // 10):
            slot, value = rng.choice(HAND_MADE)
            if rng.random() < 0.5:
                conn.execute(
                    "INSERT OR IGNORE INTO memberships (shop, customer_id, slot, value) "
                    "VALUES ('s', ?, ?, ?)",
                    (f"c{i:03d}", slot, value),
                )
            else:
                conn.execute(
                    "DELETE FROM memberships WHERE shop = 's' AND customer_id = ? AND slot = ?",
                    (f"c{i:03d}", slot),
                )
    late = [("winback", f"c{i:03d}", f"WB-late-{i}", AS_OF, None) for i in range(0, n, 37)]
    save_planned_codes(mirror, "s", late, run_id=None)


@pytest.mark.parametrize(
    ("platform", "seed", "default_managed"),
    [*((p, seed, False) for p in sorted(PLATFORMS) for seed in range(4)),
     ("shopware", 0, True), ("jtl", 1, True)],
)  # fmt: skip
def test_the_plan_after_an_accepted_push_reads_only_busy_customers(
    tmp_path: Path, platform: str, seed: int, default_managed: bool
) -> None:
    rng = random.Random(100 + seed)
    slots: tuple[Slot, ...] = PLATFORMS[platform]
    push = slot_config(default_managed)
    shop = ShopConfig(name="s", platform=platform, url="http://s", protected_groups=("B2B",))
    config = Config(shops=(shop,), push=push)
    rules = Rules(shop="s", protected_groups=frozenset({"B2B"}), min_age_days=rng.choice([0, 30]),
                  code_secret="k")  # fmt: skip
    n = 200
    with Mirror.open(tmp_path / "m.db") as mirror:
        fill(mirror, rng, n)
        desired = build_desired(load_plan_members(mirror, "s", config), push)
        first = build_plan(desired, build_current(load_push_state(mirror, "s")), as_of=AS_OF,
                           push=push, slots=slots, rules=rules)  # fmt: skip
        accept(mirror, first)
        disturb(mirror, rng, n)
        later = AS_OF + timedelta(days=rng.choice([1, 20, 45]))
        expire_codes(mirror, "s", later)
        desired = build_desired(load_plan_members(mirror, "s", config), push)
        everybody = build_current(load_push_state(mirror, "s"))
        some = load_plan_current(mirror, "s", config, desired, slots=slots, as_of=later)
        overview = load_push_overview(mirror, "s")
        values = {slot: {} for slot, *_ in overview["values"]}
        for slot, vid, name, _ in overview["values"]:
            values[slot][vid] = name
        holders = load_value_holders(mirror, "s", managed_pairs(push, values, overview["held"]))
        candidates = plan_candidates(desired, {r[0] for r in holders}, overview["coded"])
    plan = build_plan(desired, everybody, as_of=later, push=push, slots=slots, rules=rules)
    assert plan.ops or plan.skipped  # a plan worth comparing
    again = build_plan(desired, some, as_of=later, push=push, slots=slots, rules=rules)
    assert again.to_dict() == plan.to_dict()
    assert again == plan
    assert some.total == len(everybody.customers)
    named = {op.customer_id for op in plan.ops if hasattr(op, "customer_id")}
    named |= {skip.customer_id for skip in plan.skipped}
    if default_managed:  # anybody may go back to the default: every candidate is read
        assert set(some.customers) == set(candidates) & set(everybody.customers)
        return
    # the point: of the candidates, nearly only those the plan writes to or skips are read
    assert len(set(some.customers) - named) <= n // 20 < len(set(candidates) - named)


@pytest.mark.parametrize("seed", range(3))
def test_desired_from_kept_signatures_equals_desired_from_membership_rows(
    tmp_path: Path, seed: int
) -> None:
    """The plan's desired state read from the kept signatures (one row per customer) equals
    the one built from the membership rows, and a stale or absent kept state is not used."""
    from loyalsync.core.mirror import load_kept_signatures
    from loyalsync.core.mirror.order_summary import refresh_signatures
    from loyalsync.sync.push import load_plan_desired

    push = push_config()
    config = Config(shops=(ShopConfig(name="s", platform="shopware", url="http://s"),), push=push)
    with Mirror.open(tmp_path / "m.db") as mirror:
        fill(mirror, random.Random(seed), 120)
        rows = build_desired(load_plan_members(mirror, "s", config), push)
        assert load_kept_signatures(mirror, "s") is None  # never built: the rows are read
        assert load_plan_desired(mirror, "s", config) == rows
        refresh_signatures(mirror, "s")
        assert load_kept_signatures(mirror, "s") is not None
        assert load_plan_desired(mirror, "s", config) == rows
        with mirror.transaction() as conn:  # another path changes membership: stale
            conn.execute("DELETE FROM segment_members WHERE shop = 's' AND segment = 'loyalty:vip'")
        assert load_kept_signatures(mirror, "s") is None
        fewer = build_desired(load_plan_members(mirror, "s", config), push)
        assert fewer != rows
        assert load_plan_desired(mirror, "s", config) == fewer
    assert rows.customers and "loyalty:nobody" not in rows.segments
