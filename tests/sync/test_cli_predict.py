"""`loyalsync customers --due-before DATE [--sort clv]` against the simulator-backed mirror: who
to contact now, with contact details and predictions; skipped predictions named, never a crash
of `segment` or `run`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loyalsync.sync.cli import run
from tests.sync.conftest import Shop, write_config


def ready(shop: Shop, extra: str = "") -> list[str]:
    config = write_config(shop.directory, [("main", shop.sim, shop.sim.client_secret)])
    if extra:
        config.write_text(config.read_text() + extra)
    base = ["--config", str(config)]
    assert run([*base, "-q", "backfill"]) == 0
    return base


def listed(base: list[str], capsys: pytest.CaptureFixture[str], *args: str) -> list[Any]:
    capsys.readouterr()
    assert run([*base, "customers", "--format", "json", *args]) == 0
    rows: list[Any] = json.loads(capsys.readouterr().out)["main"]
    return rows


def test_due_before_lists_who_to_contact_with_contact_details(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ready(shop)
    assert run([*base, "-q", "segment"]) == 0
    everyone = listed(base, capsys)
    assert "contact_due_at" not in everyone[0]  # the plain list is unchanged
    buyers = {r["customer_id"] for r in everyone if r["orders"] > 0}
    later = listed(base, capsys, "--due-before", "2200-01-01")
    assert {r["customer_id"] for r in later} == buyers  # every buyer has a contact-due date
    due = listed(base, capsys, "--due-before", "2026-09-01")
    wanted = {r["customer_id"] for r in later if r["contact_due_at"] < "2026-09-01"}
    assert due and {r["customer_id"] for r in due} == wanted and len(wanted) < len(buyers)
    assert all(r["email"] and 0 <= r["p_alive"] <= 1 for r in due)
    ranked = listed(base, capsys, "--due-before", "2026-09-01", "--sort", "clv")
    clv = [r["clv"] for r in ranked]
    assert clv == sorted(clv, reverse=True) and {r["customer_id"] for r in ranked} == wanted
    soonest = listed(base, capsys, "--sort", "contact_due")
    dates = [r["contact_due_at"] for r in soonest if r["contact_due_at"]]
    assert dates == sorted(dates) and len(dates) == len(buyers)
    slipping = listed(base, capsys, "--segment", "lifecycle:slipping", "--due-before", "2200-01-01")
    assert slipping and all(r["orders"] > 0 for r in slipping)
    capsys.readouterr()
    assert run([*base, "customers", "--due-before", "2026-09-01", "--sort", "clv"]) == 0
    table = capsys.readouterr().out
    assert "contact due before 2026-09-01" in table and "contact due" in table
    assert ranked[0]["email"] in table.splitlines()[2]  # highest CLV first


def test_due_before_refuses_a_bad_date(shop: Shop, capsys: pytest.CaptureFixture[str]) -> None:
    base = ready(shop)
    capsys.readouterr()
    assert run([*base, "customers", "--due-before", "next week"]) == 2
    assert "--due-before" in capsys.readouterr().err


def test_skipped_predictions_are_named_and_never_crash_the_cycle(
    shop: Shop, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base = ready(shop, "segmentation:\n  predict:\n    min_repeat_buyers: 100000\n")
    capsys.readouterr()
    assert run([*base, "segment"]) == 0
    captured = capsys.readouterr()
    assert "too few repeat buyers" in captured.err and "min_repeat_buyers" in captured.err
    assert "predict:" not in captured.out and "lifecycle:" in captured.out
    assert run([*base, "run"]) == 0
    assert "too few repeat buyers" in capsys.readouterr().err
    assert run([*base, "customers", "--due-before", "2026-09-01"]) == 2
    err = capsys.readouterr().err
    assert "too few repeat buyers" in err and "--due-before" in err
    assert run([*base, "customers", "--top", "3"]) == 0  # the plain list still works
