"""`loyalsync report`: one self-contained HTML file with segment sizes, revenue shares and the
movements between segments, per shop. Reads the mirror (through core), writes one file."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from loyalsync.core.config import Config, ShopConfig
from loyalsync.core.mirror import Mirror, load_movements
from loyalsync.sync.render import FAMILY_ORDER
from loyalsync.sync.segment import segment_shop

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#222}
h1{font-size:1.6rem}h2{margin-top:2.5rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{padding:.2rem .7rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.bar{background:#4a7bd0;height:.7rem;display:inline-block}.muted{color:#777}
"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _sizes_html(sizes: Any) -> str:
    parts = []
    order = {f: i for i, f in enumerate(FAMILY_ORDER)}
    for family in sorted(set(sizes["family"]), key=lambda f: order.get(f, 99)):
        rows = sizes[sizes["family"] == family].sort_values("customers", ascending=False).head(15)
        body = "".join(
            f"<tr><td>{_e(r.segment)}</td><td class=n>{r.customers:,}</td>"
            f"<td class=n>{100 * r.customer_share:.1f}%</td>"
            f"<td class=n>{100 * r.revenue_share:.1f}%</td>"
            f"<td><span class=bar style='width:{300 * r.revenue_share:.0f}px'></span></td></tr>"
            for r in rows.itertuples()
        )
        parts.append(
            f"<h3>{_e(family)}</h3><table><tr><th>segment</th><th>customers</th><th>share</th>"
            f"<th>revenue share</th><th></th></tr>{body}</table>"
        )
    return "".join(parts)


def _movements_html(moves: Any) -> str:
    if moves.empty:
        return "<p class=muted>No movements recorded in the last 30 days.</p>"
    body = "".join(
        f"<tr><td>{_e(m.from_segment)}</td><td>&rarr; {_e(m.to_segment)}</td>"
        f"<td class=n>{m.customers:,}</td></tr>"
        for m in moves.itertuples()
    )
    return f"<table><tr><th>from</th><th>to</th><th>customers</th></tr>{body}</table>"


def shop_section(mirror: Mirror, config: Config, shop: ShopConfig, as_of: datetime) -> str:
    result = segment_shop(mirror, shop, config.segmentation, as_of, save=False)
    moves = load_movements(mirror, shop.name, as_of - timedelta(days=30))
    return (
        f"<h2>{_e(shop.name)} <span class=muted>({_e(shop.platform)})</span></h2>"
        f"<p>{result.customers:,} customers segmented as of {as_of:%Y-%m-%d}; "
        f"{result.excluded_protected:,} in protected groups left out.</p>"
        f"<h3>Movements, last 30 days</h3>{_movements_html(moves)}"
        f"{_sizes_html(result.sizes)}"
    )


def write_report(
    mirror: Mirror, config: Config, shops: tuple[ShopConfig, ...], as_of: datetime, path: str
) -> Path:
    sections = "".join(shop_section(mirror, config, shop, as_of) for shop in shops)
    page = (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>loyalsync report</title>"
        f"<style>{STYLE}</style><h1>loyalsync report, {as_of:%Y-%m-%d}</h1>{sections}</html>"
    )
    target = Path(path)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(target)  # never a half-written report
    return target.resolve()
