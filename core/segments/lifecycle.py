"""Lifecycle stages (`lifecycle:new|active|slipping|lost`), judged by each customer's own rhythm.

For customers with at least one valid order:

    new       the first order is at most `new_days` old
    active    the gap since the last order is at most slipping_factor * the expected interval
    slipping  beyond that, up to lost_factor * the expected interval
    lost      beyond lost_factor * the expected interval

The expected interval blends the customer's own gaps with the shop's typical interval (one
pseudo-gap of weight `PRIOR_GAPS`):

    expected = (last - first + PRIOR_GAPS * shop_interval) / (orders - 1 + PRIOR_GAPS)

so a one-time buyer is judged by the shop's repurchase rhythm, a customer with two orders half
by their own gap, and a regular by their own mean interval. The shop interval is the configured
`default_interval_days` or the median mean interval of the shop's repeat buyers. A weekly buyer
silent for three weeks is slipping although a fixed four-week window still calls them active.
With predictions (`predictions.py`, `segmentation.predict.use_in_lifecycle`) a buyer who is
neither new nor lost is `slipping` once their contact-due date has passed (the fitted
repurchase model's answer) and `active` before it. Pure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalsync.core.config import LifecycleConfig

STAGES = ("new", "active", "slipping", "lost")
PRIOR_GAPS = 1.0
FALLBACK_INTERVAL_DAYS = 90.0  # a shop without repeat buyers yet: a quarter
MIN_INTERVAL_DAYS = 1.0


def shop_interval(summary: pd.DataFrame, cfg: LifecycleConfig) -> float:
    """The shop's typical days between orders (configured, else the repeat buyers' median)."""
    if cfg.default_interval_days is not None:
        return max(float(cfg.default_interval_days), MIN_INTERVAL_DAYS)
    intervals = summary["mean_interval_days"].to_numpy()
    intervals = intervals[np.isfinite(intervals)]
    if len(intervals) == 0:
        return FALLBACK_INTERVAL_DAYS
    return max(float(np.median(intervals)), MIN_INTERVAL_DAYS)


def expected_interval(summary: pd.DataFrame, typical: float) -> np.ndarray:
    """Each customer's expected days between orders (the blend in the module docstring)."""
    orders = summary["orders"].to_numpy().astype(float)
    span = summary["tenure_days"].to_numpy() - summary["recency_days"].to_numpy()
    gaps = np.maximum(orders - 1, 0)
    span = np.where(gaps > 0, span, 0.0)
    blended = (span + PRIOR_GAPS * typical) / (gaps + PRIOR_GAPS)
    return np.maximum(blended, MIN_INTERVAL_DAYS)


def lifecycle_stages(
    summary: pd.DataFrame, cfg: LifecycleConfig, overdue: np.ndarray | None = None
) -> np.ndarray:
    """Stage name per customer (object array, None for customers without valid orders).
    `overdue` (contact-due date passed, from the predictions) replaces the slipping factor."""
    interval = expected_interval(summary, shop_interval(summary, cfg))
    recency = summary["recency_days"].to_numpy()
    tenure = summary["tenure_days"].to_numpy()
    slipping = recency > cfg.slipping_factor * interval if overdue is None else overdue
    stage = np.where(recency > cfg.lost_factor * interval, 3, np.where(slipping, 2, 1))
    stage = np.where(tenure <= cfg.new_days, 0, stage)
    names = np.asarray((*STAGES, None), dtype=object)
    return names[np.where(summary["orders"].to_numpy() > 0, stage, len(STAGES))]
