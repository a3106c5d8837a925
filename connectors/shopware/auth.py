"""OAuth client-credentials tokens for the Shopware 6 Admin API.

Owns fetching, caching and renewing the bearer token of one shop's integration; sends only the
token request itself. Research: ../shared/research/shopware.md §1:

- `POST /api/oauth/token` with `grant_type=client_credentials` returns `expires_in` (600 s by
  default, hosters change it): the token is renewed a little before it runs out;
- a 401 on any call means the token was not accepted: the caller drops it and retries once;
- wrong credentials are a 401 from the token endpoint, and failed logins are throttled
  (`FRAMEWORK__AUTH_THROTTLED`, 429 without Retry-After, every attempt counts): both end the
  run with a ConfigError naming the shop instead of a retry loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from loyalsync.connectors.http import HttpClient, json_body
from loyalsync.connectors.shopware.platform import error_code
from loyalsync.core.config import ShopConfig
from loyalsync.core.errors import ApiError, AuthError, ConfigError

TOKEN_PATH = "/api/oauth/token"  # noqa: S105 (a URL path, not a secret)
JSON = "application/json"
AUTH_THROTTLED = "FRAMEWORK__AUTH_THROTTLED"
DEFAULT_TTL = 600


class TokenAuth:
    """Bearer headers for one shop; `headers()` renews the token when it is (nearly) due."""

    def __init__(self, shop: ShopConfig, http: HttpClient, now: Callable[[], datetime]) -> None:
        self.shop = shop
        self.http = http
        self.now = now
        self._token: str | None = None
        self._renew_at: datetime | None = None
        self.fetched = 0  # tokens fetched so far (for `check` and tests)
        # a pull's two streams share the token: one renews it, the other waits and uses it
        self._lock = threading.Lock()

    def headers(self) -> dict[str, str]:
        with self._lock:
            if self._token is None or self._renew_at is None or self.now() >= self._renew_at:
                self._fetch()
            return {"Authorization": f"Bearer {self._token}", "Accept": JSON}

    def invalidate(self, used: Mapping[str, str] | None = None) -> None:
        """Drop the token; with `used` (the headers a refused call sent) only if it is still
        that token, so two calls refused at once renew it once."""
        with self._lock:
            if used is None or used.get("Authorization") == f"Bearer {self._token}":
                self._token = None

    def _credentials(self) -> dict[str, str]:
        client_id = self.shop.credentials.get("client_id")
        secret = self.shop.credentials.get("client_secret")
        if not client_id or not secret:
            raise ConfigError(
                "credentials need client_id and client_secret (Shopware Administration: "
                "Settings > System > Integrations)",
                shop=self.shop.name,
            )
        return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}

    def _fetch(self) -> None:
        body = self._credentials()
        headers = {"Accept": JSON}
        # a token request changes nothing in the shop: retried like a read, a 500 too
        send: dict[str, Any] = {"json": body, "headers": headers, "idempotent": True, "read": True}
        try:
            response = self.http.request("POST", TOKEN_PATH, ok_statuses=(429,), **send)
            if response.status_code == 429:
                self._refuse_throttled(response)
                # a 429 from a proxy, not Shopware's login throttle: the HTTP layer's backoff
                response = self.http.request("POST", TOKEN_PATH, **send)
        except AuthError as exc:
            if exc.code == AUTH_THROTTLED:
                raise
            raise AuthError(
                "Shopware rejected the integration's client_id/client_secret; not retried, "
                "because failed logins are throttled",
                shop=self.shop.name,
                status=exc.status,
                code=exc.code,
                excerpt=exc.excerpt,
            ) from None
        data = json_body(response)
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise ApiError("token response without access_token", shop=self.shop.name)
        self.http.add_secret(token)
        ttl = _ttl(data.get("expires_in"))
        margin = min(60.0, ttl / 10)  # renew ~60 s early, less for very short lifetimes
        self._token = token
        self._renew_at = self.now() + timedelta(seconds=ttl - margin)
        self.fetched += 1

    def _refuse_throttled(self, response: Any) -> None:
        try:
            payload = response.json()
        except ValueError:
            return
        if error_code(payload) != AUTH_THROTTLED:
            return
        seconds = _throttle_seconds(payload)
        wait = f" for {seconds} s" if seconds is not None else ""
        raise AuthError(
            f"Shopware throttles logins of this integration{wait} after failed attempts; "
            "check client_id/client_secret before trying again (every attempt counts)",
            shop=self.shop.name,
            status=429,
            code=AUTH_THROTTLED,
        )


def _ttl(value: Any) -> float:
    try:
        ttl = float(value)
    except (TypeError, ValueError):
        return DEFAULT_TTL
    return ttl if ttl > 0 else DEFAULT_TTL


def _throttle_seconds(payload: Any) -> int | None:
    try:
        return int(payload["errors"][0]["meta"]["parameters"]["seconds"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
