"""A faithful fake PrestaShop webservice (1.7.8, 8.1, 9.0) on 127.0.0.1, for tests,
`loyalsync demo` and `loyalsync simulate --platform prestashop`.

Owns the HTTP side of the fake shop: the server thread, the shop's clock (ours plus an
offset: a shop's clock is not ours) and time zone, injected faults (429 with and without
Retry-After, PHP's 500, proxy 502/503/504 with HTML pages, dropped connections before or after
the shop processed the request, answers too late for the client's read timeout; seeded),
an optional PHP-warning prefix in front of every body (research/prestashop.md §4.3), latency,
list entries no shop should send (`serve_bad_rows`: non-objects, duplicate records), the
request log, the seconds spent answering (per path, for benchmarks), the write log, and
the helpers tests use to change the shop. Routes are in sim_api.py, list semantics in
sim_query.py, rendering in sim_render.py, writes in sim_write.py, data in sim_store.py.
Seeded from core.synth; no network beyond 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from requests.structures import CaseInsensitiveDict

from loyalsync.connectors.prestashop.sim_api import (
    Answer,
    BadRows,
    WebserviceApi,
    default_permissions,
)
from loyalsync.connectors.prestashop.sim_store import ShopTables
from loyalsync.core.synth import SynthShop, SynthSpec, generate_shop

DEFAULT_KEY = "LOYALSYNCSIMULATORWEBSERVICEKEY1"  # 32 characters, like a generated key
PHP_WARNING = (
    '<br />\n<b>Warning</b>:  Undefined array key "id_lang" in '
    "<b>/var/www/html/modules/somemodule/somemodule.php</b> on line <b>42</b><br />\n"
)
HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head><body>"
    "<center><h1>{status} {reason}</h1></center><hr><center>nginx</center></body></html>\n"
)


@dataclass
class Faults:
    """Shares of requests that fail. Proxy errors, `server_error` and early drops happen
    before the shop sees the request; half of `dropped` is a request the shop processed whose
    answer never arrives; `late_server_error` is PHP failing after the save (a module's hook
    throws: a 500 for a write that was made); a timed-out request is processed and its answer
    comes `stall` seconds late. `writes_only`: reads are never failed."""

    rate_limited: float = 0.0  # 429 from a hosting layer, with Retry-After
    bad_gateway: float = 0.0  # 502, HTML page
    unavailable: float = 0.0  # 503, HTML page
    gateway_timeout: float = 0.0  # 504, HTML page
    dropped: float = 0.0  # the connection closes without an answer (before or after)
    seed: int = 0
    rate_limited_bare: float = 0.0  # 429 without Retry-After (another hosting layer)
    server_error: float = 0.0  # 500, PHP's fatal-error page; nothing was written
    timed_out: float = 0.0  # processed; the answer waits `stall` seconds (a read timeout)
    stall: float = 1.0
    down_for: str = ""  # Retry-After of the 503s (a maintenance page saying when to come back)
    late_server_error: float = 0.0  # 500 after the shop processed the request
    writes_only: bool = False  # only POST, PUT, PATCH and DELETE fail

    @classmethod
    def mixed(cls, share: float, seed: int = 0, stall: float = 1.0) -> Faults:
        """`share` of all requests failing, spread evenly over every kind of fault."""
        kinds = [f.name for f in fields(cls) if f.name not in _NOT_SHARES]
        return cls(seed=seed, stall=stall, **{k: share / len(kinds) for k in kinds})

    def kinds(self) -> list[tuple[str, float]]:
        return [
            ("429", self.rate_limited),
            ("429-bare", self.rate_limited_bare),
            ("500", self.server_error),
            ("502", self.bad_gateway),
            ("503", self.unavailable),
            ("504", self.gateway_timeout),
            ("drop", self.dropped),
            ("timeout", self.timed_out),
            ("500-late", self.late_server_error),
        ]


_NOT_SHARES = ("seed", "stall", "down_for", "writes_only")


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    query: dict[str, str] = field(compare=False)
    status: int  # 0: connection dropped
    body: bytes = field(default=b"", compare=False, repr=False)


class PrestaShopSimulator:
    """The fake shop. `start()` returns its base URL; use as a context manager in tests."""

    def __init__(
        self,
        shop: SynthShop,
        *,
        version: str = "8.1",
        key: str = DEFAULT_KEY,
        permissions: dict[str, set[str]] | None = None,
        timezone: str = "Europe/Berlin",
        clock: Callable[[], datetime] | None = None,
        clock_offset: timedelta = timedelta(0),
        faults: Faults | None = None,
        php_warnings: bool = False,
        latency: float = 0.0,
        seed: int = 0,
        port: int = 0,
    ) -> None:
        self.key = key
        self.version = version
        self._clock = clock or (lambda: datetime.now(UTC))
        self.clock_offset = clock_offset
        self.tz = ZoneInfo(timezone)
        self.store = ShopTables(shop, self.shop_now, self.tz, seed)
        keys = {key: {"active": True, "permissions": permissions or default_permissions()}}
        self.api = WebserviceApi(self.store, version, keys)
        self.faults = faults or Faults()
        self.php_warnings = php_warnings
        self.latency = latency
        self.request_log: list[Logged] = []
        self.busy: dict[str, float] = {}  # path -> seconds spent answering (latency excluded)
        # tests: called with (method, path) as each request arrives, before any fault
        self.on_request: Callable[[str, str], None] | None = None
        self.late_drops: dict[str, int] = {}  # method -> answers to lose after processing
        self._rng = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self._port = port
        self._server: ThreadingHTTPServer | None = None

    @classmethod
    def from_spec(cls, spec: SynthSpec, **options: Any) -> PrestaShopSimulator:
        return cls(generate_shop(spec), **options)

    def shop_now(self) -> datetime:
        """The shop's clock: ours plus the offset (its NTP is not our NTP)."""
        return self._clock() + self.clock_offset

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> str:
        sim = self

        class Handler(_Handler):
            simulator = sim

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="prestashop-sim", daemon=True
        )
        thread.start()
        self.api.base = self.url
        return self.url

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("simulator not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> PrestaShopSimulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests look at and change ----------------------------------------------------
    def table(self, resource: str) -> dict[int, dict[str, Any]]:
        return self.store.tables.setdefault(resource, {})

    @property
    def write_log(self) -> list[dict[str, Any]]:
        return self.api.writer.log

    def requests(self, path_prefix: str = "", *, method: str | None = None) -> list[Logged]:
        return [
            r
            for r in self.request_log
            if r.path.startswith(path_prefix) and (method is None or r.method == method)
        ]

    def reset_logs(self) -> None:
        self.request_log.clear()
        self.busy.clear()

    def set_faults(self, faults: Faults | None) -> None:
        with self._lock:
            self.faults = faults or Faults()
            self._rng = random.Random(self.faults.seed)

    def drop_answers(self, method: str, count: int = 1) -> None:
        """Process the next `count` requests of `method`, then lose their answers."""
        self.late_drops[method] = count

    def serve_bad_rows(
        self,
        resource: str,
        rows: Sequence[Any] = (),
        *,
        at: int | None = None,
        copies: int = 0,
        copy_of: int = 0,
        display: str | None = "full",
    ) -> None:
        """Put `rows` (strings, numbers, nulls, lists...) into the next JSON list answer of
        `resource` whose `display` is `display` (None: any), at index `at` (None: the end), and
        `copies` more copies of its record at index `copy_of` after it: what a broken module,
        a proxy or a multishop JOIN may send. Each call serves one answer; calls queue up."""
        with self._lock:
            bad = BadRows(list(rows), at, copies, copy_of, display)
            self.api.bad_rows.setdefault(resource, []).append(bad)

    def set_permissions(self, permissions: dict[str, set[str]]) -> None:
        self.api.keys[self.key]["permissions"] = permissions

    def touch_customers(self, fraction: float, seed: int = 0) -> list[int]:
        self._changed()
        return self.store.touch_customers(fraction, seed)

    def add_orders(self, n: int, seed: int = 0) -> list[int]:
        self._changed()
        return self.store.add_orders(n, seed)

    def delete_customers(self, ids: list[int]) -> list[int]:
        self._changed()
        return self.store.delete_customers(ids)

    def cache_lists(self) -> None:
        """Keep list answers until the next change (benchmarks: see WebserviceApi)."""
        self.api.list_cache = {}

    def _changed(self) -> None:
        if self.api.list_cache is not None:
            self.api.list_cache.clear()

    # -- request handling -----------------------------------------------------------------
    def _fault(self, method: str) -> str | None:
        with self._lock:
            roll, early = self._rng.random(), self._rng.random() < 0.5
        if self.faults.writes_only and method in ("GET", "HEAD"):
            return None
        for kind, share in self.faults.kinds():
            if roll < share:
                return kind if kind != "drop" else "drop-early" if early else "drop-late"
            roll -= share
        return None

    def handle(self, h: _Handler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        parts = urlsplit(h.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if self.on_request is not None:
            self.on_request(h.command, parts.path)
        if self.latency:
            time.sleep(self.latency)  # the simulated network, not a test sleep
        fault = self._fault(h.command)
        if fault == "drop-early":
            return self._drop(h, parts.path, params, raw)
        if fault in ("429", "429-bare", "500", "502", "503", "504"):
            status = int(fault[:3])
            reason = {
                429: "Too Many Requests",
                500: "Internal Server Error",
                502: "Bad Gateway",
                503: "Service Unavailable",
                504: "Gateway Time-out",
            }[status]
            page = HTML_PAGE.format(status=status, reason=reason).encode()
            extra = {"Retry-After": "1"} if fault == "429" else {}
            if fault == "503" and self.faults.down_for:
                extra = {"Retry-After": self.faults.down_for}
            return self._send(h, parts.path, params, raw, Answer(status, page, "text/html", extra))
        began = time.perf_counter()
        try:
            headers = CaseInsensitiveDict(h.headers.items())
            answer = self.api.route(h.command, parts.path, params, headers, raw)
        except Exception as exc:  # a bug in the fake shop: answer like PHP would, visibly
            answer = Answer(500, f"{type(exc).__name__}: {exc}".encode(), "text/html")
        with self._lock:
            spent = self.busy.get(parts.path, 0.0) + time.perf_counter() - began
            self.busy[parts.path] = spent
        if self.late_drops.get(h.command):
            self.late_drops[h.command] -= 1
            fault = "drop-late"
        if fault == "drop-late":  # processed, but the answer never arrives
            return self._drop(h, parts.path, params, raw)
        if fault == "500-late":  # processed, then PHP failed: the fatal-error page, no answer
            page = HTML_PAGE.format(status=500, reason="Internal Server Error").encode()
            return self._send(h, parts.path, params, raw, Answer(500, page, "text/html"))
        if self.php_warnings and answer.body:
            # anything echoed before the output: the dispatcher switches the content type
            answer.body = PHP_WARNING.encode() + answer.body
            answer.content_type = "application/javascript"
        if fault == "timeout":  # processed; the answer comes after the client gave up
            time.sleep(self.faults.stall)
            self.request_log.append(Logged(h.command, parts.path, params, 0, raw))
            with contextlib.suppress(OSError):
                self._send(h, parts.path, params, raw, answer, log=False)
            return
        self._send(h, parts.path, params, raw, answer)

    def _drop(self, h: _Handler, path: str, params: dict[str, str], raw: bytes) -> None:
        self.request_log.append(Logged(h.command, path, params, 0, raw))
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.connection.shutdown(socket.SHUT_RDWR)

    def _send(
        self,
        h: _Handler,
        path: str,
        params: dict[str, str],
        raw: bytes,
        answer: Answer,
        log: bool = True,
    ) -> None:
        if log:
            self.request_log.append(Logged(h.command, path, params, answer.status, raw))
        h.send_response(answer.status)
        for key, value in answer.headers.items():
            h.send_header(key, value)
        if answer.content_type:
            h.send_header("Content-Type", answer.content_type)
        h.send_header("Content-Length", str(len(answer.body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(answer.body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    simulator: PrestaShopSimulator

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        # the Date header tells the shop's clock, not ours
        return format_datetime(self.simulator.shop_now().astimezone(UTC), usegmt=True)

    def _serve(self) -> None:
        self.simulator.handle(self)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


def serve(
    customers: int = 2000, seed: int = 42, port: int = 0, **options: Any
) -> PrestaShopSimulator:
    """A started simulator with a synthetic shop (for `loyalsync simulate` and `demo`)."""
    spec_keys = {"as_of", "years", "guest_share", "b2b_share", "mean_orders", "cancel_share"}
    spec = SynthSpec(
        customers=customers,
        seed=seed,
        **{k: options.pop(k) for k in list(options) if k in spec_keys},
    )
    sim = PrestaShopSimulator.from_spec(spec, port=port, **options)
    sim.start()
    return sim


start_simulator = serve


def config_snippet(sim: PrestaShopSimulator, name: str = "prestashop-demo") -> str:
    """A `shops:` entry pointing at a running simulator; the key as a `${VAR}` reference."""
    return (
        "shops:\n"
        f"  - name: {name}\n"
        "    platform: prestashop\n"
        f"    url: {sim.url}\n"
        "    credentials:\n"
        "      api_key: ${PRESTASHOP_API_KEY}\n"
        "    currency: EUR\n"
        "    requests_per_second: 50\n"
        f"# PRESTASHOP_API_KEY={sim.key}\n"
    )
