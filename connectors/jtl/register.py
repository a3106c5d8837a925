"""The on-premise app registration handshake (research jtl.md §3.1, §8.3).

`POST /authentication` with a constant `x-challengecode` and every scope the connector needs
(scopes are fixed at registration), then poll `GET /authentication/{id}` while the admin
accepts in JTL-Wawi (Admin > App-Registrierung), with a visible countdown; the API key arrives
once (410 afterwards). The key is returned to the caller, never stored. Clock, sleep and the
poll interval are injectable so tests never really wait.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from loyalsync.connectors.http import HttpClient, json_body
from loyalsync.connectors.jtl import mapping
from loyalsync.connectors.jtl import platform as declared
from loyalsync.core.errors import ConfigError

ACCEPTED, REJECTED = 2, 1
STATUS_NAMES = {"pending": 0, "rejected": 1, "accepted": 2}


@dataclass(frozen=True)
class Registered:
    api_key: str
    scopes: tuple[str, ...]
    registration_id: str


def request_body() -> dict[str, object]:
    """`CreateAppRegistrationRequest` with every scope the connector needs."""
    return {
        "AppId": declared.APP_ID,
        "DisplayName": "loyalsync",
        "Description": "Customer segments from the order history: groups, categories, label",
        "Version": declared.APP_VERSION,
        "ProviderName": "loyalsync",
        "ProviderWebsite": "https://github.com/loyalsync",
        "MandatoryApiScopes": list(declared.SCOPES),
        "AppIcon": "",
        "RegistrationType": 0,
    }


def _status(value: object) -> int:
    if isinstance(value, str) and not value.isdigit():
        return STATUS_NAMES.get(value.lower(), 0)  # the spec's example says "Pending"
    return int(str(value or 0))


def register(
    http: HttpClient,
    *,
    timeout: float = 300.0,
    poll_interval: float = 3.0,
    now: Callable[[], datetime],
    sleep: Callable[[float], None],
    say: Callable[[str], None],
    challenge: str | None = None,
) -> Registered:
    """Run the handshake; ConfigError when the dialog is not open, the admin denies, or the
    time runs out."""
    code = challenge or secrets.token_hex(8)  # <= 30 characters, constant for the handshake
    headers = {"x-challengecode": code, "api-version": declared.API_VERSION}
    response = http.request(
        "POST", "/authentication", headers=headers, json=request_body(), ok_statuses=(403, 409)
    )
    if response.status_code == 403:
        raise ConfigError(
            "JTL-Wawi is not waiting for a registration: open Admin > App-Registrierung > "
            "Hinzufügen in JTL-Wawi first, then run this again"
        )
    if response.status_code == 409:
        raise ConfigError(f"an app {declared.APP_ID!r} is already registered in this Wawi")
    rid = str(mapping.get(json_body(response), "RegistrationRequestId"))
    say(f"registration requested (challenge code {code}); accept it in JTL-Wawi now")
    deadline = now() + timedelta(seconds=timeout)
    while True:
        info = json_body(http.request("GET", f"/authentication/{rid}", headers=headers))
        status = _status(mapping.get(mapping.get(info, "RequestStatusInfo") or {}, "Status"))
        if status == ACCEPTED:
            key = str(mapping.get(mapping.get(info, "Token") or {}, "ApiKey") or "")
            http.add_secret(key)
            granted = tuple(mapping.get(info, "GrantedScopes") or ())
            return Registered(key, granted, rid)
        if status == REJECTED:
            raise ConfigError("the registration was denied in JTL-Wawi; nothing was stored")
        left = (deadline - now()).total_seconds()
        if left <= 0:
            raise ConfigError(
                f"no answer from JTL-Wawi within {timeout:.0f} s; run `loyalsync jtl-register` "
                "again and accept the request in Admin > App-Registrierung"
            )
        say(f"waiting for the accept in JTL-Wawi: {int(left) // 60}:{int(left) % 60:02d} left")
        sleep(min(poll_interval, left))
