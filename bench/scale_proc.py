"""The scale table's machinery around one simulated shop: the shop itself (a simulator in this
process, seeded from core.synth, outliving every step), the config pointing at it, each step
as a real `loyalsync` CLI subprocess measured with os.wait4 (wall time, peak RSS from the
child's rusage, through a small launcher process), and the simulator's request log split
into reads and writes.

Used by bench/bench_scale.py and its test; measures, never asserts.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from loyalsync.connectors import simulator_module
from loyalsync.core.synth import SynthSpec
from loyalsync.sync.demo import DEMO_PUSH

SHOP = "bench"
BATCH = 200  # push.batch_size in the generated config (the Shopware Sync API's rows per call)
# rows per list request: the API's maximum where it has one (Shopware 500, JTL's client caps
# at 1000); PrestaShop sets none, so its documented default page size (config.example.yaml)
PAGE_SIZE = {"shopware": 500, "prestashop": 1000, "jtl": 1000}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Measured:
    """One subprocess: wall seconds, peak RSS in MB (ru_maxrss), exit code, its output."""

    seconds: float
    peak_mb: float
    code: int
    stdout: str = field(repr=False, default="")
    stderr: str = field(repr=False, default="")


# Linux keeps a process's peak RSS across fork and exec (ru_maxrss starts at the parent's
# resident size), and this process holds the simulated shop: a child forked from it would
# report at least the shop's size. So every step is started by a fresh, small launcher
# process, which spawns the step, reaps it with os.wait4 and reports its time and rusage.
LAUNCHER = """
import json, os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
began = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - began
with open(report, "w") as f:
    json.dump({"seconds": seconds, "maxrss_kb": usage.ru_maxrss,
               "code": os.waitstatus_to_exitcode(status)}, f)
"""


def run_measured(argv: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> Measured:
    """Run `argv` (argv[0] an absolute path) to completion and measure exactly that process:
    wall seconds and peak RSS from os.wait4 in the launcher (see LAUNCHER)."""
    out, err, report = cwd / ".step.out", cwd / ".step.err", cwd / ".step.json"
    report.unlink(missing_ok=True)
    launch = [sys.executable, "-c", LAUNCHER, str(report), *argv]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        launched = subprocess.run(
            launch, cwd=cwd, env=env, stdout=stdout, stderr=stderr, check=False
        )
    code = launched.returncode
    if code or not report.exists():
        raise RuntimeError(f"the launcher failed (exit {code}) for {argv[:3]}")
    figures = json.loads(report.read_text(encoding="utf-8"))
    return Measured(
        figures["seconds"],
        figures["maxrss_kb"] / 1024,  # kilobytes on Linux
        figures["code"],
        out.read_text(encoding="utf-8", errors="replace"),
        err.read_text(encoding="utf-8", errors="replace"),
    )


def loyalsync_argv() -> list[str]:
    """The installed console script next to this interpreter, else `python -m loyalsync`."""
    script = Path(sys.executable).with_name("loyalsync")
    return [str(script)] if script.exists() else [sys.executable, "-m", "loyalsync"]


def is_write(method: str, path: str) -> bool:
    """A request that changes the shop: not a read, a search (Shopware POSTs its searches) or
    a token request."""
    lowered = path.lower()
    return method in WRITE_METHODS and "/search" not in lowered and "token" not in lowered


def split_requests(log: list[Any]) -> tuple[int, int]:
    """(reads, writes) in a simulator's request log (every platform logs method and path)."""
    writes = sum(is_write(r.method, r.path) for r in log)
    return len(log) - writes, writes


def start_simulator(platform: str, spec: SynthSpec, latency: float, **options: Any) -> Any:
    """The platform's simulator with the synthetic shop of `spec`, started on 127.0.0.1."""
    module = simulator_module(platform)
    cls = {"shopware": "ShopwareSimulator", "prestashop": "PrestaShopSimulator"}.get(
        platform, "JtlSimulator"
    )
    sim = getattr(module, cls).from_spec(spec, latency=latency, **options)
    if hasattr(sim, "cache_lists"):  # PrestaShop: sorted list answers kept until a write
        sim.cache_lists()
    sim.start()
    return sim


def shop_counts(platform: str, sim: Any) -> tuple[int, int]:
    """(customer rows, order rows) the shop holds, for the minimum request counts."""
    if platform == "prestashop":
        return len(sim.table("customers")), len(sim.table("orders"))
    if platform == "jtl":
        return len(sim.customers), len(sim.store.orders)
    return len(sim.customers), len(sim.orders)


def write_config(directory: Path, platform: str, sim: Any, database: str = "loyalsync.db") -> Path:
    """loyalsync.yaml for the simulator (secrets in .env beside it, as in real use): the
    platform's maximum page size, no client-side rate limit (the latency is the cost), the
    demo's push mappings with push enabled."""
    snippet = simulator_module(platform).config_snippet(sim, name=SHOP)
    env_lines, yaml_lines = [], []
    for line in snippet.splitlines(keepends=True):
        body = line.strip()
        if body.startswith("# ") and "=" in body and body[2:].split("=")[0].isupper():
            env_lines.append(body[2:] + "\n")
        elif "requests_per_second:" in line:
            yaml_lines.append("    requests_per_second: 100000\n")
            yaml_lines.append(f"    page_size: {PAGE_SIZE[platform]}\n")
        else:
            yaml_lines.append(line)
    (directory / ".env").write_text("".join(env_lines), encoding="utf-8")
    (directory / ".env").chmod(0o600)
    push = DEMO_PUSH.replace("batch_size: 200", f"batch_size: {BATCH}")
    config = directory / "loyalsync.yaml"
    config.write_text(
        f"database: {database}\n"
        + "".join(yaml_lines)
        + '    protected_groups: ["B2B / Händler"]\n'
        + push,
        encoding="utf-8",
    )
    return config


def mirror_mb(path: Path) -> float:
    """The mirror's size on disk, its WAL and shared-memory files included."""
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    return sum(f.stat().st_size for f in files if f.exists()) / 1e6


def redemptions(platform: str, sim: Any) -> tuple[int, int]:
    """PrestaShop: (order_cart_rules rows, distinct cart rules they name), the redemptions a
    backfill reads as pages of their own; (0, 0) elsewhere (they come with the orders)."""
    if platform != "prestashop":
        return 0, 0
    rows = sim.table("order_cart_rules").values()
    return len(rows), len({r["id_cart_rule"] for r in rows})


def minimum_backfill(
    platform: str, customers: int, orders: int, rules: tuple[int, int] = (0, 0)
) -> tuple[int, str]:
    """The fewest read requests a full pull can take, and how that number is made. `rules`:
    PrestaShop's redemptions (see `redemptions`): the order_cart_rules rows in pages of their
    own and the codes of the cart rules they name, not one request per order page."""
    page = PAGE_SIZE[platform]
    c, o = math.ceil(customers / page), math.ceil(orders / page)
    if platform == "prestashop":
        r, k = math.ceil(rules[0] / page), math.ceil(rules[1] / page)
        how = f"{c} customer + {c} address + {o} order + {r} order-cart-rule + {k} cart-rule pages"
        return 2 * c + o + r + k, f"{how} of {page}"
    if platform == "jtl":
        return c + o + orders, f"{c} + {o} pages of {page} + 1 line-item request per order"
    return c + o, f"{c} customer + {o} order pages of {page}"


def minimum_incremental(platform: str, customers: int, changed: int, new_orders: int) -> int:
    """The fewest reads for a pull after `changed` customers changed and `new_orders` orders
    arrived: the changed rows at the maximum page size, at least one request per entity; JTL
    v1 has no changed-since filter for customers (a full scan) and lists line items per order."""
    page = PAGE_SIZE[platform]
    rows = max(1, math.ceil(changed / page)) + max(1, math.ceil(new_orders / page))
    if platform == "prestashop":
        return 2 * rows
    if platform == "jtl":
        return math.ceil(customers / page) + max(1, math.ceil(new_orders / page)) + new_orders
    return rows


def minimum_writes(platform: str, plan: dict[str, Any]) -> tuple[int, int]:
    """(minimum, naive) write requests for a plan (`loyalsync plan --json` of one shop).

    Minimum: Shopware's Sync API carries `BATCH` operations per request, so ceil(ops / BATCH);
    PrestaShop and JTL write one record per request: one per value created, one per customer
    whose memberships change (one PATCH carries all of them), one per code (a campaign there
    is no record of its own: each code's cart rule carries it).
    Naive: one request per customer write (every membership change and code its own request),
    plus one per value (Shopware: and campaign) created."""
    changes = plan["changes"]
    values = sum(1 for c in changes if c["op"] == "EnsureValue")
    codes = sum(1 for c in changes if c["op"] == "IssueCode")
    members = {c["customer_id"] for c in changes if "customer_id" in c and c["op"] != "IssueCode"}
    naive = values + sum(1 for c in changes if "customer_id" in c)
    if platform == "shopware":  # a campaign is a promotion of its own there
        naive += sum(1 for c in changes if c["op"] == "EnsureCampaign")
        return math.ceil(len(changes) / BATCH), naive
    return values + len(members) + codes, naive


def history_end(now: datetime) -> datetime:
    """Where the synthetic history ends: a day (and a minute) before now, where the shop's
    clock starts, so the steady-state run a day later is still not in the future (a stored
    segmentation never is)."""
    return (now - timedelta(days=1, minutes=1)).replace(microsecond=0)
