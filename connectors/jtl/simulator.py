"""A faithful fake JTL-Wawi API (v1) on 127.0.0.1, for tests, `loyalsync demo --platform jtl`
and `loyalsync simulate --platform jtl`.

Owns the HTTP side: the server thread, both flavours' base paths (on-premise
`/api/eazybusiness`, cloud `/erp` plus the OAuth token endpoint `/oauth2/token`), injected
faults (429 with X-RateLimit-* and Retry-After or bare, 500, 502, 503, dropped connections
before or after the write was processed, answers too late for the read timeout; seeded),
latency, the shop's clock (`clock_offset`) and its `Date` header, the request log, and a
Cloud-style rate limit (`rate_limit=(requests, seconds)`, fixed windows on the shop's clock):
every API answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Interval-Length-Seconds`, a request over the limit gets 429 (§5.3). JTL does not
document `Retry-After` for the ERP API: a 429 (over the limit, or an injected "429" fault) sends
it only with `retry_after=True`, and "429-bare" never. Routes are in
sim_api.py, data in sim_store.py.
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

from requests.structures import CaseInsensitiveDict

from loyalsync.connectors.jtl.sim_api import ALL_SCOPES, SimError, WawiApi
from loyalsync.connectors.jtl.sim_store import JtlStore
from loyalsync.core.synth import SynthSpec, generate_shop


@dataclass
class Faults:
    """Shares of requests that fail; `lost` answers are dropped after the shop processed them,
    `timed_out` ones come `stall` seconds late (after the client's read timeout)."""

    rate_limited: float = 0.0
    bad_gateway: float = 0.0
    unavailable: float = 0.0
    dropped: float = 0.0  # before the shop sees the request
    lost: float = 0.0  # processed, the answer never arrives
    seed: int = 0
    rate_limited_bare: float = 0.0  # 429 without Retry-After or X-RateLimit-* headers
    server_error: float = 0.0  # 500 before the Wawi's transaction committed
    timed_out: float = 0.0  # processed; the answer waits `stall` seconds
    stall: float = 1.0
    down_for: str = ""  # Retry-After of the 503s (a maintenance page saying when to come back)
    writes_only: bool = False  # only POST, PATCH and DELETE fail (not the token request)

    @classmethod
    def mixed(cls, share: float, seed: int = 0, stall: float = 1.0) -> Faults:
        """`share` of all requests failing, spread evenly over every kind of fault."""
        calm = ("seed", "stall", "down_for", "writes_only")
        kinds = [f.name for f in fields(cls) if f.name not in calm]
        return cls(seed=seed, stall=stall, **{k: share / len(kinds) for k in kinds})

    def kinds(self) -> list[tuple[str, float]]:
        return [("429", self.rate_limited), ("429-bare", self.rate_limited_bare),
                ("500", self.server_error), ("502", self.bad_gateway),
                ("503", self.unavailable), ("drop", self.dropped), ("lost", self.lost),
                ("timeout", self.timed_out)]  # fmt: skip


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    query: str
    status: int  # 0: connection dropped
    body: Any = field(default=None, compare=False, repr=False)


class JtlSimulator:
    """The fake Wawi. `start()` returns the base URL of the chosen flavour."""

    def __init__(
        self,
        store_seed: Any,
        *,
        flavour: str = "onprem",
        clock: Callable[[], datetime] | None = None,
        clock_offset: timedelta = timedelta(0),
        naive_times: bool = False,
        faults: Faults | None = None,
        latency: float = 0.0,
        scopes: tuple[str, ...] = ALL_SCOPES,
        licensed: bool = True,
        token_ttl: int = 3600,
        port: int = 0,
        rate_limit: tuple[int, float] | None = None,
        retry_after: bool = False,
    ) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        self.clock_offset = clock_offset
        self.store = JtlStore(store_seed, self.shop_now, naive_times)
        self.api = WawiApi(self.store, self.shop_now, flavour=flavour, scopes=scopes,
                           licensed=licensed, token_ttl=token_ttl)  # fmt: skip
        self.flavour = flavour
        self.faults = faults or Faults()
        self.latency = latency
        self.request_log: list[Logged] = []
        # tests: called with (method, path) as each request arrives, before any fault
        self.on_request: Callable[[str, str], None] | None = None
        self.lose_next_writes = 0  # the next N POST/PATCH are processed, their answers lost
        self.rate_limit, self.retry_after = rate_limit, retry_after
        self._window: tuple[datetime | None, int] = (None, 0)  # window start, requests in it
        self._rng = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self._port = port
        self._server: ThreadingHTTPServer | None = None

    @classmethod
    def from_spec(cls, spec: SynthSpec, **options: Any) -> JtlSimulator:
        return cls(generate_shop(spec), **options)

    def shop_now(self) -> datetime:
        """The shop's clock: ours plus the configured offset."""
        return self.clock() + self.clock_offset

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> str:
        sim = self

        class Handler(_Handler):
            simulator = sim

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="jtl-sim", daemon=True
        ).start()
        return self.url

    @property
    def root(self) -> str:
        if self._server is None:
            raise RuntimeError("simulator not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """The API base URL a shop config names."""
        return self.root + ("/erp" if self.flavour == "cloud" else "/api/eazybusiness")

    base_url = url

    @property
    def token_url(self) -> str:
        return self.root + "/oauth2/token"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> JtlSimulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests look at and change ----------------------------------------------------
    @property
    def customers(self) -> dict[str, dict[str, Any]]:
        return self.store.customers

    @property
    def write_log(self) -> list[dict[str, Any]]:
        return self.store.write_log

    @property
    def workflow_log(self) -> list[dict[str, Any]]:
        return self.store.workflow_log

    def requests(self, path_suffix: str = "", *, method: str | None = None) -> list[Logged]:
        return [r for r in self.request_log if r.path.endswith(path_suffix)
                and (method is None or r.method == method)]  # fmt: skip

    def reset_logs(self) -> None:
        self.request_log.clear()

    def expire_tokens(self) -> None:
        self.api.tokens.clear()

    def set_faults(self, faults: Faults | None) -> None:
        with self._lock:
            self.faults = faults or Faults()
            self._rng = random.Random(self.faults.seed)

    # -- request handling -----------------------------------------------------------------
    def _fault(self, write: bool) -> str | None:
        with self._lock:
            roll = self._rng.random()
        if self.faults.writes_only and not write:
            return None
        for kind, share in self.faults.kinds():
            if roll < share:
                return kind
            roll -= share
        return None

    def handle(self, h: _Handler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        parts = urlsplit(h.path)
        if self.on_request is not None:
            self.on_request(h.command, parts.path)
        if self.latency:
            time.sleep(self.latency)  # the simulated network, not a test sleep
        api_write = h.command in ("POST", "PATCH") and not parts.path.endswith("/oauth2/token")
        fault = self._fault(api_write or h.command == "DELETE")
        if self.lose_next_writes and api_write:
            self.lose_next_writes -= 1
            fault = "lost"
        if fault == "drop":
            return self._drop(h, parts, None)
        allowed, limits = self._count(parts.path)
        if not allowed:
            fault = "429"
        if fault in ("429", "429-bare", "500", "502", "503"):
            headers = {}
            status = int(fault[:3])
            if fault.startswith("429"):
                headers = dict(limits) or {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0",
                                           "X-RateLimit-Interval-Length-Seconds": "45"}  # fmt: skip
                if fault == "429" and self.retry_after:  # not documented for the ERP API
                    headers["Retry-After"] = "1"
            if fault == "503" and self.faults.down_for:
                headers = {"Retry-After": self.faults.down_for}
            code = {429: "TooManyRequests", 500: "Internal"}.get(status, "Unavailable")
            busy = SimError(status, code, "The server is busy, try again later.")
            return self._send(h, parts, status, busy.body(), headers, None)
        text = raw.decode("utf-8", "replace")
        kind = h.headers.get("Content-Type") or ""
        try:
            body: Any = json.loads(text) if raw and "json" in kind else (text or None)
        except ValueError:
            err = SimError(400, "ValidationError", "Malformed JSON body.")
            return self._send(h, parts, 400, err.body(), {}, None)
        with self._lock:  # one Wawi process, one request at a time
            try:
                status, payload, headers = self.api.route(
                    h.command, parts.path, parts.query, CaseInsensitiveDict(h.headers.items()), body
                )
            except SimError as exc:
                status, payload, headers = exc.status, exc.body(), {}
            except Exception as exc:  # a bug in the fake: answer 500 visibly
                status, payload, headers = 500, SimError(500, "Internal", repr(exc)).body(), {}
        if fault == "lost":
            return self._drop(h, parts, body)
        if fault == "timeout":  # processed; the answer comes after the client gave up
            time.sleep(self.faults.stall)
            self.request_log.append(Logged(h.command, parts.path, parts.query, 0, body))
            with contextlib.suppress(OSError):
                self._send(h, parts, status, payload, {**limits, **headers}, body, log=False)
            return
        self._send(h, parts, status, payload, {**limits, **headers}, body)

    def _count(self, path: str) -> tuple[bool, dict[str, str]]:
        """(allowed, X-RateLimit-* headers) for one request under `rate_limit`."""
        if self.rate_limit is None or path.endswith("/oauth2/token"):
            return True, {}
        limit, seconds = self.rate_limit
        with self._lock:
            now = self.shop_now()
            start, used = self._window
            if start is None or (now - start).total_seconds() >= seconds:
                start, used = now, 0
            allowed = used < limit
            used += int(allowed)
            self._window = (start, used)
        return allowed, {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(limit - used),
            "X-RateLimit-Interval-Length-Seconds": f"{seconds:g}",
        }

    def _drop(self, h: _Handler, parts: Any, body: Any) -> None:
        self.request_log.append(Logged(h.command, parts.path, parts.query, 0, body))
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, h: _Handler, parts: Any, status: int, payload: Any,
              headers: dict[str, str], body: Any, log: bool = True) -> None:  # fmt: skip
        data = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        if log:
            self.request_log.append(Logged(h.command, parts.path, parts.query, status, body))
        h.send_response_only(status)
        h.send_header("Date", format_datetime(self.shop_now().astimezone(UTC), usegmt=True))
        for key, value in headers.items():
            h.send_header(key, value)
        if payload is not None:
            h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    simulator: JtlSimulator

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self.simulator.handle(self)

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET


def serve(customers: int = 2000, seed: int = 42, port: int = 0, **options: Any) -> JtlSimulator:
    """A started simulator with a synthetic shop (for `loyalsync simulate` and `demo`)."""
    spec_keys = {"as_of", "years", "guest_share", "b2b_share", "mean_orders", "cancel_share"}
    spec = SynthSpec(
        customers=customers,
        seed=seed,
        **{k: options.pop(k) for k in list(options) if k in spec_keys},
    )
    sim = JtlSimulator.from_spec(spec, port=port, **options)
    sim.start()
    return sim


start_simulator = serve


def config_snippet(sim: JtlSimulator, name: str = "jtl-demo") -> str:
    """A `shops:` entry pointing at a running simulator; secrets as `${VAR}` references with
    a commented `# VAR=value` block for a .env file."""
    if sim.flavour == "cloud":
        creds = ("      client_id: ${JTL_CLIENT_ID}\n      client_secret: ${JTL_CLIENT_SECRET}\n"
                 "      tenant_id: ${JTL_TENANT_ID}\n")  # fmt: skip
        env = (f"# JTL_CLIENT_ID={sim.api.client_id}\n# JTL_CLIENT_SECRET={sim.api.client_secret}\n"
               f"# JTL_TENANT_ID={sim.api.tenant}\n")  # fmt: skip
        section = f"    jtl:\n      flavour: cloud\n      token_url: {sim.token_url}\n"
    else:
        creds = "      api_key: ${JTL_API_KEY}\n"
        env = f"# JTL_API_KEY={sim.api.api_key}\n"
        section = "    jtl:\n      flavour: onprem\n"
    return (
        f"shops:\n  - name: {name}\n    platform: jtl\n    url: {sim.url}\n"
        f"    credentials:\n{creds}    currency: EUR\n    requests_per_second: 50\n"
        f"{section}{env}"
    )
