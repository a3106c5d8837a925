"""Routes of the fake PrestaShop webservice: auth, permissions, output format, resources.

Owns the dispatcher and `WebserviceRequest` front door (research/prestashop.md §1, §2.2,
§4.2): the key as HTTP Basic user (empty password) or `?ws_key=`; no key: 401 with a plain
text body and `WWW-Authenticate`; a key of the wrong length: 401 code 18; unknown or
inactive: 401 code 20; a resource the key may not use: **401** code 26; a method the key may
not use: 405 code 25; `GET /api/` lists the key's resources with get/put/post/patch/delete/head
attributes. Output is XML unless `Io-Format` / `Output-Format` header or `output_format` /
`io_format` parameter equals `JSON` exactly (case-sensitive). `GET /api/<res>/<missing id>`
is 404 with an empty body; `schema=blank|synopsis` (anything else: 400 code 28). Every answer
carries `PSWS-Version`. Pure request -> answer; HTTP and faults live in simulator.py.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loyalsync.connectors.prestashop import sim_render as render
from loyalsync.connectors.prestashop.sim_query import (
    SimError,
    by_index,
    interval_of,
    limited,
    parse_display,
    select,
)
from loyalsync.connectors.prestashop.sim_store import ShopTables
from loyalsync.connectors.prestashop.sim_write import Writer

REALM = (
    'Basic realm="Welcome to PrestaShop Webservice, please enter the authentication key as '
    'the login. No password required."'
)
READ = frozenset({"GET", "HEAD"})
ALL = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
VERSIONS = {"1.7.8": "1.7.8.11", "8.1": "8.1.7", "9.0": "9.0.1"}


@dataclass
class Answer:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class BadRows:
    """Entries for one list answer: `rows` inserted at index `at` (None: after the last
    record), and `copies` more copies of the answer's record at `copy_of`, right after it."""

    rows: list[Any]
    at: int | None = None
    copies: int = 0
    copy_of: int = 0
    display: str | None = "full"  # only answers with this `display` (None: any)


def default_permissions() -> dict[str, set[str]]:
    perms = {r: set(READ) for r in render.SCHEMAS}
    for resource in ("customers", "groups", "cart_rules"):
        perms[resource] = set(ALL)
    return perms


class WebserviceApi:
    def __init__(self, tables: ShopTables, version: str, keys: dict[str, Any]) -> None:
        if version not in VERSIONS:
            raise ValueError(f"unknown PrestaShop version {version!r}; known: {list(VERSIONS)}")
        self.tables = tables
        self.version = VERSIONS[version]
        self.major = int(version.split(".")[0])
        self.keys = keys  # key -> {"active": bool, "permissions": {resource: methods}}
        self.writer = Writer(tables, self.major)
        self.base = "http://127.0.0.1"
        # opt-in (benchmarks): list answers without `limit` kept until the next write, as a
        # shop's MySQL would answer an ORDER BY ... LIMIT from an index instead of rescanning
        self.list_cache: dict[Any, list[Any]] | None = None
        # tests: entries (strings, nulls, lists, copies of a record) put into the next JSON
        # list answer of a resource whose `display` matches, as a broken module or proxy would
        self.bad_rows: dict[str, list[BadRows]] = {}

    def route(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer:
        json_out = _wants_json(params, headers)
        try:
            answer = self._route(method, path, params, headers, body, json_out)
        except SimError as exc:
            errors = [(exc.code, exc.message)]
            data = render.json_errors(errors) if json_out else render.xml_errors(errors)
            answer = Answer(exc.status, data, _kind(json_out))
            if exc.status == 401:
                answer.headers["WWW-Authenticate"] = REALM
        answer.headers["PSWS-Version"] = self.version
        if method == "HEAD":
            answer.body = b""
        return answer

    # -- auth -----------------------------------------------------------------------------
    def _key(self, params: Mapping[str, str], headers: Mapping[str, str]) -> str | None:
        auth = headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            try:
                user = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                user = ""
            if user:
                return user
        return params.get("ws_key") or None

    def _permissions(self, params: Mapping[str, str], headers: Mapping[str, str]) -> Any:
        key = self._key(params, headers)
        if key is None:
            return None
        if len(key) != 32:
            raise SimError(401, 18, "Invalid authentication key format")
        entry = self.keys.get(key)
        if entry is None or not entry.get("active", True):
            raise SimError(401, 20, "Authentification key is not active")
        return entry["permissions"]

    # -- routing --------------------------------------------------------------------------
    def _route(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        json_out: bool,
    ) -> Answer:
        perms = self._permissions(params, headers)
        if perms is None:  # the dispatcher answers before the webservice code runs
            return Answer(401, b"401 Unauthorized", "text/plain", {"WWW-Authenticate": REALM})
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] != "api":
            raise SimError(404, None, "Not found")
        if len(parts) == 1:
            if method not in READ:
                raise SimError(405, 23, f"Method {method} is not valid")
            return Answer(200, render.xml_root(perms, self.base, self.major >= 8), _kind(False))
        resource = parts[1]
        if resource not in render.SCHEMAS:
            raise SimError(400, 27, f'Resource of type "{resource}" does not exists.')
        if resource not in perms:
            raise SimError(
                401,
                26,
                f'Resource of type "{resource}" is not allowed with this authentication key',
            )
        if method == "PATCH" and self.major < 8:
            raise SimError(405, 23, "Method PATCH is not valid")
        if method not in perms[resource]:
            raise SimError(405, 25, f"Method {method} is not allowed for this authentication key")
        rid = parts[2] if len(parts) > 2 else None
        if method in READ:
            return self._read(resource, rid, params, json_out)
        return self._write(method, resource, rid, body, json_out)

    def _read(
        self, resource: str, rid: str | None, params: Mapping[str, str], json_out: bool
    ) -> Answer:
        languages = self._languages(params)
        if "schema" in params:
            if params["schema"] not in ("blank", "synopsis"):
                raise SimError(400, 28, "Please select a schema of type 'synopsis' or 'blank'")
            return Answer(
                200,
                render.xml_schema(resource, languages, params["schema"] == "synopsis"),
                _kind(False),
            )
        table = self.tables.tables.get(resource, {})
        if rid is not None:
            row = table.get(int(rid)) if rid.isdigit() else None
            if row is None:
                return Answer(404)  # `_outputEnabled = false`: an empty body (§4.2)
            if json_out:
                data = render.json_single(
                    resource, row, languages, display_given="display" in params
                )
            else:
                data = render.xml_single(resource, row, languages, self.base)
            return Answer(200, data, _kind(json_out))
        known = render.known_fields(resource)
        assocs = [a for a, _ in render.SCHEMAS[resource].associations]
        display = parse_display(params.get("display"), known, assocs)
        rows = self._select(resource, table, params, known)
        if json_out:
            extra = self._bad_rows(resource, params)
            data = render.json_list(resource, rows, display, languages, extra)
            return Answer(200, data, _kind(True))
        data = render.xml_list(resource, rows, display, languages, self.base)
        return Answer(200, data, _kind(False))

    def _bad_rows(self, resource: str, params: Mapping[str, str]) -> BadRows | None:
        waiting = self.bad_rows.get(resource) or []
        for n, bad in enumerate(waiting):
            if bad.display is None or params.get("display") == bad.display:
                return waiting.pop(n)
        return None

    def _select(
        self, resource: str, table: dict[int, Any], params: Mapping[str, str], known: list[str]
    ) -> list[Any]:
        if self.list_cache is None:
            return select(list(table.values()), params, known)
        if params.get("sort") == "[id_ASC]":
            ids, rows = self._index(resource, table, "id")  # unique: strictly ascending
            return select(rows, params, known, ids)
        indexed = self._by_secondary_index(resource, table, params, known)
        if indexed is not None:
            return indexed
        unlimited = {k: v for k, v in params.items() if k != "limit"}
        key = (resource, len(table), tuple(sorted(unlimited.items())))
        if key not in self.list_cache:
            self.list_cache[key] = select(list(table.values()), unlimited, known)
        return limited(self.list_cache[key], params.get("limit"))

    def _index(self, resource: str, table: dict[int, Any], field: str) -> tuple[Any, Any]:
        """(sorted values, rows in that order) of an integer field, kept like the list cache
        (benchmarks: a MySQL index instead of a scan per request)."""
        cache = self.list_cache if self.list_cache is not None else {}
        key = ("index", resource, field, len(table))
        if key not in cache:
            pairs = sorted(
                ((int(r.get(field) or 0), int(r["id"])), r) for r in table.values()
            )  # fmt: skip
            cache[key] = [[v for (v, _), _ in pairs], [r for _, r in pairs]]
        values, rows = cache[key]
        return values, rows

    def _by_secondary_index(
        self, resource: str, table: dict[int, Any], params: Mapping[str, str], known: list[str]
    ) -> list[Any] | None:
        """One `[a,b]` filter on an `id_*` field and no sort (addresses of a page of
        customers): the range of that field's index, then the other parameters."""
        filters = [k for k in params if k.startswith("filter[")]
        if len(filters) != 1 or "sort" in params or not filters[0][7:-1].startswith("id_"):
            return None
        bounds = interval_of(params[filters[0]])
        if bounds is None or filters[0][7:-1] not in known:
            return None
        rows = by_index(self._index(resource, table, filters[0][7:-1]), *bounds)
        rest = {k: v for k, v in params.items() if k != filters[0]}
        return select(rows, rest, known)

    def _languages(self, params: Mapping[str, str]) -> list[int]:
        value = params.get("language")
        if value is None:
            return list(self.tables.languages)
        wanted = value.strip("[]").replace(",", "|").split("|")
        try:
            chosen = [int(v) for v in wanted if v]
        except ValueError:
            raise SimError(400, 79, f'"language" is not correctly formatted: {value}') from None
        if not chosen or any(c not in self.tables.languages for c in chosen):
            raise SimError(400, 80, f"The language {value} does not exist")
        return chosen

    def _write(
        self, method: str, resource: str, rid: str | None, body: bytes, json_out: bool
    ) -> Answer:
        if not render.SCHEMAS[resource].writable:
            raise SimError(405, 101, f"Method {method} is not allowed for the resource {resource}")
        languages = list(self.tables.languages)
        if self.list_cache is not None:
            self.list_cache.clear()
        if method == "POST":
            if rid is not None:
                raise SimError(400, 91, "id is forbidden when adding a new resource")
            row, status = self.writer.post(resource, body), 201
        elif method in ("PUT", "PATCH"):
            if rid is None or not rid.isdigit():
                raise SimError(400, 90, "id is required when modifying a resource")
            action = self.writer.put if method == "PUT" else self.writer.patch
            row, status = action(resource, int(rid), body), 200
        else:
            raise SimError(405, 23, f"Method {method} is not valid")
        if json_out:
            return Answer(
                status,
                render.json_single(resource, row, languages, display_given=False),
                _kind(True),
            )
        return Answer(status, render.xml_single(resource, row, languages, self.base), _kind(False))


def _wants_json(params: Mapping[str, str], headers: Mapping[str, str]) -> bool:
    # precedence: Io-Format header > Output-Format header > output_format > io_format (§2.2)
    for value in (
        headers.get("Io-Format"),
        headers.get("Output-Format"),
        params.get("output_format"),
        params.get("io_format"),
    ):
        if value is not None:
            return value == "JSON"
    return False


def _kind(json_out: bool) -> str:
    return "application/json" if json_out else "text/xml;charset=utf-8"
