"""One full cycle per shop (pull, segment, plan, push) and the daemon's smaller jobs.

Shops are independent: one failing (auth, network) is reported and the others go on. Push runs
only when `push.enabled` is true: a fresh install never writes to a shop before the admin has
looked at `loyalsync plan`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loyalsync.core.config import ShopConfig
from loyalsync.core.mirror import parse_db_time
from loyalsync.core.records import utcnow
from loyalsync.core.segments.loyalty import loyalty_thresholds
from loyalsync.sync.context import for_each_shop
from loyalsync.sync.output import number, plural
from loyalsync.sync.pull import pull_shop, scan_deletions
from loyalsync.sync.push import plan_shop, push_shop
from loyalsync.sync.render import plan_summary, push_summary
from loyalsync.sync.runs import recorded_run
from loyalsync.sync.segment import segment_shop

log = logging.getLogger("loyalsync.cycle")


@dataclass
class ShopCycle:
    shop: str
    pulled: Any = None
    segmented: Any = None
    plan: Any = None
    pushed: Any = None
    push_skipped_reason: str | None = None


@dataclass
class CycleReport:
    shops: dict[str, ShopCycle] = field(default_factory=dict)
    failed: dict[str, Exception] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        for cycle in self.shops.values():
            if cycle.pulled is not None and cycle.pulled.quarantined:
                return True
            if cycle.pushed is not None and cycle.pushed.failed:
                return True
        return False

    def lines(self) -> list[str]:
        lines = []
        for name, c in self.shops.items():
            parts = []
            if c.pulled is not None:
                counts = c.pulled.entities
                parts.append(
                    "pulled "
                    + ", ".join(
                        f"{k} +{number(v.new)} ~{number(v.updated)}" for k, v in counts.items()
                    )
                )
            if c.segmented is not None:
                parts.append(f"segmented {plural(c.segmented.customers, 'customer')}")
            if c.plan is not None:
                parts.append(f"plan: {plan_summary(c.plan)}")
            if c.pushed is not None:
                parts.append(f"pushed: {push_summary(c.pushed)}")
            elif c.push_skipped_reason:
                parts.append(f"push skipped ({c.push_skipped_reason})")
            lines.append(f"{name}: " + "; ".join(parts))
        return lines


def segment_recorded(app: Any, shop: ShopConfig, as_of: datetime, *, save: bool = True) -> Any:
    """Segment one shop and (with `save`) store it, recorded in `_runs` (CLI `segment`, cycles
    and the demo). Without `save` it is a what-if: nothing stored, no run recorded."""
    mirror = app.mirror_for(shop)
    if not save:
        return segment_shop(mirror, shop, app.config.segmentation, as_of, save=False)
    with recorded_run(mirror, shop.name, "segment", as_of) as run:
        result = segment_shop(mirror, shop, app.config.segmentation, as_of, run_id=run.id)
        run.counts = lambda: {
            "customers": result.customers,
            "entered": result.entered,
            "exited": result.exited,
            **run_history_counts(result, app.config.segmentation.loyalty),
        }
    return result


HISTORY_FAMILIES = ("abc", "rfm_segment", "loyalty", "lifecycle", "inactive", "predict")


def run_history_counts(result: Any, loyalty_cfg: Any) -> dict[str, Any]:
    """What the report draws over time, kept on the run's row: the sizes of the bounded
    families and the loyalty tiers' adaptive thresholds at this run."""
    sizes = result.sizes
    kept = sizes.loc[sizes["family"].isin(HISTORY_FAMILIES)]
    counts: dict[str, Any] = {
        "sizes": {str(s): int(n) for s, n in zip(kept["segment"], kept["customers"], strict=True)}
    }
    if result.customers:
        summary = result.summary
        t = loyalty_thresholds(
            summary["orders"].to_numpy(), summary["revenue"].to_numpy(float), loyalty_cfg
        )
        vip_revenue = t.vip_revenue if math.isfinite(t.vip_revenue) else None
        counts["thresholds"] = {
            "frequent_orders": t.frequent_orders, "vip_orders": t.vip_orders,
            "vip_revenue": vip_revenue,
        }  # fmt: skip
    return counts


def newest_segment_as_of(mirror: Any, shop: str) -> datetime | None:
    """The as-of of the newest stored segmentation of `shop` (its history ends there)."""
    stamps = [
        parse_db_time(r["as_of"])
        for r in mirror.runs(shop, limit=500)
        if r["kind"] == "segment" and r["outcome"] == "ok" and r["as_of"]
    ]
    return max((s for s in stamps if s is not None), default=None)


def as_of_problem(as_of: datetime, now: datetime, newest: datetime | None) -> str | None:
    """Why `as_of` may not be stored as history: after now, or before the newest stored run
    (history only moves forward). Pure. A what-if (`segment --dry-run`) may use any date."""
    if as_of > now:
        return (
            f"{as_of:%Y-%m-%d %H:%M} is in the future; a stored segmentation must be as of now "
            f"or earlier (use --dry-run for a what-if that stores nothing)"
        )
    if newest is not None and as_of < newest:
        return (
            f"{as_of:%Y-%m-%d %H:%M} is before the newest stored segmentation "
            f"({newest:%Y-%m-%d %H:%M}); history only moves forward (use --dry-run for a "
            f"what-if that stores nothing)"
        )
    return None


def cycle_shop(
    app: Any,
    shop: ShopConfig,
    *,
    as_of: datetime | None,
    force: bool = False,
    should_stop: Callable[[], bool] | None = None,
) -> ShopCycle:
    config = app.config
    mirror = app.mirror_for(shop)
    connector = app.connector(shop)
    result = ShopCycle(shop.name)
    result.pulled = pull_shop(connector, mirror, shop, should_stop=should_stop)
    moment = as_of or utcnow()
    result.segmented = segment_recorded(app, shop, moment)
    if not config.push.enabled:
        result.plan = plan_shop(connector, mirror, shop, config, as_of=moment)
        result.push_skipped_reason = "push.enabled is false: review `loyalsync plan` first"
        return result
    result.pushed = push_shop(connector, mirror, shop, config, as_of=moment, force=force)
    result.plan = result.pushed.plan
    return result


def run_cycle(
    app: Any,
    shop: str | None,
    *,
    as_of: datetime | None,
    force: bool = False,
    should_stop: Callable[[], bool] | None = None,
    shops: tuple[ShopConfig, ...] | None = None,
) -> CycleReport:
    """A full cycle of `shop` (None: every shop; `shops` picks them directly, for the daemon)."""
    report = CycleReport()

    def one(cfg: ShopConfig) -> ShopCycle:
        cycle = cycle_shop(app, cfg, as_of=as_of, force=force, should_stop=should_stop)
        report.shops[cfg.name] = cycle
        return cycle

    _, report.failed = for_each_shop(app.shops(shop) if shops is None else shops, one)
    for name, exc in report.failed.items():
        log.error("[%s] cycle failed: %s", name, exc)
    return report


def pull_job(
    app: Any,
    should_stop: Callable[[], bool] | None = None,
    shops: tuple[ShopConfig, ...] | None = None,
) -> dict[str, Exception]:
    """The daemon's frequent job: an incremental pull of `shops` (default: every shop)."""

    def one(cfg: ShopConfig) -> Any:
        return pull_shop(app.connector(cfg), app.mirror_for(cfg), cfg, should_stop=should_stop)

    _, failed = for_each_shop(app.shops(None) if shops is None else shops, one)
    for name, exc in failed.items():
        log.error("[%s] pull failed: %s", name, exc)
    return failed


def deletion_scan_job(
    app: Any,
    should_stop: Callable[[], bool] | None = None,
    shops: tuple[ShopConfig, ...] | None = None,
) -> dict[str, Exception]:
    """The daemon's weekly job: customers deleted in the shop are anonymised in the mirror."""

    def one(cfg: ShopConfig) -> int:
        connector = app.connector(cfg)
        if not connector.capabilities.deletion_scan:
            return 0
        deleted = scan_deletions(connector, app.mirror_for(cfg), cfg.name, utcnow())
        log.info("[%s] deletion scan: %d customers deleted in the shop", cfg.name, deleted)
        return deleted

    _, failed = for_each_shop(app.shops(None) if shops is None else shops, one)
    for name, exc in failed.items():
        log.error("[%s] deletion scan failed: %s", name, exc)
    return failed
