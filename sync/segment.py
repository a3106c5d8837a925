"""Run segmentation for one shop: load from the mirror, build, store; and list customers.

Orchestration, so it lives in `sync/` (issue 12 §3): it touches the mirror only through the
loaders and savers in `core/mirror/` (no SQL here); everything it computes comes from the pure
modules of `core/segments/`.
`segment_shop` is what `loyalsync segment`, the daily cycle and the push planner call;
`customer_table` is what `loyalsync customers` prints (contact details for newsletters and CRM
export). The clock arrives as `as_of`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

import numpy as np
import pandas as pd

from loyalsync.core.config import SegmentationConfig, ShopConfig
from loyalsync.core.errors import ConfigError, LoyalsyncError
from loyalsync.core.mirror import (
    Mirror,
    load_members,
    load_purchases,
    load_signatures,
    load_summary,
    save_segments,
)
from loyalsync.core.records import utcnow
from loyalsync.core.segments import diff, engine, geography, identity, predictions
from loyalsync.core.segments.families import TRANSIENT_FAMILIES
from loyalsync.core.segments.rules import Compare, Condition, parse_rule, referenced_products, walk
from loyalsync.core.segments.summary import build_summary, segmentable, utc_timestamp

TABLE_COLUMNS = (
    "customer_id", "number", "email", "first_name", "last_name", "company", "country", "city",
    "postcode", "orders", "revenue", "last_order_at",
)  # fmt: skip
RANK_BY = ("revenue", "orders")
PREDICTION_COLUMNS = ("p_alive", "clv", "contact_due_at")
SORT_BY = (*TABLE_COLUMNS, *PREDICTION_COLUMNS)
DESCENDING = ("revenue", "orders", "clv")  # sorted highest first; everything else ascending


@dataclass(frozen=True)
class SegmentResult:
    """One shop's segmentation. `summary`: one row per segmented customer (summary columns,
    including `eligible_for_groups`; e-mail and address, but number, names and company are
    left empty: `customer_table` has them); `members`: customer_id, segment, family (every family,
    also the address families that are not stored); `sizes`: segment, family, customers,
    customer_share, revenue, revenue_share. `entered`/`exited`: stored rows that changed."""

    shop: str
    as_of: datetime
    summary: pd.DataFrame = field(repr=False)
    long_members: Callable[[], pd.DataFrame] = field(repr=False)  # `members`, when first read
    sizes: pd.DataFrame = field(repr=False)
    customers: int = 0
    excluded_protected: int = 0
    entered: int = 0
    exited: int = 0
    saved: bool = False
    run_id: int | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds: load, predict, build, save

    @cached_property
    def members(self) -> pd.DataFrame:
        """customer_id, segment, family (categorical) of every family, one row per pair:
        built on first use (a daily run stores its membership without it)."""
        return self.long_members()

    def to_dict(self) -> dict[str, object]:
        """Machine-readable result for `segment --json` (no personal data)."""
        return {
            "shop": self.shop,
            "as_of": self.as_of.isoformat(),
            "customers": self.customers,
            "excluded_protected": self.excluded_protected,
            "entered": self.entered,
            "exited": self.exited,
            "saved": self.saved,
            "timings": self.timings,
            "segments": self.sizes.to_dict(orient="records"),
        }


def _parsed_rules(cfg: SegmentationConfig) -> list[Condition]:
    problems = engine.config_problems(cfg)
    if problems:
        raise ConfigError(
            "invalid segmentation settings:\n"
            + "\n".join(f"  - segmentation.{p}" for p in problems)
        )
    parsed = [parse_rule(rule, []) for rule in cfg.rules]
    return [c for c in parsed if c is not None]


def _needs_products(conditions: list[Condition]) -> bool:
    return any(
        isinstance(c, Compare) and c.field == "distinct_products"
        for cond in conditions
        for c in walk(cond)
    )


@dataclass
class _Inputs:
    """What one run reads from the mirror."""

    summary: pd.DataFrame
    excluded: int
    current: pd.DataFrame | None  # stored signatures (read when the run will save)
    previous: pd.DataFrame  # stored loyalty tiers, for the hysteresis
    bought: pd.DataFrame | None  # (identity, product) when rules ask what was bought


def load_inputs(
    mirror: Mirror,
    shop: ShopConfig,
    cfg: SegmentationConfig,
    as_of: datetime,
    save: bool,
    contacts: bool = False,
) -> _Inputs:
    """What a run reads (with `contacts` also names, number and company: the report's)."""
    conditions = _parsed_rules(cfg)
    products = _needs_products(conditions)
    raw = load_summary(
        mirror, shop.name, as_of, cfg, products=products, contacts=contacts, refresh=save
    )
    everyone = build_summary(
        raw, as_of, min_age_days=cfg.min_age_days, protected_groups=shop.protected_groups
    )
    del raw
    summary = segmentable(everyone, cfg.include_protected)
    current = load_signatures(mirror, shop.name, refresh=True) if save else None
    if current is not None:
        previous = diff.stored_segments(current, "loyalty")
    else:
        previous = load_members(mirror, shop.name, family="loyalty", details=False)
    refs = referenced_products(conditions)
    bought = None
    if refs:
        purchases = load_purchases(mirror, shop.name, refs, as_of)
        bought = identity.bought_frame(purchases, refs, cfg.merge_guests_by_email)
    return _Inputs(summary, len(everyone) - len(summary), current, previous, bought)


def segment_shop(
    mirror: Mirror,
    shop: ShopConfig,
    cfg: SegmentationConfig,
    as_of: datetime,
    *,
    run_id: int | None = None,
    save: bool = True,
) -> SegmentResult:
    """Segment every customer of `shop` as of `as_of` and (with `save`) store the membership
    and its history. Protected groups are left out unless `cfg.include_protected`."""
    clock = time.perf_counter()  # durations for the report, never a domain time
    got = load_inputs(mirror, shop, cfg, as_of, save)
    timings = {"load": time.perf_counter() - clock}
    predicted = engine.build_predictions(got.summary, cfg, as_of)
    timings["predict"] = time.perf_counter() - clock - timings["load"]
    columns = engine.build_columns(
        got.summary, cfg, as_of, got.previous, got.bought, predicted=predicted
    )
    encoded = engine.encode(columns)
    del columns, predicted
    sizes = engine.encoded_sizes(got.summary, encoded)
    ids = got.summary["customer_id"]
    timings["build"] = time.perf_counter() - clock - sum(timings.values())
    counts = {"entered": 0, "exited": 0}
    if save:
        stored = engine.stored_membership(ids, encoded)
        counts = save_segments(mirror, shop.name, stored, as_of, run_id, current=got.current)
        del stored
        timings["save"] = time.perf_counter() - clock - sum(timings.values())
    return SegmentResult(
        shop=shop.name, as_of=as_of, summary=got.summary,
        long_members=lambda: engine.encoded_members(ids, encoded), sizes=sizes,
        customers=len(got.summary), excluded_protected=got.excluded, entered=counts["entered"],
        exited=counts["exited"], saved=save, run_id=run_id, timings=timings,
    )  # fmt: skip


class PredictionsUnavailable(LoyalsyncError):
    """`customers --due-before / --sort clv` asked for predictions the data cannot support;
    the message names the requirement that failed. Exits 2, like a refused option."""

    exit_code = 2


def customer_table(
    mirror: Mirror,
    shop: ShopConfig | str,
    segment: str | None = None,
    top: int | None = None,
    by: str = "revenue",
    sort: str | None = None,
    *,
    cfg: SegmentationConfig | None = None,
    as_of: datetime | None = None,
    due_before: datetime | None = None,
) -> pd.DataFrame:
    """Customers with contact details (TABLE_COLUMNS): all segmented customers, or the members
    of `segment` (stored membership; address segments such as 'city:Berlin' are derived
    on the spot), ranked by `by` (revenue or orders, highest first), cut to `top`, then
    sorted by `sort` (e.g. city, country, postcode; clv highest first) if given.

    With `due_before`, only customers whose contact-due date (see predictions.py) is before it:
    who to contact now. With `due_before` or a prediction column as `sort`, the table also has
    PREDICTION_COLUMNS; when predictions are skipped, raises PredictionsUnavailable naming why."""
    if by not in RANK_BY:
        raise ValueError(f"--by must be one of {', '.join(RANK_BY)}, got {by!r}")
    if sort is not None and sort not in SORT_BY:
        raise ValueError(f"cannot sort by {sort!r}; use one of {', '.join(SORT_BY)}")
    cfg = cfg or SegmentationConfig()
    name, protected = (shop, ()) if isinstance(shop, str) else (shop.name, shop.protected_groups)
    moment = as_of or utcnow()
    raw = load_summary(mirror, name, moment, cfg)
    summary = segmentable(
        build_summary(raw, moment, min_age_days=cfg.min_age_days, protected_groups=protected),
        cfg.include_protected,
    )
    columns = list(TABLE_COLUMNS)
    if due_before is not None or sort in PREDICTION_COLUMNS:
        summary = _with_predictions(summary, cfg, moment, need_clv=sort == "clv")
        columns += PREDICTION_COLUMNS
        if due_before is not None:
            summary = summary.loc[summary["contact_due_at"] < utc_timestamp(due_before)]
    if segment is not None:
        summary = summary.loc[_in_segment(mirror, name, summary, segment, cfg)]
    ranked = _ranked(summary, by, top)
    if sort is not None:
        ascending = sort not in DESCENDING
        ranked = ranked.sort_values(sort, ascending=ascending, kind="stable", na_position="last")
    return ranked.loc[:, columns].reset_index(drop=True)


def _with_predictions(
    summary: pd.DataFrame, cfg: SegmentationConfig, as_of: datetime, need_clv: bool
) -> pd.DataFrame:
    """The summary with PREDICTION_COLUMNS (fitted on the same customers as `segment`)."""
    if not cfg.predict.enabled:
        raise PredictionsUnavailable(
            "predictions are off (segmentation.predict.enabled: false): --due-before and "
            "--sort clv need them"
        )
    predicted = predictions.customer_predictions(summary, cfg, as_of)
    frame = predicted.frame
    if frame is None or (need_clv and not np.isfinite(frame["clv"].to_numpy(float)).any()):
        why = "; ".join(predicted.warnings) or "predictions skipped"
        raise PredictionsUnavailable(f"{why}; --due-before and --sort clv need predictions")
    return summary.assign(**{c: frame[c] for c in PREDICTION_COLUMNS})


def _ranked(summary: pd.DataFrame, by: str, top: int | None) -> pd.DataFrame:
    """Highest `by` first, ties by the other measure, then by customer id; cut to `top`.
    For a top N only the rows reaching the N-th value are sorted (ties at the cut included)."""
    other = "orders" if by == "revenue" else "revenue"
    if top is not None and 0 < top < len(summary):
        values = summary[by].to_numpy()
        cut = np.partition(values, len(values) - top)[len(values) - top]
        summary = summary.loc[values >= cut]
    ranked = summary.sort_values([by, other, "customer_id"], ascending=[False, False, True])
    return ranked if top is None else ranked.head(max(top, 0))


def _in_segment(
    mirror: Mirror, shop: str, summary: pd.DataFrame, segment: str, cfg: SegmentationConfig
) -> pd.Series:
    family, _, value = segment.partition(":")
    if family in TRANSIENT_FAMILIES:
        mask = pd.Series(False, index=summary.index)
        for fam, values in geography.geography_columns(summary, cfg.geography):
            if fam == family:
                mask |= values == value
        return mask
    members = load_members(mirror, shop, segment=segment)
    return summary["customer_id"].isin(members["customer_id"])
