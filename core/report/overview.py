"""Report sections about the whole base: headline figures, the top customers by revenue and
by orders, and the ABC / Pareto curve. Pure: a ReportData in, Sections out."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalsync.core.report import charts, fmt
from loyalsync.core.report.data import ReportData, buyers_mask
from loyalsync.core.report.model import Chart, Section, Stat, Stats, Table, empty_section

CONTACT_COLUMNS = ("name", "e-mail", "place", "orders", "revenue", "last order")


def command(data: ReportData, args: str) -> str:
    return f"loyalsync customers --shop {data.shop} {args}"


def segment_revenue_share(data: ReportData, segment: str) -> float:
    hit = data.sizes.loc[data.sizes["segment"] == segment, "revenue_share"]
    return float(hit.iloc[0]) if len(hit) else 0.0


def headline(data: ReportData) -> Section:
    s, cur = data.summary, data.currency
    if s.empty:
        return empty_section("headline", "Headline figures", "The mirror holds no customers "
                             "for this shop yet: run `loyalsync backfill` first.")  # fmt: skip
    buyers = int(buyers_mask(s).sum())
    orders, revenue = int(s["orders"].sum()), float(s["revenue"].sum())
    issued = len(data.codes)
    redeemed = int((data.codes["status"] == "redeemed").sum()) if issued else 0
    first, last = s["first_order_at"].min(), s["last_order_at"].max()
    items = (
        Stat("customers", fmt.count(len(s)), _protected_note(data)),
        Stat("buyers", fmt.count(buyers), "with at least one valid order"),
        Stat("repeat rate", fmt.share(_ratio((s["orders"] >= 2).sum(), buyers)),
             "buyers with two or more orders"),
        Stat("revenue", fmt.money(revenue, cur), "valid orders, refunds subtracted"),
        Stat("orders", fmt.count(orders)),
        Stat("average order value", fmt.money(_ratio(revenue, orders), cur)),
        Stat("data range", f"{fmt.day(first)} – {fmt.day(last)}" if buyers else "no orders"),
        Stat("as of", fmt.day(data.as_of)),
        Stat("revenue from A customers", fmt.share(segment_revenue_share(data, "abc:A"))),
        Stat("revenue from VIPs", fmt.share(segment_revenue_share(data, "loyalty:vip"))),
        Stat("codes issued", fmt.count(issued)),
        Stat("codes redeemed", fmt.count(redeemed), fmt.share(_ratio(redeemed, issued))),
    )  # fmt: skip
    blocks: list = [Stats(items)]
    if len(data.monthly):
        months = list(data.monthly["month"])
        svg = charts.bar_chart("monthly", months, {"revenue": list(data.monthly["revenue"])},
                               f"revenue ({cur})", "Revenue per month")  # fmt: skip
        blocks.append(Chart("Revenue per month", svg, "All valid orders of the shop, by the "
                            "month they were placed, in the base currency."))  # fmt: skip
    return Section("headline", "Headline figures", tuple(blocks))


def _protected_note(data: ReportData) -> str:
    if not data.excluded_protected:
        return "all customers of the mirror"
    return f"{data.excluded_protected:,} in protected groups left out"


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else 0.0


def contact_rows(frame: pd.DataFrame, currency: str) -> tuple[tuple[str, ...], ...]:
    return tuple(
        (fmt.name(r), fmt.text(r.email), fmt.place(r), fmt.count(r.orders),
         fmt.money(r.revenue, currency), fmt.day(r.last_order_at))
        for r in frame.itertuples(index=False)
    )  # fmt: skip


def top_rows(frame: pd.DataFrame, by: list[str], ascending: list[bool], n: int) -> pd.DataFrame:
    """The first `n` rows of `frame` sorted by `by`. Only the rows whose first key reaches the
    n-th value are sorted (ties at the cut included): a million rows need no full sort."""
    if 0 < n < len(frame):
        values = np.nan_to_num(frame[by[0]].to_numpy(dtype=float), nan=-np.inf)
        key = -values if ascending[0] else values
        cut = np.partition(key, len(key) - n)[len(key) - n]
        frame = frame.loc[key >= cut]
    return frame.sort_values(by, ascending=ascending, kind="stable", na_position="last").head(n)


TOP_BY = (("revenue", "orders"), ("orders", "revenue"))


def ranked_buyers(data: ReportData, buyers: pd.DataFrame, by: str, other: str) -> pd.DataFrame:
    """The top `report.top` buyers by `by` (then `other`, then id): the rows listed by name."""
    n = data.config.report.top
    return top_rows(buyers, [by, other, "customer_id"], [False, False, True], n)


def top_customers(data: ReportData) -> Section:
    s = data.summary
    buyers = s.loc[buyers_mask(s)]
    if buyers.empty:
        return empty_section("top", "Customers by sales", "No customer has a valid order yet.")
    n = data.config.report.top
    tables = []
    for by, other in TOP_BY:
        ranked = ranked_buyers(data, buyers, by, other)
        tables.append(Table(
            f"Top {len(ranked)} by {by}", CONTACT_COLUMNS,
            contact_rows(ranked, data.currency), frozenset({3, 4}),
            hidden=max(len(buyers) - n, 0), command=command(data, f"--by {by}"),
        ))  # fmt: skip
    return Section("top", "Customers by sales", tuple(tables))


def pareto(data: ReportData) -> Section:
    revenue = data.summary["revenue"].to_numpy(dtype=float)
    if not (revenue > 0).any():
        return empty_section("abc", "ABC / Pareto", "No customer has revenue yet, so there is "
                             "no curve to draw.")  # fmt: skip
    abc = data.config.segmentation.abc
    svg = charts.pareto_chart(revenue, {"A": abc.a, "B": abc.b}, data.currency)
    rows = []
    for cls in ("A", "B", "C"):
        hit = data.sizes.loc[data.sizes["segment"] == f"abc:{cls}"]
        n = int(hit["customers"].iloc[0]) if len(hit) else 0
        rev = float(hit["revenue"].iloc[0]) if len(hit) else 0.0
        rs = segment_revenue_share(data, f"abc:{cls}")
        rows.append((cls, fmt.count(n), fmt.share(_ratio(n, len(revenue))),
                     fmt.money(rev, data.currency), fmt.share(rs)))  # fmt: skip
    caption = (
        f"A: the customers who bring the first {abc.a:.0%} of revenue; B: up to {abc.b:.0%}; "
        f"C: the rest. The curve's bend shows how concentrated revenue is."
    )
    table = Table("ABC classes", ("class", "customers", "share", "revenue", "revenue share"),
                  tuple(rows), frozenset({1, 2, 3, 4}))  # fmt: skip
    return Section("abc", "ABC / Pareto", (Chart("ABC / Pareto curve", svg, caption), table))
