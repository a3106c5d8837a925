"""loyalsync: the one top-level import name this distribution installs.

The folders `core/`, `sync/` and `connectors/` stay where the product card puts them; they are
installed (and imported) as `loyalsync.core`, `loyalsync.sync` and `loyalsync.connectors`, so
loyalsync never claims a generic top-level name such as `core` in a shared environment.
In the source tree `loyalsync/core` etc. are links to those folders.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("loyalsync")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
