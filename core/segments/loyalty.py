"""Loyalty tiers (`loyalty:one_time|loyal|frequent|vip`) with thresholds that adapt to the base.

one_time: exactly one valid order. loyal: at least two. Among the repeat buyers (two or more
orders) with mean order count mu and population standard deviation sd:

    frequent  orders > max(mu + frequent_sd * sd, frequent_min_orders)
    vip       orders > max(mu + vip_sd * sd, vip_min_orders), or revenue at least the revenue of
              the k-th best repeat buyer, k = ceil(vip_top_revenue_share * repeat buyers)

So the bar rises as the base buys more, and customers move between tiers as the base changes.
Hysteresis: a customer who held a higher tier before this run (`previous`) keeps it while still
above (1 - hysteresis) times its thresholds, so nobody flaps between groups day to day. Pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from loyalsync.core.segments.keys import positions
from loyalsync.core.segments.settings import LoyaltyConfig

TIERS = ("one_time", "loyal", "frequent", "vip")
NONE, ONE_TIME, LOYAL, FREQUENT, VIP = -1, 0, 1, 2, 3


@dataclass(frozen=True)
class Thresholds:
    """Orders must exceed `frequent_orders` / `vip_orders`; revenue must reach `vip_revenue`."""

    frequent_orders: float
    vip_orders: float
    vip_revenue: float
    repeat_buyers: int


def loyalty_thresholds(orders: np.ndarray, revenue: np.ndarray, cfg: LoyaltyConfig) -> Thresholds:
    """The adaptive thresholds for this base (see the module docstring)."""
    repeat = orders >= 2
    counts = orders[repeat].astype(float)
    mean = float(counts.mean()) if len(counts) else 0.0
    sd = float(counts.std()) if len(counts) else 0.0
    frequent = max(mean + cfg.frequent_sd * sd, cfg.frequent_min_orders)
    vip = max(mean + cfg.vip_sd * sd, cfg.vip_min_orders)
    vip_revenue = math.inf
    if len(counts) and cfg.vip_top_revenue_share > 0:
        k = max(1, math.ceil(cfg.vip_top_revenue_share * len(counts)))
        best = np.sort(revenue[repeat].astype(float))[::-1]
        vip_revenue = max(float(best[min(k, len(best)) - 1]), np.nextafter(0.0, 1.0))
    return Thresholds(frequent, vip, vip_revenue, int(repeat.sum()))


def tier_levels(
    orders: np.ndarray, revenue: np.ndarray, t: Thresholds, margin: float = 0.0
) -> np.ndarray:
    """Tier level per customer (-1 none, 0 one_time .. 3 vip); thresholds scaled by 1 - margin."""
    keep = 1.0 - margin
    level = np.full(len(orders), NONE, dtype=np.int8)
    level[orders == 1] = ONE_TIME
    repeat = orders >= 2
    level[repeat] = LOYAL
    level[repeat & (orders > t.frequent_orders * keep)] = FREQUENT
    rich = (revenue >= t.vip_revenue * keep) & (revenue > 0)
    level[repeat & ((orders > t.vip_orders * keep) | rich)] = VIP
    return level


def previous_levels(customer_ids: pd.Series, previous: pd.DataFrame | None) -> np.ndarray:
    """Tier level each customer held before this run (-1 if none), from stored membership."""
    if previous is None or previous.empty:
        return np.full(len(customer_ids), NONE, dtype=np.int8)
    level_of = {f"loyalty:{name}": i for i, name in enumerate(TIERS)}
    held = previous["segment"].astype(str).map(level_of).fillna(NONE).to_numpy().astype(np.int8)
    at = positions(customer_ids, previous["customer_id"])
    out = np.full(len(customer_ids), NONE, dtype=np.int8)
    np.maximum.at(out, at[at >= 0], held[at >= 0])
    return out


def loyalty_tiers(
    summary: pd.DataFrame, cfg: LoyaltyConfig, previous: pd.DataFrame | None = None
) -> np.ndarray:
    """Tier name per customer (object array, None without orders), with hysteresis."""
    orders = summary["orders"].to_numpy()
    revenue = summary["revenue"].to_numpy().astype(float)
    t = loyalty_thresholds(orders, revenue, cfg)
    level = tier_levels(orders, revenue, t)
    before = previous_levels(summary["customer_id"], previous)
    held = tier_levels(orders, revenue, t, margin=cfg.hysteresis)
    # a customer only drops as far as the relaxed thresholds let them: never above `before`
    level = np.where(before > level, np.maximum(level, np.minimum(before, held)), level)
    names = np.asarray((*TIERS, None), dtype=object)
    return names[np.where(level >= 0, level, len(TIERS))]
