"""The CLI with PrestaShop: `init --platform prestashop` writes a config that works against the
simulator (check, backfill, segment, plan), a config asking for tags on PrestaShop is told in
plain words by the config check, `check` and `plan`, `simulate --platform prestashop` serves a
shop its printed snippet can check, and `demo --platform prestashop` runs the whole
pipeline."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from loyalsync.connectors.prestashop.simulator import PrestaShopSimulator
from loyalsync.sync.cli import run

VIP = '    - {segment: "loyalty:vip", group: "VIP (auto)"}\n'
TAGS = '  tags:\n    - {segment: "lifecycle:slipping", tag: slipping}\n'
TOLD = "prestashop has no customer tags: push.tags (1 mapping) is ignored for shop 'my-shop'"


def initialised(tmp_path: Path, sim: PrestaShopSimulator, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "loyalsync.yaml"
    assert run(["init", "--path", str(target), "--platform", "prestashop"]) == 0
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("https://shop.example.com", sim.url), encoding="utf-8")
    monkeypatch.setenv("PRESTASHOP_API_KEY", sim.key)
    return target


def test_init_writes_a_config_that_works_against_the_shop(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_sim: Callable[..., PrestaShopSimulator],
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim = make_sim(version="9.0")
    target = initialised(tmp_path, sim, monkeypatch)
    text = target.read_text(encoding="utf-8")
    assert "platform: prestashop" in text and "${PRESTASHOP_API_KEY}" in text
    assert "tags:" not in text and "prestashop:" in text  # no mapping PrestaShop would ignore
    capsys.readouterr()
    assert run(["--config", str(target), "check"]) == 0
    out = capsys.readouterr().out
    assert "prestashop" in out and sim.api.version in out
    assert sim.key not in out
    for command in ("backfill", "segment", "plan"):
        assert run(["--config", str(target), command]) == 0, command
    captured = capsys.readouterr()
    assert "customer group values to create,1" in captured.out  # VIP (auto)
    assert "customer group added,0" not in captured.out
    assert "ignored" not in captured.out + captured.err
    with sqlite3.connect(tmp_path / "loyalsync.db") as db:
        customers = db.execute("SELECT COUNT(*) FROM customers").fetchone()[0]
    assert customers == len(sim.store.live_customers())
    assert not sim.write_log, "push.enabled is false in a fresh config"
    monkeypatch.setenv("PRESTASHOP_API_KEY", "Y" * 32)
    assert run(["--config", str(target), "check"]) == 3


def test_tags_asked_of_prestashop_are_told_in_plain_words(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_sim: Callable[..., PrestaShopSimulator],
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim = make_sim()
    target = initialised(tmp_path, sim, monkeypatch)
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace(VIP, VIP + TAGS), encoding="utf-8")
    capsys.readouterr()
    assert run(["--config", str(target), "check"]) == 0
    checked = capsys.readouterr()
    assert f"config: {TOLD}" in checked.err  # the config check, on loading
    assert f"  {TOLD}" in checked.out  # `check`, next to the shop's own lines
    assert run(["--config", str(target), "backfill"]) == 0
    assert run(["--config", str(target), "segment"]) == 0
    capsys.readouterr()
    assert run(["--config", str(target), "plan"]) == 0
    planned = capsys.readouterr().out
    assert "prestashop cannot set customer tags, so push.tags is ignored for this shop" in planned


def test_demo_runs_against_the_prestashop_simulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["demo", "--platform", "prestashop", "--customers", "150", "--dir", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "zero writes" in out and "VIP (auto)" in out
    with sqlite3.connect(tmp_path / "loyalsync.db") as db:
        customers = db.execute("SELECT COUNT(*) FROM customers").fetchone()[0]
        codes = db.execute("SELECT COUNT(*) FROM codes WHERE status = 'issued'").fetchone()[0]
    assert customers >= 140 and codes > 0


def test_simulate_serves_a_shop_its_snippet_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    command = [sys.executable, "-m", "loyalsync", "simulate", "--platform", "prestashop"]
    proc = subprocess.Popen(
        [*command, "--customers", "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        snippet = "".join(lines[lines.index(next(x for x in lines if x.startswith("shops:"))) :])
        key = next(x.split("=", 1)[1].strip() for x in lines if "PRESTASHOP_API_KEY=" in x)
        config = tmp_path / "loyalsync.yaml"
        config.write_text(snippet.replace("Ctrl-C stops it.", ""), encoding="utf-8")
        monkeypatch.setenv("PRESTASHOP_API_KEY", key)
        capsys.readouterr()
        assert run(["--config", str(config), "check"]) == 0
        assert "30 customers" in capsys.readouterr().out
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
