"""The shop's clock is not ours: every connector's cursors follow the shop's own data.

A shop whose clock runs 13 months behind ours (a VM with a wrong date, a container with a bad
clock) lost every change after a backfill when cursors came from our clock; one running 30
minutes ahead must not lose or endlessly re-read either. For every registered platform: back
fill, change customers and add orders in the simulator (stamped by the shop's clock), pull:
every edit and every new order arrives, through the real orchestration (`pull_shop`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from loyalsync.connectors.base import Page
from loyalsync.core.mirror import Mirror, UpsertCounts
from loyalsync.sync.pull import pull_shop
from tests.contract.harness import Harness, ids_in_pages
from tests.contract.platforms import PLATFORMS

OFFSETS = {"13 months behind": -timedelta(days=396), "30 minutes ahead": timedelta(minutes=30)}
MirrorFactory = Callable[..., Mirror]


@pytest.fixture(params=[(p, o) for p in sorted(PLATFORMS) for o in OFFSETS], ids=" / ".join)
def skewed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    platform, offset = request.param
    with PLATFORMS[platform](tmp_path, clock_offset=OFFSETS[offset]) as started:
        yield started


def pulled(harness: Harness, mirror: Mirror, *, backfill: bool) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {"customers": set(), "orders": set()}

    def collect(entity: str, page: Page, counts: UpsertCounts) -> None:
        seen[entity].update(ids_in_pages([page]))

    pull_shop(harness.connector(), mirror, harness.shop, backfill=backfill, on_page=collect)
    return seen


def test_after_a_backfill_the_next_pull_sees_every_edit_and_new_order(
    skewed: Harness, mirror_factory: MirrorFactory
) -> None:
    mirror = mirror_factory()
    pulled(skewed, mirror, backfill=True)
    edited = skewed.touch_customers(26 / 300, seed=5)
    added = skewed.add_orders(13, seed=6)
    assert len(edited) >= 20 and len(added) == 13

    seen = pulled(skewed, mirror, backfill=False)

    assert edited <= seen["customers"], f"{len(edited - seen['customers'])} edits lost"
    assert added <= seen["orders"], f"{len(added - seen['orders'])} new orders lost"
    assert mirror.count("orders", skewed.shop.name) == len(skewed.order_ids())
    # the window keeps following the shop: a second round is seen as well
    edited = skewed.touch_customers(0.05, seed=7)
    added = skewed.add_orders(3, seed=8)
    seen = pulled(skewed, mirror, backfill=False)
    assert edited <= seen["customers"] and added <= seen["orders"]


def test_incremental_pulls_alone_follow_the_shop(
    skewed: Harness, mirror_factory: MirrorFactory
) -> None:
    mirror = mirror_factory()
    pulled(skewed, mirror, backfill=False)
    edited = skewed.touch_customers(0.05, seed=9)
    added = skewed.add_orders(5, seed=10)
    seen = pulled(skewed, mirror, backfill=False)
    assert edited <= seen["customers"] and added <= seen["orders"]
    assert len(seen["customers"]) < len(skewed.customer_ids()) / 2, "not a full re-read"
