"""Nothing a typo can break (issue 11 §3): protected groups that name no group, push.enabled,
--force, segment --as-of and --dry-run, through the real CLI against the simulated shop."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from loyalsync.core.plan.protect import protected_group_problems
from loyalsync.sync.cli import run
from tests.sync.conftest import Shop, write_config


def runs(db: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT kind, outcome FROM _runs ORDER BY id").fetchall()
    finally:
        conn.close()


def test_protected_group_problems_suggest_the_shop_group() -> None:
    groups = [("g1", "Standard"), ("g2", "B2B / Händler")]
    assert protected_group_problems(["B2B / Händler", "g1"], groups) == []
    (problem,) = protected_group_problems(["B2B/Haendler"], groups)
    assert "did you mean 'B2B / Händler'?" in problem
    assert "'B2B / Händler', 'Standard'" in problem  # the shop's group names are listed
    assert "none (pull the shop first)" in protected_group_problems(["x"], [])[0]


def test_a_protected_group_typo_makes_check_plan_and_push_refuse(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        shop.directory, [("main", shop.sim, shop.sim.client_secret)], push=True,
        protected="B2B/Haendler",
    )  # fmt: skip
    base = ["--config", str(config)]
    assert run([*base, "check"]) == 3
    assert "did you mean 'B2B / Händler'?" in capsys.readouterr().err
    assert run([*base, "-q", "backfill"]) == 0
    assert run([*base, "-q", "segment"]) == 0
    capsys.readouterr()
    for command in (["plan"], ["plan", "--json"], ["push", "--force"]):
        assert run([*base, *command]) == 3, command
        err = capsys.readouterr().err
        assert "no group 'B2B/Haendler' (did you mean 'B2B / Händler'?)" in err, command
    assert shop.writes() == 0


def test_push_disabled_never_writes_even_with_force(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--config", str(shop.config)]  # push.enabled: false
    assert run([*base, "-q", "backfill"]) == 0
    assert run([*base, "-q", "segment"]) == 0
    for command in (["push"], ["push", "--force"]):
        assert run([*base, *command]) == 3
        assert "push.enabled is false" in capsys.readouterr().err
    assert shop.writes() == 0
    assert run([*base, "plan"]) == 0  # looking is always allowed


def test_a_forced_push_does_not_ask_for_force(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        shop.directory, [("main", shop.sim, shop.sim.client_secret)], push=True, max_changes=5
    )
    base = ["--config", str(config)]
    assert run([*base, "-q", "backfill"]) == 0
    assert run([*base, "-q", "segment"]) == 0
    capsys.readouterr()
    assert run([*base, "push", "--force"]) == 0
    out = capsys.readouterr().out
    assert shop.writes() > 0
    assert "needs --force" not in out
    assert "pushed with --force" in out


def test_segment_as_of_refuses_bogus_history_and_dry_run_stores_nothing(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--config", str(shop.config)]
    db = shop.directory / "m.db"
    assert run([*base, "-q", "backfill"]) == 0
    assert run([*base, "-q", "segment", "--as-of", "2026-11-01"]) == 0
    before = runs(db)
    capsys.readouterr()
    assert run([*base, "segment", "--as-of", "2099-01-01"]) == 2
    assert "in the future" in capsys.readouterr().err
    assert run([*base, "segment", "--as-of", "1999-01-01"]) == 2
    err = capsys.readouterr().err
    assert "'--as-of'" in err and "before the newest stored segmentation" in err
    assert run([*base, "run", "--as-of", "1999-01-01"]) == 2  # run stores segments too
    assert runs(db) == before  # nothing recorded, nothing stored
    conn = sqlite3.connect(db)
    changes = conn.execute("SELECT COUNT(*) FROM segment_changes").fetchone()[0]
    assert run([*base, "segment", "--as-of", "1999-01-01", "--dry-run", "--json"]) == 0
    assert '"saved": false' in capsys.readouterr().out
    assert run([*base, "segment", "--as-of", "2099-01-01", "--dry-run"]) == 0
    assert "what-if: nothing stored" in capsys.readouterr().out
    assert conn.execute("SELECT COUNT(*) FROM segment_changes").fetchone()[0] == changes
    assert runs(db) == before
    assert run([*base, "-q", "segment", "--as-of", "2026-11-02"]) == 0  # forward is fine
    assert runs(db)[-1] == ("segment", "ok")
