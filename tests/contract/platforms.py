"""The registry of contract-suite harnesses: one factory per platform.

A factory takes pytest's `tmp_path` (and `clock_offset`: the shop's clock relative to ours, for
the clock-skew tests) and is a context manager yielding a started harness (see
`harness.Harness`). PrestaShop and JTL connectors add their own entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from tests.contract.harness import Harness
from tests.contract.prestashop_harness import HARNESSES as PRESTASHOP
from tests.contract.shopware_harness import shopware_harness

HarnessFactory = Callable[..., AbstractContextManager[Harness]]

PLATFORMS: dict[str, HarnessFactory] = {
    "shopware": shopware_harness,
    **PRESTASHOP,
}
