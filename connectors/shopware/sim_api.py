"""The simulator's Admin API routes, socket-free: token, auth, search, sync, entity routes.

Owns what each route of the fake Shopware answers (../shared/research/shopware.md §1-§3):
`POST /api/oauth/token` (client credentials, expiry, throttled failed logins), bearer checks
with Shopware's 401 bodies, `/api/_info/version`, `POST /api/search[-ids]/<entity>` (JSON:API
without `Accept: application/json`), `POST /api/_action/sync` (6.5+ and 6.4 answer shapes)
and the generic entity routes. The HTTP server and fault injection are in simulator.py.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from loyalsync.connectors.shopware.sim_criteria import SimError, fail
from loyalsync.connectors.shopware.sim_store import SEARCHABLE, ShopStore
from loyalsync.connectors.shopware.sim_write import WRITABLE, Batch


class AdminApi:
    """Routes one request to the store: `route(method, path, body, headers)`."""

    def __init__(
        self,
        store: ShopStore,
        clock: Callable[[], datetime],
        *,
        client_id: str,
        client_secret: str,
        token_ttl: int,
        max_limit: int | None,
        version: str,
        keyset: bool,
        throttle_after: int,
    ) -> None:
        self.store, self.clock = store, clock
        self.client_id, self.client_secret = client_id, client_secret
        self.token_ttl, self.max_limit, self.version = token_ttl, max_limit, version
        self.keyset, self.throttle_after = keyset, throttle_after
        self.tokens: dict[str, datetime] = {}
        # rows of the wrong type a broken plugin or proxy puts into the next search answer
        self.bad_rows: dict[str, list[Any]] = {}
        self.failed_logins = 0

    def route(self, method: str, path: str, body: Any, headers: Any) -> tuple[int, Any]:
        if path == "/api/oauth/token" and method == "POST":
            return self._token(body)
        self._authorize(headers.get("Authorization") or "")
        parts = path.strip("/").split("/")
        if parts[:3] == ["api", "_info", "version"]:
            return 200, {"version": self.version}
        if path == "/api/_action/sync" and method == "POST":
            return 200, sync(self.store, body, self.version)
        if len(parts) == 3 and parts[1] in ("search", "search-ids") and method == "POST":
            return 200, self._search(parts[1], parts[2].replace("-", "_"), body, headers)
        return rest(self.store, method, parts[1:], body)

    def _token(self, body: Any) -> tuple[int, Any]:
        if self.failed_logins >= self.throttle_after:  # every attempt counts, even good ones
            self.failed_logins += 1
            detail, seconds = "Auth throttled for 10 seconds.", {"seconds": 10}
            raise fail(429, "FRAMEWORK__AUTH_THROTTLED", detail, parameters=seconds)
        body = body if isinstance(body, dict) else {}
        wanted = ("client_credentials", self.client_id, self.client_secret)
        if tuple(body.get(k) for k in ("grant_type", "client_id", "client_secret")) != wanted:
            self.failed_logins += 1
            raise _oauth_error("4", "Client authentication failed", None)
        self.failed_logins = 0
        token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + secrets.token_hex(24)
        self.tokens[token] = self.clock() + timedelta(seconds=self.token_ttl)
        return 200, {"token_type": "Bearer", "expires_in": self.token_ttl, "access_token": token}

    def _authorize(self, header: str) -> None:
        denied = "The resource owner or authorization server denied the request."
        if not header.startswith("Bearer "):
            raise _oauth_error("9", denied, 'Missing "Authorization" header')
        expires = self.tokens.get(header[7:])
        if expires is None:
            raise _oauth_error("9", denied, "Access token could not be verified")
        if self.clock() >= expires:
            raise _oauth_error("9", denied, "Access token is expired")

    def _search(self, kind: str, entity: str, body: Any, headers: Any) -> Any:
        if entity not in SEARCHABLE:
            raise fail(
                404,
                "FRAMEWORK__DEFINITION_NOT_FOUND",
                f'Definition for entity "{entity}" does not exist.',
            )
        criteria = json.dumps([(body or {}).get("filter"), (body or {}).get("sort")])
        if not self.keyset and "autoIncrement" in criteria:
            raise fail(
                400,
                "FRAMEWORK__ACCESSOR_NOT_ALLOWED",
                "Accessor autoIncrement is not allowed in this api scope",
            )
        if kind == "search-ids":
            page, total, _ = self.store.search(entity, body or {}, self.max_limit)
            return {"total": total, "data": [r.id if hasattr(r, "ai") else r["id"] for r in page]}
        result = self.store.search_json(entity, body or {}, self.max_limit)
        result["data"] = [*result["data"], *self.bad_rows.pop(entity, [])]
        if not self.keyset:
            for row in result["data"]:
                if isinstance(row, dict):  # served bad rows may be lists or nulls
                    row.pop("autoIncrement", None)
        if "application/json" not in (headers.get("Accept") or ""):
            return _json_api(result)
        return result


def _oauth_error(code: str, title: str, detail: str | None) -> SimError:
    """league/oauth2-server errors as Shopware renders them: title = message, detail = hint."""
    return SimError(401, [{"code": code, "status": "401", "title": title, "detail": detail}])


def _json_api(result: dict[str, Any]) -> dict[str, Any]:
    """The default format without `Accept: application/json` (§1.1): attributes and types."""
    data = [
        {
            "id": r.get("id"),
            "type": r.get("apiAlias"),
            "attributes": {k: v for k, v in r.items() if k not in ("id", "apiAlias")},
        }
        for r in result["data"]
    ]
    return {"data": data, "included": [], "meta": {"total": result["total"]}}


def rest(store: ShopStore, method: str, parts: list[str], body: Any) -> tuple[int, Any]:
    """Generic entity routes: /api/<entity>[/<id>[/tags[/<tagId>]]]."""
    entity = parts[0].replace("-", "_") if parts else ""
    if entity not in WRITABLE and entity not in SEARCHABLE:
        raise fail(404, "FRAMEWORK__ROUTE_NOT_FOUND", "No route found.")
    if len(parts) == 3 and parts[2] == "tags" and entity == "customer" and method == "POST":
        single(
            store,
            "customer_tag",
            "upsert",
            {"customerId": parts[1], "tagId": (body or {}).get("id")},
        )
        return 204, None
    if len(parts) == 4 and parts[2] == "tags" and entity == "customer" and method == "DELETE":
        single(store, "customer_tag", "delete", {"customerId": parts[1], "tagId": parts[3]})
        return 204, None
    if len(parts) == 1 and method == "POST":
        single(store, entity, "upsert", body or {})
        return 204, None
    if len(parts) == 2 and method in ("GET", "PATCH", "DELETE"):
        page, _, _ = store.search(entity, {"ids": [parts[1]]}, None)
        if not page:
            raise fail(
                404,
                "FRAMEWORK__RESOURCE_NOT_FOUND",
                f"The {entity} resource with the following primary key was not found: "
                f"id({parts[1]})",
            )
        if method == "GET":
            return 200, {"data": store.render(entity, page[0], {})}
        if method == "PATCH":
            single(store, entity, "upsert", {**(body or {}), "id": parts[1]})
        else:
            single(store, entity, "delete", {"id": parts[1]})
        return 204, None
    raise fail(404, "FRAMEWORK__ROUTE_NOT_FOUND", "No route found.")


def sync(store: ShopStore, body: Any, version: str) -> dict[str, Any]:
    """POST /api/_action/sync: validate every operation, then apply all or nothing."""
    if isinstance(body, dict):
        operations = [(str(k), v) for k, v in body.items()]
    elif isinstance(body, list):
        operations = [
            (str(op.get("key", n)) if isinstance(op, dict) else str(n), op)
            for n, op in enumerate(body)
        ]
    else:
        raise fail(
            400, "FRAMEWORK__INVALID_SYNC_OPERATION", "The sync body must be an object or a list."
        )
    with store.lock:
        batch = Batch(store)
        for key, op in operations:
            if not isinstance(op, dict):
                raise fail(
                    400, "FRAMEWORK__INVALID_SYNC_OPERATION", f"Operation {key} is not an object."
                )
            batch.add(
                str(op.get("entity")),
                str(op.get("action")),
                op.get("payload") or [],
                partial(_pointer, key),
            )
        try:
            written = batch.commit()
        except SimError as exc:
            if exc.status == 400 and version.startswith("6.4"):
                keys = [k for k, _ in operations]
                raise SimError(
                    400, exc.errors, _legacy_failure(exc, keys, isinstance(body, list))
                ) from None
            raise
    data: dict[str, list[Any]] = {}
    deleted: dict[str, list[Any]] = {}
    for entity, action, key in written:
        (deleted if action == "delete" else data).setdefault(entity, []).append(key)
    if version.startswith("6.4"):
        return {
            "success": True,
            "data": {k: {"result": [{"entities": data, "errors": []}]} for k, _ in operations},
            "deleted": [],
            "notFound": [],
        }
    return {"extensions": [], "data": data, "notFound": [], "deleted": deleted}


def _pointer(key: str, index: int, field: str) -> str:
    return f"/{key}/{index}/{field}"


def _legacy_failure(exc: SimError, keys: list[str], as_list: bool) -> dict[str, Any]:
    """The 6.4 failure body: `success: false`, errors per operation and row."""
    per: dict[str, dict[int, list[dict[str, Any]]]] = {k: {} for k in keys}
    for err in exc.errors:
        parts = err.get("source", {}).get("pointer", "").strip("/").split("/")
        if len(parts) >= 2 and parts[0] in per and parts[1].isdigit():
            per[parts[0]].setdefault(int(parts[1]), []).append(err)
    data = {
        k: {
            "result": [
                {"entities": [], "errors": rows.get(i, [])}
                for i in range(max(rows, default=-1) + 1)
            ]
        }
        for k, rows in per.items()
    }
    return {
        "extensions": [],
        "success": False,
        "data": list(data.values()) if as_list else data,
        "deleted": [],
        "notFound": [],
    }


def single(store: ShopStore, entity: str, action: str, row: Any) -> None:
    """POST/PATCH/DELETE on /api/<entity>[/<id>]: one row, pointers `/0/<field>`."""
    if isinstance(row, list):
        raise fail(
            400,
            "FRAMEWORK__INVALID_SYNC_OPERATION",
            "Only single write operations are supported. "
            "Please send the entities one by one or use the /sync api endpoint.",
        )
    with store.lock:
        batch = Batch(store)
        batch.add(entity, action, [row], lambda i, f: f"/{i}/{f}")
        batch.commit()
