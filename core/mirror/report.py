"""What the HTML report reads beyond the segmentation summary (`core/report/data.py` calls it):
monthly cohorts, the membership moves of one run, issued codes per campaign, orders after a
date, the push journal's failures, the contacts of listed customers and newsletter consent.
Plain frames out; every value is a bound parameter.
"""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd

from loyalsync.core.mirror.order_summary import summary_answers
from loyalsync.core.mirror.rows import db_time
from loyalsync.core.mirror.segments import _SEG_REVENUE
from loyalsync.core.mirror.store import Mirror

_VALID = "o.shop = :shop AND o.is_valid AND o.placed_at <= :as_of"


def load_cohorts(mirror: Mirror, shop: str, as_of: datetime, months: int = 12) -> pd.DataFrame:
    """Customer accounts per (cohort: month of their first valid order, month with a valid
    order) for the cohorts of the newest `months` months up to `as_of`: columns cohort, month
    ('YYYY-MM'), customers. Guest orders without an account are left out. Only the customers
    of those cohorts come back, each with the list of months they ordered in."""
    first = (as_of.year * 12 + as_of.month - 1) - (months - 1)
    since = f"{first // 12:04d}-{first % 12 + 1:02d}"
    rows = cohort_rows(mirror, shop, as_of, since, kept=summary_answers(mirror, shop, as_of))
    if rows.empty:
        return pd.DataFrame({"cohort": [], "month": [], "customers": []})
    pairs = rows.assign(month=rows["months"].str.split(",")).explode("month")
    counts = pairs.groupby(["cohort", "month"]).size().rename("customers").reset_index()
    return counts.sort_values(["cohort", "month"], ignore_index=True)


def cohort_rows(
    mirror: Mirror, shop: str, as_of: datetime, since: str, *, kept: bool
) -> pd.DataFrame:
    """(cohort, months) per customer account whose first valid order is in month `since` or
    later. `kept` (the kept order summary answers for `as_of`): the summary's first order
    picks those customers and only their orders are read (a recent year's buyers, not the
    whole history); else one walk of the covering index over every order, in customer order
    (no sort, no table look-ups)."""
    params = {"shop": shop, "as_of": db_time(as_of), "since": since}
    if kept:
        return mirror.frame(
            "SELECT substr(s.first_order_at, 1, 7) AS cohort, "
            "group_concat(DISTINCT substr(o.placed_at, 1, 7)) AS months "
            "FROM order_summary s CROSS JOIN orders o INDEXED BY orders_segment_summary "
            "ON o.shop = s.shop AND o.customer_id = s.customer_id "
            "WHERE s.shop = :shop AND s.first_order_at >= :since AND o.is_valid "
            "AND o.placed_at <= :as_of GROUP BY s.customer_id",
            params,
        )
    return mirror.frame(
        "SELECT MIN(substr(o.placed_at, 1, 7)) AS cohort, "
        "group_concat(DISTINCT substr(o.placed_at, 1, 7)) AS months "
        "FROM orders o INDEXED BY orders_segment_summary WHERE o.shop = :shop "
        "AND o.customer_id IS NOT NULL AND o.is_valid AND o.placed_at <= :as_of "
        "GROUP BY o.customer_id HAVING MIN(o.placed_at) >= :since",
        params,
    )


def load_monthly_revenue(
    mirror: Mirror, shop: str, as_of: datetime, revenue: str = "gross"
) -> pd.DataFrame:
    """Valid orders and revenue (base currency, refunds subtracted) per month: month, orders,
    revenue. The covering index holds every column needed (a third of the time of a search by
    date that visits each order's row)."""
    sql = (
        f"SELECT substr(o.placed_at, 1, 7) AS month, COUNT(*) AS orders, "
        f"TOTAL({_SEG_REVENUE[revenue]}) AS revenue FROM orders o "
        f"INDEXED BY orders_segment_summary WHERE {_VALID} GROUP BY 1 ORDER BY 1"
    )
    return mirror.frame(sql, {"shop": shop, "as_of": db_time(as_of)})


def load_run_moves(mirror: Mirror, shop: str, run_id: int) -> pd.DataFrame:
    """Moves between segments of one family recorded by segmentation run `run_id`:
    from_segment, to_segment, customers."""
    return mirror.frame(
        "SELECT x.value AS from_segment, e.value AS to_segment, COUNT(*) AS customers "
        "FROM segment_changes c, json_each(c.exited) x, json_each(c.entered) e "
        "WHERE c.shop = ? AND c.run_id = ? AND c.exited <> '[]' AND c.entered <> '[]' "
        "AND substr(x.value, 1, instr(x.value, ':')) = substr(e.value, 1, instr(e.value, ':')) "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        (shop, run_id),
    )


def load_codes(mirror: Mirror, shop: str, as_of: datetime, revenue: str = "gross") -> pd.DataFrame:
    """Every code issued up to `as_of`: campaign, customer_id, status, issued_at, redeemed_at and
    the revenue of the order that used it (0 when not redeemed). A code redeemed after `as_of`
    is still 'issued' as of then."""
    return mirror.frame(
        "SELECT k.campaign, k.customer_id, "
        "CASE WHEN k.status = 'redeemed' AND k.redeemed_at > :as_of THEN 'issued' "
        "ELSE k.status END AS status, k.issued_at, "
        "CASE WHEN k.redeemed_at <= :as_of THEN k.redeemed_at END AS redeemed_at, "
        f"COALESCE(CASE WHEN o.is_valid AND k.redeemed_at <= :as_of THEN {_SEG_REVENUE[revenue]} "
        "END, 0) AS order_revenue "
        "FROM codes k LEFT JOIN orders o ON o.shop = k.shop AND o.id = k.redeemed_order_id "
        "WHERE k.shop = :shop AND k.issued_at <= :as_of ORDER BY k.campaign, k.issued_at",
        {"shop": shop, "as_of": db_time(as_of)},
    )


def load_orders_after(
    mirror: Mirror, shop: str, after: datetime, as_of: datetime, revenue: str = "gross"
) -> pd.DataFrame:
    """Per customer account, valid orders placed after `after` up to `as_of`: customer_id,
    orders, revenue (for comparing code recipients with their segment's other members)."""
    sql = (
        f"SELECT o.customer_id, COUNT(*) AS orders, TOTAL({_SEG_REVENUE[revenue]}) AS revenue "
        f"FROM orders o WHERE {_VALID} AND o.placed_at > :after AND o.customer_id IS NOT NULL "
        "GROUP BY 1"
    )
    params = {"shop": shop, "as_of": db_time(as_of), "after": db_time(after)}
    return mirror.frame(sql, params)


def load_push_failures(mirror: Mirror, shop: str, run_ids: list[int]) -> pd.DataFrame:
    """Failed writes of the given push runs, grouped: run_id, error, operations."""
    return mirror.frame(
        "SELECT run_id, COALESCE(error, 'unknown error') AS error, COUNT(*) AS operations "
        "FROM _push_log WHERE shop = ? AND ok = 0 AND run_id IN (SELECT value FROM json_each(?)) "
        "GROUP BY 1, 2 ORDER BY 1 DESC, 3 DESC",
        (shop, json.dumps([int(i) for i in run_ids])),
    )


CONTACT_FIELDS = ("number", "first_name", "last_name", "company")


def load_contacts(mirror: Mirror, shop: str, ids: list[str]) -> pd.DataFrame:
    """Customer number, names and company of the given customer rows (by primary key):
    customer_id plus CONTACT_FIELDS. For the few customers a report lists by name."""
    return mirror.frame(
        f"SELECT id AS customer_id, {', '.join(CONTACT_FIELDS)} FROM customers "
        "WHERE shop = ? AND id IN (SELECT value FROM json_each(?))",
        (shop, json.dumps([str(i) for i in ids])),
    )


def load_consent(mirror: Mirror, shop: str) -> pd.DataFrame:
    """Newsletter consent: customer_id, newsletter (bool). The `newsletter` column the
    connector's mapping filled (every platform alike) wins; rows stored before it existed are
    read from their payload: `newsletter` (Shopware 6.4, PrestaShop) or the Shopware 6.5+
    `newsletterRecipient` the connector attached (status direct / optIn: consented; optOut,
    notSet or null, no recipient row: not). Customers with neither are left out, so an empty
    frame means the mirror has no consent data."""
    frame = mirror.frame(
        "SELECT id AS customer_id, newsletter AS stored, "
        "json_extract(raw, '$.newsletter') AS value, "
        "json_type(raw, '$.newsletter') AS kind, "
        "json_type(raw, '$.newsletterRecipient') AS recipient, "
        "json_extract(raw, '$.newsletterRecipient.status') AS status "
        "FROM customers WHERE shop = ? AND deleted_at IS NULL AND json_valid(raw) "
        "AND (newsletter IS NOT NULL "
        "OR json_type(raw, '$.newsletter') IN ('true', 'false', 'integer', 'text') "
        "OR json_type(raw, '$.newsletterRecipient') IN ('object', 'null'))",
        (shop,),
    )
    # a column with NULLs in it turns JSON's 1 into 1.0
    text = frame["value"].astype(str).str.strip().str.lower().str.replace(r"\.0$", "", regex=True)
    flagged = frame["kind"].isin(("true", "false", "integer", "text"))
    subscribed = frame["status"].isin(("direct", "optIn"))
    from_raw = text.isin(("1", "true", "yes")).where(flagged, subscribed)
    stored = frame["stored"].notna()
    frame["newsletter"] = (frame["stored"].fillna(0).astype(int) == 1).where(stored, from_raw)
    known = stored | text.isin(("1", "0", "true", "false", "yes", "no")) | (~flagged)
    frame["newsletter"] = frame["newsletter"].astype(bool)
    return frame.loc[known, ["customer_id", "newsletter"]].reset_index(drop=True)
