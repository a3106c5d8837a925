"""The exit codes of `loyalsync`, named, in one place, and the rule that picks one.

README's exit-code table is tested against `MEANINGS`. The error classes in core.errors carry
the same numbers as `exit_code` (core cannot import sync); a test keeps the two in step.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from loyalsync.core.errors import ConfigError, TransientError

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_PARTIAL = 4
EXIT_TRY_LATER = 75  # EX_TEMPFAIL of sysexits.h: cron and systemd retry later
EXIT_INTERRUPTED = 130  # 128 + SIGINT (Ctrl-C)
EXIT_TERMINATED = 143  # 128 + SIGTERM

MEANINGS: dict[int, str] = {
    EXIT_OK: "ok",
    EXIT_UNEXPECTED: "unexpected error (a bug: run with -v for the traceback)",
    EXIT_USAGE: "usage: a bad option or argument, or a plan refused by `max_changes` "
    "without `--force`",
    EXIT_CONFIG: "configuration, authentication or the database location",
    EXIT_PARTIAL: "finished, with quarantined or rejected records",
    EXIT_TRY_LATER: "temporary: the shop or network failed after retries, or another "
    "loyalsync process holds the mirror; try again later",
    EXIT_INTERRUPTED: "interrupted by Ctrl-C; committed work is kept, run again to resume",
    EXIT_TERMINATED: "stopped by SIGTERM; committed work is kept, run again to resume",
}


def exit_code_for(failed: Mapping[str, BaseException], partial: bool = False) -> int:
    """One code for a multi-shop run: config/auth beats temporary beats partial."""
    if any(isinstance(e, ConfigError) for e in failed.values()):
        return EXIT_CONFIG
    if any(isinstance(e, TransientError) for e in failed.values()):
        return EXIT_TRY_LATER
    if failed:
        return max(int(getattr(e, "exit_code", EXIT_UNEXPECTED)) for e in failed.values())
    return EXIT_PARTIAL if partial else EXIT_OK
