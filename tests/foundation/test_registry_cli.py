"""The connector registry (built-ins + entry points) and the CLI's help and exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from loyalsync.connectors import connector_class, platform_names
from loyalsync.core.errors import ConfigError
from loyalsync.sync.cli import cli, run

PLUGIN = """
from typing import ClassVar
from loyalsync.connectors.base import Capabilities, CheckResult

class TinyConnector:
    platform: ClassVar[str] = "tinyshop"
    capabilities: ClassVar[Capabilities] = Capabilities(groups=False, tags=True)

    def __init__(self, shop, http):
        self.shop, self.http = shop, http

    def check(self):
        data = self.http.get("/ping").json()
        return CheckResult(ok=True, platform="tinyshop", version=data["version"], customers=3,
                           orders=5)
"""


@pytest.fixture
def ping_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def do_GET(self) -> None:
            body = json.dumps({"version": "tiny-1.0"}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def install_plugin(root: Path) -> None:
    (root / "tiny_plugin.py").write_text(PLUGIN)
    dist = root / "tiny_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[loyalsync.connectors]\ntinyshop = tiny_plugin:TinyConnector\n"
    )


def test_builtins_and_unknown_platform() -> None:
    assert platform_names()[0] == "shopware"
    with pytest.raises(ConfigError, match="unknown platform 'nope'"):
        connector_class("nope")


def test_check_uses_a_plugin_connector_found_by_entry_point(
    tmp_path: Path, ping_server: str
) -> None:
    install_plugin(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text(
        textwrap.dedent(f"""
        database: m.db
        shops:
          - name: tiny
            platform: tinyshop
            url: {ping_server}
    """)
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "loyalsync", "--config", str(config), "check", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["tiny"]["version"] == "tiny-1.0" and data["tiny"]["platform"] == "tinyshop"
    assert data["tiny"]["unsupported"] == ["customer groups", "personal discount codes"]


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    expected = {
        "init",
        "check",
        "backfill",
        "pull",
        "segment",
        "customers",
        "plan",
        "push",
        "run",
        "daemon",
        "report",
        "demo",
        "simulate",
        "status",
    }
    assert expected <= set(cli.commands)
    for name, command in cli.commands.items():
        assert command.help and len(command.help) > 20, name
        assert run([name, "--help"]) == 0
        assert "Usage:" in capsys.readouterr().out


def test_exit_codes_usage_and_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["no-such-command"]) == 2
    assert run(["--config", str(tmp_path / "missing.yaml"), "check"]) == 3
    assert "not found" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("shops:\n  - name: a\n    platform: shopwar\n    url: x\n")
    assert run(["--config", str(bad), "status"]) == 3
    err = capsys.readouterr().err
    assert "did you mean 'shopware'" in err and "shops[0].url" in err


def test_init_writes_a_config_that_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """For every registered platform: the starter config loads, names every option the
    connector declares with its help, and the platform section holds the declared defaults."""
    from loyalsync.connectors import connector_class, platform_options
    from loyalsync.core.config import load_config

    for platform in platform_names():
        target = tmp_path / f"{platform}.yaml"
        assert run(["init", "--path", str(target), "--platform", platform]) == 0
        text = target.read_text()
        env = dict.fromkeys(re.findall(r"\$\{([A-Z_]+)\}", text), "x")
        shop = load_config(target, env=env, platforms=platform_options).shops[0]
        assert shop.platform == platform
        declared = connector_class(platform).options
        assert shop.options == {o.name: o.default for o in declared}
        for spec in declared:
            assert f"# {spec.help}" in text and f"{spec.name}:" in text
        assert set(shop.credentials) == set(connector_class(platform).credential_keys)
    assert run(["init", "--path", str(tmp_path / "x.yaml"), "--platform", "prestashopp"]) == 2
    assert not (tmp_path / "x.yaml").exists()
    last = tmp_path / f"{platform_names()[-1]}.yaml"
    assert run(["init", "--path", str(last)]) == 2  # refuses to overwrite


def test_every_builtin_connector_declares_its_platform_knowledge() -> None:
    """Slots, options, credentials, starter section and error parser live on the connector
    class (core/ and sync/ name no platform): each built-in declares all of them."""
    from loyalsync.core.config import OptionSpec
    from loyalsync.core.records import Slot

    for platform in platform_names():
        cls = connector_class(platform)
        assert cls.platform == platform
        assert cls.slots and all(isinstance(s, Slot) for s in cls.slots)
        assert len({s.name for s in cls.slots}) == len(cls.slots)
        assert all(isinstance(o, OptionSpec) for o in cls.options)
        assert cls.credential_keys and cls.starter_config.strip()
        assert callable(cls.parse_error)
