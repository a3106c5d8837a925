"""What a config asks of each shop's platform, checked against the slots its connector
declares (the part of the config check the config loader cannot do: it may not import
connectors).

`push.groups_mode: all` (every matching managed group) needs a `groups` slot of cardinality
`many`: a ConfigError naming the shop otherwise. Push mappings for a slot the platform does
not have (tags on a platform without tags) are not an error, as another shop of the same
config may have it: they are ignored for that shop, said in plain words (`notices`), by the
config check, by `check` and by `plan`. Generic: it names no platform.
"""

from __future__ import annotations

import logging

from loyalsync.connectors import connector_class
from loyalsync.core.config import Config, ShopConfig
from loyalsync.core.errors import ConfigError
from loyalsync.core.plan.model import slot_mappings
from loyalsync.core.records import GROUPS, Slot

log = logging.getLogger("loyalsync.config")


def declared_slots(platform: str) -> dict[str, Slot]:
    return {s.name: s for s in getattr(connector_class(platform), "slots", ())}


def shop_problems(config: Config, i: int, shop: ShopConfig) -> list[str]:
    if config.push.groups_mode != "all":
        return []
    groups = declared_slots(shop.platform).get(GROUPS)
    if groups is not None and groups.cardinality == "many":
        return []
    holds = "keeps one customer group per customer" if groups else "has no customer groups"
    return [
        f"push.groups_mode: all (every matching group) needs a platform where a customer is in "
        f"several groups at once; shops[{i}] {shop.name!r} ({shop.platform}) {holds}: use "
        f"first, where the first matching segment decides"
    ]


def shop_notices(config: Config, shop: ShopConfig) -> list[str]:
    """Plain words for each `push:` mapping list the shop's platform cannot carry out."""
    slots = declared_slots(shop.platform)
    notices = []
    for mapping in slot_mappings(config.push):
        if mapping.pairs and mapping.slot not in slots:
            n = len(mapping.pairs)
            notices.append(
                f"{shop.platform} has no {mapping.what}: {mapping.key} ({n} mapping"
                f"{'s' if n != 1 else ''}) is ignored for shop {shop.name!r}"
            )
    return notices


def check_platforms(config: Config) -> list[str]:
    """Raise one ConfigError listing what no shop's platform allows; log and return the
    notices (mappings a shop's platform ignores)."""
    problems = [p for i, shop in enumerate(config.shops) for p in shop_problems(config, i, shop)]
    if problems:
        listing = "\n".join(f"  - {p}" for p in problems)
        count = len(problems)
        raise ConfigError(
            f"invalid configuration ({count} problem{'s' if count != 1 else ''}):\n{listing}",
            problems=problems,
        )
    notices = [n for shop in config.shops for n in shop_notices(config, shop)]
    for notice in notices:
        log.warning("config: %s", notice)
    return notices
