"""`build_report(data)`: one shop's report as plain data (model.Report), section by section,
and `render_html(reports, as_of)`: the page from the Jinja2 template. Pure: the mirror was read
by data.load_report_data; the clock arrives as the data's `as_of`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import jinja2

from loyalsync.core.report import activity, campaigns, overview, segments
from loyalsync.core.report.data import ReportData, buyers_mask
from loyalsync.core.report.model import Report, Section

SECTIONS: tuple[Callable[[ReportData], Section], ...] = (
    overview.headline,
    overview.top_customers,
    overview.pareto,
    segments.rfm,
    segments.loyalty,
    segments.movements,
    activity.inactivity,
    activity.contact_due,
    activity.cohorts,
    activity.predictions,
    campaigns.campaigns,
    campaigns.pushes,
)
TEMPLATES = Path(__file__).parent / "templates"


def build_report(data: ReportData) -> Report:
    return Report(data.shop, data.platform, data.as_of, tuple(s(data) for s in SECTIONS))


def listed_ids(data: ReportData) -> list[str]:
    """The customer ids the report lists by name (top customers, inactivity lists, contact
    due), chosen by the same functions the sections use: only these need names and company,
    so a million customers' contact columns are never read."""
    s = data.summary
    frames = []
    buyers = s.loc[buyers_mask(s)]
    frames += [overview.ranked_buyers(data, buyers, by, other) for by, other in overview.TOP_BY]
    if "inactive" in s:
        for name in data.config.segmentation.inactivity:
            members = s.loc[(s["inactive"] == name).to_numpy()]
            frames.append(activity.inactive_listed(data, members))
    if "contact_due_at" in s:
        frames.append(activity.due_listed(data, activity.due_members(data)))
    return sorted({str(c) for f in frames for c in f["customer_id"]})


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(reports: Sequence[Report], as_of: datetime) -> str:
    """The whole page: every shop's report, self-contained (inline CSS and SVG only)."""
    template = _environment().get_template("report.html.j2")
    return template.render(reports=reports, as_of=as_of, markup=jinja2.utils.markupsafe.Markup)
