"""What a command needs: the loaded config, the open mirror, a connector per shop.

Loads lazily so `--help` and `init` never need a config, and opens the mirror once per
process. Commands that only read (`status`, `customers`, `plan`, `report`, ...) ask for
`existing_mirror`, which never creates a file; every problem with the database's place (no
such directory, not writable, a read-only file system) becomes one ConfigError (exit 3).
No business logic here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loyalsync.connectors import build_connector, platform_options
from loyalsync.connectors.base import Connector
from loyalsync.core.config import Config, ShopConfig, load_config
from loyalsync.core.errors import ConfigError, LoyalsyncError
from loyalsync.core.mirror import Mirror


class NoMirrorError(ConfigError):
    """A command that only reads was run before any backfill created the mirror."""


def database_error(path: str, exc: BaseException) -> ConfigError:
    """The one message for a database (or its lock file) that cannot be created or written."""
    parent = Path(path).parent
    if not parent.is_dir():
        what = "is a file, not a directory" if parent.exists() else "does not exist: create it"
        return ConfigError(
            f"database directory {str(parent)!r} {what}, or set `database:` in the config to a "
            f"writable place"
        )
    reason = getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__
    return ConfigError(
        f"cannot write the database {path!r} ({reason.lower()}): loyalsync needs a writable "
        f"directory for the mirror and its lock file; set `database:` in the config"
    )


def check_database_place(path: str) -> None:
    """Raise the ConfigError of `database_error` when the mirror's directory is missing."""
    if path != ":memory:" and not Path(path).parent.is_dir():
        raise database_error(path, FileNotFoundError())


@dataclass
class AppContext:
    config_path: str | None = None
    verbosity: int = 0
    log_format: str = "text"
    quiet: bool = False
    verbose: int = 0
    http_kwargs: dict[str, Any] = field(default_factory=dict)
    _config: Config | None = None
    _mirror: Mirror | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path, platforms=platform_options)
        return self._config

    @property
    def mirror(self) -> Mirror:
        """The mirror, created when it does not exist yet (backfill, pull, run, daemon)."""
        if self._mirror is None:
            self._mirror = open_mirror(self.config.database)
        return self._mirror

    @property
    def existing_mirror(self) -> Mirror:
        """The mirror for a command that needs data already pulled: never creates one."""
        if self._mirror is None:
            database = self.config.database
            if database != ":memory:" and not Path(database).exists():
                raise NoMirrorError(
                    f"no mirror yet at {database!r}: run `loyalsync backfill` first"
                )
        return self.mirror

    def connector(self, shop: ShopConfig) -> Connector:
        return build_connector(shop, **self.http_kwargs)

    def shops(self, name: str | None) -> tuple[ShopConfig, ...]:
        return self.config.select(name)

    def close(self) -> None:
        if self._mirror is not None:
            self._mirror.close()
            self._mirror = None


def open_mirror(database: str) -> Mirror:
    check_database_place(database)
    try:
        return Mirror.open(database)
    except OSError as exc:
        raise database_error(database, exc) from None
    except sqlite3.OperationalError as exc:
        if not any(s in str(exc) for s in ("readonly", "unable to open", "disk I/O")):
            raise
        raise database_error(database, exc) from None


def for_each_shop(
    shops: tuple[ShopConfig, ...], action: Callable[[ShopConfig], Any]
) -> tuple[dict[str, Any], dict[str, Exception]]:
    """Run `action` per shop; one shop failing (auth, network) never stops the others."""
    done: dict[str, Any] = {}
    failed: dict[str, Exception] = {}
    for shop in shops:
        try:
            done[shop.name] = action(shop)
        except LoyalsyncError as exc:
            failed[shop.name] = exc
    return done, failed
