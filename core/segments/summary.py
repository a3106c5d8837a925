"""The customer summary: one row per customer identity, the base of every segment family.

Owns the pure post-processing of the SQL aggregate that `Mirror.load_summary` returns (one row
per identity, see `RAW_DEFAULTS`): typed columns, derived measures, protected-group marking and
eligibility for managed groups. No I/O and no clock: the moment of evaluation is `as_of`.

Derived columns added by `build_summary`:

    avg_order_value     revenue / orders (0 without orders)
    recency_days        days from the last valid order to as_of (NaN without orders)
    tenure_days         days from the first valid order to as_of (NaN without orders)
    mean_interval_days  (last - first) / (orders - 1): the mean gap between orders (NaN below 2)
    customer_age_days   days since the earlier of sign-up and first order (NaN if neither known)
    protected           the customer's group is one of the shop's protected groups
    eligible_for_groups customer_age_days >= min_age_days: old enough to be moved into managed
                        groups (the push planner must leave younger customers where they are)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

DAY_SECONDS = 86_400.0

# Columns of the aggregate and their defaults, so tests can pass literal frames with only the
# columns they care about. `identity` is the merge key ('e:<normalised email>' or 'c:<id>').
RAW_DEFAULTS: dict[str, Any] = {
    "customer_id": None,
    "identity": None,
    "number": None,
    "email": None,
    "first_name": None,
    "last_name": None,
    "company": None,
    "group_id": None,
    "group_name": None,
    "is_guest": False,
    "country": None,
    "city": None,
    "postcode": None,
    "created_at": None,
    "identity_size": 1,
    "orders": 0,
    "revenue": 0.0,
    "first_order_at": None,
    "last_order_at": None,
    "distinct_products": 0,
}
TIME_COLUMNS = ("created_at", "first_order_at", "last_order_at")
COUNT_COLUMNS = ("identity_size", "orders", "distinct_products")
DERIVED_COLUMNS = (
    "avg_order_value", "recency_days", "tenure_days", "mean_interval_days",
    "customer_age_days", "protected", "eligible_for_groups",
)  # fmt: skip


def utc_timestamp(value: datetime | str | pd.Timestamp) -> pd.Timestamp:
    """A tz-aware UTC Timestamp; naive input is taken to be UTC already."""
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def utc_series(values: pd.Series) -> pd.Series:
    """Mirror text ('...Z'), datetimes or Timestamps as a datetime64 UTC column (NaT for None)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.dt.tz_localize("UTC")
    if values.isna().all():
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    return pd.to_datetime(values, utc=True, format="ISO8601")


def days_between(earlier: pd.Series, as_of: pd.Timestamp) -> np.ndarray:
    """Float days from each time to as_of (NaN where the time is missing)."""
    delta = as_of - earlier
    return np.asarray(delta.dt.total_seconds(), dtype=float) / DAY_SECONDS


def with_defaults(raw: pd.DataFrame) -> pd.DataFrame:
    """The aggregate with every column of RAW_DEFAULTS present and typed."""
    if "customer_id" not in raw.columns:
        raise ValueError("the summary needs a customer_id column")
    frame = raw.reset_index(drop=True).copy()
    for column, default in RAW_DEFAULTS.items():
        if column not in frame.columns:
            frame[column] = default
    frame["customer_id"] = frame["customer_id"].astype(str)
    missing = frame["identity"].isna()
    if missing.any():
        frame.loc[missing, "identity"] = "c:" + frame.loc[missing, "customer_id"]
    for column in TIME_COLUMNS:
        frame[column] = utc_series(frame[column])
    for column in COUNT_COLUMNS:
        frame[column] = frame[column].fillna(0).astype(np.int64)
    frame["revenue"] = frame["revenue"].fillna(0.0).astype(float)
    frame["is_guest"] = frame["is_guest"].fillna(False).astype(bool)
    return frame


def build_summary(
    raw: pd.DataFrame,
    as_of: datetime,
    *,
    min_age_days: int = 0,
    protected_groups: Iterable[str] = (),
) -> pd.DataFrame:
    """Typed aggregate plus the derived columns listed in the module docstring. Customers
    created after `as_of` without a valid order before it did not exist yet: left out."""
    now = utc_timestamp(as_of)
    frame = with_defaults(raw)
    unborn = (frame["created_at"] > now).to_numpy() & (frame["orders"] == 0).to_numpy()
    if unborn.any():  # signed up after as_of and no order before it: not a customer yet
        frame = frame.loc[~unborn].reset_index(drop=True)
    orders = frame["orders"].to_numpy()
    revenue = frame["revenue"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["avg_order_value"] = np.where(orders > 0, revenue / np.maximum(orders, 1), 0.0)
        frame["recency_days"] = days_between(frame["last_order_at"], now)
        frame["tenure_days"] = days_between(frame["first_order_at"], now)
        span = frame["tenure_days"].to_numpy() - frame["recency_days"].to_numpy()
        frame["mean_interval_days"] = np.where(orders > 1, span / (orders - 1), np.nan)
    created, first = frame["created_at"], frame["first_order_at"]
    born = created.where(created.notna() & (first.isna() | (created <= first)), first)
    frame["customer_age_days"] = days_between(born, now)
    frame["protected"] = is_protected(frame, protected_groups)
    frame["eligible_for_groups"] = frame["customer_age_days"].to_numpy() >= min_age_days
    return frame


def is_protected(frame: pd.DataFrame, protected_groups: Iterable[str]) -> np.ndarray:
    """True where the customer's group id or group name is one of `protected_groups`."""
    names = {str(g) for g in protected_groups}
    if not names:
        return np.zeros(len(frame), dtype=bool)
    by_id = frame["group_id"].isin(names).to_numpy()
    by_name = frame["group_name"].isin(names).to_numpy()
    return np.asarray(by_id | by_name, dtype=bool)


def segmentable(summary: pd.DataFrame, include_protected: bool = False) -> pd.DataFrame:
    """The customers that segmentation looks at: protected groups only when configured."""
    if include_protected:
        return summary
    return summary.loc[~summary["protected"].to_numpy()].reset_index(drop=True)


def buyers(summary: pd.DataFrame) -> np.ndarray:
    """Mask of customers with at least one valid order (the base of RFM, loyalty, lifecycle)."""
    return np.asarray(summary["orders"].to_numpy() > 0, dtype=bool)
