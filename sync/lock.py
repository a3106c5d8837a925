"""A lock file next to the mirror so two writers (daemon, backfill, pull, run, segment, push,
demo) never write the same mirror at once. Uses flock: the lock dies with the process, even on
SIGKILL, so there is never a stale lock to clean up by hand. A clash is temporary (exit 75: try
again later); a lock file that cannot be created is the database's place problem (exit 3).
Shops with their own mirror files have their own locks: `shop_locks` holds those of the shops a
command touches, so commands on different shops of one agency never wait on each other."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from loyalsync.core.config import Config, ShopConfig
from loyalsync.core.errors import TransientError
from loyalsync.sync.context import check_database_place, database_error


class MirrorLockedError(TransientError):
    """Another loyalsync process holds the mirror: try again when it is done."""


class MirrorLock:
    def __init__(self, database: str, purpose: str) -> None:
        self.database = database
        self.path = Path(f"{database}.lock")
        self.purpose = purpose
        self.fd: int | None = None

    def acquire(self) -> MirrorLock:
        if self.database == ":memory:":
            return self
        check_database_place(self.database)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        except OSError as exc:
            raise database_error(self.database, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise MirrorLockedError(
                f"the mirror {self.database!r} is in use by {holder}; "
                f"refusing to start {self.purpose}: try again when it is done"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"loyalsync {self.purpose} (pid {os.getpid()})".encode(), 0)
        self.fd = fd
        return self

    def release(self, *, remove: bool = False) -> None:
        """Unlock; with `remove` also delete the lock file (the demo's own directory only:
        elsewhere a process waiting on the old file would then race a new one)."""
        if self.fd is not None:
            if remove:
                self.path.unlink(missing_ok=True)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> MirrorLock:
        return self.acquire()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


@contextlib.contextmanager
def shop_locks(
    config: Config, shops: tuple[ShopConfig, ...] | None, purpose: str
) -> Iterator[list[MirrorLock]]:
    """Hold the lock of every mirror file the `shops` live in (all shops: None), each once;
    a clash on any releases the others and raises MirrorLockedError."""
    with contextlib.ExitStack() as stack:
        held = [
            stack.enter_context(MirrorLock(database, purpose))
            for database in sorted(config.databases(shops))
        ]
        yield held
