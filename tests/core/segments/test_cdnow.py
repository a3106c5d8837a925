"""Sanity of the segments on real purchases: the CDNOW transactions as of 1998-07-01.

23,570 customers who first bought in the first quarter of 1997, followed for 18 months: most
bought once or twice, and the revenue is concentrated, but far less than a '20% make 80%' rule
of thumb would say. Bench figures: bench/bench_segments.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from loyalsync.core.config import SegmentationConfig, ShopConfig
from loyalsync.core.segments.abc import share_of_customers_for
from loyalsync.sync.segment import SegmentResult, segment_shop
from tests.core.segments.cdnow import CDNOW_AS_OF, SHOP, load_cdnow_mirror

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SegmentResult]:
    path = Path(tmp_path_factory.mktemp("cdnow")) / "cdnow.db"
    with load_cdnow_mirror(path) as mirror:
        shop = ShopConfig(name=SHOP, platform="shopware", url="https://cdnow.example")
        yield segment_shop(mirror, shop, SegmentationConfig(), CDNOW_AS_OF)


def sizes(result: SegmentResult, family: str) -> pd.Series:
    frame = result.sizes[result.sizes["family"] == family]
    return frame.set_index("segment")["customers"]


def test_everyone_is_segmented(result: SegmentResult) -> None:
    assert result.customers == 23_570
    assert sizes(result, "abc").sum() == 23_570
    assert sizes(result, "loyalty").sum() == 23_570  # every CDNOW customer bought


def test_revenue_concentration_is_real_not_a_rule_of_thumb(result: SegmentResult) -> None:
    top = share_of_customers_for(result.summary["revenue"], 0.80)
    assert 0.20 < top < 0.45  # about a third of the customers make 80% of the revenue
    a_share = sizes(result, "abc")["abc:A"] / result.customers
    assert abs(a_share - top) < 0.01
    assert sizes(result, "abc")["abc:C"] > sizes(result, "abc")["abc:B"] * 0.5


def test_most_customers_bought_once_and_are_long_gone(result: SegmentResult) -> None:
    loyalty = sizes(result, "loyalty") / result.customers
    assert 0.40 < loyalty["loyalty:one_time"] < 0.60
    assert loyalty["loyalty:vip"] < 0.15
    inactive = sizes(result, "inactive") / result.customers
    assert inactive["inactive:6m"] > 0.6  # the cohort was acquired 15-18 months before
    lifecycle = sizes(result, "lifecycle") / result.customers
    assert "lifecycle:new" not in lifecycle.index  # nobody's first order is recent
    assert lifecycle["lifecycle:lost"] > 0.5


def test_rfm_names_are_all_used(result: SegmentResult) -> None:
    named = sizes(result, "rfm_segment")
    assert len(named) >= 7
    assert named.idxmax() in {"rfm_segment:lost", "rfm_segment:hibernating"}
    assert sizes(result, "rfm").sum() == result.customers
