"""The HTTP layer against a real local server: retries, Retry-After, errors, redaction."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from loyalsync.connectors.http import (
    HttpClient,
    HttpPolicy,
    TokenBucket,
    UnsureWriteError,
    json_body,
    parse_retry_after,
    redact_url,
)
from loyalsync.connectors.shopware.platform import parse_error as shopware_parse_error
from loyalsync.core.errors import (
    ApiError,
    AuthError,
    ConfigError,
    RateLimitedError,
    TransientError,
)

SECRET = "sup3r-s3cret-key-value"


class Script:
    """Responses to serve in order: (status, headers, body) or 'drop' to close the socket."""

    def __init__(self) -> None:
        self.responses: list[object] = []
        self.seen: list[tuple[str, str, dict[str, str]]] = []


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            script.seen.append((self.command, self.path, dict(self.headers)))
            item = script.responses.pop(0) if script.responses else (200, {}, {"ok": True})
            if item == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            status, headers, body = item  # type: ignore[misc]
            data = json.dumps(body).encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    httpd.shutdown()
    httpd.server_close()


def client(url: str, sleeps: list[float], **kw: object) -> HttpClient:
    policy = HttpPolicy(
        shop="test",
        base_url=url,
        requests_per_second=1000,
        secrets=(SECRET,),
        **{"max_attempts": 4, "read_timeout": 5, **kw},
    )  # type: ignore[arg-type]
    return HttpClient(policy, sleep=sleeps.append)


def test_retry_on_503_then_success(server: tuple[str, Script]) -> None:
    url, script = server
    script.responses = [(503, {}, {"errors": []}), (503, {}, {}), (200, {}, {"data": [1]})]
    sleeps: list[float] = []
    response = client(url, sleeps).get("/api/thing")
    assert response.json() == {"data": [1]}
    assert len(script.seen) == 3
    assert len(sleeps) == 2 and all(0 <= s <= 30 for s in sleeps)


def test_429_with_retry_after_seconds_waits_exactly_that_long(server: tuple[str, Script]) -> None:
    url, script = server
    script.responses = [(429, {"Retry-After": "7"}, {}), (200, {}, {"ok": 1})]
    sleeps: list[float] = []
    client(url, sleeps).post("/api/search/customer", json={}, read=True, idempotent=True)
    assert sleeps == [7.0]


def test_429_with_http_date_retry_after(server: tuple[str, Script]) -> None:
    url, script = server
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    script.responses = [(429, {"Retry-After": when}, {}), (200, {}, {})]
    sleeps: list[float] = []
    client(url, sleeps).get("/x")
    assert len(sleeps) == 1 and 27 <= sleeps[0] <= 30


def test_retry_after_is_clamped() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("100000", now, 120) == 120
    assert parse_retry_after("-5", now, 120) == 0
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:10 GMT", now, 120) == 10
    assert parse_retry_after("soon", now, 120) is None


def test_retries_exhausted_raise_transient_error(server: tuple[str, Script]) -> None:
    url, script = server
    script.responses = [(502, {}, {})] * 4
    with pytest.raises(TransientError) as info:
        client(url, []).get("/api/x")
    assert info.value.status == 502 and "gave up after 4 attempts" in str(info.value)
    assert len(script.seen) == 4


def test_429_exhausted_is_rate_limited_error(server: tuple[str, Script]) -> None:
    url, script = server
    script.responses = [(429, {"Retry-After": "1"}, {})] * 4
    with pytest.raises(RateLimitedError) as info:
        client(url, []).get("/api/x")
    assert info.value.retry_after == 1.0 and info.value.exit_code == 75


def test_401_raises_auth_error_without_retry(server: tuple[str, Script]) -> None:
    url, script = server
    body = {
        "errors": [{"code": "9", "status": "401", "detail": "Access token could not be verified"}]
    }
    script.responses = [(401, {}, body)]
    with pytest.raises(AuthError) as info:
        client(url, [], error_parser=shopware_parse_error).get("/api/customer")
    assert info.value.status == 401 and info.value.code == "9" and info.value.exit_code == 3
    assert info.value.shop == "test"
    assert len(script.seen) == 1


def test_other_4xx_is_api_error_with_payload(server: tuple[str, Script]) -> None:
    url, script = server
    body = {"errors": [{"code": "FRAMEWORK__QUERY_LIMIT_EXCEEDED", "status": "400"}]}
    script.responses = [(400, {}, body)]
    with pytest.raises(ApiError) as info:
        client(url, [], error_parser=shopware_parse_error).post(
            "/api/search/order", json={"limit": 9999}
        )
    assert info.value.code == "FRAMEWORK__QUERY_LIMIT_EXCEEDED"
    assert info.value.payload == body
    assert len(script.seen) == 1


def test_the_connectors_error_parser_gives_code_and_message(server: tuple[str, Script]) -> None:
    """The shared client guesses no error shape: each platform's parser reads its own body
    (here a JTL-like `ErrorCode`/`ErrorMessage`); its message reaches the error, redacted."""
    url, script = server

    def parse(response: requests.Response) -> tuple[str | None, str | None]:
        body = response.json()
        return str(body["ErrorCode"]), str(body["ErrorMessage"])

    body = {"ErrorCode": 4711, "ErrorMessage": f"customer  not found (key {SECRET})"}
    script.responses = [(404, {}, body), (404, {}, body)]
    with pytest.raises(ApiError) as info:
        client(url, [], error_parser=parse).get("/api/customers/9")
    assert info.value.code == "4711"
    assert "customer not found" in str(info.value) and SECRET not in str(info.value)
    with pytest.raises(ApiError) as info:
        client(url, []).get("/api/customers/9")  # no parser: no guessed code
    assert info.value.code is None


def test_500_retried_for_reads_only(server: tuple[str, Script]) -> None:
    url, script = server
    script.responses = [(500, {}, {}), (200, {}, {})]
    client(url, []).get("/read")
    assert len(script.seen) == 2
    script.seen.clear()
    script.responses = [(500, {}, {}), (200, {}, {})]
    with pytest.raises(TransientError):
        client(url, []).post("/api/_action/sync", json={})
    assert len(script.seen) == 1


def test_dropped_connection_retried_when_idempotent_not_for_blind_writes(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.responses = ["drop", (200, {}, {"ok": 1})]
    assert client(url, []).get("/x").json() == {"ok": 1}
    script.seen.clear()
    script.responses = ["drop", (200, {}, {})]
    with pytest.raises(TransientError, match="not retried"):
        client(url, []).post("/api/customer", json={})
    assert len(script.seen) == 1


def test_connection_refused_is_retried_then_transient() -> None:
    sleeps: list[float] = []
    with pytest.raises(TransientError, match="connection error"):
        client("http://127.0.0.1:9", sleeps).post("/api/x", json={})
    assert len(sleeps) == 3


def test_secrets_never_reach_logs_or_errors(
    server: tuple[str, Script], caplog: pytest.LogCaptureFixture
) -> None:
    url, script = server
    script.responses = [(503, {}, {}), (403, {}, {"error": f"bad key {SECRET}"})]
    caplog.set_level(logging.DEBUG)
    http = client(url, [], headers={"Authorization": f"Bearer {SECRET}"})
    with pytest.raises(AuthError) as info:
        http.get(f"/api/customers?ws_key={SECRET}&display=full")
    assert len(script.seen) == 2 and SECRET in script.seen[0][1]  # it was really sent
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "ws_key=***" in text  # urllib3 and our own debug lines were logged, redacted
    assert SECRET not in text
    assert SECRET not in str(info.value) and SECRET not in repr(http)


def test_redact_url_hides_userinfo_and_key_params() -> None:
    assert redact_url("https://KEY123:@shop.test/api?ws_key=abc&limit=5") == (
        "https://***@shop.test/api?ws_key=***&limit=5"
    )


def test_token_bucket_limits_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    bucket = TokenBucket(2.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(6):
        bucket.acquire()
    # a burst of 2, then one request every 0.5 s
    assert slept == pytest.approx([0.5, 0.5, 0.5, 0.5])


# -- network errors keep their cause (issue 11 §4) ------------------------------------------


def test_connection_refused_says_so_with_the_url() -> None:
    with pytest.raises(TransientError) as info:
        client("http://127.0.0.1:9", []).get("/api/x?token=abc")
    text = str(info.value)
    assert "connection refused" in text and "GET http://127.0.0.1:9/api/x:" in text
    assert "abc" not in text  # the query (where secrets live) is not shown


def test_dns_failure_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def no_such_host(*args: object, **kw: object) -> object:  # the OS resolver, not our code
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    with pytest.raises(TransientError) as info:
        client("http://shop.invalid", []).get("/api/x")
    assert "DNS failure, the host name 'shop.invalid' could not be resolved" in str(info.value)
    assert "http://shop.invalid/api/x" in str(info.value)


def test_tls_failure_is_a_config_error_and_not_retried(server: tuple[str, Script]) -> None:
    url, _ = server
    sleeps: list[float] = []
    with pytest.raises(ConfigError) as info:  # https against a plain-HTTP port
        client(url.replace("http://", "https://"), sleeps).get("/api/x")
    assert "TLS failure" in str(info.value) and "https://127.0.0.1:" in str(info.value)
    assert sleeps == []


def test_read_timeout_says_so() -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts connections, never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(TransientError) as info:
            client(url, [], read_timeout=0.05, max_attempts=1).get("/api/x")
    finally:
        listener.close()
    assert "read timeout: no answer within 0.05 s" in str(info.value)
    assert f"GET {url}/api/x" in str(info.value)


def test_an_html_501_is_not_the_shop_api() -> None:
    class Plain(BaseHTTPRequestHandler):  # the standard library answers POST with HTML 501
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # a storefront or a default page: 200, but HTML
            body = b"<html><body>Welcome</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Plain)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        sleeps: list[float] = []
        with pytest.raises(ConfigError) as info:
            client(url, sleeps).post("/api/oauth/token", json={})
        with pytest.raises(ConfigError, match="an HTML page, not as the shop's API"):
            json_body(client(url, sleeps).get("/api/_info/version"))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "not as the shop's API (HTTP 501, text/html)" in str(info.value)
    assert info.value.exit_code == 3 and sleeps == []


def test_redo_unsure_writes_again_only_what_the_read_back_found_missing(
    server: tuple[str, Script],
) -> None:
    """A look-then-write over the socket: a POST answered 500 is read back, found missing and
    sent again after the policy's backoff; a refusal (4xx) or a read that fails is not redone;
    a write that never takes effect is tried max_attempts times in all."""
    url, script = server
    sleeps: list[float] = []
    http = client(url, sleeps)

    def look_then_write() -> str:
        if http.get("/api/thing").json().get("made"):
            return "found"
        try:
            http.post("/api/thing", json={})
        except TransientError as exc:
            raise UnsureWriteError(f"thing: {exc.message}") from exc
        return "written"

    missing, made = (200, {}, {"made": False}), (200, {}, {"made": True})
    script.responses = [missing, (500, {}, {}), missing, (201, {}, {})]
    assert http.redo_unsure(look_then_write, "thing") == "written"
    assert [m for m, *_ in script.seen] == ["GET", "POST", "GET", "POST"] and len(sleeps) == 1
    script.seen.clear()
    script.responses = [missing, "drop", made]  # processed, answer lost: found on the read
    assert http.redo_unsure(look_then_write, "thing") == "found"
    assert [m for m, *_ in script.seen] == ["GET", "POST", "GET"]
    script.seen.clear()
    script.responses = [missing, (400, {}, {"errors": [{"detail": "bad"}]})]
    with pytest.raises(ApiError):
        http.redo_unsure(look_then_write, "thing")
    assert len(script.seen) == 2, "a refusal is not sent again"
    script.seen.clear()
    script.responses = [(502, {}, {})] * 4  # the read itself fails after its own retries
    with pytest.raises(TransientError) as info:
        http.redo_unsure(look_then_write, "thing")
    assert not isinstance(info.value, UnsureWriteError) and len(script.seen) == 4
    script.seen.clear()
    script.responses = [missing, (500, {}, {})] * 4
    with pytest.raises(UnsureWriteError):
        http.redo_unsure(look_then_write, "thing")
    assert [m for m, *_ in script.seen].count("POST") == http.policy.max_attempts == 4
