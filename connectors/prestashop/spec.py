"""What the PrestaShop connector declares on its class (the ConnectorFactory contract).

Owns the membership slots (groups: `many`, with `id_default_group` as the default), the
options of the platform section (`shops[i].prestashop:` / `ShopConfig.options`), the
credential keys, the starter config for `loyalsync init --platform prestashop`, and the
capabilities with their plain-words caveats. Pure data plus `settings(shop)`, which fills in
option defaults.
"""

from __future__ import annotations

import difflib
from typing import Any

from loyalsync.connectors.base import Capabilities
from loyalsync.core.config import OptionSpec, ShopConfig
from loyalsync.core.errors import ConfigError
from loyalsync.core.records import Slot

SLOTS = (
    Slot(
        name="groups",
        label="customer group",
        cardinality="many",
        has_default=True,  # id_default_group drives price display and group reductions
        prices=True,
    ),
)
OPTIONS = (
    OptionSpec(
        "timezone",
        "",
        "the shop's time zone when the key may not read configurations (PS_TIMEZONE); "
        "shop dates are local wall-clock time",
    ),
    OptionSpec(
        "change_default_group",
        False,
        "also make the managed group the customer's default group (id_default_group, which "
        "decides price display and group reductions)",
        type="bool",
    ),
)
MAX_PAGE_SIZE = 5000  # the webservice sets no maximum; keep each answer reasonable
CREDENTIAL_KEYS = ("api_key",)
STARTER_CONFIG = """\
    url: https://shop.example.com   # the shop's base URL, without /api
    credentials:                    # Advanced Parameters > Webservice: the 32-character key
      api_key: ${PRESTASHOP_API_KEY}
"""
CAPABILITIES = Capabilities(
    groups=True,
    multiple_groups=True,
    tags=False,
    personal_codes=True,
    notes=(
        "a customer may belong to several groups; loyalsync adds and removes only the groups "
        "it manages and keeps every other group, and changes the default group "
        "(id_default_group, which decides prices) only with change_default_group: true",
        "personal codes are cart rules bound to one customer (quantity 1, one use)",
        "group changes made outside the webservice may not move a customer's date_upd",
    ),
)


def settings(shop: ShopConfig) -> dict[str, Any]:
    """The options with defaults filled in; a wrong type or unknown option is a ConfigError."""
    known = {o.name: o for o in OPTIONS}
    values: dict[str, Any] = {o.name: o.default for o in OPTIONS}
    for name, value in (shop.options or {}).items():
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"prestashop option {name!r} is unknown{hint}; known: {', '.join(known)}",
                shop=shop.name,
            )
        values[name] = value
    if not 1 <= shop.page_size <= MAX_PAGE_SIZE:
        raise ConfigError(
            f"page_size: expected 1-{MAX_PAGE_SIZE} records per request for PrestaShop, "
            f"got {shop.page_size}",
            shop=shop.name,
        )
    if not isinstance(values["change_default_group"], bool):
        raise ConfigError("prestashop.change_default_group: expected true or false", shop=shop.name)
    if not isinstance(values["timezone"], str):
        raise ConfigError("prestashop.timezone: expected a time zone name", shop=shop.name)
    return values
