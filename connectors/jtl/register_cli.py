"""`loyalsync jtl-register --shop NAME`: the registration handshake from the command line.

Prints the API key exactly once, with how to put it into the environment (`JTL_API_KEY` in
the environment or a `.env` next to the config, referred to as `${JTL_API_KEY}`). Never writes
the key into the config or the mirror. Contributed to the CLI through the connector registry
(connectors/__init__.py `COMMANDS`), so sync/ does not name JTL.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import click

from loyalsync.connectors.http import HttpPolicy, make_session
from loyalsync.connectors.jtl import platform as declared
from loyalsync.connectors.jtl.register import register
from loyalsync.core.config import Config, ShopConfig, load_config
from loyalsync.core.errors import ConfigError

Say = Callable[[str], None]


class App(Protocol):
    """What the command needs of the CLI's context (sync passes its AppContext)."""

    config_path: Any

    @property
    def config(self) -> Config: ...


_UNSET = re.compile(r"environment variable \$\{(\w+)\} is not set")


def _config(app: App) -> Config:
    """The config; variables not set yet (the key this command is about to deliver) are
    read as empty rather than refused."""
    from loyalsync.connectors import platform_options

    try:
        return app.config
    except ConfigError as exc:
        missing = {m.group(1) for p in exc.problems if (m := _UNSET.search(p))}
        if not missing:
            raise
        env = {**os.environ, **dict.fromkeys(missing, "")}
        return load_config(app.config_path, env=env, platforms=platform_options)


def _shop(config: Config, name: str | None) -> ShopConfig:
    shop = config.shop(name) if name else config.shops[0]
    if shop.platform != "jtl":
        raise ConfigError(f"shop {shop.name!r} is a {shop.platform} shop, not JTL-Wawi")
    if declared.option(shop, "flavour") == "cloud":
        raise ConfigError(
            f"shop {shop.name!r} uses JTL Cloud: cloud apps are registered in the JTL Partner "
            "Portal (client id and secret), not with this handshake"
        )
    return shop


@click.option("--shop", metavar="NAME", help="The JTL shop (default: the first configured).")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for the accept.")
@click.option("--poll-interval", default=3.0, show_default=True, help="Seconds between polls.")
def jtl_register(
    app: App, say: Say, data: Say, shop: str | None, timeout: float, poll_interval: float
) -> int:
    """Register loyalsync as an app in an on-premise JTL-Wawi (open Admin > App-Registrierung
    > Hinzufügen in Wawi first) and print the API key once. The key is not stored anywhere."""
    cfg = _shop(_config(app), shop)
    policy = HttpPolicy(shop=cfg.name, base_url=cfg.url, read_timeout=cfg.timeout,
                        verify_tls=cfg.verify_tls,
                        requests_per_second=cfg.requests_per_second,
                        error_parser=declared.parse_error)  # fmt: skip
    http = make_session(policy)
    try:
        result = register(
            http, timeout=timeout, poll_interval=poll_interval,
            now=lambda: datetime.now(UTC), sleep=time.sleep,
            say=say,
        )  # fmt: skip
    finally:
        http.close()
    missing = sorted(set(declared.SCOPES) - set(result.scopes))
    if missing:
        say(f"warning: Wawi did not grant {', '.join(missing)}")
    say("registered. The API key follows; JTL-Wawi will not show it again:")
    data(f"JTL_API_KEY={result.api_key}")
    say(
        "put that line into the environment (or into .env next to the config) and refer to "
        "it in the config as  credentials: {api_key: ${JTL_API_KEY}}; loyalsync never writes "
        "the key into the config."
    )
    return 0
