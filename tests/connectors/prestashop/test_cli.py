"""The CLI with PrestaShop: `init --platform prestashop` writes a config that works against the
simulator, and `demo --platform prestashop` runs the whole pipeline."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from loyalsync.connectors.prestashop.simulator import PrestaShopSimulator
from loyalsync.sync.cli import run


def test_init_writes_a_config_that_checks_against_the_shop(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_sim: Callable[..., PrestaShopSimulator],
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim = make_sim(version="9.0")
    target = tmp_path / "loyalsync.yaml"
    assert run(["init", "--path", str(target), "--platform", "prestashop"]) == 0
    text = target.read_text(encoding="utf-8")
    assert "platform: prestashop" in text and "${PRESTASHOP_API_KEY}" in text
    target.write_text(text.replace("https://shop.example.com", sim.url), encoding="utf-8")
    monkeypatch.setenv("PRESTASHOP_API_KEY", sim.key)
    capsys.readouterr()
    assert run(["--config", str(target), "check"]) == 0
    out = capsys.readouterr().out
    assert "prestashop" in out and sim.api.version in out
    assert sim.key not in out
    monkeypatch.setenv("PRESTASHOP_API_KEY", "Y" * 32)
    assert run(["--config", str(target), "check"]) == 3


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
