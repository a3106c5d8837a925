"""What the JTL-Wawi connector declares to the registry: its membership slots, options,
credentials, starter config section, error-body parser, the API version it pins and the scopes
it needs. Read by `JtlConnector` (class attributes) so that core/ and sync/ never name JTL.
Research: ../shared/research/jtl.md §3 (auth, scopes), §4.2-4.3 (groups, categories, custom
fields), §5.2 (error bodies), §8 (pitfalls).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import requests

from loyalsync.core.config import OptionSpec, ShopConfig
from loyalsync.core.errors import ConfigError
from loyalsync.core.records import GROUPS, Slot

API_VERSION = "1.0"  # pinned: v1 PascalCase paths without a version prefix (§2.1, §8.5)
APP_ID = "loyalsync/1"
APP_VERSION = "1.0.0"
CATEGORIES, LABEL = "categories", "label"
DEFAULT_TOKEN_URL = "https://auth.jtl-cloud.com/oauth2/token"  # noqa: S105 (a URL)
TEXT_FIELD_TYPES = {3: "Text", 12: "ShortText"}  # custom field types a label can be written to

# a customer has one group (it carries a price discount and net/gross display), one category
# per customer in v1 (declared `many` with room for one: a category we do not manage is kept,
# the planner adds ours only where the customer has none or one of ours) and the configured
# custom field as a free-text label
SLOTS: tuple[Slot, ...] = (
    Slot(GROUPS, "customer group", "one", prices=True),
    Slot(CATEGORIES, "customer category", "many", max_values=1),
    Slot(LABEL, "custom field", "one", creatable=False, free_text=True),
)

SCOPES: tuple[str, ...] = (
    "customer.querycustomers",
    "customer.getcustomer",
    "customer.updatecustomer",
    "customer.querycustomercustomfields",
    "customer.querycustomercustomfieldvalues",
    "customer.updatecustomercustomfield",
    "customergroup.querycustomergroups",
    "customergroup.createcustomergroup",
    "customercategory.querycustomercategories",
    "customercategory.createcustomercategory",
    "salesorder.querysalesorders",
    "salesorder.querysalesorderlineitems",
)

OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "flavour",
        "onprem",
        "onprem: the API server next to JTL-Wawi (api_key); cloud: JTL Cloud (client_id, "
        "client_secret, tenant_id)",
        type="choice",
        choices=("onprem", "cloud"),
    ),
    OptionSpec("token_url", DEFAULT_TOKEN_URL, "cloud only: the OAuth token endpoint"),
    OptionSpec(
        "timezone",
        "Europe/Berlin",
        "Wawi's local time zone, for date-times the API sends without an offset",
    ),
    OptionSpec(
        "recent_orders_days",
        30,
        "orders created this long before the shop's newest order are re-read on every pull "
        "(v1 has no changed-since filter: cancellations and payments)",
        type="int",
    ),
    OptionSpec(
        "disable_workflows",
        True,
        "send disableAutomaticWorkflows=true with customer updates, so no Wawi workflow "
        "(e-mails...) fires per customer",
        type="bool",
    ),
    OptionSpec(
        "line_item_workers",
        2,
        "line-item requests (one per new or changed order) sent at once; the on-premise API "
        "server is a single desktop process: keep it low (1-4)",
        type="int",
    ),
    OptionSpec(
        "label_field",
        "",
        "name of a text custom field (created by the admin in Wawi) to write the segment "
        "label to; empty: no label",
    ),
)
CREDENTIAL_KEYS: tuple[str, ...] = ("api_key",)  # cloud: client_id, client_secret, tenant_id
CLOUD_KEYS: tuple[str, ...] = ("client_id", "client_secret", "tenant_id")
STARTER_CONFIG = """\
    # on-premise: the API server's base URL (port and database segment as configured);
    # JTL Cloud: https://api.jtl-cloud.com/erp with jtl.flavour: cloud
    url: http://127.0.0.1:64110/api/eazybusiness
    credentials:
      api_key: ${JTL_API_KEY}            # from `loyalsync jtl-register --shop NAME`
      # cloud instead: client_id: ${JTL_CLIENT_ID}, client_secret: ${JTL_CLIENT_SECRET},
      # tenant_id: ${JTL_TENANT_ID}
"""


def option(shop: ShopConfig, name: str) -> Any:
    """A platform option of the shop, or its declared default."""
    if name in shop.options:
        return shop.options[name]
    return next(o.default for o in OPTIONS if o.name == name)


def required_credentials(shop: ShopConfig) -> tuple[str, ...]:
    """The credential keys the shop's flavour needs; ConfigError naming the missing ones."""
    keys = CLOUD_KEYS if option(shop, "flavour") == "cloud" else CREDENTIAL_KEYS
    missing = [k for k in keys if not shop.credentials.get(k)]
    if missing:
        raise ConfigError(
            f"shop {shop.name!r} ({option(shop, 'flavour')}): credentials need "
            f"{', '.join(missing)}",
            shop=shop.name,
        )
    return keys


EPOCH_SECONDS = 1_000_000_000  # a reset value this large is a Unix time, not a delay


def rate_limit_wait(response: requests.Response, now: datetime) -> float | None:
    """Seconds to wait from JTL's rate-limit headers (§5.3): none while `X-RateLimit-Remaining`
    is above 0; at 0 (or on a 429) `X-RateLimit-Reset` if the server sends one (delay seconds,
    or a Unix time), else the window's full `X-RateLimit-Interval-Length-Seconds` (JTL
    documents no reset time, so the whole window is the safe wait). `Retry-After`, when
    present, is honoured by connectors.http before this is asked."""
    headers = response.headers
    remaining = _number(headers.get("X-RateLimit-Remaining"))
    if response.status_code != 429 and (remaining is None or remaining > 0):
        return None
    reset = _number(headers.get("X-RateLimit-Reset"))
    if reset is not None:
        return reset - now.timestamp() if reset > EPOCH_SECONDS else reset
    return _number(headers.get("X-RateLimit-Interval-Length-Seconds"))


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None and value.strip() else None
    except ValueError:
        return None


def parse_error(response: requests.Response) -> tuple[str | None, str | None]:
    """(code, message) of a v1 `ErrorResponse` (`ErrorCode`, `ErrorMessage`,
    `ValidationErrors`); (None, None) for the empty bodies of 401/402/410."""
    if not response.content:
        return None, None
    try:
        payload = response.json()
    except ValueError:
        return None, None
    if not isinstance(payload, dict):
        return None, None
    code = payload.get("ErrorCode") or payload.get("errorCode") or payload.get("error")
    message = payload.get("ErrorMessage") or payload.get("errorMessage")
    problems = payload.get("ValidationErrors") or payload.get("validationErrors")
    if isinstance(problems, dict) and problems:
        detail = "; ".join(f"{k}: {v}" for k, v in problems.items())
        message = f"{message}: {detail}" if message else detail
    return (None if code is None else str(code)), (None if message is None else str(message))
