"""Every connector as a running fake shop, plus a loyalsync.yaml pointing at it and a way to
run the real CLI in a child process that a test can kill with SIGKILL.

The shops are the contract suite's harnesses (`tests/contract/*_harness.py`) with a smaller
synthetic shop; the simulator always runs in the test process, so it outlives any child. The
children are forked from a forkserver that imported loyalsync once (a fresh interpreter per
child would spend seconds importing); each child is a real OS process running
`loyalsync.sync.cli.run(argv)` and nothing else.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from loyalsync.core.config import ShopConfig
from tests.contract.harness import Harness
from tests.contract.jtl_harness import JtlHarness
from tests.contract.prestashop_harness import PrestaShopHarness
from tests.contract.shopware_harness import ShopwareHarness

AS_OF = "2026-11-01T00:00:00+00:00"

# name -> a started harness of `customers` customers (same seed: twins are identical shops)
SHOPS: dict[str, Callable[[int], Any]] = {
    "shopware": lambda n: ShopwareHarness(customers=n),
    "prestashop-1.7.8": lambda n: PrestaShopHarness("1.7.8", customers=n),
    "prestashop-8.1": lambda n: PrestaShopHarness("8.1", customers=n),
    "prestashop-9.0": lambda n: PrestaShopHarness("9.0", customers=n),
    "jtl": lambda n: JtlHarness("onprem", customers=n),
    "jtl-cloud": lambda n: JtlHarness("cloud", customers=n),
}
PLATFORMS = sorted(SHOPS)

PUSH: dict[str, Any] = {
    "enabled": True,
    "max_changes": 1.0,
    "groups": [
        {"segment": "loyalty:vip", "group": "VIP (auto)"},
        {"segment": "loyalty:frequent", "group": "Frequent buyers (auto)"},
    ],
    "tags": [
        {"segment": "rfm_segment:champions", "tag": "champions"},
        {"segment": "inactive:6m", "tag": "inactive-6m"},
    ],
    "discounts": [
        {"name": "winback", "segment": "lifecycle:slipping", "percent": 10, "code_prefix": "WB"}
    ],
}


def shop_entry(shop: ShopConfig, **extra: Any) -> dict[str, Any]:
    """One `shops:` entry of the YAML config for a harness's ShopConfig."""
    entry: dict[str, Any] = {
        "name": shop.name,
        "platform": shop.platform,
        "url": shop.url,
        "credentials": dict(shop.credentials),
        "requests_per_second": 10_000,
        "page_size": shop.page_size,
        "timeout": shop.timeout,
    }
    if shop.options:
        entry[shop.platform] = dict(shop.options)
    entry.update(extra)
    return entry


def write_config(
    directory: Path,
    shops: list[dict[str, Any]],
    *,
    db: Path | str | None = None,
    push: bool = False,
    name: str = "loyalsync.yaml",
) -> Path:
    config: dict[str, Any] = {
        "database": str(db or directory / "m.db"),
        "shops": shops,
        "segmentation": {"min_age_days": 0, "predict": {"enabled": False}},
    }
    if push:
        config["push"] = PUSH
    path = directory / name
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return path


def config_for(harness: Harness, directory: Path, **kw: Any) -> Path:
    return write_config(directory, [shop_entry(harness.shop)], **kw)


# ---------------------------------------------------------------------------------------------
# Children to kill

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(
    [
        "loyalsync.sync.cli",
        "loyalsync.sync.push",
        "loyalsync.connectors.shopware.client",
        "loyalsync.connectors.prestashop.client",
        "loyalsync.connectors.jtl.client",
    ]
)


def _cli_child(argv: list[str], log: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 2)
    os.dup2(fd, 1)
    from loyalsync.sync.cli import run

    os._exit(run(argv))


def start_cli(argv: list[str], log: Path) -> multiprocessing.process.BaseProcess:
    """`loyalsync <argv>` in a child process (stdout and stderr into `log`)."""
    child = _CONTEXT.Process(target=_cli_child, args=(argv, str(log)), daemon=True)
    child.start()
    return child
