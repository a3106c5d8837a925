"""One place for each CLI rule (issue 12 §3): exit codes named in one module and README's table
tested against it, shared options defined once and taken by every command, run bookkeeping in
one helper, and no import cycle in sync/ (deferred imports included)."""

from __future__ import annotations

import ast
import re
import sqlite3
from pathlib import Path

import pytest

from loyalsync.core import errors
from loyalsync.sync import exits
from loyalsync.sync.cli import cli, run
from tests.sync.conftest import Shop, write_config

ROOT = Path(__file__).resolve().parents[2]
SYNC = ROOT / "sync"


def test_readme_exit_code_table_matches_the_module() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| (\d+) \| (.+?) \|$", text, flags=re.M))
    assert {int(k): v for k, v in table.items()} == exits.MEANINGS
    named = {v for k, v in vars(exits).items() if k.startswith("EXIT_")}
    assert named == set(exits.MEANINGS)


def test_error_classes_exit_with_the_named_codes() -> None:
    assert errors.ConfigError.exit_code == exits.EXIT_CONFIG
    assert errors.AuthError.exit_code == exits.EXIT_CONFIG
    assert errors.TransientError.exit_code == exits.EXIT_TRY_LATER
    assert errors.RateLimitedError.exit_code == exits.EXIT_TRY_LATER
    assert errors.PlanRejectedError.exit_code == exits.EXIT_USAGE
    assert errors.RecordError.exit_code == exits.EXIT_PARTIAL
    assert errors.LoyalsyncError.exit_code == exits.EXIT_UNEXPECTED


def test_every_command_takes_the_shared_options() -> None:
    for name, command in cli.commands.items():
        names = {p.name for p in command.params}
        assert {"config", "verbose", "quiet"} <= names, name
    assert run(["status", "--config", "/nonexistent/loyalsync.yaml", "-q", "-v"]) == 3


def _literals(path: Path) -> set[str]:
    return {
        n.value
        for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def test_shared_options_are_defined_once() -> None:
    shared = {"--config", "--shop", "--json", "--quiet", "--verbose", "--as-of"}
    for path in SYNC.glob("*.py"):
        if path.name != "options.py":
            assert not shared & _literals(path), path.name


def test_run_bookkeeping_lives_in_one_helper() -> None:
    for path in SYNC.glob("*.py"):
        calls = {
            n.func.attr
            for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
        }
        if path.name != "runs.py":
            assert not {"start_run", "finish_run"} & calls, path.name


def test_runs_record_their_outcome(shop: Shop) -> None:
    config = write_config(
        shop.directory, [("main", shop.sim, shop.sim.client_secret)], push=True, max_changes=5
    )
    base = ["--config", str(config), "-q"]
    assert run([*base, "backfill"]) == 0
    assert run([*base, "segment"]) == 0
    assert run([*base, "push"]) == 2  # refused by max_changes
    conn = sqlite3.connect(shop.directory / "m.db")
    rows = conn.execute("SELECT kind, outcome, finished_at IS NOT NULL, error FROM _runs")
    got = [(kind, outcome, done) for kind, outcome, done, _ in rows]
    assert got == [("backfill", "ok", 1), ("segment", "ok", 1), ("push", "refused", 1)]


def _imports(path: Path, package: str) -> set[str]:
    """Every module of `package` that `path` imports, at the top or deferred in a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith(package + ".")}


def import_graph(folder: Path, package: str) -> dict[str, set[str]]:
    modules = {f"{package}.{p.stem}": p for p in folder.glob("*.py") if p.stem != "__init__"}
    return {name: _imports(path, package) & set(modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_sync_has_no_import_cycle_even_with_deferred_imports() -> None:
    graph = import_graph(SYNC, "loyalsync.sync")
    assert "loyalsync.sync.commands_sync" in graph["loyalsync.sync.cli"]
    assert not any("loyalsync.sync.cli" in deps for deps in graph.values())
    assert find_cycle(graph) is None


@pytest.mark.parametrize(
    ("after", "quiet"), [(["-q"], True), (["-v"], False), (["--quiet", "--verbose"], True)]
)
def test_shared_options_work_after_the_command(
    shop: Shop, capsys: pytest.CaptureFixture[str], after: list[str], quiet: bool
) -> None:
    assert run(["check", "--config", str(shop.config), *after]) == 0
    assert (capsys.readouterr().out == "") is quiet


def test_heartbeat_stores_the_counts_so_far_at_most_every_interval() -> None:
    from loyalsync.core.mirror import Mirror
    from loyalsync.sync.runs import recorded_run

    mirror = Mirror.open(":memory:")
    ticks = iter([0.0, 10.0, 31.0, 40.0])
    progress = {"pages": 0}
    wrote = []
    with recorded_run(mirror, "s", "pull", clock=lambda: next(ticks)) as run:
        run.counts = lambda: dict(progress)
        for pages in range(1, 5):
            progress["pages"] = pages
            wrote.append(run.heartbeat())
        running = mirror.runs("s")[0]
        assert running["finished_at"] is None and running["counts"] == {"pages": 3}
    assert wrote == [False, False, True, False]
    assert mirror.runs("s")[0]["counts"] == {"pages": 4}
    assert mirror.runs("s")[0]["outcome"] == "ok"
