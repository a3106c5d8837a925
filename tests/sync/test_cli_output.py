"""Output a shop owner and cron can live with (issue 11 §5): -q, one number format, plurals,
plain lines for pipes, plans naming customers, one JSON and date form, simulate and demo."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from loyalsync.connectors.shopware import simulator
from loyalsync.sync.cli import run
from loyalsync.sync.output import iso_utc, number, plural
from tests.sync.conftest import Shop, write_config

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DATEISH = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def ready(shop: Shop, push: bool = True) -> list[str]:
    config = write_config(shop.directory, [("main", shop.sim, shop.sim.client_secret)], push=push)
    base = ["--config", str(config)]
    assert run([*base, "-q", "backfill"]) == 0
    assert run([*base, "-q", "segment"]) == 0
    return base


def test_numbers_and_plurals() -> None:
    assert number(2000) == "2,000" and number(1234.5) == "1,234.50"
    assert plural(1, "group") == "1 group" and plural(2000, "customer") == "2,000 customers"
    assert plural(0, "entry") == "0 entries" and plural(1, "batch", "batches") == "1 batch"
    assert iso_utc(datetime(2026, 11, 1, 9, 30, 5, 123, tzinfo=UTC)) == "2026-11-01T09:30:05Z"
    assert iso_utc("2026-11-01 10:30:05+01:00") == "2026-11-01T09:30:05Z"


def test_quiet_prints_nothing_on_success(shop: Shop, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(shop.directory, [("main", shop.sim, shop.sim.client_secret)], push=True)
    for args in (["-q", "backfill"], ["pull", "-q"], ["segment", "-q"], ["-q", "run"],
                 ["push", "-q"], ["check", "-q"], ["report", "-q", "--out",
                                                   str(shop.directory / "r.html")]):  # fmt: skip
        assert run(["--config", str(config), *args]) == 0, args
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err == "", (args, captured)


def test_plain_lines_when_stdout_is_not_a_terminal(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ready(shop)
    capsys.readouterr()
    for command in (["segment"], ["plan"], ["status"], ["customers", "--top", "5"]):
        assert run([*base, *command]) == 0
        out = capsys.readouterr().out
        assert not set("│┃━─┏┡") & set(out), command  # no box drawing: CSV-safe lines
        for line in out.splitlines():
            assert "  " not in line.strip(), (command, line)  # no double spaces
    assert run([*base, "segment"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "segment,customers,share,revenue share" in lines
    assert any(line.startswith("loyalty:vip,") for line in lines)


def test_plan_speaks_in_plurals_and_names_customers(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ready(shop)
    capsys.readouterr()
    assert run([*base, "plan"]) == 0
    out = capsys.readouterr().out
    assert "(create 1 customer group, 1 tag)" in out  # one managed group, one tag: singular
    assert run([*base, "plan", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)["main"]
    named = [c["customer"] for c in plan["changes"] if "customer" in c]
    assert named and all(c["email"] and c["number"] and c["name"] for c in named)
    assert run([*base, "-v", "plan"]) == 0
    verbose = capsys.readouterr().out
    first = named[0]
    assert f"customer {first['number']} {first['email']} ({first['name']})" in verbose


def _dates(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [d for v in value.values() for d in _dates(v)]
    if isinstance(value, list):
        return [d for v in value for d in _dates(v)]
    return [value] if isinstance(value, str) and DATEISH.match(value) else []


def test_json_and_csv_share_one_shape_and_one_date_form(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ready(shop)
    capsys.readouterr()
    assert run([*base, "customers", "--json", "--top", "3"]) == 0
    flag = json.loads(capsys.readouterr().out)
    assert run([*base, "customers", "--format", "json", "--top", "3"]) == 0
    assert json.loads(capsys.readouterr().out) == flag
    assert list(flag) == ["main"] and len(flag["main"]) == 3  # keyed by shop, like the others
    found = _dates(flag)
    for command in (["status", "--json"], ["plan", "--json"], ["segment", "--json"],
                    ["check", "--json"]):  # fmt: skip
        assert run([*base, *command]) == 0
        data = json.loads(capsys.readouterr().out)
        assert "main" in data or "shops" in data
        found += _dates(data)
    assert len(found) > 5 and all(ISO.match(d) for d in found), found
    assert run([*base, "customers", "--format", "csv", "--top", "3"]) == 0
    rows = capsys.readouterr().out.splitlines()
    column = rows[0].split(",").index("last_order_at")
    assert all(ISO.match(r.split(",")[column]) for r in rows[1:])


def _first_customers(url: str, client_id: str, secret: str) -> list[tuple[str, str]]:
    token = requests.post(
        f"{url}/api/oauth/token",
        json={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        timeout=10,
    ).json()["access_token"]
    body = {"limit": 20, "sort": [{"field": "id"}]}
    headers = {"Authorization": f"Bearer {token}"}
    found = requests.post(f"{url}/api/search/customer", json=body, headers=headers, timeout=10)
    return [(c["id"], c["attributes"]["createdAt"]) for c in found.json()["data"]]


def test_simulate_ends_now_with_the_same_history_as_the_demo_for_a_seed() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    proc = subprocess.Popen(
        [sys.executable, "-m", "loyalsync", "simulate", "--customers", "60", "--seed", "7"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(lines)
        end = datetime.fromisoformat(re.search(r"history up to (\S+)\)", text)[1])  # type: ignore[index]
        assert before <= end <= datetime.now(UTC)  # ends now, not on a fixed date
        url = next(w for w in text.split() if w.startswith("http://127.0.0.1:"))
        secret = next(x.split("=", 1)[1].strip() for x in lines if "CLIENT_SECRET=" in x)
        client = next(x.split("=", 1)[1].strip() for x in lines if "CLIENT_ID=" in x)
        theirs = _first_customers(url, client, secret)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    same = simulator.serve(customers=60, seed=7, as_of=end)  # what `demo` serves for that end
    try:
        assert theirs and theirs == _first_customers(same.url, same.client_id, same.client_secret)
    finally:
        same.stop()


def test_demo_hints_name_the_loyalsync_it_ran_and_leave_no_lock(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "loyalsync"
    proc = subprocess.run(
        [str(script), "demo", "--dir", str(tmp_path), "--customers", "150"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"  {script} --config {tmp_path / 'loyalsync.yaml'} status" in proc.stdout
    assert ".venv/bin/loyalsync" not in proc.stdout.replace(str(script), "")
    assert not (tmp_path / "loyalsync.db.lock").exists()
