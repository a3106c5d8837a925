"""The HTML report (`loyalsync report`): data.py reads one shop from the mirror, the section
modules (overview, segments, activity, campaigns) turn it into plain blocks (model.py), charts.py
draws inline SVG with matplotlib, build.py renders templates/report.html.j2 with Jinja2."""

from loyalsync.core.report.build import build_report, render_html
from loyalsync.core.report.data import ReportData, load_report_data

__all__ = ["ReportData", "build_report", "load_report_data", "render_html"]
