"""A lock file next to the mirror so two daemons, or a daemon and a backfill, never write the
same mirror at once. Uses flock: the lock dies with the process, even on SIGKILL, so there is
never a stale lock to clean up by hand."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from loyalsync.core.errors import ConfigError


class MirrorLockedError(ConfigError):
    """Another loyalsync process holds the mirror."""


class MirrorLock:
    def __init__(self, database: str, purpose: str) -> None:
        self.path = Path(f"{database}.lock")
        self.purpose = purpose
        self.fd: int | None = None

    def acquire(self) -> MirrorLock:
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise MirrorLockedError(
                f"the mirror {str(self.path)[:-5]!r} is in use by {holder}; "
                f"refusing to start {self.purpose} (stop the other process or wait for it)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"loyalsync {self.purpose} (pid {os.getpid()})".encode(), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> MirrorLock:
        return self.acquire()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
