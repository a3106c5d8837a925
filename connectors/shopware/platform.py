"""What the Shopware connector declares to the registry: its membership slots, options,
credentials, starter config section and error-body parser. Read by `ShopwareConnector` (class
attributes) so that core/ and sync/ never name Shopware. Research: ../shared/research/
shopware.md §1 (auth), §3.1-3.2 (groups, tags), §4 (error bodies).
"""

from __future__ import annotations

from typing import Any

import requests

from loyalsync.core.config import OptionSpec, ShopConfig
from loyalsync.core.records import GROUPS, TAGS, Slot

# research §3.1/§3.2: a customer has exactly one group (`groupId`, it drives prices: displayGross,
# advanced prices) and any number of tags (`tagIds`); both can be created through the API
SLOTS: tuple[Slot, ...] = (
    Slot(GROUPS, "customer group", "one", prices=True),
    Slot(TAGS, "tag", "many"),
)

OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "recent_orders_days",
        14,
        "orders placed this recently are re-read on every pull (payment and delivery "
        "changes do not move an order's updatedAt)",
        type="int",
    ),
    OptionSpec(
        "sales_channels",
        (),
        "sales channel ids or names for promotions (empty: every storefront)",
        type="list[str]",
    ),
)
CREDENTIAL_KEYS: tuple[str, ...] = ("client_id", "client_secret")
STARTER_CONFIG = """\
    url: https://shop.example.com   # the shop's base URL, without /api
    credentials:                    # an integration (Settings > System > Integrations)
      client_id: ${SHOPWARE_CLIENT_ID}          # Access key ID
      client_secret: ${SHOPWARE_CLIENT_SECRET}  # Secret access key
"""


def option(shop: ShopConfig, name: str) -> Any:
    """A platform option of the shop, or its declared default (a ShopConfig built in code
    rather than by the loader has no section)."""
    if name in shop.options:
        return shop.options[name]
    return next(o.default for o in OPTIONS if o.name == name)


def error_code(payload: Any) -> str | None:
    """The error code of a parsed Shopware error body (`{"errors": [{"code": ...}]}`; the
    OAuth endpoint answers `{"error": ..., "code": ...}`)."""
    if isinstance(payload, dict):
        errors = payload.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            code = errors[0].get("code")
            return None if code is None else str(code)
        if payload.get("code") is not None:
            return str(payload["code"])
        if isinstance(payload.get("error"), dict):
            return error_code(payload["error"])
    return None


def parse_error(response: requests.Response) -> tuple[str | None, str | None]:
    """(code, message) of a Shopware error response; (None, None) when it is not JSON."""
    try:
        payload = response.json()
    except ValueError:
        return None, None
    message = None
    if isinstance(payload, dict):
        errors = payload.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            message = first.get("detail") or first.get("title")
        else:
            message = payload.get("message") or payload.get("error_description")
    return error_code(payload), None if message is None else str(message)
