"""Report sections about activity over time: who went quiet (inactivity lists), who is due for
contact (predictions), the monthly cohort retention triangle and the distributions of the
predictions. Pure: a ReportData in, Sections out."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from loyalsync.core.report import charts, fmt
from loyalsync.core.report.data import ReportData
from loyalsync.core.report.model import Block, Chart, Section, Table, Text, empty_section
from loyalsync.core.report.overview import CONTACT_COLUMNS, command, contact_rows, top_rows
from loyalsync.core.segments.summary import utc_timestamp

COHORTS = 12  # the newest cohorts shown, and months after the first order


def inactivity(data: ReportData) -> Section:
    s = data.summary
    if "inactive" not in s or s["inactive"].isna().all():
        return empty_section("inactive", "Inactive customers", "No buyer has been silent for "
                             "the shortest inactivity window yet.")  # fmt: skip
    windows = sorted(data.config.segmentation.inactivity.items(), key=lambda kv: kv[1])
    n = data.config.report.list_rows
    blocks: list[Block] = []
    for name, days in windows:
        members = s.loc[(s["inactive"] == name).to_numpy()]
        if members.empty:
            blocks.append(Text(f"Nobody is in inactive:{name} (no order for {days} days)."))
            continue
        blocks.append(Table(
            f"inactive:{name} – last order {days}+ days ago ({len(members):,}), highest "
            "revenue first",
            CONTACT_COLUMNS, contact_rows(inactive_listed(data, members), data.currency),
            frozenset({3, 4}),
            hidden=max(len(members) - n, 0), command=command(data, f"--segment inactive:{name}"),
        ))  # fmt: skip
    return Section(
        "inactive",
        "Inactive customers",
        tuple(blocks),
        intro="Each buyer is listed under the longest window they have reached.",
    )


def inactive_listed(data: ReportData, members: pd.DataFrame) -> pd.DataFrame:
    """The members of one inactivity window listed by name: highest revenue first."""
    return _best(members, "revenue", data.config.report.list_rows)


def due_members(data: ReportData) -> pd.DataFrame:
    """Customers whose predicted contact-due date has passed (none without predictions)."""
    s = data.summary
    if "contact_due_at" not in s:
        return s.iloc[:0]
    return s.loc[s["contact_due_at"] <= utc_timestamp(data.as_of)]


def due_listed(data: ReportData, due: pd.DataFrame) -> pd.DataFrame:
    return _best(due, "clv", data.config.report.list_rows)


def contact_due(data: ReportData) -> Section:
    s = data.summary
    if "contact_due_at" not in s:
        return empty_section("due", "Contact due", _no_predictions(data))
    due = due_members(data)
    if due.empty:
        return empty_section("due", "Contact due", "Nobody's predicted contact-due date has "
                             "passed yet.")  # fmt: skip
    n = data.config.report.list_rows
    shown = due_listed(data, due)
    rows = tuple(
        (fmt.name(r), fmt.text(r.email), fmt.place(r), fmt.share(r.p_alive, 0),
         fmt.money(r.clv, data.currency), fmt.day(r.contact_due_at))
        for r in shown.itertuples(index=False)
    )  # fmt: skip
    tomorrow = (data.as_of + timedelta(days=1)).date().isoformat()
    table = Table(f"Due for contact now, highest CLV first ({len(due):,})",
                  ("name", "e-mail", "place", "P(active)", "CLV", "contact due"), rows,
                  frozenset({3, 4}), hidden=max(len(due) - n, 0),
                  command=command(data, f"--due-before {tomorrow} --sort clv"))  # fmt: skip
    return Section("due", "Contact due", (table,), intro="Customers whose predicted "
                   "contact-due date has passed without a new order.")  # fmt: skip


def _best(frame: pd.DataFrame, by: str, n: int) -> pd.DataFrame:
    """The n highest by `by`, ties by customer id."""
    return top_rows(frame, [by, "customer_id"], [False, True], n)


def _no_predictions(data: ReportData) -> str:
    if not data.config.segmentation.predict.enabled:
        return "Predictions are off (segmentation.predict.enabled: false)."
    return f"Predictions were skipped: {data.predictions_note or 'no buyers yet'}."


def cohorts(data: ReportData) -> Section:
    c = data.cohorts
    if c.empty:
        return empty_section("cohorts", "Cohort retention", "No valid orders yet, so there "
                             "are no cohorts.")  # fmt: skip
    index = _month_index(c["cohort"]), _month_index(c["month"])
    c = c.assign(offset=index[1] - index[0])
    newest = sorted(c["cohort"].unique())[-COHORTS:]
    c = c.loc[c["cohort"].isin(newest) & (c["offset"] < COHORTS)]
    grid = c.pivot_table(index="cohort", columns="offset", values="customers", aggfunc="sum")
    rows, heat = [], []
    for cohort, values in grid.iterrows():
        size = float(values.get(0, np.nan))
        shares = [float(values.get(k, np.nan)) / size for k in range(COHORTS)]
        rows.append((str(cohort), fmt.count(size),
                     *("" if np.isnan(v) else fmt.share(v, 0) for v in shares[1:])))  # fmt: skip
        heat.append((None, None, *(None if np.isnan(v) else v for v in shares[1:])))
    columns = ("first order", "buyers", *(f"+{k}" for k in range(1, COHORTS)))
    table = Table("Share of each month's new buyers who ordered again k months later", columns,
                  tuple(rows), frozenset(range(1, len(columns))), heat=tuple(heat))  # fmt: skip
    return Section("cohorts", "Cohort retention", (table,), intro="Buyers grouped by the "
                   f"month of their first order (the newest {COHORTS} months).")  # fmt: skip


def _month_index(months: pd.Series) -> np.ndarray:
    year = months.str[:4].astype(int).to_numpy()
    return year * 12 + months.str[5:7].astype(int).to_numpy()


def predictions(data: ReportData) -> Section:
    s = data.summary
    if "p_alive" not in s:
        return empty_section("predict", "Predictions", _no_predictions(data))
    alive = s["p_alive"].to_numpy(dtype=float)
    blocks: list[Block] = [Chart(
        "P(active)", charts.histogram("p-alive", alive, "probability still active",
                                      "Buyers by probability of still being active"),
        "BG/NBD model fitted on this shop's buyers.",
    )]  # fmt: skip
    clv = s["clv"].to_numpy(dtype=float)
    finite = clv[np.isfinite(clv)]
    if len(finite):
        cap = float(np.quantile(finite, 0.99))
        months = data.config.segmentation.predict.clv_months
        blocks.append(Chart("CLV", charts.histogram(
            "clv", np.minimum(finite, cap), f"CLV over {months} months ({data.currency})",
            "Buyers by predicted customer lifetime value"),
            f"Gamma-Gamma spend model; values above the 99th percentile ({cap:,.2f}) are "
            "counted in the last bar. Total predicted: "
            f"{fmt.money(finite.sum(), data.currency)}.",
        ))  # fmt: skip
    else:
        blocks.append(Text("CLV is missing: the spend model was skipped "
                           f"({data.predictions_note or 'too few repeat buyers'})."))  # fmt: skip
    return Section("predict", "Predictions", tuple(blocks))
