"""The scale table's machinery (bench/bench_scale.py) at a tiny size against the Shopware
simulator: every row is there, measured, and no request count is below its minimum. Timings are
printed by the benchmark, never asserted."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench import bench_scale, scale_proc
from bench.scale_steps import LABELS, STEPS, ShopRun
from bench.scale_table import header, render

CUSTOMERS = 200


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list:
    work = tmp_path_factory.mktemp("scale")
    return ShopRun("shopware", CUSTOMERS, 0.0, work).run(STEPS[:-1], naive=True)


def test_every_row_is_measured(rows: list) -> None:
    assert [r.step for r in rows] == list(STEPS)
    for row in rows:
        assert row.status == "measured", (row.step, row.note)
    for row in rows[:-1]:
        assert row.peak_mb and row.peak_mb > 10  # a Python process with loyalsync imported
    assert rows[-1].note.endswith("MB") and float(rows[-1].note.split()[0]) > 0


def test_requests_are_at_least_the_minimum(rows: list) -> None:
    by_step = {r.step: r for r in rows}
    for step in ("backfill", "pull", "push-first", "push-steady"):
        row = by_step[step]
        assert row.minimum is not None and row.minimum > 0, step
        assert row.requests is not None and row.requests >= row.minimum, (step, row)
    assert by_step["push-first"].requests > 0  # the first push wrote something
    assert by_step["backfill"].other == 0  # a pull writes nothing to the shop


def test_the_naive_side_ran_in_the_same_run(rows: list) -> None:
    backfill = next(r for r in rows if r.step == "backfill")
    assert "failed" not in backfill.note
    assert backfill.naive_requests and backfill.naive_requests > backfill.requests
    segment = next(r for r in rows if r.step == "segment")
    assert segment.naive_seconds is not None and "failed" not in segment.note
    push = next(r for r in rows if r.step == "push-first")
    assert push.naive_requests and push.naive_requests >= push.requests


def test_the_table_names_every_row_and_the_machine(rows: list) -> None:
    text = render(rows, header(0.0))
    lines = text.splitlines()
    assert "cores" in lines[0] and "load average" in lines[0]
    for step in STEPS:
        assert any(LABELS[step] in line for line in lines), step


def test_a_step_reports_its_own_peak_memory_not_the_parents(tmp_path: Path) -> None:
    ballast = bytearray(300 * 1024 * 1024)  # this process now holds 300 MB more
    ballast[::4096] = b"x" * len(ballast[::4096])
    small = scale_proc.run_measured([sys.executable, "-c", "pass"], cwd=tmp_path)
    grow = "b = bytearray(120 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"
    big = scale_proc.run_measured([sys.executable, "-c", grow], cwd=tmp_path)
    assert small.code == 0 and small.peak_mb < 100
    assert big.peak_mb >= 120 > small.peak_mb
    del ballast


def test_minimum_writes_follow_the_platform() -> None:
    plan = {"changes": [
        {"op": "EnsureValue", "slot": "groups", "name": "VIP"},
        {"op": "EnsureCampaign", "name": "winback"},
        {"op": "AddValue", "customer_id": "1", "slot": "groups", "value": "VIP"},
        {"op": "RemoveValue", "customer_id": "1", "slot": "tags", "value": "x"},
        {"op": "IssueCode", "customer_id": "1", "campaign": "winback", "code": "WB-1"},
        {"op": "AddValue", "customer_id": "2", "slot": "groups", "value": "VIP"},
    ]}  # fmt: skip
    assert scale_proc.minimum_writes("shopware", plan) == (1, 6)
    # one per value, per customer whose memberships change, per code; campaigns are no record
    assert scale_proc.minimum_writes("prestashop", plan) == (4, 5)
    assert scale_proc.minimum_writes("jtl", plan) == (4, 5)


def test_large_sizes_are_skipped_with_the_reason(tmp_path: Path) -> None:
    args = bench_scale.parse(["--sizes", "50000", "--platforms", "jtl", "--out", str(tmp_path)])
    rows = bench_scale.collect(args, tmp_path)
    assert {r.status for r in rows} == {"skipped"}
    assert all("--jtl-pull-limit" in r.note or "see shopware" in r.note for r in rows)
    json.dumps([r.to_dict() for r in rows])


def test_prestashop_minimum_reads_redemptions_as_pages_of_their_own() -> None:
    # a backfill reads order_cart_rules as a keyset of its own (issue 13), not once per order
    # page: 3,001 customers, 14,681 orders, 408 redemptions naming 2 rules, pages of 1,000
    minimum, how = scale_proc.minimum_backfill("prestashop", 3_001, 14_681, (408, 2))
    assert minimum == 4 + 4 + 15 + 1 + 1, how
    assert scale_proc.minimum_backfill("prestashop", 3_001, 14_681)[0] == 4 + 4 + 15
    assert scale_proc.minimum_backfill("shopware", 3_001, 14_681, (408, 2))[0] == 7 + 30


def test_no_naive_pull_keeps_the_rest_of_the_naive_side(tmp_path: Path) -> None:
    args = bench_scale.parse(["--sizes", "50", "--platforms", "shopware", "--latency", "0",
                              "--steps", "backfill", "segment", "--no-naive-pull"])  # fmt: skip
    rows = {r.step: r for r in bench_scale.collect(args, tmp_path)}
    backfill, segment = rows["backfill"], rows["segment"]
    assert backfill.status == "measured" and backfill.requests
    assert backfill.naive_requests is None and backfill.naive_seconds is None
    assert backfill.note.endswith("naive pull not run: --no-naive-pull")
    assert segment.naive_seconds is not None and "failed" not in segment.note
