"""The report's charts: inline SVG that scales (viewBox, no fixed size), keeps text as text,
has ids of its own, and stays small for a million customers."""

from __future__ import annotations

import re

import numpy as np

from loyalsync.core.report import charts


def test_svg_scales_keeps_text_and_prefixes_every_id() -> None:
    svg = charts.line_chart("trend", ["2026-01", "2026-02"], {"vip": [1, 2], "loyal": [3, 4]},
                            "customers", "Tiers over time")  # fmt: skip
    head = re.match(r"<svg[^>]*>", svg)
    assert head and "viewBox" in head[0] and "width=" not in head[0] and "height=" not in head[0]
    assert 'aria-label="Tiers over time"' in head[0]
    assert "<text" in svg and "Tiers over time" in svg  # svg.fonttype none: real text
    ids = re.findall(r'\bid="([^"]+)"', svg)
    assert ids and all(i.startswith("trend-") for i in ids)
    refs = re.findall(r'href="#([^"]+)"|url\(#([^)]+)\)', svg)
    assert all((a or b).startswith("trend-") for a, b in refs)


def test_pareto_of_a_million_customers_is_drawn_from_a_few_hundred_points() -> None:
    revenue = np.random.default_rng(7).pareto(1.3, 1_000_000)
    svg = charts.pareto_chart(revenue, {"A": 0.8, "B": 0.95}, "EUR")
    assert len(svg) < 60_000
    assert "A: " in svg and "% of customers" in svg


def test_rfm_grid_labels_every_cell() -> None:
    counts = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 1000]])
    svg = charts.rfm_grid(counts, counts * 10.0, "EUR")
    for n in ("1,000", "8", "4"):
        assert f">{n}<" in svg


def test_top_rows_equal_a_full_sort_with_ties_and_missing_values() -> None:
    import pandas as pd

    from loyalsync.core.report.overview import top_rows

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"revenue": rng.integers(0, 20, 500).astype(float),
                          "customer_id": [f"c{i:03d}" for i in rng.permutation(500)]})  # fmt: skip
    frame.loc[::7, "revenue"] = np.nan
    for n in (1, 5, 20, 499, 600):
        full = frame.sort_values(["revenue", "customer_id"], ascending=[False, True],
                                 kind="stable", na_position="last").head(n)  # fmt: skip
        got = top_rows(frame, ["revenue", "customer_id"], [False, True], n)
        assert got["customer_id"].tolist() == full["customer_id"].tolist(), n
