"""`loyalsync report`: one self-contained HTML file per run (core.report builds and renders it,
from the mirror's data as of a moment). Writes the file atomically: never a half-written page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from loyalsync.core.config import Config, ShopConfig
from loyalsync.core.mirror import Mirror
from loyalsync.core.report import build_report, render_html
from loyalsync.sync.report_data import load_report_data


def report_html(
    mirror: Mirror, config: Config, shops: tuple[ShopConfig, ...], as_of: datetime
) -> str:
    reports = [build_report(load_report_data(mirror, config, shop, as_of)) for shop in shops]
    return render_html(reports, as_of)


def write_report(
    mirror: Mirror, config: Config, shops: tuple[ShopConfig, ...], as_of: datetime, path: str
) -> Path:
    page = report_html(mirror, config, shops, as_of)
    target = Path(path)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(target)
    return target.resolve()
