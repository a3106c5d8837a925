"""The registry of contract-suite harnesses: one factory per platform.

A factory takes pytest's `tmp_path` (and `clock_offset`: the shop's clock relative to ours, for
the clock-skew tests) and is a context manager yielding a started harness (see
`harness.Harness`). PrestaShop adds its own entry here; JTL runs in both flavours.

Every entry of `PLATFORMS` also runs the membership-slot tests (test_slots.py, `SlotHarness`);
`SLOT_PLATFORMS` adds the connectors that run only those: the in-memory test connector, whose
`many` group slot proves the planner and the push path platform-neutral.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from tests.contract.harness import Harness
from tests.contract.jtl_harness import jtl_cloud_harness, jtl_harness
from tests.contract.memory_connector import memory_harness
from tests.contract.prestashop_harness import HARNESSES as PRESTASHOP
from tests.contract.shopware_harness import shopware_harness

HarnessFactory = Callable[..., AbstractContextManager[Harness]]

PLATFORMS: dict[str, HarnessFactory] = {
    "shopware": shopware_harness,
    "jtl": jtl_harness,
    "jtl-cloud": jtl_cloud_harness,
    **PRESTASHOP,
}

SLOT_PLATFORMS: dict[str, HarnessFactory] = {
    **PLATFORMS,
    "memory": memory_harness,
}
