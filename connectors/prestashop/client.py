"""The PrestaShop connector (1.7.8, 8.x, 9.x): the webservice conversation of one shop.

Owns auth (the webservice key as HTTP Basic user, empty password), the JSON read call and its
errors (a 401 names the resource the key may not use), `check` (the API root's per-resource
permissions and `PSWS-Version`), the shop's reference data (PS_* configuration with
PS_TIMEZONE, countries, currencies, order states) and the current groups. Pulls are in
`pulls.py`, writes in `writer.py`, mapping in `mapping.py`. Never reads env vars, files or
the mirror; never sleeps (the HTTP layer does). Research: ../shared/research/prestashop.md.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from loyalsync.connectors.base import Capabilities, CheckResult, CurrentState
from loyalsync.connectors.http import HttpClient
from loyalsync.connectors.prestashop import mapping, parse, pulls, spec
from loyalsync.connectors.prestashop.state import PrestaShopState, all_names, build_state
from loyalsync.connectors.prestashop.writer import apply_ops
from loyalsync.core.config import OptionSpec, ShopConfig
from loyalsync.core.errors import AuthError, ConfigError, RecordError
from loyalsync.core.records import Cursor, OpResult, Page, Quarantined, Slot, WriteOp

JSON = {"Output-Format": "JSON"}  # upper case: `json` silently falls back to XML (§2.2)
CONFIG_NAMES = (
    "PS_TIMEZONE",
    "PS_LANG_DEFAULT",
    "PS_CURRENCY_DEFAULT",
    "PS_CUSTOMER_GROUP",
    "PS_GUEST_GROUP",
    "PS_UNIDENTIFIED_GROUP",
    "PS_OS_CANCELED",
    "PS_OS_REFUND",
    "PS_OS_ERROR",
)
REQUIRED = {"customers": "GET", "orders": "GET"}
USED = (
    "customers",
    "orders",
    "addresses",
    "groups",
    "cart_rules",
    "order_cart_rules",
    "order_states",
    "currencies",
    "countries",
    "languages",
    "configurations",
)
_AUTH_CODES = {
    "16": "no key was sent",
    "17": "the key is empty",
    "18": "the key is not 32 characters long",
    "20": "the key is not active",
    "21": "the key has no permissions",
}


class PrestaShopConnector:
    """Pulls customers and orders from, and pushes groups and codes to, one PrestaShop."""

    platform: ClassVar[str] = "prestashop"
    simulator: ClassVar[str] = "loyalsync.connectors.prestashop.simulator"
    capabilities: ClassVar[Capabilities] = spec.CAPABILITIES
    slots: ClassVar[tuple[Slot, ...]] = spec.SLOTS
    options: ClassVar[tuple[OptionSpec, ...]] = spec.OPTIONS
    credential_keys: ClassVar[tuple[str, ...]] = spec.CREDENTIAL_KEYS
    starter_config: ClassVar[str] = spec.STARTER_CONFIG
    parse_error = staticmethod(parse.parse_error)

    def __init__(
        self, shop: ShopConfig, http: HttpClient, *, now: Callable[[], datetime] | None = None
    ) -> None:
        self.shop = shop
        self.http = http
        if http.policy.error_parser is None:
            http.policy = replace(http.policy, error_parser=parse.parse_error)
        self.now = now or http.now
        self.settings = spec.settings(shop)
        key = shop.credentials.get("api_key") or ""
        if not key:
            raise ConfigError("credentials.api_key is missing (the webservice key)", shop=shop.name)
        http.add_secret(key)
        self._auth = (key, "")  # Basic auth: the key is the user, the password is empty (§1.2)
        self.limit = shop.page_size
        self.version: str | None = None
        self._ref: mapping.Reference | None = None
        self._ref_lock = threading.Lock()  # a pipelined pull's two streams: one load
        self.anonymous_id: str | None = None
        self.denied: set[str] = set()  # optional resources the key may not read
        self._state: PrestaShopState | None = None
        self.campaigns: dict[str, Any] = {}  # EnsureCampaign ops seen (codes need them)
        self.codes: dict[str, str] = {}  # cart rule id -> code (redemptions)
        self._aside: list[Quarantined] = []  # list entries that are not objects, to quarantine
        self._aside_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PrestaShopConnector(shop={self.shop.name!r})"

    @property
    def major(self) -> int:
        try:
            return int((self.version or "").split(".")[0])
        except ValueError:
            return 0

    # -- transport ------------------------------------------------------------------------
    def call(self, method: str, path: str, resource: str, **kw: Any) -> requests.Response:
        """One call with the key; a 401 becomes an AuthError naming the resource."""
        kw.setdefault("auth", self._auth)
        try:
            response = self.http.request(method, path, **kw)
        except AuthError as exc:
            raise _auth_error(exc, method, resource, self.shop.name) from None
        self._note(response)
        return response

    def _note(self, response: requests.Response) -> None:
        version = response.headers.get("PSWS-Version")
        if version:
            self.version = version

    def fetch_entries(
        self, resource: str, params: dict[str, str], *, optional: bool = False
    ) -> list[Any]:
        """GET /api/<resource> as JSON: every entry of the list, objects or not. `optional`:
        a resource the key may not read gives no rows (noted for `check`), not an error."""
        if optional and resource in self.denied:
            return []
        try:
            response = self.call("GET", f"/api/{resource}", resource, params=params, headers=JSON)
        except AuthError:
            if not optional:
                raise
            self.denied.add(resource)
            return []
        return parse.entries_of(parse.json_payload(response, f"/api/{resource}"), resource)

    def fetch_rows(
        self, resource: str, params: dict[str, str], *, optional: bool = False
    ) -> list[dict[str, Any]]:
        """The objects of `fetch_entries`; the entries that are not objects are set aside as
        Quarantined, for the next page of a pull (or the state) to hand to the mirror."""
        rows, bad = parse.split_rows(
            self.fetch_entries(resource, params, optional=optional), resource
        )
        self.set_aside(bad)
        return rows

    def set_aside(self, rows: Sequence[Quarantined]) -> None:
        if rows:
            with self._aside_lock:
                self._aside.extend(rows)

    def take_aside(self) -> list[Quarantined]:
        """The rows set aside since the last call (both streams of a pull share them)."""
        with self._aside_lock:
            taken, self._aside = self._aside, []
        return taken

    def take_quarantined(self) -> list[Quarantined]:
        """The optional Connector member (connectors/base.py): what a push's read-backs set
        aside, for sync to quarantine after the batch."""
        return self.take_aside()

    # -- reference data -------------------------------------------------------------------
    def reference(self) -> mapping.Reference:
        with self._ref_lock:
            if self._ref is None:
                self._ref = self._load_reference()
            return self._ref

    def _load_reference(self) -> mapping.Reference:
        names = "|".join(CONFIG_NAMES)
        rows = self.fetch_rows(
            "configurations",
            {"display": "[name,value]", "filter[name]": f"[{names}]"},
            optional=True,
        )
        config = {str(r.get("name")): parse.text(r.get("value")) or "" for r in rows}
        ref = mapping.Reference(
            tz=self._timezone(config.get("PS_TIMEZONE")),
            language=config.get("PS_LANG_DEFAULT") or None,
            config=config,
            base_currency=self.shop.currency,
        )
        for row in self.fetch_rows("countries", {"display": "[id,iso_code]"}, optional=True):
            ref.countries[str(row.get("id"))] = (parse.text(row.get("iso_code")) or "").upper()
        currencies = self.fetch_rows("currencies", {"display": "[id,iso_code]"}, optional=True)
        ref.currencies = {str(r.get("id")): parse.text(r.get("iso_code")) or "" for r in currencies}
        for row in self.fetch_rows("order_states", {"display": "full"}, optional=True):
            try:
                state = mapping.map_state(row, ref.language)
            except RecordError:  # unknown state: its orders count as open (state_status)
                continue
            ref.states[state.id] = state
        anonymous = self.fetch_rows(
            "customers", {"display": "[id]", "filter[email]": f"[{mapping.ANONYMOUS_EMAIL}]"}
        )
        self.anonymous_id = next((t for r in anonymous if (t := parse.text(r.get("id")))), None)
        return ref

    def _timezone(self, configured: str | None) -> ZoneInfo:
        """PS_TIMEZONE when the key may read configurations, else the shop option."""
        for name in (configured, self.settings["timezone"]):
            if name:
                try:
                    return ZoneInfo(name)
                except (ZoneInfoNotFoundError, ValueError):
                    continue
        return ZoneInfo("UTC")

    # -- check and state ------------------------------------------------------------------
    def check(self) -> CheckResult:
        response = self.call("GET", "/api/", "the API root")
        permissions = api_permissions(response.text)
        missing = [f"{m} {r}" for r, m in REQUIRED.items() if m not in permissions.get(r, set())]
        if missing:
            raise ConfigError(
                f"the webservice key lacks {', '.join(missing)}; tick them under Advanced "
                "Parameters > Webservice",
                shop=self.shop.name,
            )
        ref = self.reference()
        messages = [permission_line(r, permissions.get(r, set())) for r in USED]
        messages.append(f"time zone {ref.tz.key} ({self._tz_source(ref)})")
        messages.append(
            "group changes by PATCH" if self.major >= 8 else "group changes by GET + full PUT"
        )
        return CheckResult(
            ok=True,
            platform=self.platform,
            version=self.version,
            customers=self._count("customers", exclude=self.anonymous_id),
            orders=self._count("orders"),
            messages=tuple(messages),
        )

    def _tz_source(self, ref: mapping.Reference) -> str:
        if ref.config.get("PS_TIMEZONE") == ref.tz.key:
            return "PS_TIMEZONE"
        return "the shop's timezone option: the key may not read configurations"

    def _count(self, resource: str, exclude: str | None = None) -> int:
        ids = {str(r.get("id")) for r in self.fetch_rows(resource, {"display": "[id]"})}
        return len(ids - {exclude})

    def current_state(self) -> CurrentState:
        """The groups; group rows that cannot be used, and list entries the reference data
        set aside, as its quarantined rows."""
        current = self.shop_state(refresh=True).current()
        return replace(current, quarantined=(*current.quarantined, *self.take_aside()))

    def shop_state(self, refresh: bool = False) -> PrestaShopState:
        """The groups with their names in every language, the default and protected group
        ids (one request; read by plan and push, not by pulls)."""
        if self._state is None or refresh:
            ref = self.reference()
            entries = self.fetch_entries("groups", {"display": "full", "sort": "[id_ASC]"})
            rows, bad = parse.split_rows(entries, "groups")
            wanted = set(self.shop.protected_groups)
            protected = frozenset(
                str(g.get("id"))
                for g in rows
                if str(g.get("id")) in wanted or wanted & set(all_names(g.get("name")))
            )
            self._state = build_state(rows, ref.language, ref.config, protected, bad)
        return self._state

    # -- pulls ----------------------------------------------------------------------------
    def iter_customers(self, cursor: Cursor) -> Iterator[Page]:
        return pulls.iter_pass(self, "customers", cursor)

    def iter_orders(self, cursor: Cursor) -> Iterator[Page]:
        return pulls.iter_pass(self, "orders", cursor)

    def iter_customer_ids(self) -> Iterator[list[str]]:
        return pulls.iter_ids(self, "customers")

    # -- writes ---------------------------------------------------------------------------
    def apply(self, ops: Sequence[WriteOp]) -> list[OpResult]:
        return apply_ops(self, ops)


def api_permissions(xml_text: str) -> dict[str, set[str]]:
    """`GET /api/`: resource -> the methods whose attribute is "true" (§1.3)."""
    start = xml_text.find("<")
    try:
        root = ET.fromstring(xml_text[start:] if start >= 0 else xml_text)  # noqa: S314 (expat: no external entities; entity expansion capped)
    except ET.ParseError:
        return {}
    api = root.find("api")
    found: dict[str, set[str]] = {}
    for node in api if api is not None else []:
        found[node.tag] = {
            m.upper() for m in ("get", "put", "post", "patch", "delete", "head")
            if node.get(m) == "true"
        }  # fmt: skip
    return found


def permission_line(resource: str, allowed: set[str]) -> str:
    shown = [m for m in ("GET", "POST", "PUT", "PATCH") if m in allowed]
    lacking = [m for m in ("GET", "POST", "PUT", "PATCH") if m not in allowed]
    line = f"{resource}: {' '.join(shown) or 'no access'}"
    return f"{line} (not {', '.join(lacking)})" if shown and lacking else line


def _auth_error(exc: AuthError, method: str, resource: str, shop: str) -> AuthError:
    reason = _AUTH_CODES.get(exc.code or "")
    if exc.code == "26":
        text = f"the webservice key may not use {resource!r} (PrestaShop code 26)"
    elif reason:
        text = f"the webservice key was refused: {reason} (PrestaShop code {exc.code})"
    else:
        text = f"{method} {resource}: the shop refused the webservice key"
    return AuthError(
        f"{text}; check credentials.api_key and its permissions",
        shop=shop,
        status=exc.status,
        code=exc.code,
    )
