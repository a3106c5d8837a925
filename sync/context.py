"""What a command needs: the loaded config, the open mirror, a connector per shop.

Loads lazily so `--help` and `init` never need a config, and opens each mirror file once per
process (shops may share one file or keep their own: `mirror_for(shop)`; `mirror` is the one
file of a config whose shops share it). Commands that only read (`status`, `customers`,
`plan`, `report`, ...) ask for `existing_mirror(_for)`, which never creates a file; every
problem with the database's place (no such directory, not writable, a read-only file system)
becomes one ConfigError (exit 3).
No business logic here.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loyalsync.connectors import build_connector, platform_specs
from loyalsync.connectors.base import Connector
from loyalsync.core.config import Config, ShopConfig, load_config
from loyalsync.core.errors import ConfigError, LoyalsyncError
from loyalsync.core.mirror import Mirror

log = logging.getLogger("loyalsync.config")


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
    _mirrors: dict[str, Mirror] = field(default_factory=dict)
    _opening: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            config = load_config(self.config_path, platforms=platform_specs)
            for notice in config.notices:  # a feature the shop's platform lacks
                log.warning("%s", notice)
            self._config = config
        return self._config

    @property
    def mirror(self) -> Mirror:
        """The mirror of a config whose shops share one file, created when missing."""
        return self.mirror_for(self._single_file_shop(self.config.shops))

    @property
    def existing_mirror(self) -> Mirror:
        """The shared mirror for a command that needs data already pulled: never creates one."""
        return self.existing_mirror_of(self.config.shops)

    def existing_mirror_of(self, shops: tuple[ShopConfig, ...]) -> Mirror:
        """The one existing mirror file all of `shops` live in (a report over several shops)."""
        return self.existing_mirror_for(self._single_file_shop(shops))

    def mirror_for(self, shop: ShopConfig) -> Mirror:
        """`shop`'s mirror (backfill, pull, run, daemon), created when it does not exist yet;
        one connection per file, safe to ask for from the daemon's worker threads."""
        database = self.config.database_for(shop.name)
        with self._opening:
            if database not in self._mirrors:
                self._mirrors[database] = open_mirror(database)
            return self._mirrors[database]

    def existing_mirror_for(self, shop: ShopConfig) -> Mirror:
        """`shop`'s mirror for a command that needs data already pulled: never creates one."""
        database = self.config.database_for(shop.name)
        missing = database != ":memory:" and not Path(database).exists()
        if database not in self._mirrors and missing:
            hint = f" --shop {shop.name}" if len(self.config.databases()) > 1 else ""
            raise NoMirrorError(
                f"no mirror yet at {database!r}: run `loyalsync backfill{hint}` first"
            )
        return self.mirror_for(shop)

    def close_mirror_for(self, shop: ShopConfig) -> None:
        """Close `shop`'s mirror (the daemon's jobs: open files stay ~ workers, not shops)."""
        with self._opening:
            mirror = self._mirrors.pop(self.config.database_for(shop.name), None)
        if mirror is not None:
            mirror.close()

    def _single_file_shop(self, shops: tuple[ShopConfig, ...]) -> ShopConfig:
        files = self.config.databases(shops)
        if len(files) > 1:
            raise ConfigError(
                f"the shops keep {len(files)} separate mirror files (`database:` with {{shop}} "
                f"or a shop's own `database:`): choose one shop with --shop NAME"
            )
        return shops[0]

    def connector(self, shop: ShopConfig) -> Connector:
        return build_connector(shop, **self.http_kwargs)

    def shops(self, name: str | None) -> tuple[ShopConfig, ...]:
        return self.config.select(name)

    def close(self) -> None:
        with self._opening:
            for mirror in self._mirrors.values():
                mirror.close()
            self._mirrors.clear()


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
