"""`loyalsync report`: renders for an empty shop, a one-customer shop and the demo shop; every
section is there or says why not; the numbers match the mirror recomputed in SQL."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from loyalsync.core.config import build_config
from loyalsync.core.mirror import Mirror
from loyalsync.core.mirror.order_summary import summary_answers
from loyalsync.core.mirror.report import cohort_rows
from loyalsync.core.records import Cursor, CustomerRecord, OrderRecord
from loyalsync.core.report import build_report, render_html
from loyalsync.core.report.actions import DEFAULT_ACTIONS, action_for
from loyalsync.core.report.build import SECTIONS, listed_ids
from loyalsync.core.report.model import Chart, Report, Stats, Table
from loyalsync.sync.cli import run
from loyalsync.sync.report_data import load_report_data
from tests.core.report.conftest import LATER, DemoShop, loaded, shop_config
from tests.sync.conftest import AS_OF

KEYS = ("headline", "top", "abc", "rfm", "loyalty", "moves", "inactive", "due", "cohorts",
        "predict", "campaigns", "pushes")  # fmt: skip


def report_of(config_path: Path, as_of: datetime = LATER) -> Report:
    config = loaded(config_path)
    with Mirror.open(config_path.parent / config.database) as m:
        return build_report(load_report_data(m, config, config.shops[0], as_of))


def sections_in_html(page: str) -> dict[str, str]:
    """section key -> its HTML, from the rendered page."""
    parts = re.split(r'<section class="section" id="[^"]*" data-section="', page)[1:]
    return {p.split('"', 1)[0]: p for p in parts}


def assert_every_section_present_or_explained(report: Report, page: str) -> None:
    assert [s.key for s in report.sections] == list(KEYS)
    assert len(SECTIONS) == len(KEYS)
    html_sections = sections_in_html(page)
    assert set(html_sections) == set(KEYS)
    for s in report.sections:
        if s.empty:
            assert s.empty.endswith((".", ")")) and len(s.empty.split()) >= 5, s.empty
            assert f'data-empty="{s.key}"' in html_sections[s.key]
        else:
            assert s.blocks, s.key
            assert "data-empty" not in html_sections[s.key]


def stat(report: Report, label: str) -> str:
    block = report.section("headline").blocks[0]
    assert isinstance(block, Stats)
    return next(i.value for i in block.items if i.label == label)


def table(report: Report, key: str, title_start: str) -> Table:
    return next(
        b for b in report.section(key).blocks
        if isinstance(b, Table) and b.title.startswith(title_start)
    )  # fmt: skip


# -- empty and tiny shops ---------------------------------------------------------------------


def test_empty_shop_renders_and_every_section_says_why(tmp_path: Path) -> None:
    config = shop_config(tmp_path)
    Mirror.open(tmp_path / "m.db").close()  # a mirror that was never filled
    out = tmp_path / "r.html"
    assert run(["--config", str(config), "-q", "report", "--out", str(out)]) == 0
    report = report_of(config)
    assert all(s.empty for s in report.sections)
    assert_every_section_present_or_explained(report, out.read_text())


def test_one_customer_shop(tmp_path: Path) -> None:
    config = shop_config(tmp_path)
    c = CustomerRecord(id="c1", email="ada@example.org", first_name="Ada", last_name="L",
                       country="DE", city="Berlin", postcode="10115",
                       created_at=AS_OF - timedelta(days=400))  # fmt: skip
    orders = [
        OrderRecord(id=f"o{i}", number=f"o{i}", customer_id="c1", email=None,
                    placed_at=AS_OF - timedelta(days=days), status="completed", is_valid=True,
                    total_gross=gross, total_net=gross, currency="EUR",
                    base_currency_total_gross=gross, base_currency_total_net=gross)
        for i, (days, gross) in enumerate(((300, 40.0), (100, 60.5)))
    ]  # fmt: skip
    with Mirror.open(tmp_path / "m.db") as m:
        m.save_page("main", "customers", [c], Cursor())
        m.save_page("main", "orders", orders, Cursor())
    out = tmp_path / "r.html"
    args = ["--config", str(config), "-q", "report", "--as-of", AS_OF.isoformat(), "--out"]
    assert run([*args, str(out)]) == 0
    page = out.read_text()
    report = report_of(config, AS_OF)
    assert_every_section_present_or_explained(report, page)
    assert stat(report, "customers") == "1"
    assert stat(report, "revenue") == "100.50 EUR"
    assert stat(report, "repeat rate") == "100.0 %"
    assert "Ada L" in page and "ada@example.org" in page
    assert table(report, "inactive", "inactive:3m").rows[0][1] == "ada@example.org"
    # first order 2026-01, the second in 2026-07: the cohort's +6 month is 100 %
    cohort = table(report, "cohorts", "Share of each month's new buyers").rows
    assert cohort == (("2026-01", "1", *("",) * 5, "100 %", *("",) * 5),)
    assert report.section("campaigns").empty == (
        "No discount campaign is configured (push.discounts)."
    )
    assert "push.enabled is false" in str(report.section("pushes").empty)


# -- the demo shop --------------------------------------------------------------------------


def test_demo_report_has_every_section_with_content(demo_shop: DemoShop) -> None:
    page = demo_shop.report.read_text()
    report = report_of(demo_shop.config)
    assert_every_section_present_or_explained(report, page)
    filled = {s.key for s in report.sections if not s.empty}
    assert filled >= {"headline", "top", "abc", "rfm", "loyalty", "moves", "inactive",
                      "cohorts", "campaigns", "pushes"}  # fmt: skip
    titles = {c.title for c in report.charts}
    assert {"Revenue per month", "ABC / Pareto curve", "RFM grid", "Tier thresholds over time",
            "Codes over time"} <= titles  # fmt: skip
    assert any(t.endswith("over time") and t.startswith("loyalty") for t in titles)
    moves = [b for b in report.section("moves").blocks if isinstance(b, Table)]
    assert moves and all(t.title.endswith("moves in the last run") for t in moves)


def sql_one(db: Path, sql: str, *params: object) -> float:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


def test_headline_figures_match_the_mirror(demo_shop: DemoShop) -> None:
    db, at = demo_shop.db, LATER.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    live = ("shop = 'main' AND deleted_at IS NULL AND id NOT IN (SELECT m.customer_id FROM "
            "memberships m JOIN slot_values v ON v.shop = m.shop AND v.slot = m.slot AND "
            "v.id = m.value WHERE m.slot = 'groups' AND v.name = 'B2B / Händler')")  # fmt: skip
    valid = ("o.shop = 'main' AND o.is_valid AND o.placed_at <= ? AND o.customer_id IN "
             f"(SELECT id FROM customers WHERE {live})")  # fmt: skip
    customers = sql_one(db, f"SELECT COUNT(*) FROM customers WHERE {live}")
    orders = sql_one(db, f"SELECT COUNT(*) FROM orders o WHERE {valid}", at)
    revenue = sql_one(db, "SELECT TOTAL(MAX(o.base_currency_total_gross - "
                      f"o.base_currency_refunded, 0)) FROM orders o WHERE {valid}", at)  # fmt: skip
    buyers = sql_one(db, f"SELECT COUNT(DISTINCT o.customer_id) FROM orders o WHERE {valid}", at)
    issued = sql_one(db, "SELECT COUNT(*) FROM codes WHERE shop = 'main'")
    report = report_of(demo_shop.config)
    page = demo_shop.report.read_text()
    expected = {
        "customers": f"{customers:,}", "orders": f"{orders:,}", "buyers": f"{buyers:,}",
        "revenue": f"{revenue:,.2f} EUR", "average order value": f"{revenue / orders:,.2f} EUR",
        "codes issued": f"{issued:,}", "codes redeemed": "1", "as of": f"{LATER:%Y-%m-%d}",
    }  # fmt: skip
    for label, value in expected.items():
        assert stat(report, label) == value, label
        assert f'<div class="v">{value}</div>' in page, label


def test_one_segments_revenue_matches_the_mirror(demo_shop: DemoShop) -> None:
    """abc:A's revenue in the report equals the SQL sum over the members that `segment` stored
    at the same moment."""
    at = LATER.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    revenue = sql_one(
        demo_shop.db,
        "SELECT TOTAL(MAX(o.base_currency_total_gross - o.base_currency_refunded, 0)) "
        "FROM orders o JOIN segment_members s ON s.shop = o.shop AND s.customer_id = o.customer_id "
        "WHERE o.shop = 'main' AND s.segment = 'abc:A' AND o.is_valid AND o.placed_at <= ?",
        at,
    )
    row = next(r for r in table(report_of(demo_shop.config), "abc", "ABC classes").rows
               if r[0] == "A")  # fmt: skip
    assert revenue > 0
    assert row[3] == f"{revenue:,.2f} EUR"
    assert f">{revenue:,.2f} EUR<" in demo_shop.report.read_text()


def test_campaign_counts_and_revenue_of_redeemed_codes(demo_shop: DemoShop) -> None:
    report = report_of(demo_shop.config)
    issued = int(sql_one(demo_shop.db, "SELECT COUNT(*) FROM codes WHERE campaign = 'winback'"))
    row = table(report, "campaigns", "Codes per campaign").rows[0]
    assert row[:5] == ("winback", "lifecycle:slipping", f"{issued:,}", "1",
                       f"{100 / issued:.1f} %")  # fmt: skip
    assert row[5] == f"{demo_shop.redeemed_revenue:,.2f} EUR"
    compare = table(report, "campaigns", "winback: orders since the first code")
    got = compare.rows[0]
    assert got[0] == "got a code" and got[1] == f"{issued:,}" and got[2] == "1"
    assert all(r[0].startswith("lifecycle:slipping, no code") for r in compare.rows[1:])


def test_long_tables_say_how_many_rows_are_hidden_and_how_to_list_them(
    demo_shop: DemoShop,
) -> None:
    report = report_of(demo_shop.config)
    page = demo_shop.report.read_text()
    top = table(report, "top", "Top 20 by revenue")
    buyers = int(stat(report, "buyers").replace(",", ""))
    assert len(top.rows) == 20 and top.hidden == buyers - 20
    assert f"{buyers - 20:,} more not shown" in page
    assert "loyalsync customers --shop main --by revenue" in page
    for t in (b for s in report.sections for b in s.blocks if isinstance(b, Table)):
        if t.hidden:
            assert t.command and t.command.startswith("loyalsync customers"), t.title


def test_page_is_self_contained_and_charts_scale(demo_shop: DemoShop) -> None:
    page = demo_shop.report.read_text()
    assert "<script" not in page and "@import" not in page and "@font-face" not in page
    links = re.findall(r'(?:src|href)="([^"]*)"', page)
    # in-page anchors and the colour bar's inline bitmap only
    assert all(link.startswith(("#", "data:image/png;base64,")) for link in links), links
    assert not re.search(r"url\((?!#)", page)  # no external images or fonts in CSS or SVG
    assert 'name="viewport"' in page and "@media (max-width" in page
    svgs = re.findall(r"<svg[^>]*>", page)
    assert len(svgs) >= 6
    assert all("viewBox" in s and "width=" not in s and "height=" not in s for s in svgs)
    ids = re.findall(r' id="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "ids must be unique across the inline SVGs"


def test_recommended_actions_default_and_from_config(tmp_path: Path) -> None:
    assert action_for("rfm_segment:champions", {}) == DEFAULT_ACTIONS["champions"]
    assert action_for("at_risk", {"at_risk": "Call them."}) == "Call them."
    assert action_for("mystery", {}) == DEFAULT_ACTIONS["other"]
    config = build_config(
        {"shops": [{"name": "a", "platform": "shopware", "url": "https://a.example"}],
         "report": {"top": 5, "actions": {"champions": "Say thanks."}}}, env={},
        platforms=("shopware",),
    )  # fmt: skip
    assert config.report.top == 5 and config.report.actions == {"champions": "Say thanks."}
    with pytest.raises(Exception, match=r"report\.topp"):
        build_config({"shops": [], "report": {"topp": 5}}, env={})


def test_report_is_pure_in_the_mirror_and_as_of(demo_shop: DemoShop) -> None:
    """Two renders of the same mirror and as_of give the same page."""
    config = loaded(demo_shop.config)
    with Mirror.open(demo_shop.db) as m:
        pages = [
            render_html([build_report(load_report_data(m, config, config.shops[0], LATER))], LATER)
            for _ in range(2)
        ]
    assert pages[0] == pages[1]
    assert any(isinstance(b, Chart) for b in report_of(demo_shop.config).section("abc").blocks)


def test_an_earlier_as_of_leaves_out_later_runs_and_codes(demo_shop: DemoShop) -> None:
    """As of the first run: one segmentation (no moves yet), codes but none redeemed (the
    redeeming order came later); before it: no runs, no codes, no pushes."""
    first = report_of(demo_shop.config, AS_OF)
    assert "one so far" in str(first.section("moves").empty)
    assert stat(first, "codes redeemed") == "0"
    before = report_of(demo_shop.config, AS_OF - timedelta(days=1))
    assert "none so far" in str(before.section("moves").empty)
    assert before.section("campaigns").empty == "No code has been issued yet."
    assert before.section("pushes").empty == "No push has run yet."


def test_two_shops_in_one_page_and_shop_selects_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = shop_config(tmp_path)
    text = config.read_text()
    config.write_text(text + text.split("shops:\n", 1)[1].replace("name: main", "name: other"))
    Mirror.open(tmp_path / "m.db").close()
    both, one = tmp_path / "both.html", tmp_path / "one.html"
    assert run(["--config", str(config), "-q", "report", "--out", str(both)]) == 0
    assert run(["--config", str(config), "-q", "report", "--shop", "other", "--out", str(one)]) == 0
    page = both.read_text()
    assert page.count('<section class="shop"') == 2 and "<strong>other</strong>" in page
    ids = re.findall(r' id="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert one.read_text().count('<section class="shop"') == 1
    assert "<strong>main</strong>" not in one.read_text()
    capsys.readouterr()
    assert run(["--config", str(config), "report", "--shop", "mian", "--out", str(one)]) == 3
    assert "unknown shop 'mian'" in capsys.readouterr().err


def test_last_pushes_show_their_changes_and_failures(tmp_path: Path) -> None:
    config = shop_config(tmp_path)
    with Mirror.open(tmp_path / "m.db") as m:
        run_id = m.start_run("main", "push", AS_OF)
        m.log_push(run_id, "main", [
            ("tag:c1", {"op": "AddTag"}, True, None, None),
            ("tag:c2", {"op": "AddTag"}, False, "422 customer is locked", None),
            ("tag:c3", {"op": "AddTag"}, False, "422 customer is locked", None),
        ])  # fmt: skip
        m.finish_run(run_id, "partial", {"customers_changed": 3, "tag_adds": 3, "applied": 1,
                                         "failed": 2})  # fmt: skip
    report = report_of(config, AS_OF + timedelta(days=1))
    changes = table(report, "pushes", "What the last pushes changed")
    assert changes.rows[0][1:] == ("partial", "3", "0", "3", "0", "0", "1", "2")
    failed = table(report, "pushes", "Failed writes")
    assert failed.rows == ((str(run_id), "422 customer is locked", "2"),)


def test_listed_customers_carry_their_names_from_the_mirror(demo_shop: DemoShop) -> None:
    """The summary is read without contact columns (a million customers' names cost a visit of
    every row); the listed customers' names are read by id and match the mirror's."""
    config = loaded(demo_shop.config)
    with Mirror.open(demo_shop.db) as m:
        data = load_report_data(m, config, config.shops[0], LATER)
    listed = set(listed_ids(data))
    s = data.summary
    shown = s.loc[s["customer_id"].isin(listed)]
    assert len(shown) == len(listed) >= config.report.top
    assert s.loc[~s["customer_id"].isin(listed), "last_name"].isna().all()
    names = {
        r[0]: (r[1], r[2])
        for r in sqlite3.connect(demo_shop.db).execute(
            "SELECT id, first_name, last_name FROM customers WHERE shop = 'main'"
        )
    }
    assert {r.customer_id: (r.first_name, r.last_name) for r in shown.itertuples()} == {
        c: names[c] for c in shown["customer_id"]
    }
    top = table(build_report(data), "top", "Top").rows
    by_revenue = s.sort_values(["revenue", "orders", "customer_id"], ascending=[False, False, True])
    first = by_revenue.iloc[0]
    assert top[0][0].startswith(f"{names[first.customer_id][0]} {names[first.customer_id][1]}")


def test_cohorts_from_the_kept_summary_equal_the_walk_over_every_order(
    demo_shop: DemoShop,
) -> None:
    with Mirror.open(demo_shop.db) as m:
        assert summary_answers(m, "main", LATER)
        kept, live = (
            cohort_rows(m, "main", LATER, "2025-12", kept=k).assign(
                months=lambda f: f["months"].map(lambda v: ",".join(sorted(v.split(","))))
            ).sort_values(["cohort", "months"], ignore_index=True)
            for k in (True, False)
        )  # fmt: skip
    assert len(kept) > 0
    pd.testing.assert_frame_equal(kept, live)
