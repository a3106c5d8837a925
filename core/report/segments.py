"""Report sections about segments: the RFM grid with the named segments and their actions,
the loyalty tiers and their adaptive thresholds over time, the moves between the last two
runs and segment sizes over time (from the counts stored on each segmentation run). Pure."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from loyalsync.core.report import charts, fmt
from loyalsync.core.report.actions import action_for
from loyalsync.core.report.data import ReportData
from loyalsync.core.report.model import Block, Chart, Section, Table, Text, empty_section
from loyalsync.core.report.overview import command
from loyalsync.core.segments.loyalty import TIERS

MOVE_FAMILIES = ("abc", "loyalty", "lifecycle", "rfm_segment")
TREND_FAMILIES = ("loyalty", "lifecycle", "abc")


def rfm(data: ReportData) -> Section:
    cells = _rfm_cells(data.summary)
    if cells.empty:
        return empty_section("rfm", "RFM", "No customer has a valid order yet, so nobody has "
                             "an RFM score.")  # fmt: skip
    scale = data.config.segmentation.rfm.scale
    codes = cells.index.astype(str)
    r = np.array([int(c[0]) for c in codes]) - 1
    f = np.array([int(c[1]) for c in codes]) - 1
    counts = np.zeros((scale, scale))
    revenue = np.zeros((scale, scale))
    np.add.at(counts, (r, f), cells["size"].to_numpy(dtype=float))
    np.add.at(revenue, (r, f), cells["sum"].to_numpy(dtype=float))
    svg = charts.rfm_grid(counts, revenue, data.currency)
    chart = Chart("RFM grid", svg, f"Recency and frequency scores from 1 to {scale} (higher "
                  "is better), from ranks among this shop's buyers.")  # fmt: skip
    named = data.sizes.loc[data.sizes["family"] == "rfm_segment"]
    named = named.sort_values("revenue", ascending=False, kind="stable")
    actions = data.config.report.actions
    rows = tuple(
        (fmt.label(str(row.segment)), fmt.count(row.customers), fmt.share(row.customer_share),
         fmt.share(row.revenue_share), action_for(str(row.segment), actions))
        for row in named.itertuples(index=False)
    )  # fmt: skip
    table = Table("Named RFM segments", ("segment", "customers", "share", "revenue share",
                  "recommended action"), rows, frozenset({1, 2, 3}),
                  command=command(data, "--segment rfm_segment:NAME"))  # fmt: skip
    return Section("rfm", "RFM segments", (chart, table))


def _rfm_cells(s: pd.DataFrame) -> pd.DataFrame:
    """Customers (size) and revenue (sum) per RFM code: one grouping of the scored customers
    (a few dozen codes), not string work on every customer."""
    if "rfm" not in s:
        return pd.DataFrame({"size": [], "sum": []})
    frame = pd.DataFrame({"code": s["rfm"].to_numpy(), "revenue": s["revenue"].to_numpy(float)})
    grouped = frame.groupby("code", dropna=True, sort=True, observed=True)["revenue"]
    return grouped.agg(["size", "sum"])


def loyalty(data: ReportData) -> Section:
    t = data.thresholds
    if t is None or not (data.summary["orders"] > 0).any():
        return empty_section("loyalty", "Loyalty tiers", "No customer has a valid order yet, "
                             "so there are no tiers.")  # fmt: skip
    vip_revenue = fmt.money(t.vip_revenue, data.currency) if math.isfinite(t.vip_revenue) else "–"
    rules = {
        "one_time": "exactly one order",
        "loyal": "two or more orders",
        "frequent": f"more than {t.frequent_orders:.1f} orders",
        "vip": f"more than {t.vip_orders:.1f} orders, or revenue of at least {vip_revenue}",
    }
    rows = []
    for tier in TIERS:
        hit = data.sizes.loc[data.sizes["segment"] == f"loyalty:{tier}"]
        n = int(hit["customers"].iloc[0]) if len(hit) else 0
        rs = float(hit["revenue_share"].iloc[0]) if len(hit) else 0.0
        rows.append((tier.replace("_", " "), rules[tier], fmt.count(n), fmt.share(rs)))
    blocks: list[Block] = [Table(
        "Tiers and their current thresholds", ("tier", "rule", "customers", "revenue share"),
        tuple(rows), frozenset({2, 3}), command=command(data, "--segment loyalty:vip"),
    )]  # fmt: skip
    blocks.append(_threshold_trend(data))
    return Section("loyalty", "Loyalty tiers", tuple(blocks),
                   intro=f"Thresholds adapt to the {t.repeat_buyers:,} repeat buyers' order "
                   "counts (mean plus standard deviations) and the top revenue share.")  # fmt: skip


def _history(data: ReportData, key: str) -> list[tuple[str, dict[str, Any]]]:
    """(as-of day, counts[key]) of the stored segmentation runs that kept `key`, oldest first."""
    runs = [r for r in reversed(data.segment_runs) if isinstance(r["counts"].get(key), dict)]
    return [(fmt.day(r["as_of"]), r["counts"][key]) for r in runs]


def _threshold_trend(data: ReportData) -> Block:
    history = _history(data, "thresholds")
    if len(history) < 2:
        return Text("Thresholds over time appear once two segmentation runs have stored them "
                    f"({len(history)} so far).")  # fmt: skip
    days = [d for d, _ in history]
    series = {
        "frequent: orders above": [h["frequent_orders"] for _, h in history],
        "vip: orders above": [h["vip_orders"] for _, h in history],
    }
    svg = charts.line_chart("thresholds", days, series, "orders", "Tier thresholds over time")
    return Chart("Tier thresholds over time", svg, "The adaptive order-count thresholds at "
                 "each stored segmentation run.")  # fmt: skip


def movements(data: ReportData) -> Section:
    title = "Movement between segments"
    runs = len(data.segment_runs)
    if runs < 2:
        so_far = "one" if runs else "none"
        why = (
            "Moves and segment sizes over time need two stored segmentation runs "
            f"(`loyalsync segment`); {so_far} so far."
        )
        return empty_section("moves", title, why)
    blocks: list[Block] = []
    if data.moves.empty:
        blocks.append(Text("Nobody changed segment between the last two runs."))
    else:
        blocks.extend(_move_matrix(data.moves, family) for family in MOVE_FAMILIES
                      if data.moves["from_segment"].str.startswith(f"{family}:").any())  # fmt: skip
    blocks.extend(_size_trends(data))
    return Section("moves", title, tuple(blocks))


def _move_matrix(moves: Any, family: str) -> Table:
    part = moves.loc[moves["from_segment"].str.startswith(f"{family}:")]
    grid = part.pivot_table(index="from_segment", columns="to_segment", values="customers",
                            aggfunc="sum", fill_value=0)  # fmt: skip
    biggest = max(int(grid.to_numpy().max()), 1)
    rows, heat = [], []
    for source, values in grid.iterrows():
        rows.append((fmt.label(str(source)), *(fmt.count(v) if v else "" for v in values)))
        heat.append((None, *(float(v) / biggest if v else None for v in values)))
    columns = ("from \\ to", *(fmt.label(str(c)) for c in grid.columns))
    return Table(f"{family}: moves in the last run", columns, tuple(rows),
                 frozenset(range(1, len(columns))), heat=tuple(heat))  # fmt: skip


def _size_trends(data: ReportData) -> list[Block]:
    history = _history(data, "sizes")
    if len(history) < 2:
        return [Text("Segment sizes over time appear once two segmentation runs have stored "
                     f"them ({len(history)} so far).")]  # fmt: skip
    days = [d for d, _ in history]
    blocks: list[Block] = []
    for family in TREND_FAMILIES:
        names = sorted({k for _, h in history for k in h if k.startswith(f"{family}:")})
        if not names:
            continue
        series = {fmt.label(n): [h.get(n, 0) for _, h in history] for n in names}
        svg = charts.line_chart(f"sizes-{family}", days, series, "customers",
                                f"{family}: customers per segment over time")  # fmt: skip
        blocks.append(Chart(f"{family} over time", svg, "Customers per segment at each stored "
                            "segmentation run."))  # fmt: skip
    return blocks
