"""The built wheel installs one top-level name, and a foreign `core`/`sync`/`connectors`
package in the same environment breaks nothing (issue: generic import names)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    if proc.returncode != 0:
        pytest.fail(f"wheel build failed: {proc.stderr[-2000:]}")
    (built,) = out.glob("loyalsync-*.whl")
    return built


def test_wheel_has_one_top_level_name(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"loyalsync"}
    assert "loyalsync/core/records.py" in names
    assert "loyalsync/connectors/shopware/client.py" in names
    assert "loyalsync/sync/cli.py" in names
    # the only package data: the report's Jinja2 template (declared in pyproject.toml)
    assert [n for n in names if "templates" in n] == [
        "loyalsync/core/report/templates/report.html.j2"
    ]


def test_foreign_core_package_breaks_nothing(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
         str(wheel)],
        check=True, capture_output=True, timeout=240,
    )  # fmt: skip
    foreign = tmp_path / "foreign"
    for name in ("core", "sync", "connectors"):
        (foreign / name).mkdir(parents=True)
        (foreign / name / "__init__.py").write_text("FOREIGN = True\n")
    probe = (
        "import core, sync, connectors\n"
        "assert core.FOREIGN and sync.FOREIGN and connectors.FOREIGN\n"
        "import loyalsync.core.records, loyalsync.sync.cli, loyalsync.connectors\n"
        "from loyalsync.connectors import connector_class\n"
        "assert connector_class('shopware').platform == 'shopware'\n"
        "print(loyalsync.core.records.__file__)\n"
        "raise SystemExit(loyalsync.sync.cli.run(['--help']))\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{foreign}{os.pathsep}{site}"}
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert str(site) in proc.stdout
    assert "Usage: loyalsync" in proc.stdout
