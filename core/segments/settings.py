"""The settings of segmentation (`segmentation:` in loyalsync.yaml) as frozen dataclasses.

Part of the config schema that `core/config.py` loads and validates (it re-exports these), kept
here so the segmentation modules read their settings without importing the loader, which in
turn asks them whether a config's rules and segment names are valid: one direction only,
config -> segments. Pure data; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class AbcConfig:
    a: float = 0.80
    b: float = 0.95


@dataclass(frozen=True)
class RfmConfig:
    scale: Literal[3, 5] = 3
    names: dict[str, str] = field(default_factory=dict)  # code pattern -> segment name


@dataclass(frozen=True)
class LoyaltyConfig:
    frequent_sd: float = 1.0
    frequent_min_orders: float = 3.0
    vip_sd: float = 2.0
    vip_min_orders: float = 4.0
    vip_top_revenue_share: float = 0.10
    hysteresis: float = 0.10  # leave a tier only when this far (relative) below its threshold


@dataclass(frozen=True)
class LifecycleConfig:
    new_days: int = 30  # first order this recent: new
    slipping_factor: float = 1.5  # gap beyond this many of the customer's own intervals
    lost_factor: float = 3.0
    default_interval_days: float | None = None  # None: the shop's median repurchase interval


@dataclass(frozen=True)
class PredictConfig:
    """Buy-till-you-die predictions (core/segments/predictions.py)."""

    enabled: bool = True
    contact_due: Literal["p_alive", "interval"] = "p_alive"  # which rule sets the contact date
    alive_threshold: float = 0.5  # p_alive: contact when P(active) falls below this
    interval_factor: float = 1.5  # interval: contact when the gap exceeds this many intervals
    high_risk_below: float = 0.3  # churn_risk_high: P(active) below this
    medium_risk_below: float = 0.7  # churn_risk_medium: below this (else low)
    clv_months: int = 12  # CLV horizon
    monthly_discount: float = 0.01  # CLV discount rate per month
    min_repeat_buyers: int = 50  # fewer repeat buyers: predictions are skipped
    min_history_days: int = 90  # oldest first order younger than this: skipped
    use_in_lifecycle: bool = True  # lifecycle:slipping from the contact-due date


@dataclass(frozen=True)
class GeographyConfig:
    postcode_prefix_lengths: tuple[int, ...] = (1, 2)
    cities: bool = True


@dataclass(frozen=True)
class RuleConfig:
    name: str
    when: Any  # validated by core.segments.rules


@dataclass(frozen=True)
class SegmentationConfig:
    revenue: Literal["gross", "net"] = "gross"
    merge_guests_by_email: bool = True
    include_protected: bool = False
    min_age_days: int = 14  # customers younger than this are not moved into managed groups
    abc: AbcConfig = field(default_factory=AbcConfig)
    rfm: RfmConfig = field(default_factory=RfmConfig)
    loyalty: LoyaltyConfig = field(default_factory=LoyaltyConfig)
    inactivity: dict[str, int] = field(default_factory=lambda: {"4w": 28, "3m": 91, "6m": 182})
    lifecycle: LifecycleConfig = field(default_factory=LifecycleConfig)
    geography: GeographyConfig = field(default_factory=GeographyConfig)
    predict: PredictConfig = field(default_factory=PredictConfig)
    rules: tuple[RuleConfig, ...] = ()
