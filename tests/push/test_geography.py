"""Address segments (country, city, postcode) in push mappings: segmentation never stores them,
so the push derives them at plan time for the segmented customers. Against each simulator over
real sockets, plus the pure derivation on literal frames."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from loyalsync.core.config import GeographyConfig, PushConfig, TagMapping
from loyalsync.core.plan import PROTECTED
from loyalsync.core.segments.geography import address_segments
from loyalsync.sync.push import plan_shop, push_shop
from tests.push.harness import AS_OF, PLATFORMS, PushShop, pull, set_members

COUNTRY = "CH"  # the synthetic shop has Swiss customers in and out of the protected group
SWISS = PushConfig(
    enabled=True,
    batch_size=25,
    max_changes=100_000,
    tag_prefix="ls:",
    tags=(TagMapping(f"country:{COUNTRY}", "swiss"),),
)


@pytest.fixture(params=sorted(PLATFORMS))
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PushShop]:
    with PLATFORMS[request.param](tmp_path) as started:
        pull(started)
        yield started


def tagged(shop: PushShop) -> set[str]:
    return {cid for cid in shop.customer_ids() if "ls:swiss" in shop.tags_of(cid)}


def test_a_country_tag_reaches_exactly_the_segmented_customers_of_that_country(
    shop: PushShop,
) -> None:
    ids = shop.customer_ids()
    swiss = [cid for cid in ids if shop.country_of(cid) == COUNTRY]
    protected = [cid for cid in swiss if shop.group_of(cid) == shop.protected_group]
    free = [cid for cid in swiss if cid not in protected]
    assert protected and len(free) > 3, "the synthetic shop needs Swiss customers of both kinds"
    assert len(swiss) < len(ids) / 2
    unsegmented = free[0]  # no stored membership (not segmented): not a member of anything
    # stored membership as segmentation writes it, for protected customers too (as with
    # include_protected: true), so the protection below is the planner's, not the input's
    members = {cid: {"abc:C"} for cid in ids if cid != unsegmented}
    set_members(shop, members, AS_OF)
    snapshots = {cid: shop.snapshot(cid) for cid in protected}
    expected = set(free) - {unsegmented}

    plan = plan_shop(shop.connector(), shop.mirror, shop.shop, shop.config(SWISS), as_of=AS_OF)
    assert {op.customer_id for op in plan.adds} == expected
    assert {(op.slot, op.value) for op in plan.adds} == {("tags", "ls:swiss")}
    assert not plan.sets and not plan.removes and not plan.codes
    assert {s.customer_id for s in plan.skipped if s.reason == PROTECTED} == set(protected)
    assert not plan.notes  # the segment has members: no "nobody is in it" note

    result = push_shop(shop.connector(), shop.mirror, shop.shop, shop.config(SWISS), as_of=AS_OF)
    assert result.failed == 0, result.failures[:3]
    assert tagged(shop) == expected
    assert {cid: shop.snapshot(cid) for cid in protected} == snapshots
    assert plan_shop(
        shop.connector(), shop.mirror, shop.shop, shop.config(SWISS), as_of=AS_OF
    ).is_empty

    # a customer who is no longer segmented loses the tag like any other segment's member
    gone = sorted(expected)[0]
    set_members(shop, {c: s for c, s in members.items() if c != gone}, AS_OF)
    later = AS_OF + timedelta(days=1)
    again = push_shop(shop.connector(), shop.mirror, shop.shop, shop.config(SWISS), as_of=later)
    assert again.failed == 0 and [op.customer_id for op in again.plan.removes] == [gone]
    assert tagged(shop) == expected - {gone}
    assert {cid: shop.snapshot(cid) for cid in protected} == snapshots


def test_addresses_are_read_only_when_a_mapping_names_an_address_segment(
    shop: PushShop,
) -> None:
    set_members(shop, {cid: {"abc:C"} for cid in shop.customer_ids()}, AS_OF)
    stored_only = PushConfig(enabled=True, tags=(TagMapping("abc:C", "c"),))
    statements: list[str] = []
    shop.mirror.conn.set_trace_callback(statements.append)
    try:
        plan_shop(shop.connector(), shop.mirror, shop.shop, shop.config(stored_only), as_of=AS_OF)
        assert statements and not [s for s in statements if "postcode" in s]
        plan_shop(shop.connector(), shop.mirror, shop.shop, shop.config(SWISS), as_of=AS_OF)
        assert [s for s in statements if "postcode" in s]
    finally:
        shop.mirror.conn.set_trace_callback(None)


# -- the derivation (pure) ---------------------------------------------------------------------


def test_address_segments_are_the_engines_values_for_the_named_segments_only() -> None:
    addresses = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "country": [" at", "AT", "DE", None, "CH"],
            "city": ["Wien", " Bad  Tölz ", "Berlin", None, "Zürich"],
            "postcode": ["1010", "83646", "10 115", "8", None],
        }
    )
    wanted = [
        "country:AT",
        "city:Bad Tölz",
        "postcode:1*",
        "postcode:10*",
        "postcode:8*",
        "country:FR",
    ]
    found = address_segments(addresses, GeographyConfig(postcode_prefix_lengths=(1, 2)), wanted)
    assert found == {
        "a": {"country:AT", "postcode:1*", "postcode:10*"},
        "b": {"country:AT", "city:Bad Tölz", "postcode:8*"},
        "c": {"postcode:1*", "postcode:10*"},  # blanks dropped, as the engine does
        "d": {"postcode:8*"},
    }
    off = GeographyConfig(postcode_prefix_lengths=(2,), cities=False)
    assert address_segments(addresses, off, ["city:Wien", "postcode:1*"]) == {}
    assert address_segments(addresses.iloc[:0], GeographyConfig(), ["country:AT"]) == {}
