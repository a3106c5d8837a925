"""The one HTTP session factory: timeouts, retries, Retry-After, rate limit, secret redaction.

Every connector sends its requests through an `HttpClient` made by `make_session(policy)`. This
is the only place in loyalsync that sleeps or retries:

- default connect/read timeouts;
- tenacity retries with exponential backoff and full jitter on connection errors, timeouts,
  429, 502, 503, 504, and 500 for reads only;
- `Retry-After` honoured (seconds or an HTTP date), clamped to `retry_after_max`; without it,
  the platform's rate-limit headers (`HttpPolicy.rate_limit_wait`, e.g. X-RateLimit-*) say how
  long to wait after a 429, and a 2xx saying the window is used up pauses the next request;
- non-idempotent writes are never retried blindly: only when the shop provably did not process
  them (429/503, or the connection was never established); a connector that has read the shop
  back after an ambiguous failure and found the write missing raises UnsureWriteError, and
  `redo_unsure` sends it again with the same backoff (look, then write: never a duplicate); a
  naturally idempotent write that failed all the same (a 500) is sent again the same way
  (`idempotent_write`), without a read-back;
- a token bucket per shop (`requests_per_second`);
- TLS certificates verified unless the shop says `verify_tls: false` (warned on every run);
- secrets (credentials, tokens, `key=`-like query parameters, URL user-info) are redacted from
  every log record, exception excerpt and repr. `sleep`, `clock` and `now` are injectable so
  tests never wait.

Errors map onto core.errors: 401/403 -> AuthError, other 4xx -> ApiError, 429 -> RateLimitedError,
5xx/timeouts/connection -> TransientError (after retries); a TLS failure, a 501 or an HTML page
where the API should answer -> ConfigError (the url is wrong: no retry helps). Network errors
say which failure it was (connection refused, DNS, TLS, timeout) and name the URL, redacted.
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import requests
import urllib3
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_attempt,
)

from loyalsync.core.errors import (
    ApiError,
    AuthError,
    ConfigError,
    LoyalsyncError,
    RateLimitedError,
    TransientError,
)
from loyalsync.core.redact import redact_url, redact_urls

log = logging.getLogger("loyalsync.http")

RETRY_STATUSES = frozenset({429, 502, 503, 504})
NOT_PROCESSED_STATUSES = frozenset({429, 503})  # the server says it did not act on the request
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
T = TypeVar("T")


class UnsureWriteError(TransientError):
    """A write to send again: `HttpClient.redo_unsure` does, with backoff. Raised by connectors,
    never for a read that failed, in two cases:

    - a create (not idempotent) whose outcome was unknown (a 5xx, a dropped connection, a read
      timeout after it was sent) and that a read of the shop just showed as not applied;
    - a naturally idempotent write (an upsert with a fixed id, setting a membership to a value)
      answered with a 500, the one ambiguous failure this layer does not retry for writes
      (it may be our request's fault): sent again as it is, whatever the shop did, and no
      read-back is needed. Drops, timeouts and 502/504 of such writes were retried here."""

    @classmethod
    def after(cls, what: str, exc: TransientError, seen: str) -> UnsureWriteError:
        """`exc` (the failed write) as an UnsureWriteError; `seen`: what the shop showed."""
        return cls(f"{what}: {exc.message}; {seen}", shop=exc.shop, status=exc.status)


def may_have_applied(exc: TransientError) -> bool:
    """False when the shop said it did not act on the write (429, 503): the HTTP layer has
    retried it already, and what is left is for the next run. True for every other transient
    failure: the write may or may not be in the shop."""
    return exc.status not in NOT_PROCESSED_STATUSES


@contextlib.contextmanager
def idempotent_write(
    what: str, when: Callable[[TransientError], bool] = may_have_applied
) -> Iterator[None]:
    """Around a naturally idempotent write (it sets a value; sending it twice changes the shop
    once): a transient failure `when` says is worth a resend becomes UnsureWriteError, for
    `HttpClient.redo_unsure` to send it again. No read-back: whatever the shop did, the resend
    leaves it as asked."""
    try:
        yield
    except UnsureWriteError:
        raise
    except TransientError as exc:
        if when(exc):
            raise UnsureWriteError.after(what, exc, "idempotent: no read-back needed") from exc
        raise


# ---------------------------------------------------------------------------------------------
# Redaction


class Redactor:
    """Knows every secret of this process and replaces it with '***' wherever it appears."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *secrets: str | None) -> None:
        with self._lock:
            for secret in secrets:
                if secret and len(secret) >= 4:
                    self._secrets.add(secret)

    def redact(self, text: str) -> str:
        if not text:
            return text
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, "***")
        return _redact_url_parts(text)


def _redact_url_parts(text: str) -> str:
    return redact_urls(text)


REDACTOR = Redactor()


class RedactingFilter(logging.Filter):
    """Rewrites a log record's message with secrets removed (attach to loggers/handlers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix here
            return True
        clean = REDACTOR.redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # formatters print exc_text when set: the traceback, rendered once and redacted
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = REDACTOR.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = REDACTOR.redact(record.stack_info)
        return True


def install_log_redaction() -> None:
    """Attach the redacting filter to the loggers that may see URLs or headers."""
    for name in ("urllib3.connectionpool", "urllib3", "requests", "loyalsync"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


install_log_redaction()


# ---------------------------------------------------------------------------------------------
# Policy and rate limit


@dataclass(frozen=True)
class HttpPolicy:
    shop: str
    base_url: str
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    requests_per_second: float = 5.0
    verify_tls: bool = True  # False only by the shop's explicit `verify_tls: false`
    secrets: tuple[str, ...] = field(default=(), repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    # the platform's error-body parser: response -> (platform error code, message); each
    # connector supplies its own (Shopware JSON `errors`, PrestaShop XML, JTL ErrorCode)
    error_parser: Callable[[requests.Response], tuple[str | None, str | None]] | None = None
    # the platform's rate-limit headers: (response, now) -> seconds until the shop accepts
    # another request (None: the headers say nothing, or there is room left)
    rate_limit_wait: Callable[[requests.Response, datetime], float | None] | None = None


class TokenBucket:
    """At most `rate` requests per second on average, bursts of up to max(1, rate)."""

    def __init__(
        self, rate: float, *, clock: Callable[[], float], sleep: Callable[[float], None]
    ) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.clock = clock
        self.sleep = sleep
        self.stamp = clock()
        self.lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping if none is left; returns the seconds slept."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            waited = 0.0
            if self.tokens < 1.0:
                waited = (1.0 - self.tokens) / self.rate
                self.sleep(waited)
                self.stamp = self.clock()
                self.tokens = 1.0
            self.tokens -= 1.0
            return waited


# ---------------------------------------------------------------------------------------------
# The client


class _Retryable(Exception):
    """Internal: one attempt failed in a way worth another try."""

    def __init__(
        self,
        reason: str,
        response: requests.Response | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.response = response
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: datetime, cap: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), clamped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return max(0.0, min(cap, seconds))


class HttpClient:
    """A requests.Session with the policy above. `request()` returns 2xx responses and raises
    core errors for everything else.

    Safe for the threads of one pull (sync.pull fetches customers and orders side by side):
    the token bucket and the counters are locked, each `request` keeps its state in locals
    (tenacity's `Retrying` is made per call), and the session's connection pool hands each
    thread a connection of its own (urllib3 keeps up to 10 per host)."""

    def __init__(
        self,
        policy: HttpPolicy,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy
        self.session = session or requests.Session()
        self.session.headers.update(policy.headers)
        self.session.verify = policy.verify_tls
        if not policy.verify_tls:
            # once per client, that is once per run and shop
            log.warning(
                "[%s] TLS certificate verification is OFF for this shop (verify_tls: false): "
                "anyone between us and %s can read and change the traffic, credentials included",
                policy.shop,
                redact_url(policy.base_url),
            )
            # that line says it once per run; urllib3 would repeat it on every request
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        self.sleep = sleep
        self.now = now
        self.rng = rng or random.Random()  # noqa: S311 (retry jitter, not a secret)
        self.bucket = TokenBucket(policy.requests_per_second, clock=clock, sleep=sleep)
        self.clock = clock
        self._resume_at: float | None = None  # the shop's window is used up until then
        self._hold_lock = threading.Lock()
        self.requests_sent = 0
        self.retries = 0
        self._counting = threading.Lock()  # two streams of one pull share this client
        REDACTOR.add(*policy.secrets)
        userinfo = urlsplit(policy.base_url)
        REDACTOR.add(userinfo.password)  # `https://user:pass@...`: the password alone, too
        # user-info in the url is HTTP Basic auth for requests that bring no Authorization of
        # their own; left in the url, requests would replace the connector's token or key
        self.base_url = _without_userinfo(policy.base_url)
        self.url_auth = (
            (unquote(userinfo.username or ""), unquote(userinfo.password or ""))
            if userinfo.username or userinfo.password
            else None
        )

    def __repr__(self) -> str:
        return (
            f"HttpClient(shop={self.policy.shop!r}, base_url={redact_url(self.policy.base_url)!r})"
        )

    def add_secret(self, *secrets: str | None) -> None:
        REDACTOR.add(*secrets)

    def close(self) -> None:
        self.session.close()

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return urljoin(self.base_url.rstrip("/") + "/", path.lstrip("/"))

    # -- public verbs ---------------------------------------------------------------------
    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PATCH", path, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool | None = None,
        read: bool | None = None,
        ok_statuses: Iterable[int] = (),
        timeout: float | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send with retries. `idempotent` (default: by method) allows retrying after an
        ambiguous failure; `read` (default: GET/HEAD) also retries 500. Statuses in
        `ok_statuses` are returned instead of raised (e.g. a 400 the caller interprets)."""
        method = method.upper()
        idempotent = method in SAFE_METHODS if idempotent is None else idempotent
        read = method in ("GET", "HEAD") if read is None else read
        url = self.url(path)
        accepted = frozenset(ok_statuses)
        kwargs.setdefault(
            "timeout", (self.policy.connect_timeout, timeout or self.policy.read_timeout)
        )
        if not self.policy.verify_tls:  # per request: $REQUESTS_CA_BUNDLE beats session.verify
            kwargs.setdefault("verify", False)
        if self.url_auth and "auth" not in kwargs and self._wants_url_auth(url, kwargs):
            kwargs["auth"] = self.url_auth

        def attempt() -> requests.Response:
            return self._attempt(method, url, idempotent, read, accepted, kwargs)

        retrying = Retrying(
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
            sleep=self.sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Retryable as exc:
            raise self._exhausted(exc, method, url) from None

    def redo_unsure(self, fn: Callable[[], T], what: str) -> T:
        """Run `fn`, a write that reads the shop first and sends only what is missing, again
        each time it raises UnsureWriteError, with the same backoff as `request` (full jitter,
        the injected sleep), at most `max_attempts` times in all. Any other error is raised at
        once: a 4xx refusal, or a read that failed after its own retries (the shop is gone for
        now: the next run re-plans)."""
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(UnsureWriteError),
            sleep=self.sleep,
            before_sleep=lambda state: self._before_redo(state, what),
            reraise=True,
        )
        return retrying(fn)

    # -- internals ------------------------------------------------------------------------
    def _wants_url_auth(self, url: str, kwargs: dict[str, Any]) -> bool:
        """The url's user-info goes only to the shop's own host (never, say, to a separate
        token endpoint) and only without an Authorization header of the connector's."""
        if urlsplit(url).netloc != urlsplit(self.base_url).netloc:
            return False
        headers = {**self.session.headers, **(kwargs.get("headers") or {})}
        return not any(k.lower() == "authorization" and v for k, v in headers.items())

    def _attempt(
        self,
        method: str,
        url: str,
        idempotent: bool,
        read: bool,
        accepted: frozenset[int],
        kwargs: dict[str, Any],
    ) -> requests.Response:
        self._hold()
        self.bucket.acquire()
        with self._counting:
            self.requests_sent += 1
        started = time.perf_counter()
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.exceptions.SSLError as exc:
            # a certificate or an https/http mix-up: no retry can fix it
            raise ConfigError(
                f"{method} {_shown_url(url)}: {network_cause(exc)}; check the shop's url and "
                f"its certificate",
                shop=self.policy.shop,
            ) from None
        except requests.exceptions.ConnectTimeout as exc:
            raise _Retryable(network_cause(exc, self.policy)) from None
        except requests.exceptions.Timeout as exc:
            if idempotent:
                raise _Retryable(network_cause(exc, self.policy)) from None
            raise self._ambiguous(method, url, "timed out") from None
        except requests.exceptions.ConnectionError as exc:
            if idempotent or _never_connected(exc):
                raise _Retryable(network_cause(exc, self.policy)) from None
            raise self._ambiguous(method, url, "lost the connection") from None
        elapsed = (time.perf_counter() - started) * 1000
        log.debug(
            "%s %s -> %s (%.0f ms)", method, REDACTOR.redact(url), response.status_code, elapsed
        )
        status = response.status_code
        if 200 <= status < 300 or status in accepted:
            self._note_window(response)
            return response
        retryable = (
            status in NOT_PROCESSED_STATUSES
            or (idempotent and status in RETRY_STATUSES)
            or (read and status == 500)
        )
        if retryable:
            retry_after = parse_retry_after(
                response.headers.get("Retry-After"), self.now(), self.policy.retry_after_max
            )
            if retry_after is None and status == 429:
                retry_after = self._window_wait(response)
            raise _Retryable(f"HTTP {status}", response, retry_after)
        raise self._status_error(response, method, url)

    def _window_wait(self, response: requests.Response) -> float | None:
        """Seconds the platform's rate-limit headers ask for, clamped (None: they say nothing)."""
        parser = self.policy.rate_limit_wait
        wait = parser(response, self.now()) if parser is not None else None
        return None if wait is None else max(0.0, min(self.policy.retry_after_max, wait))

    def _note_window(self, response: requests.Response) -> None:
        wait = self._window_wait(response)
        if wait:
            with self._hold_lock:
                self._resume_at = max(self._resume_at or 0.0, self.clock() + wait)

    def _hold(self) -> None:
        """Before sending: wait out a rate-limit window an earlier answer said is used up."""
        with self._hold_lock:
            resume, self._resume_at = self._resume_at, None
            if resume is None:
                return
            wait = resume - self.clock()
            if wait > 0:
                log.info("[%s] rate limit window used up: waiting %.1fs", self.policy.shop, wait)
                self.sleep(wait)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return exc.retry_after
        ceiling = min(
            self.policy.backoff_max, self.policy.backoff_base * 2 ** (state.attempt_number - 1)
        )
        return self.rng.uniform(0, ceiling)  # full jitter

    def _before_sleep(self, state: RetryCallState) -> None:
        with self._counting:
            self.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0
        log.warning(
            "[%s] %s; retry %d/%d in %.2fs",
            self.policy.shop,
            getattr(exc, "reason", exc),
            state.attempt_number,
            self.policy.max_attempts - 1,
            wait,
        )

    def _before_redo(self, state: RetryCallState, what: str) -> None:
        with self._counting:
            self.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0
        log.warning(
            "[%s] %s: %s; writing again, %d/%d in %.2fs",
            self.policy.shop,
            what,
            REDACTOR.redact(str(exc)),
            state.attempt_number,
            self.policy.max_attempts - 1,
            wait,
        )

    def _excerpt(self, response: requests.Response) -> str:
        text = response.text[:400] if response.content else ""
        return REDACTOR.redact(" ".join(text.split()))

    def _status_error(self, response: requests.Response, method: str, url: str) -> LoyalsyncError:
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        code, message = None, None
        if self.policy.error_parser is not None:
            code, message = self.policy.error_parser(response)
        excerpt = self._excerpt(response)
        where = f"{method} {REDACTOR.redact(urlsplit(url).path)}"
        if message:  # the platform's own words, e.g. "Access token could not be verified"
            where = f"{where} ({REDACTOR.redact(' '.join(message.split())[:200])})"
        shop = self.policy.shop
        if payload is None and _not_the_api(response):
            return ConfigError(
                f"{method} {_shown_url(url)}: the server answers, but not as the shop's API "
                f"(HTTP {status}, {_content_type(response)}); check the shop's url",
                shop=shop,
                status=status,
                excerpt=excerpt,
            )
        if status in (401, 403):
            what = "credentials were rejected" if status == 401 else "access is not allowed"
            return AuthError(
                f"{where}: the shop says our {what}",
                shop=shop,
                status=status,
                code=code,
                excerpt=excerpt,
            )
        if status == 429:
            return RateLimitedError(
                f"{where}: rate limited", shop=shop, status=status, code=code, excerpt=excerpt
            )
        if status >= 500:
            return TransientError(
                f"{where}: server error", shop=shop, status=status, code=code, excerpt=excerpt
            )
        return ApiError(
            f"{where}: request rejected",
            shop=shop,
            status=status,
            code=code,
            excerpt=excerpt,
            payload=payload,
        )

    def _ambiguous(self, method: str, url: str, what: str) -> TransientError:
        return TransientError(
            f"{method} {REDACTOR.redact(urlsplit(url).path)} {what}; not retried because the "
            f"write may have reached the shop (the next run re-plans from the shop's state)",
            shop=self.policy.shop,
        )

    def _exhausted(self, exc: _Retryable, method: str, url: str) -> LoyalsyncError:
        attempts = self.policy.max_attempts
        if exc.response is not None:
            error = self._status_error(exc.response, method, url)
            if isinstance(error, RateLimitedError):
                error.retry_after = exc.retry_after
            error.message = f"{error.message} (gave up after {attempts} attempts)"
            return error
        return TransientError(
            f"{method} {_shown_url(url)}: {exc.reason} (gave up after {attempts} attempts)",
            shop=self.policy.shop,
        )


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _shown_url(url: str) -> str:
    """The URL for an error message: scheme, host, port and path; no query, no user-info."""
    parts = urlsplit(url)
    return redact_url(REDACTOR.redact(urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))))


_SSL_REASON = re.compile(r"\[SSL: ([A-Z_]+)\]|(certificate verify failed[^'\")]*)")


def network_cause(exc: requests.exceptions.RequestException, policy: Any = None) -> str:
    """Which network failure this was, in words: connection refused, DNS failure, TLS failure,
    connect or read timeout (with the configured limit), or the connection lost."""
    text = repr(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        found = _SSL_REASON.search(text)
        reason = next((g for g in found.groups() if g), "") if found else ""
        return f"TLS failure ({reason.lower().replace('_', ' ') or 'handshake failed'})"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        limit = f" within {policy.connect_timeout:g} s" if policy is not None else ""
        return f"connect timeout: no connection{limit}"
    if isinstance(exc, requests.exceptions.Timeout):
        limit = f" within {policy.read_timeout:g} s" if policy is not None else ""
        return f"read timeout: no answer{limit}"
    if any(s in text for s in ("NameResolution", "getaddrinfo", "Name or service not known")):
        host = urlsplit(exc.request.url).hostname if exc.request is not None else None
        return f"connection error: DNS failure, the host name {host!r} could not be resolved"
    if "Connection refused" in text or "ConnectionRefused" in text:
        return "connection error: connection refused (nothing listens at that address and port)"
    if any(s in text for s in ("RemoteDisconnected", "Connection aborted", "reset by peer")):
        return "connection error: the server closed the connection"
    return f"connection error: {exc.__class__.__name__}"


def _content_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "no content type").split(";")[0].strip()


def _not_the_api(response: requests.Response) -> bool:
    """A 501 (the server does not implement the method: a plain web server), or an HTML page
    for a 404/405: the URL reaches a web server, not the shop's API."""
    html = "html" in _content_type(response).lower()
    return response.status_code == 501 or (html and response.status_code in (404, 405))


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection was refused or could not be opened: nothing was sent."""
    text = repr(exc)
    return any(s in text for s in ("NewConnectionError", "Connection refused", "NameResolution"))


def make_session(policy: HttpPolicy, **kwargs: Any) -> HttpClient:
    """The one factory connectors get their HTTP client from."""
    return HttpClient(policy, **kwargs)


def json_body(response: requests.Response) -> Any:
    """Parse a JSON body or raise ApiError naming the endpoint (a proxy page, not the API)."""
    try:
        return response.json()
    except ValueError:
        snippet = REDACTOR.redact(" ".join(response.text[:200].split()))
        if "html" in _content_type(response).lower():
            raise ConfigError(
                f"{response.request.method} {_shown_url(response.url)}: the server answers with "
                f"an HTML page, not as the shop's API; check the shop's url",
                status=response.status_code,
                excerpt=snippet,
            ) from None
        raise ApiError(
            f"{response.request.method} {urlsplit(response.url).path}: expected JSON, got "
            f"{response.headers.get('Content-Type', 'no content type')}",
            status=response.status_code,
            excerpt=snippet,
        ) from None
