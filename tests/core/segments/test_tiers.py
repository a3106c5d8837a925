"""Loyalty tiers (adaptive thresholds, hysteresis), lifecycle, inactivity and geography."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from loyalsync.core.config import GeographyConfig, LifecycleConfig, LoyaltyConfig
from loyalsync.core.segments.geography import geography_columns, postcode_prefixes
from loyalsync.core.segments.inactivity import inactivity_buckets, validate_windows
from loyalsync.core.segments.lifecycle import lifecycle_stages, shop_interval
from loyalsync.core.segments.loyalty import loyalty_thresholds, loyalty_tiers, tier_levels
from tests.core.segments.frames import customer, summary

CFG = LoyaltyConfig()


def tiers(*orders: int, revenue: list[float] | None = None, **kw: object) -> list[object]:
    rev = revenue or [10.0 * n for n in orders]
    frame = summary(
        *(customer(f"c{i}", n, r) for i, (n, r) in enumerate(zip(orders, rev, strict=True)))
    )
    return list(loyalty_tiers(frame, kw.pop("cfg", CFG), kw.pop("previous", None)))  # type: ignore[arg-type]


def test_one_time_loyal_and_none() -> None:
    assert tiers(0, 1, 2) == [None, "one_time", "vip"]  # the only repeat buyer is its top 10%
    assert tiers(1, 1, 1) == ["one_time"] * 3  # all customers with one order


def test_thresholds_adapt_to_the_repeat_buyers() -> None:
    orders = np.array([1, 2, 2, 2, 2, 3, 3, 4, 10])
    t = loyalty_thresholds(orders, orders * 10.0, CFG)
    repeat = orders[orders >= 2].astype(float)
    assert t.repeat_buyers == 8
    assert math.isclose(t.frequent_orders, max(repeat.mean() + repeat.std(), 3))
    assert math.isclose(t.vip_orders, max(repeat.mean() + 2 * repeat.std(), 4))
    assert t.vip_revenue == 100.0  # k = ceil(0.1 * 8) = 1: the best repeat buyer


def test_floors_apply_when_the_base_is_uniform() -> None:
    t = loyalty_thresholds(np.array([2, 2, 2, 2]), np.array([5.0] * 4), CFG)
    assert (t.frequent_orders, t.vip_orders) == (3.0, 4.0)
    assert tiers(2, 2, 2, 2, revenue=[5.0] * 4) == ["vip"] * 4  # tied at the revenue bar
    no_top = LoyaltyConfig(vip_top_revenue_share=0.0)
    assert tiers(2, 2, 2, 2, revenue=[5.0] * 4, cfg=no_top) == ["loyal"] * 4


def test_frequent_and_vip_by_orders() -> None:
    cfg = LoyaltyConfig(vip_top_revenue_share=0.0)
    got = tiers(2, 2, 2, 2, 2, 2, 2, 2, 5, 30, cfg=cfg)
    assert got[:8] == ["loyal"] * 8
    # mean 5.1, sd 8.35: frequent above 13.45, vip above 21.8 orders
    assert got[8:] == ["loyal", "vip"]


def test_zero_revenue_repeat_buyers_are_not_vip_by_revenue() -> None:
    assert tiers(2, 2, revenue=[0.0, 0.0]) == ["loyal", "loyal"]


def test_hysteresis_keeps_a_tier_until_clearly_below() -> None:
    cfg = LoyaltyConfig(vip_top_revenue_share=0.0, hysteresis=0.10)
    base = [2] * 20
    # thresholds: frequent 3 orders (floor): 4 orders is frequent
    assert tiers(*base, 4, cfg=cfg)[-1] == "frequent"
    previous = pd.DataFrame({"customer_id": ["c20"], "segment": ["loyalty:frequent"]})
    # 3 orders is not above 3, but above 3 * 0.9: the previous tier holds
    assert tiers(*base, 3, cfg=cfg, previous=previous)[-1] == "frequent"
    assert tiers(*base, 3, cfg=cfg)[-1] == "loyal"
    # 2 orders is clearly below: the customer leaves
    assert tiers(*base, 2, cfg=cfg, previous=previous)[-1] == "loyal"
    # hysteresis never lifts anyone above their previous tier
    lower = pd.DataFrame({"customer_id": ["c20"], "segment": ["loyalty:loyal"]})
    assert tiers(*base, 3, cfg=cfg, previous=lower)[-1] == "loyal"


def test_tier_levels_are_monotone_in_the_thresholds() -> None:
    orders = np.array([1, 2, 3, 4, 5, 8])
    revenue = orders * 20.0
    low = loyalty_thresholds(orders, revenue, CFG)
    high = type(low)(low.frequent_orders + 2, low.vip_orders + 2, low.vip_revenue * 2, 5)
    assert np.all(tier_levels(orders, revenue, high) <= tier_levels(orders, revenue, low))


def test_lifecycle_by_own_rhythm() -> None:
    cfg = LifecycleConfig(default_interval_days=60)
    frame = summary(
        customer("new", 1, 10, first=10),
        customer("weekly_quiet", 10, 100, first=83, last=20),  # gap 7 days, silent 20
        customer("monthly_ok", 4, 40, first=110, last=20),  # gap 30 days, silent 20
        customer("one_timer", 1, 10, first=80),  # shop interval 60: 80 < 90 active
        customer("gone", 1, 10, first=400),
        customer("never"),
    )
    stages = lifecycle_stages(frame, cfg)
    assert list(stages) == ["new", "slipping", "active", "active", "lost", None]


def test_shop_interval_is_the_repeat_buyers_median() -> None:
    frame = summary(
        customer("a", 3, 1, first=40, last=0),
        customer("b", 2, 1, first=30, last=0),
        customer("c", 1, 1),
    )
    assert shop_interval(frame, LifecycleConfig()) == 25.0  # median of 20 and 30
    assert shop_interval(summary(customer("x", 1, 1)), LifecycleConfig()) == 90.0


def test_inactivity_buckets_take_the_longest_window_reached() -> None:
    windows = {"4w": 28, "3m": 91, "6m": 182}
    got = inactivity_buckets([0, 27.9, 28, 100, 182, 1000, np.nan], windows)
    assert list(got) == [None, None, "4w", "3m", "6m", "6m", None]
    assert list(inactivity_buckets([50.0], {})) == [None]
    assert validate_windows({"bad label": 0}) == [
        "inactivity.bad label: labels must be non-empty without ':' or blanks",
        "inactivity.bad label: days must be positive, got 0",
    ]


def test_geography_normalises_and_prefixes() -> None:
    frame = summary(
        customer("a", country="de", city="  Frankfurt   am Main ", postcode="80331"),
        customer("b", country=None, city="", postcode="1011 AB"),
        customer("c", country="AT", city="Wien", postcode="8"),
    )
    cols = geography_columns(frame, GeographyConfig(postcode_prefix_lengths=(1, 2)))
    as_dict = {}
    for family, values in cols:
        as_dict.setdefault(family, []).append(list(values))
    assert as_dict["country"] == [["DE", None, "AT"]]
    assert as_dict["city"] == [["Frankfurt am Main", None, "Wien"]]
    assert as_dict["postcode"] == [["8*", "1*", "8*"], ["80*", "10*", None]]
    assert list(postcode_prefixes(frame, 4)) == ["8033*", "1011*", None]
    no_city = geography_columns(frame, GeographyConfig(cities=False, postcode_prefix_lengths=()))
    assert [f for f, _ in no_city] == ["country"]
