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
    OptionSpec("page_size", 1000, "records per list request (1-5000)", type="int"),
    OptionSpec(
        "change_default_group",
        False,
        "also make the managed group the customer's default group (id_default_group, which "
        "decides price display and group reductions)",
        type="bool",
    ),
)
CREDENTIAL_KEYS = ("api_key",)
STARTER_CONFIG = """\
  - name: my-prestashop
    platform: prestashop
    url: https://shop.example.com
    credentials:
      api_key: ${PRESTASHOP_API_KEY}   # Advanced Parameters > Webservice: 32-character key
    currency: EUR
    requests_per_second: 5
    protected_groups: []          # a customer whose groups contain one is never modified
    options:
      timezone: Europe/Berlin     # used only when the key may not read configurations
      page_size: 1000
      change_default_group: false
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
        "PrestaShop has no customer tags: push.tags is ignored for this shop",
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
    size = values["page_size"]
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 5000:
        raise ConfigError(
            f"prestashop.page_size: expected an integer 1-5000, got {size!r}", shop=shop.name
        )
    if not isinstance(values["change_default_group"], bool):
        raise ConfigError("prestashop.change_default_group: expected true or false", shop=shop.name)
    if not isinstance(values["timezone"], str):
        raise ConfigError("prestashop.timezone: expected a time zone name", shop=shop.name)
    return values
