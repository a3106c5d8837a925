"""Authentication headers for both JTL flavours, and what 401/402/403 mean.

On-premise: `Authorization: Wawi <api key>`, `x-appid`, `x-appversion` and `api-version` on
every call (§3.1). Cloud: OAuth client credentials at the JTL auth server (Basic auth, form
body), `Authorization: Bearer <token>` renewed a minute before the returned expiry, and
`X-Tenant-ID` (§3.2). 401 names the credential to check, 402 the licence / app authorisation,
403 the missing scope: all ConfigErrors (AuthError). Never logs or shows a secret.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import requests

from loyalsync.connectors.http import HttpClient, json_body
from loyalsync.connectors.jtl import platform as declared
from loyalsync.core.config import ShopConfig
from loyalsync.core.errors import AuthError

EARLY = timedelta(seconds=60)


class WawiAuth:
    def __init__(self, shop: ShopConfig, http: HttpClient, now: Callable[[], datetime]) -> None:
        declared.required_credentials(shop)
        self.shop, self.http, self.now = shop, http, now
        self.cloud = declared.option(shop, "flavour") == "cloud"
        self._token: str | None = None
        self._expires: datetime | None = None
        self.token_requests = 0
        self._lock = threading.Lock()  # line items are fetched on a few threads
        http.add_secret(*(v for v in shop.credentials.values() if isinstance(v, str)))

    def headers(self) -> dict[str, str]:
        base = {
            "api-version": declared.API_VERSION,
            "x-appid": declared.APP_ID,
            "x-appversion": declared.APP_VERSION,
        }
        if not self.cloud:
            return {**base, "Authorization": f"Wawi {self.shop.credentials['api_key']}"}
        return {
            **base,
            "Authorization": f"Bearer {self._bearer()}",
            "X-Tenant-ID": self.shop.credentials["tenant_id"],
        }

    def invalidate(self, used: Mapping[str, str] | None = None) -> None:
        """Drop the token; with `used` (the headers a refused call sent) only if it is still
        that token, so two calls refused at once renew it once."""
        with self._lock:
            if used is None or used.get("Authorization") == f"Bearer {self._token}":
                self._token = self._expires = None

    def _bearer(self) -> str:
        with self._lock:  # a pull's two streams share the token: one renews it
            return self._current()

    def _current(self) -> str:
        if self._token and self._expires and self.now() < self._expires - EARLY:
            return self._token
        creds = self.shop.credentials
        basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode())
        response = self.http.request(
            "POST",
            str(declared.option(self.shop, "token_url")),
            headers={
                "Authorization": f"Basic {basic.decode()}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            data="grant_type=client_credentials",
            idempotent=True,
            read=True,  # a token request changes nothing in the shop: a 500 is retried too
            ok_statuses=(400, 401),
        )
        if response.status_code in (400, 401):
            raise AuthError(
                f"shop {self.shop.name!r}: JTL Cloud refused the client credentials "
                f"(HTTP {response.status_code}); check credentials.client_id and client_secret",
                shop=self.shop.name,
                status=response.status_code,
            )
        data = json_body(response)
        token = str(data.get("access_token") or "")
        self.http.add_secret(token)
        self.token_requests += 1
        self._token = token
        self._expires = self.now() + timedelta(seconds=float(data.get("expires_in") or 3600))
        return token


def refusal(shop: ShopConfig, response: requests.Response, what: str) -> AuthError:
    """The ConfigError for a 401, 402 or 403 answer, naming what to check."""
    status = response.status_code
    if status == 401:
        key = (
            "credentials.client_id / client_secret / tenant_id"
            if declared.option(shop, "flavour") == "cloud"
            else "credentials.api_key (and that the app id is the one registered)"
        )
        text = f"the API key or token was rejected; check {key}"
    elif status == 402:
        text = (
            "HTTP 402: no licence available, or the app has not been authorised by JTL; check "
            "the JTL-Wawi edition / licence and the app's authorisation"
        )
    else:
        detail = declared.parse_error(response)[1] or "a scope is missing"
        text = (
            f"HTTP 403: {detail}; the app was registered without the scope this needs. Scopes "
            f"are fixed at registration: register again with `loyalsync jtl-register`"
        )
    return AuthError(f"shop {shop.name!r}: {what}: {text}", shop=shop.name, status=status)
