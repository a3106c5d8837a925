"""What the config loader knows of each platform, and the checks it makes with that knowledge.

The connector registry (connectors/) hands the loader a `PlatformSpec` per platform: the options
of its section, the membership slots it declares and whether it can create personal discount
codes. core cannot import connectors, so this is plain data. From it the loader rejects
`push.slots` naming a slot no configured platform declares (with a did-you-mean) and
`push.groups_mode: all` for a shop whose platform keeps one group per customer, and says in
plain words, once per load, when a configured feature does not exist on a shop's platform
(push mappings for a slot it lacks, such as tags: not an error, as another shop of the same
config may have it; they are ignored for that shop, and `plan` says so too). Generic: it
names no platform.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loyalsync.core.records import GROUPS, TAGS

# the config types stay `Any` here: core.config imports this module (no cycle, one import name)


@dataclass(frozen=True)
class PlatformSpec:
    """One platform as the loader sees it (built by `connectors.platform_specs()`)."""

    options: tuple[Any, ...] = ()  # core.config.OptionSpec
    slots: tuple[str, ...] = ()  # names of the membership slots its connector declares
    personal_codes: bool = True  # it can create single-use codes bound to one customer
    many: tuple[str, ...] = ()  # the slots where a customer holds several values at once


def known_specs(platforms: Any) -> dict[str, PlatformSpec]:
    """The platforms handed in as PlatformSpecs (plain option lists or names tell no slots)."""
    if not isinstance(platforms, Mapping):
        return {}
    return {str(k): v for k, v in platforms.items() if isinstance(v, PlatformSpec)}


def push_slot_problems(config: Any, specs: Mapping[str, PlatformSpec]) -> list[str]:
    """`push.slots.<name>` must name a slot some configured shop's platform declares."""
    platforms = {s.platform for s in config.shops}
    if not config.push.slots or not platforms <= set(specs):
        return []  # a platform we know no slots of: the plan reports what it cannot do
    declared = sorted({n for p in platforms for n in specs[p].slots})
    problems = []
    for name in config.push.slots:
        if name in (GROUPS, TAGS):
            problems.append(f"push.slots.{name}: use push.{name} for the {name} slot")
        elif name not in declared:
            close = difflib.get_close_matches(name, declared, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(
                f"push.slots.{name}: no configured shop's platform has a slot {name!r}{hint}; "
                f"slots: {', '.join(declared) or 'none'}"
            )
    return problems


def groups_mode_problems(config: Any, specs: Mapping[str, PlatformSpec]) -> list[str]:
    """`push.groups_mode: all` (every matching managed group) needs a `groups` slot where a
    customer holds several values: one problem per shop whose platform has none."""
    if config.push.groups_mode != "all":
        return []
    problems = []
    for i, shop in enumerate(config.shops):
        spec = specs.get(shop.platform)
        if spec is None or GROUPS in spec.many:
            continue
        holds = (
            "keeps one customer group per customer"
            if GROUPS in spec.slots
            else ("has no customer groups")
        )
        problems.append(
            f"push.groups_mode: all (every matching group) needs a platform where a customer is "
            f"in several groups at once; shops[{i}] {shop.name!r} ({shop.platform}) {holds}: "
            f"use first, where the first matching segment decides"
        )
    return problems


def shop_notices(config: Any, shop: Any, spec: PlatformSpec | None) -> list[str]:
    """Plain words for each `push:` mapping list the shop's platform cannot carry out."""
    if spec is None:
        return []
    notices = []
    for slot, key, what, pairs in config.push.slot_lists():
        if pairs and slot not in spec.slots:
            n = len(pairs)
            notices.append(
                f"{shop.platform} has no {what}: {key} ({n} mapping"
                f"{'s' if n != 1 else ''}) is ignored for shop {shop.name!r}"
            )
    return notices


def platform_notices(config: Any, specs: Mapping[str, PlatformSpec]) -> tuple[str, ...]:
    """Plain words for configured features a shop's platform does not have (not errors)."""
    notices = [
        n for shop in config.shops for n in shop_notices(config, shop, specs.get(shop.platform))
    ]
    for i, shop in enumerate(config.shops):
        spec = specs.get(shop.platform)
        if spec is not None and config.push.discounts and not spec.personal_codes:
            notices.append(
                f"shops[{i}] ({shop.name}, {shop.platform}): push.discounts cannot be created "
                f"on this platform (it has no API for personal discount codes); plan and push "
                f"say so and write none. Export the codes for the shop backend with `loyalsync "
                f"customers --segment S --format csv --with-codes CAMPAIGN`"
            )
    return tuple(notices)
