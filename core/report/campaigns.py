"""Report sections about what loyalsync did in the shop: discount campaigns (codes issued and
redeemed, revenue of the orders that used them, recipients against the segment's members who
got no code) and the last pushes with their failures. Pure: a ReportData in, Sections out."""

from __future__ import annotations

import pandas as pd

from loyalsync.core.report import charts, fmt
from loyalsync.core.report.data import CampaignData, ReportData
from loyalsync.core.report.model import Block, Chart, Section, Table, Text, empty_section

PUSH_COLUMNS = ("started", "outcome", "customers changed", "group moves", "tags added",
                "tags removed", "codes", "writes", "failed")  # fmt: skip


def campaigns(data: ReportData) -> Section:
    codes = data.codes
    if codes.empty:
        why = ("No discount campaign is configured (push.discounts)."
               if not data.config.push.discounts else "No code has been issued yet.")  # fmt: skip
        return empty_section("campaigns", "Campaigns", why)
    cur = data.currency
    segment_of = {c.name: c.segment for c in data.config.push.discounts}
    rows = []
    for name, part in codes.groupby("campaign", sort=True):
        redeemed = part["status"] == "redeemed"
        rows.append((str(name), segment_of.get(str(name), "(no longer configured)"),
                     fmt.count(len(part)), fmt.count(redeemed.sum()),
                     fmt.share(redeemed.mean()), fmt.money(part["order_revenue"].sum(), cur),
                     fmt.day(part["issued_at"].min())))  # fmt: skip
    blocks: list[Block] = [Table(
        "Codes per campaign", ("campaign", "segment", "issued", "redeemed", "rate",
                               f"revenue of orders with a code ({cur})", "first issued"),
        tuple(rows), frozenset({2, 3, 4, 5}),
    )]  # fmt: skip
    blocks.append(_over_time(codes))
    blocks.extend(_comparison(data, c) for c in data.campaigns if c.started is not None)
    return Section("campaigns", "Campaigns", tuple(blocks))


def _over_time(codes: pd.DataFrame) -> Block:
    issued = codes["issued_at"].str[:7].value_counts()
    redeemed = codes["redeemed_at"].dropna().str[:7].value_counts()
    months = sorted(set(issued.index) | set(redeemed.index))
    series = {"issued": [int(issued.get(m, 0)) for m in months],
              "redeemed": [int(redeemed.get(m, 0)) for m in months]}  # fmt: skip
    svg = charts.bar_chart("codes", months, series, "codes", "Codes issued and redeemed per month")
    return Chart("Codes over time", svg, "All campaigns, by the month a code was issued or used.")


def _comparison(data: ReportData, c: CampaignData) -> Block:
    """Recipients against the members of the campaign's segment who have no code (cooldown,
    minimum age, added later): who ordered since the first code went out, and what they spent."""
    family, _, value = c.segment.partition(":")
    s = data.summary
    if family not in s:
        return Text(f"{c.name}: no comparison group, the report does not track {family}: "
                    "segments per customer.")  # fmt: skip
    got = set(data.codes.loc[data.codes["campaign"] == c.name, "customer_id"].astype(str))
    ids = s["customer_id"].astype(str)
    others = ids[(s[family] == value).to_numpy() & ~ids.isin(got).to_numpy()]
    after = c.orders_after.set_index(c.orders_after["customer_id"].astype(str))
    rows = [_group_row("got a code", list(got), after, data.currency)]
    if len(others):
        rows.append(_group_row(f"{c.segment}, no code", list(others), after, data.currency))
    caption = (
        ""
        if len(others)
        else " Nobody in the segment is without a code, so there is no comparison group."
    )
    return Table(
        f"{c.name}: orders since the first code ({fmt.day(c.started)})",
        ("group", "customers", "ordered since", "share", "orders", f"revenue ({data.currency})",
         "revenue per customer"), tuple(rows), frozenset({1, 2, 3, 4, 5, 6}),
        empty=caption,
    )  # fmt: skip


def _group_row(label: str, ids: list[str], after: pd.DataFrame, currency: str) -> tuple[str, ...]:
    hit = after.reindex(ids).dropna(subset=["orders"])
    n = len(ids)
    revenue = float(hit["revenue"].sum())
    return (label, fmt.count(n), fmt.count(len(hit)), fmt.share(len(hit) / n if n else 0),
            fmt.count(hit["orders"].sum()), fmt.money(revenue, currency),
            fmt.money(revenue / n if n else 0, currency))  # fmt: skip


def pushes(data: ReportData) -> Section:
    if not data.push_runs:
        why = "No push has run yet" + (
            " (push.enabled is false: `loyalsync plan` shows what a push would change)."
            if not data.config.push.enabled else ".")  # fmt: skip
        return empty_section("pushes", "Last pushes", why)
    rows = []
    for run in data.push_runs:
        k = run["counts"]
        rows.append((fmt.text(run["started_at"])[:16].replace("T", " "), str(run["outcome"]),
                     *(fmt.count(k.get(key, 0)) for key in ("customers_changed", "moves",
                       "tag_adds", "tag_removes", "codes", "applied", "failed"))))  # fmt: skip
    blocks: list[Block] = [Table("What the last pushes changed in the shop", PUSH_COLUMNS,
                                 tuple(rows), frozenset(range(2, 9)))]  # fmt: skip
    failures = data.push_failures
    errors = [str(r["error"]) for r in data.push_runs if r.get("error")]
    if failures.empty and not errors:
        blocks.append(Text("No failed writes in these pushes."))
    if not failures.empty:
        rows_f = tuple((str(r.run_id), str(r.error)[:200], fmt.count(r.operations))
                       for r in failures.itertuples(index=False))  # fmt: skip
        blocks.append(Table("Failed writes", ("run", "error", "operations"), rows_f,
                            frozenset({2})))  # fmt: skip
    if errors:
        blocks.append(Text("Push runs that stopped: " + "; ".join(e[:200] for e in errors)))
    return Section("pushes", "Last pushes", tuple(blocks))
