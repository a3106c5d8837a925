"""Literal frames for the segmentation tests: a compact way to write customer summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from loyalsync.core.config import SegmentationConfig
from loyalsync.core.segments.engine import build_segments
from loyalsync.core.segments.summary import build_summary

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


def days_ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def customer(
    cid: str,
    orders: int = 0,
    revenue: float = 0.0,
    first: float | None = None,
    last: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One summary row: `first`/`last` are days before AS_OF of the first and last order
    (default: last = first = 100 days for buyers)."""
    if orders and first is None:
        first = 100.0 if last is None else last
    if orders and last is None:
        last = first
    row: dict[str, Any] = {"customer_id": cid, "orders": orders, "revenue": revenue}
    row["first_order_at"] = days_ago(first) if orders and first is not None else None
    row["last_order_at"] = days_ago(last) if orders and last is not None else None
    row.setdefault("created_at", row["first_order_at"] or days_ago(400))
    row.update(extra)
    return row


def summary(*rows: dict[str, Any], as_of: datetime = AS_OF, **kw: Any) -> pd.DataFrame:
    return build_summary(pd.DataFrame(list(rows)), as_of, **kw)


def segments_of(members: pd.DataFrame, cid: str, family: str | None = None) -> set[str]:
    rows = members[members["customer_id"] == cid]
    if family is not None:
        rows = rows[rows["family"] == family]
    return set(rows["segment"].astype(str))


def build(frame: pd.DataFrame, cfg: SegmentationConfig | None = None, **kw: Any) -> pd.DataFrame:
    return build_segments(frame, cfg or SegmentationConfig(), kw.pop("as_of", AS_OF), **kw)
