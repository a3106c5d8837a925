"""The HTML report (`loyalsync report`): data.py holds what one shop's report shows (read from
the mirror by sync/report_data.py), the section modules (overview, segments, activity,
campaigns) turn it into plain blocks (model.py), charts.py draws inline SVG with matplotlib,
build.py renders templates/report.html.j2 with Jinja2."""

from loyalsync.core.report.build import build_report, render_html
from loyalsync.core.report.data import ReportData

__all__ = ["ReportData", "build_report", "render_html"]
