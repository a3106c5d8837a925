"""The one exception tree of loyalsync.

    LoyalsyncError
    ├── ConfigError        bad config, 401/403, unknown shop: fail fast, never retry
    │   └── AuthError      the shop refused our credentials (a connector may renew a token once)
    ├── TransientError     5xx, timeouts, connection: surfaces only when retries are exhausted
    │   └── RateLimitedError
    ├── ApiError           other 4xx: our request is wrong; carries status, platform code, excerpt
    ├── RecordError        one payload cannot be mapped or pushed: quarantine, count, continue
    └── PlanRejectedError  a plan failed a safety check (too many changes)

Every error may carry the shop name, the HTTP status and a short excerpt of the response body.
Excerpts are redacted by the HTTP layer before they get here; this module never sees secrets.
Only `sync/cli.py` turns these into messages and exit codes (see `exit_code`).
"""

from __future__ import annotations

from typing import Any


class LoyalsyncError(Exception):
    """Base class. `exit_code` is what the CLI exits with when this error ends a command."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        shop: str | None = None,
        status: int | None = None,
        code: str | None = None,
        excerpt: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.shop = shop
        self.status = status
        self.code = code
        self.excerpt = excerpt

    def __str__(self) -> str:
        parts = [f"[{self.shop}] {self.message}" if self.shop else self.message]
        details = []
        if self.status is not None:
            details.append(f"HTTP {self.status}")
        if self.code:
            details.append(f"code {self.code}")
        if details:
            parts.append(f"({', '.join(details)})")
        if self.excerpt:
            parts.append(f"- response: {self.excerpt}")
        return " ".join(parts)


class ConfigError(LoyalsyncError):
    """Bad configuration or credentials. Never retried."""

    exit_code = 3

    def __init__(self, message: str, *, problems: list[str] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.problems = list(problems or [])


class AuthError(ConfigError):
    """The shop answered 401/403: credentials wrong, expired or lacking privileges."""


class TransientError(LoyalsyncError):
    """The shop or network failed in a way that may pass; raised only after retries ran out."""

    exit_code = 75


class RateLimitedError(TransientError):
    """HTTP 429 after retries; `retry_after` is the shop's last hint in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ApiError(LoyalsyncError):
    """A 4xx other than auth: our request was wrong. `payload` is the parsed error body."""

    def __init__(self, message: str, *, payload: Any = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.payload = payload


class RecordError(LoyalsyncError):
    """One record could not be mapped or written; the run quarantines it and continues."""

    exit_code = 4

    def __init__(
        self, message: str, *, entity: str | None = None, record_id: str | None = None, **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.entity = entity
        self.record_id = record_id


class PlanRejectedError(LoyalsyncError):
    """A plan failed a safety check (for example more changes than `max_changes`)."""

    exit_code = 2
