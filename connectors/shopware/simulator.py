"""A faithful fake Shopware 6 Admin API on 127.0.0.1, for tests, `loyalsync demo` and
`loyalsync simulate --platform shopware`.

Owns the HTTP side of the fake shop: the server thread, injected faults (429 with and without
Retry-After, 500, 502, 503, dropped connections before or after processing, answers that come
too late for the client's read timeout; seeded) and latency,
the request log, and the helpers tests use to change the shop. The routes are in sim_api.py,
data and searches in sim_store.py, criteria semantics in sim_criteria.py, writes in
sim_write.py. Seeded from core.synth; never touches the network beyond 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from loyalsync.connectors.shopware.sim_api import AdminApi
from loyalsync.connectors.shopware.sim_criteria import SimError, error
from loyalsync.connectors.shopware.sim_store import ShopStore
from loyalsync.core.synth import SynthShop, SynthSpec, generate_shop

DEFAULT_VERSION = "6.6.10.13"


@dataclass
class Faults:
    """Shares of requests that fail before the shop sees them (drops may also come after;
    a timed-out request is processed, its answer comes `stall` seconds late)."""

    rate_limited: float = 0.0  # 429 with Retry-After
    rate_limited_bare: float = 0.0  # 429 without Retry-After (hosting layers differ)
    bad_gateway: float = 0.0
    unavailable: float = 0.0
    dropped: float = 0.0  # the connection closes without an answer
    server_error: float = 0.0  # 500: PHP failed before the transaction committed
    timed_out: float = 0.0  # processed; the answer waits `stall` seconds (a read timeout)
    seed: int = 0
    stall: float = 1.0
    down_for: str = ""  # Retry-After of the 503s (a maintenance page saying when to come back)
    writes_only: bool = False  # only writes fail (the Sync API, entity writes; not searches)

    @classmethod
    def mixed(cls, share: float, seed: int = 0, stall: float = 1.0) -> Faults:
        """`share` of all requests failing, spread evenly over every kind of fault."""
        calm = ("seed", "stall", "down_for", "writes_only")
        kinds = [f.name for f in fields(cls) if f.name not in calm]
        return cls(seed=seed, stall=stall, **{k: share / len(kinds) for k in kinds})

    def kinds(self) -> list[tuple[str, float]]:
        return [
            ("429", self.rate_limited),
            ("429-bare", self.rate_limited_bare),
            ("502", self.bad_gateway),
            ("503", self.unavailable),
            ("drop", self.dropped),
            ("500", self.server_error),
            ("timeout", self.timed_out),
        ]


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    status: int  # 0: connection dropped
    body: Any = field(default=None, compare=False, repr=False)
    accept: str = field(default="", compare=False, repr=False)
    ms: float = field(default=0.0, compare=False)  # the shop's own time, injected latency aside

    @property
    def entity(self) -> str | None:
        parts = self.path.strip("/").split("/")
        return (
            parts[2].replace("-", "_") if len(parts) > 2 and parts[1].startswith("search") else None
        )


class ShopwareSimulator:
    """The fake shop. `start()` returns its base URL; use as a context manager in tests."""

    def __init__(
        self,
        shop: SynthShop,
        *,
        client_id: str = "SWIASIMULATORKEY",
        client_secret: str = "sim-secret-0123456789abcdef",
        token_ttl: int = 600,
        max_limit: int | None = 500,
        version: str = DEFAULT_VERSION,
        faults: Faults | None = None,
        latency: float = 0.0,
        clock: Callable[[], datetime] | None = None,
        clock_offset: timedelta = timedelta(0),
        keyset: bool = True,
        throttle_after: int = 10,
        seed: int = 0,
        port: int = 0,
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.faults = faults or Faults()
        self.latency = latency
        # the shop's clock: ours (or the injected one) moved by `clock_offset`, as a shop whose
        # server clock or time zone is off would be; it stamps every row it writes and `Date`
        base = clock or (lambda: datetime.now(UTC))
        self.clock = base if not clock_offset else (lambda: base() + clock_offset)
        self.store = ShopStore(shop, self.clock, seed, legacy_newsletter=version.startswith("6.4"))
        self.api = AdminApi(
            self.store, self.clock, client_id=client_id, client_secret=client_secret,
            token_ttl=token_ttl, max_limit=max_limit, version=version, keyset=keyset,
            throttle_after=throttle_after,
        )  # fmt: skip
        self.request_log: list[Logged] = []
        # tests: called with (method, path) as each request arrives, before any fault
        self.on_request: Callable[[str, str], None] | None = None
        self._rng = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_spec(cls, spec: SynthSpec, **options: Any) -> ShopwareSimulator:
        return cls(generate_shop(spec), **options)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> str:
        sim = self

        class Handler(_Handler):
            simulator = sim

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="shopware-sim", daemon=True
        )
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("simulator not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    base_url = url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ShopwareSimulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests look at and change ----------------------------------------------------
    @property
    def write_log(self) -> list[dict[str, Any]]:
        return self.store.write_log

    @property
    def customers(self) -> dict[str, Any]:
        return self.store.customers

    @property
    def orders(self) -> dict[str, Any]:
        return self.store.orders

    def table(self, entity: str) -> dict[str, dict[str, Any]]:
        """customer_group, tag, sales_channel, currency, promotion, promotion_individual_code,
        promotion_discount or promotion_sales_channel rows by id."""
        return self.store.tables[entity]

    @property
    def persona(self) -> set[tuple[str, str]]:
        return self.store.persona

    def requests(self, path_prefix: str = "", *, method: str | None = None) -> list[Logged]:
        return [
            r
            for r in self.request_log
            if r.path.startswith(path_prefix) and (method is None or r.method == method)
        ]

    def reset_logs(self) -> None:
        self.request_log.clear()

    def expire_tokens(self) -> None:
        """Every issued token stops working now (as if its lifetime ran out)."""
        self.api.tokens.clear()

    def set_faults(self, faults: Faults | None) -> None:
        with self._lock:
            self.faults = faults or Faults()
            self._rng = random.Random(self.faults.seed)

    def touch_customers(self, fraction: float, seed: int = 0) -> list[str]:
        return self.store.touch_customers(fraction, seed)

    def add_orders(
        self, n: int, seed: int = 0, customer_ids: list[str] | None = None, code: str | None = None
    ) -> list[str]:
        return self.store.add_orders(n, seed, customer_ids, code)

    def delete_customers(self, ids: list[str]) -> list[str]:
        return self.store.delete_customers(ids)

    def set_newsletter(
        self, customer_id: str, status: str, channel: str | None = None
    ) -> dict[str, Any]:
        """The customer (un)subscribes: their newsletter_recipient row (6.4: also the flag)."""
        return self.store.set_newsletter(customer_id, status, channel)

    @property
    def newsletter_recipients(self) -> list[dict[str, Any]]:
        with self.store.lock:
            return [dict(r) for r in self.store.tables["newsletter_recipient"].values()]

    def set_order_state(self, order_id: str, state: str) -> None:
        self.store.set_order_state(order_id, state)

    def set_payment_state(self, order_id: str, state: str) -> None:
        self.store.set_payment_state(order_id, state)

    def corrupt_order(self, order_id: str, **raw: Any) -> None:
        self.store.corrupt_order(order_id, **raw)

    def corrupt_customer(self, customer_id: str, **raw: Any) -> None:
        self.store.corrupt_customer(customer_id, **raw)

    def serve_bad_rows(self, entity: str, rows: list[Any]) -> None:
        """Append `rows` (lists, nulls, objects without an id...) to the next search answer
        for `entity`, as a broken plugin or proxy would."""
        with self._lock:
            self.api.bad_rows.setdefault(entity, []).extend(rows)

    # -- request handling -----------------------------------------------------------------
    def _fault(self, method: str, path: str) -> str | None:
        with self._lock:
            roll, early = self._rng.random(), self._rng.random() < 0.5
        if self.faults.writes_only and not _is_write(method, path):
            return None
        for kind, share in self.faults.kinds():
            if roll < share:
                return kind if kind != "drop" else "drop-early" if early else "drop-late"
            roll -= share
        return None

    def handle(self, h: _Handler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        path = urlsplit(h.path).path
        if self.on_request is not None:
            self.on_request(h.command, path)
        if self.latency:
            time.sleep(self.latency)  # the simulated network, not a test sleep
        started = time.perf_counter()
        fault = self._fault(h.command, path)
        if fault == "drop-early":  # the connection breaks before the shop sees the request
            return self._drop(h, path, None, started)
        if fault in ("429", "429-bare", "500", "502", "503"):
            status = int(fault[:3])
            headers = {"Retry-After": "1"} if fault == "429" else {}
            if fault == "503" and self.faults.down_for:
                headers = {"Retry-After": self.faults.down_for}
            said = "Internal Server Error" if status == 500 else "The upstream is busy, try again."
            busy = {"errors": [error(status, "0", said)]}
            return self._send(h, path, status, busy, headers, None, started)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            malformed = error(400, "FRAMEWORK__INVALID_REQUEST_BODY", "Malformed JSON body.")
            return self._send(h, path, 400, {"errors": [malformed]}, {}, None, started)
        try:
            status, payload = self.api.route(h.command, path, body, h.headers)
        except SimError as exc:
            status, payload = exc.status, exc.body()
        except Exception as exc:  # a bug in the fake shop: answer like PHP would, visibly
            status, payload = 500, {"errors": [error(500, "0", f"{type(exc).__name__}: {exc}")]}
        if fault == "drop-late":  # processed, but the answer never arrives
            return self._drop(h, path, body, started)
        if fault == "timeout":  # processed; the answer comes after the client gave up
            time.sleep(self.faults.stall)
            self._log(h, path, 0, body, started)
            with contextlib.suppress(OSError):
                self._send(h, path, status, payload, {}, body, started, log=False)
            return
        self._send(h, path, status, payload, {}, body, started)

    def _log(self, h: _Handler, path: str, status: int, body: Any, started: float) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        accept = h.headers.get("Accept") or ""
        self.request_log.append(Logged(h.command, path, status, body, accept, elapsed))

    def _drop(self, h: _Handler, path: str, body: Any, started: float) -> None:
        self._log(h, path, 0, body, started)
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.connection.shutdown(socket.SHUT_RDWR)

    def _send(
        self,
        h: _Handler,
        path: str,
        status: int,
        payload: Any,
        headers: dict[str, str],
        body: Any,
        started: float,
        log: bool = True,
    ) -> None:
        data = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        if log:
            self._log(h, path, status, body, started)
        h.send_response(status)
        for key, value in headers.items():
            h.send_header(key, value)
        if payload is not None:
            json_api = "application/json" not in (h.headers.get("Accept") or "")
            kind = "application/vnd.api+json" if json_api else "application/json"
            h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real shop behind nginx
    simulator: ShopwareSimulator

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle and delayed ACKs add ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header by the shop's clock (a hint to clients, never ground truth)."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        return format_datetime(self.simulator.clock().astimezone(UTC), usegmt=True)

    def _serve(self) -> None:
        self.simulator.handle(self)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve


def serve(
    customers: int = 2000, seed: int = 42, port: int = 0, **options: Any
) -> ShopwareSimulator:
    """A started simulator with a synthetic shop (for `loyalsync simulate` and `demo`)."""
    spec_keys = {"as_of", "years", "guest_share", "b2b_share", "mean_orders", "cancel_share"}
    spec = SynthSpec(
        customers=customers,
        seed=seed,
        **{k: options.pop(k) for k in list(options) if k in spec_keys},
    )
    sim = ShopwareSimulator.from_spec(spec, port=port, **options)
    sim.start()
    return sim


start_simulator = serve  # the name connectors/__init__.py documents for `demo` / `simulate`


def config_snippet(sim: ShopwareSimulator, name: str = "shopware-demo") -> str:
    """A `shops:` entry pointing at a running simulator. Credentials are `${VAR}` references,
    followed by a commented `# VAR=value` block for a .env file (secrets stay out of YAML)."""
    return (
        "shops:\n"
        f"  - name: {name}\n"
        "    platform: shopware\n"
        f"    url: {sim.url}\n"
        "    credentials:\n"
        "      client_id: ${SHOPWARE_CLIENT_ID}\n"
        "      client_secret: ${SHOPWARE_CLIENT_SECRET}\n"
        "    currency: EUR\n"
        "    requests_per_second: 50\n"
        f"# SHOPWARE_CLIENT_ID={sim.client_id}\n"
        f"# SHOPWARE_CLIENT_SECRET={sim.client_secret}\n"
    )


def _is_write(method: str, path: str) -> bool:
    """A request that changes the shop: not a read, a search or a token request."""
    reads = ("/api/search", "/api/oauth/token")
    return method not in ("GET", "HEAD") and not path.startswith(reads)
