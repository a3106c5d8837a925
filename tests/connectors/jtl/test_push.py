"""Pushing to JTL-Wawi through the real planner and push (sync.push) against the simulator:
a segment's customers move into a created group, protected customers stay untouched, no Wawi
workflow fires by default (and does when the shop turns the protection off), a second push
writes nothing, and tags and discount codes are reported unsupported in plain words."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from loyalsync.core.config import (
    Config,
    DiscountCampaign,
    GroupMapping,
    PushConfig,
    SegmentationConfig,
    TagMapping,
    ValueMapping,
)
from loyalsync.core.mirror import Mirror
from loyalsync.core.plan.model import KEPT, PROTECTED
from loyalsync.sync.pull import pull_entity, refresh_state
from loyalsync.sync.push import plan_shop, push_shop
from tests.contract.jtl_harness import AS_OF, JtlHarness
from tests.push.harness import set_members

VIP = PushConfig(enabled=True, max_changes=100_000, groups=(GroupMapping("abc:A", "VIP (auto)"),))


class JtlPushShop:
    def __init__(self, harness: JtlHarness, mirror: Mirror) -> None:
        self.h, self.mirror = harness, mirror
        self.shop = replace(harness.shop, protected_groups=("B2B / Händler",))

    def connector(self) -> Any:
        from loyalsync.connectors import build_connector

        return build_connector(self.shop, sleep=self.h.sleeps.append, now=self.h.clock)

    def config(self, push: PushConfig) -> Config:
        seg = replace(SegmentationConfig(), min_age_days=0)
        return Config(shops=(self.shop,), push=push, segmentation=seg)

    def group_of(self, cid: str) -> str:
        gid = str(self.h.sim.customers[cid]["CustomerGroupId"])
        return str(self.h.sim.store.groups[gid]["Name"])

    def pull(self) -> None:
        connector = self.connector()
        refresh_state(connector, self.mirror, self.shop.name)
        for entity in ("customers", "orders"):
            pull_entity(connector, self.mirror, self.shop.name, entity)


def _shop(tmp_path: Path, **options: Any) -> Iterator[JtlPushShop]:
    harness = JtlHarness(customers=150, options=options)
    mirror = Mirror.open(tmp_path / "m.db")
    try:
        shop = JtlPushShop(harness, mirror)
        shop.pull()
        yield shop
    finally:
        mirror.close()
        harness.close()


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[JtlPushShop]:
    yield from _shop(tmp_path)


def test_a_group_push_moves_the_segment_spares_the_protected_and_fires_no_workflow(
    shop: JtlPushShop,
) -> None:
    ids = sorted(shop.h.sim.customers, key=int)
    protected = [c for c in ids if shop.group_of(c) == "B2B / Händler"]
    members = {cid: {"abc:A"} for cid in ids[:40]} | {cid: {"abc:A"} for cid in protected}
    set_members(shop, members, AS_OF)
    before = {cid: dict(shop.h.sim.customers[cid]) for cid in protected}

    result = push_shop(shop.connector(), shop.mirror, shop.shop, shop.config(VIP), as_of=AS_OF)

    assert result.failed == 0, result.failures[:3]
    moved = {c for c in ids if shop.group_of(c) == "VIP (auto)"}
    assert moved == set(ids[:40]) - set(protected)
    assert {s.customer_id for s in result.plan.skipped if s.reason == PROTECTED} >= set(protected)
    assert {cid: shop.h.sim.customers[cid] for cid in protected} == before
    assert shop.h.sim.workflow_log == [], "a Wawi workflow fired although disabled"
    patches = shop.h.sim.requests("", method="PATCH")
    assert patches and all("disableAutomaticWorkflows=true" in r.query for r in patches)
    new_group = next(g for g in shop.h.sim.store.groups.values() if g["Name"] == "VIP (auto)")
    assert new_group["Discount"] == 0 and new_group["IsDefault"] is False
    # the 201 answer carries the created group: the table is read before the create, not after
    groups = [r.method for r in shop.h.sim.requests("/customerGroups")]
    assert groups.count("POST") == 1 and "GET" not in groups[groups.index("POST") :], groups

    writes = len(shop.h.sim.write_log)
    shop.pull()
    later = AS_OF + timedelta(hours=1)
    again = push_shop(shop.connector(), shop.mirror, shop.shop, shop.config(VIP), as_of=later)
    assert again.plan.is_empty and again.applied == 0
    assert len(shop.h.sim.write_log) == writes, "the second push wrote again"


def test_with_workflows_enabled_wawi_fires_them_per_customer(tmp_path: Path) -> None:
    for shop in _shop(tmp_path, disable_workflows=False):
        ids = sorted((c for c in shop.h.sim.customers if shop.group_of(c) == "Endkunden"), key=int)
        set_members(shop, {cid: {"abc:A"} for cid in ids[:5]}, AS_OF)
        result = push_shop(shop.connector(), shop.mirror, shop.shop, shop.config(VIP), as_of=AS_OF)
        assert result.failed == 0
        assert sorted(e["customer"] for e in shop.h.sim.workflow_log) == sorted(ids[:5])
        assert any("workflows fire" in m for m in shop.connector().check().messages)


def test_tags_and_discount_codes_are_reported_unsupported(shop: JtlPushShop) -> None:
    ids = sorted(shop.h.sim.customers, key=int)
    set_members(shop, {cid: {"abc:A"} for cid in ids[:10]}, AS_OF)
    start = AS_OF
    push = replace(
        VIP,
        tags=(TagMapping("abc:A", "champions"),),
        discounts=(DiscountCampaign("winback", "abc:A", percent=10.0, code_prefix="WB"),),
    )
    plan = plan_shop(shop.connector(), shop.mirror, shop.shop, shop.config(push), as_of=start)
    words = " ".join(plan.unsupported)
    assert "tags" in words and "discount" in words, plan.unsupported
    assert not plan.codes and not plan.adds
    check = shop.connector().check()
    assert any("discount codes: not available" in m for m in check.messages)


# ---------------------------------------------------------------------------------------------
# Categories (a `many` slot with room for one) and the label custom field (a `one` slot),
# configured as push.slots

LABELS = PushConfig(
    enabled=True,
    max_changes=100_000,
    slots={
        "categories": (ValueMapping("abc:A", "ls:champions"), ValueMapping("abc:B", "ls:loyal")),
        "label": (ValueMapping("abc:A", "Champions"), ValueMapping("abc:B", "Loyal")),
    },
)


def category_of(shop: JtlPushShop, cid: str) -> str | None:
    found = str(shop.h.sim.customers[cid]["CustomerCategoryId"] or 0)
    return None if found == "0" else str(shop.h.sim.store.categories[found]["Name"])


def label_of(shop: JtlPushShop, cid: str) -> str | None:
    return shop.h.sim.store.field_values.get(cid, {}).get(9)  # field 9: "Segment" (text)


def test_categories_and_the_label_land_unmanaged_kept_protected_untouched_no_workflow(
    shop: JtlPushShop,
) -> None:
    ids = sorted(shop.h.sim.customers, key=int)
    protected = [c for c in ids if shop.group_of(c) == "B2B / Händler"]
    press = [c for c in ids if category_of(shop, c) == "Presse" and c not in protected]
    plain = [c for c in ids if category_of(shop, c) is None and c not in protected][:30]
    assert protected and press and plain
    chosen = [*plain, *press[:2], *protected[:3]]
    set_members(shop, {cid: {"abc:A"} for cid in chosen}, AS_OF)
    before = {cid: dict(shop.h.sim.customers[cid]) for cid in protected}

    result = push_shop(shop.connector(), shop.mirror, shop.shop, shop.config(LABELS), as_of=AS_OF)

    assert result.failed == 0, result.failures[:3]
    assert {c for c in ids if category_of(shop, c) == "ls:champions"} == set(plain)
    assert all(category_of(shop, c) == "Presse" for c in press), "an unmanaged category went"
    kept = {s.customer_id for s in result.plan.skipped if s.reason == KEPT}
    assert kept == set(press[:2])
    assert {c for c in ids if label_of(shop, c) == "Champions"} == set(plain) | set(press[:2])
    assert {cid: shop.h.sim.customers[cid] for cid in protected} == before
    assert not any(label_of(shop, c) for c in protected)
    assert shop.h.sim.workflow_log == [], "a Wawi workflow fired although disabled"
    patches = shop.h.sim.requests("", method="PATCH")
    assert patches and all("disableAutomaticWorkflows=true" in r.query for r in patches
                           if "/customfields/" not in r.path)  # fmt: skip

    writes = len(shop.h.sim.write_log)
    shop.pull()
    later = AS_OF + timedelta(hours=1)
    again = push_shop(shop.connector(), shop.mirror, shop.shop, shop.config(LABELS), as_of=later)
    assert again.plan.is_empty and again.applied == 0
    assert len(shop.h.sim.write_log) == writes, "the second push wrote again"


def test_a_move_between_managed_categories_and_out_clears_only_ours(shop: JtlPushShop) -> None:
    ids = sorted(shop.h.sim.customers, key=int)
    plain = [c for c in ids if category_of(shop, c) is None and shop.group_of(c) == "Endkunden"]
    a, b = plain[:2]
    set_members(shop, {a: {"abc:A"}, b: {"abc:A"}}, AS_OF)
    push_shop(shop.connector(), shop.mirror, shop.shop, shop.config(LABELS), as_of=AS_OF)
    assert (category_of(shop, a), label_of(shop, a)) == ("ls:champions", "Champions")

    shop.pull()
    set_members(shop, {a: {"abc:B"}}, AS_OF)  # a moves to B, b leaves every segment
    later = AS_OF + timedelta(hours=1)
    moved = push_shop(shop.connector(), shop.mirror, shop.shop, shop.config(LABELS), as_of=later)

    assert moved.failed == 0, moved.failures[:3]
    assert (category_of(shop, a), label_of(shop, a)) == ("ls:loyal", "Loyal")
    assert (category_of(shop, b), label_of(shop, b) or None) == (None, None)
    shop.pull()
    last = AS_OF + timedelta(hours=2)
    again = push_shop(shop.connector(), shop.mirror, shop.shop, shop.config(LABELS), as_of=last)
    assert again.plan.is_empty


def test_workflows_stay_quiet_for_category_and_label_writes_too(shop: JtlPushShop) -> None:
    ids = sorted((c for c in shop.h.sim.customers if shop.group_of(c) == "Endkunden"), key=int)
    set_members(shop, {cid: {"abc:B"} for cid in ids[:8]}, AS_OF)
    result = push_shop(shop.connector(), shop.mirror, shop.shop, shop.config(LABELS), as_of=AS_OF)
    assert result.failed == 0 and result.applied > 0
    assert shop.h.sim.workflow_log == []
