"""A daily segmentation run (kept order summary, kept signatures, only changes written) gives
the same stored membership, entry dates and change history as a fresh full run on the same
mirror with nothing kept (every order aggregated, the membership read row by row), day after
day of random pulls: new orders, cancellations, refunds, orders moved between customers,
guest orders and deleted customers."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from loyalsync.core.config import SegmentationConfig, ShopConfig
from loyalsync.core.mirror import Mirror
from loyalsync.core.mirror.order_summary import forget_order_summary, summary_answers
from loyalsync.core.records import Cursor
from loyalsync.core.synth import SynthSpec, generate_shop
from loyalsync.sync.segment import segment_shop
from tests.core.mirror.test_order_summary import AS_OF, SHOP, mutate

SHOP_CONFIG = ShopConfig(name=SHOP, platform="shopware", url="https://sum.example")


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    shop = generate_shop(SynthSpec(customers=300, seed=11, as_of=AS_OF))
    with Mirror.open(tmp_path / "daily.db") as m:
        m.save_page(SHOP, "customers", shop.customers, Cursor())
        m.save_page(SHOP, "orders", shop.orders, Cursor())
        yield m


def stored(mirror: Mirror) -> tuple[pd.DataFrame, pd.DataFrame]:
    members = mirror.frame(
        "SELECT customer_id, segment, since FROM segment_members WHERE shop = ? "
        "ORDER BY customer_id, segment",
        (SHOP,),
    )
    changes = mirror.frame(
        "SELECT customer_id, at, entered, exited FROM segment_changes WHERE shop = ? "
        "ORDER BY at, customer_id",
        (SHOP,),
    )
    return members, changes


def fresh_copy(mirror: Mirror, path: Path) -> Mirror:
    """The mirror as it is now, with nothing kept: the next run starts from scratch."""
    target = sqlite3.connect(path)
    mirror.conn.backup(target)
    target.close()
    copy = Mirror.open(path)
    forget_order_summary(copy, SHOP)
    return copy


@pytest.mark.parametrize("cfg", [SegmentationConfig(), SegmentationConfig(revenue="net")])
def test_daily_runs_equal_fresh_full_runs(
    mirror: Mirror, tmp_path: Path, cfg: SegmentationConfig
) -> None:
    rng = random.Random(20261207)
    segment_shop(mirror, SHOP_CONFIG, cfg, AS_OF)
    moved = 0
    for day in range(1, 5):
        mutate(mirror, rng, day)
        if day == 2:
            live = sorted(mirror.frame("SELECT id FROM customers", ())["id"])
            mirror.mark_deleted(SHOP, set(live) - set(rng.sample(live, 6)), AS_OF)
        at = AS_OF + timedelta(days=day)
        with fresh_copy(mirror, tmp_path / f"fresh-{day}.db") as fresh:
            full = segment_shop(fresh, SHOP_CONFIG, cfg, at)
            want = stored(fresh)
        daily = segment_shop(mirror, SHOP_CONFIG, cfg, at)
        assert summary_answers(mirror, SHOP, at), "the daily run read the kept summary"
        got = stored(mirror)
        pd.testing.assert_frame_equal(got[0], want[0])
        pd.testing.assert_frame_equal(got[1], want[1])
        assert (daily.entered, daily.exited) == (full.entered, full.exited)
        moved += daily.entered + daily.exited
    assert moved > 0, "the pulls moved customers between segments"
