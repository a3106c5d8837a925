"""Everything one shop's report shows, read from the mirror in one place (`load_report_data`).

Reads only through `core.mirror` loaders and `sync.segment.load_inputs`; the segment families
are computed exactly as `loyalsync segment` computes them (stored loyalty tiers feed the
hysteresis). What it returns, a `core.report.data.ReportData`, is all the report builder sees.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from loyalsync.core.config import Config, ShopConfig
from loyalsync.core.mirror import Mirror, parse_db_time
from loyalsync.core.mirror.report import (
    CONTACT_FIELDS,
    load_codes,
    load_cohorts,
    load_contacts,
    load_monthly_revenue,
    load_orders_after,
    load_push_failures,
    load_run_moves,
)
from loyalsync.core.report.build import listed_ids
from loyalsync.core.report.data import (
    FAMILY_COLUMNS,
    PREDICTED,
    PUSH_RUNS,
    RUN_HISTORY,
    CampaignData,
    ReportData,
)
from loyalsync.core.segments import engine, loyalty
from loyalsync.sync.segment import load_inputs


def load_report_data(
    mirror: Mirror, config: Config, shop: ShopConfig, as_of: datetime
) -> ReportData:
    """Read and segment one shop for its report as of `as_of` (nothing is stored)."""
    # one after the other: read on a second connection beside the segmentation, the order
    # history took longer than both in turn (33.8 s against 28.1 s at 1M, bench_report)
    monthly = load_monthly_revenue(mirror, shop.name, as_of, config.segmentation.revenue)
    cohorts = load_cohorts(mirror, shop.name, as_of)
    data = _segmented(mirror, config, shop, as_of)
    return replace(data, monthly=monthly, cohorts=cohorts, summary=_with_contacts(mirror, data))


def _with_contacts(mirror: Mirror, data: ReportData) -> pd.DataFrame:
    """The summary with number, names and company filled in for the customers the report
    lists by name (read by primary key); the others' stay empty (never shown)."""
    summary = data.summary
    ids = listed_ids(data)
    if not ids:
        return summary
    contacts = load_contacts(mirror, data.shop, ids).set_index("customer_id")
    rows = np.flatnonzero(summary["customer_id"].astype(str).isin(contacts.index).to_numpy())
    found = contacts.reindex(summary["customer_id"].iloc[rows].astype(str))
    summary = summary.copy()
    for column in CONTACT_FIELDS:
        values = summary[column].astype(object).to_numpy(copy=True)
        values[rows] = found[column].to_numpy(dtype=object)
        summary[column] = values
    return summary


def _segmented(mirror: Mirror, config: Config, shop: ShopConfig, as_of: datetime) -> ReportData:
    """Everything but the order history: segmentation, runs, codes, campaigns, pushes."""
    cfg = config.segmentation
    # contacts only for the listed customers (_with_contacts): reading a million customers'
    # names and company costs a visit of every customer row
    got = load_inputs(mirror, shop, cfg, as_of, save=False, contacts=False)
    summary = got.summary
    predicted = engine.build_predictions(summary, cfg, as_of)
    columns = engine.build_columns(summary, cfg, as_of, got.previous, got.bought, predicted)
    sizes = engine.column_sizes(summary, columns)
    extra: dict[str, Any] = {f: values for f, values in columns if f in FAMILY_COLUMNS}
    if predicted.frame is not None:
        extra |= {c: predicted.frame[c].array for c in PREDICTED}  # dates stay dates
    summary = summary.assign(**extra)
    orders = summary["orders"].to_numpy()
    thresholds = None
    if len(summary):
        revenue = summary["revenue"].to_numpy(dtype=float)
        thresholds = loyalty.loyalty_thresholds(orders, revenue, cfg.loyalty)
    runs = [r for r in mirror.runs(shop.name, limit=RUN_HISTORY) if _until(r, as_of)]
    segment_runs = [r for r in runs if r["kind"] == "segment" and r["outcome"] == "ok"]
    push_runs = [r for r in runs if r["kind"] == "push"][:PUSH_RUNS]
    moves = _newest_moves(mirror, shop.name, segment_runs)
    codes = load_codes(mirror, shop.name, as_of, cfg.revenue)
    return ReportData(
        shop=shop.name, platform=shop.platform, currency=shop.currency, as_of=as_of,
        config=config, summary=summary, sizes=sizes, excluded_protected=got.excluded,
        thresholds=thresholds,
        predictions_note=None if predicted.available else "; ".join(predicted.warnings) or None,
        segment_runs=segment_runs, moves=moves,
        codes=codes, campaigns=_campaigns(mirror, config, shop.name, codes, as_of),
        push_runs=push_runs,
        push_failures=load_push_failures(mirror, shop.name, [int(r["id"]) for r in push_runs]),
    )  # fmt: skip


def _until(run: dict[str, Any], as_of: datetime) -> bool:
    """A run that happened (by its as-of, else its start) up to the report's moment."""
    when = parse_db_time(run.get("as_of") or run.get("started_at"))
    return when is None or when <= as_of


def _newest_moves(mirror: Mirror, shop: str, segment_runs: list[dict[str, Any]]) -> pd.DataFrame:
    """Moves recorded by the newest segmentation run, when there is an earlier one."""
    if len(segment_runs) < 2:
        return pd.DataFrame({"from_segment": [], "to_segment": [], "customers": []})
    return load_run_moves(mirror, shop, int(segment_runs[0]["id"]))


def _campaigns(
    mirror: Mirror, config: Config, shop: str, codes: pd.DataFrame, as_of: datetime
) -> list[CampaignData]:
    out = []
    for campaign in config.push.discounts:
        issued = codes.loc[codes["campaign"] == campaign.name, "issued_at"]
        started = parse_db_time(str(issued.min())) if len(issued) else None
        after = (
            load_orders_after(mirror, shop, started, as_of, config.segmentation.revenue)
            if started is not None and started < as_of
            else pd.DataFrame({"customer_id": [], "orders": [], "revenue": []})
        )
        out.append(CampaignData(campaign.name, campaign.segment, started, after))
    return out
