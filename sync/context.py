"""What a command needs: the loaded config, the open mirror, a connector per shop.

Loads lazily so `--help` and `init` never need a config, and opens the mirror once per
process. No business logic here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loyalsync.connectors import build_connector, platform_names
from loyalsync.connectors.base import Connector
from loyalsync.core.config import Config, ShopConfig, load_config
from loyalsync.core.mirror import Mirror


@dataclass
class AppContext:
    config_path: str | None = None
    verbosity: int = 0
    log_format: str = "text"
    http_kwargs: dict[str, Any] = field(default_factory=dict)
    _config: Config | None = None
    _mirror: Mirror | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path, platforms=platform_names)
        return self._config

    @property
    def mirror(self) -> Mirror:
        if self._mirror is None:
            self._mirror = Mirror.open(self.config.database)
        return self._mirror

    def connector(self, shop: ShopConfig) -> Connector:
        return build_connector(shop, **self.http_kwargs)

    def shops(self, name: str | None) -> tuple[ShopConfig, ...]:
        return self.config.select(name)

    def close(self) -> None:
        if self._mirror is not None:
            self._mirror.close()
            self._mirror = None


def for_each_shop(
    shops: tuple[ShopConfig, ...], action: Callable[[ShopConfig], Any]
) -> tuple[dict[str, Any], dict[str, Exception]]:
    """Run `action` per shop; one shop failing (auth, network) never stops the others."""
    from loyalsync.core.errors import LoyalsyncError

    done: dict[str, Any] = {}
    failed: dict[str, Exception] = {}
    for shop in shops:
        try:
            done[shop.name] = action(shop)
        except LoyalsyncError as exc:
            failed[shop.name] = exc
    return done, failed
