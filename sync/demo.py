"""`loyalsync demo` and `loyalsync simulate`: the whole pipeline against a simulated shop.

The demo starts a platform's simulator on 127.0.0.1 (seeded from core.synth), writes a demo
config (secrets in a .env file beside it, as in real use), then runs backfill, segment, plan
and push exactly as the real commands do, pulls once more to read back what the shop now has,
and prints it in words a shop admin understands.
"""

from __future__ import annotations

import shlex
import sys
import tempfile
import textwrap
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from loyalsync.connectors import simulator_module
from loyalsync.core.records import utcnow
from loyalsync.sync.demo_steps import DemoRun
from loyalsync.sync.output import iso_utc, plural

DEMO_PUSH = """
push:
  enabled: true
  batch_size: 200
  max_changes: 0.5
  tag_prefix: "ls:"
  groups:
    - {segment: "loyalty:vip", group: "VIP (auto)"}
    - {segment: "loyalty:frequent", group: "Frequent buyers (auto)"}
  tags:
    - {segment: "rfm_segment:champions", tag: champions}
    - {segment: "rfm_segment:at_risk", tag: at-risk}
    - {segment: "lifecycle:slipping", tag: slipping}
    - {segment: "inactive:6m", tag: inactive-6m}
  discounts:
    - {name: winback, segment: "lifecycle:slipping", percent: 10, valid_days: 30,
       cooldown_days: 90, code_prefix: WB}
"""


def write_demo_config(directory: Path, sim: Any, platform: str) -> Path:
    """A config pointing at the simulator; its secrets go to .env beside it (mode 0600)."""
    snippet = simulator_module(platform).config_snippet(sim)
    env_lines, shop_yaml = _split_secrets(snippet)
    shop_yaml += '    protected_groups: ["B2B / Händler"]   # B2B pricing: never touched\n'
    env_file = directory / ".env"
    env_file.write_text("".join(env_lines), encoding="utf-8")
    env_file.chmod(0o600)
    config = directory / "loyalsync.yaml"
    config.write_text(
        "# written by `loyalsync demo`: a simulated shop on 127.0.0.1\n"
        "database: loyalsync.db\n" + shop_yaml + textwrap.dedent(DEMO_PUSH),
        encoding="utf-8",
    )
    return config


def _split_secrets(snippet: str) -> tuple[list[str], str]:
    """config_snippet() returns YAML with `${VAR}` references followed by a commented
    `# VAR=value` block; the values go to .env, the YAML keeps the references."""
    env_lines, yaml_lines = [], []
    for line in snippet.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("# ") and "=" in stripped and stripped[2:].split("=")[0].isupper():
            env_lines.append(stripped[2:] + "\n")
        else:
            yaml_lines.append(line)
    return env_lines, "".join(yaml_lines)


def run_demo(
    platform: str,
    directory: str | None,
    *,
    customers: int,
    seed: int,
    out: Console,
    verbosity: int = 0,
) -> int:
    target = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="loyalsync-demo-"))
    target.mkdir(parents=True, exist_ok=True)
    for stale in ("loyalsync.db", "loyalsync.db-wal", "loyalsync.db-shm"):
        (target / stale).unlink(missing_ok=True)
    started = time.monotonic()
    module = simulator_module(platform)
    out.print(
        f"[bold]loyalsync demo[/bold]: starting a simulated {platform} shop with "
        f"{customers:,} customers on 127.0.0.1 ..."
    )
    now = history_end()
    sim = module.serve(customers=customers, seed=seed, port=0, as_of=now)
    try:
        config_path = write_demo_config(target, sim, platform)
        out.print(f"shop running at {sim.base_url}; demo config: {config_path}")
        DemoRun(config_path, out, verbosity).run(as_of=now)
    finally:
        sim.stop()
    me = self_command()
    out.print(
        f"\nfinished in {time.monotonic() - started:.1f} s. Explore further with:\n"
        f"  {me} --config {config_path} customers --segment loyalty:vip\n"
        f"  {me} --config {config_path} status",
        markup=False,
    )
    return 0


def history_end() -> datetime:
    """Where a simulated shop's history ends: now, to the second (`demo` and `simulate` alike,
    so the same seed gives the same shop and the newest customers are recent)."""
    return utcnow().replace(microsecond=0)


def self_command() -> str:
    """How to run the loyalsync that is running now: the script's absolute path, or
    `python -m loyalsync` with this interpreter when it was started another way."""
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name == "loyalsync" and script.is_file():
        return shlex.quote(str(script.absolute()))
    return f"{shlex.quote(sys.executable)} -m loyalsync"


def serve_forever(
    platform: str, *, port: int, customers: int, seed: int, latency: float, out: Console
) -> int:
    module = simulator_module(platform)
    options: dict[str, Any] = {"latency": latency} if latency else {}
    end = history_end()
    sim = module.serve(customers=customers, seed=seed, port=port, as_of=end, **options)
    out.print(
        f"simulated {platform} shop with {plural(customers, 'customer')} (seed {seed}, history "
        f"up to {iso_utc(end)}) at {sim.base_url}",
        markup=False,
    )
    out.print("config snippet (secrets as environment variables):\n")
    out.print(module.config_snippet(sim), markup=False, highlight=False)
    out.print("Ctrl-C stops it.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0
