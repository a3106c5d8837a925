"""The routes of the fake JTL-Wawi API (v1, PascalCase): auth in both flavours, scopes, the
registration handshake, the paging envelope and the error body. `route()` answers
(status, payload, headers); payload None is an empty body (401, 402, 410 have none).
Research: ../shared/research/jtl.md §3 (auth), §4 (endpoints), §5 (paging, errors, 429).
"""

from __future__ import annotations

import base64
import math
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from loyalsync.connectors.jtl.sim_store import JtlStore

API_VERSION = "1.0"
ALL_SCOPES = (
    "customer.querycustomers", "customer.getcustomer", "customer.updatecustomer",
    "customer.querycustomercustomfields",
    "customer.querycustomercustomfieldvalues", "customer.updatecustomercustomfield",
    "customergroup.querycustomergroups", "customergroup.createcustomergroup",
    "customercategory.querycustomercategories", "customercategory.createcustomercategory",
    "salesorder.querysalesorders", "salesorder.querysalesorderlineitems",
)  # fmt: skip
Answer = tuple[int, Any, dict[str, str]]


class SimError(Exception):
    def __init__(self, status: int, code: str | None = None, message: str = "", **fields: str):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields

    def body(self) -> Any:
        if self.code is None:
            return None  # 401 / 402 / 410: no schema, an empty body
        return {"ErrorCode": self.code, "ValidationErrors": self.fields,
                "ErrorMessage": self.message, "Stacktrace": None}  # fmt: skip


@dataclass
class Registration:
    id: str
    app_id: str
    challenge: str
    scopes: tuple[str, ...]
    status: int = 0  # 0 Pending, 1 Rejected, 2 Accepted
    delivered: bool = False


@dataclass
class WawiApi:
    store: JtlStore
    now: Callable[[], datetime]  # the shop's clock
    flavour: str = "onprem"  # onprem | cloud
    api_key: str = "3F2504E0-4F89-11D3-9A0C-0305E82C3301"
    app_id: str = "loyalsync/1"
    scopes: tuple[str, ...] = ALL_SCOPES
    licensed: bool = True
    client_id: str = "sim-client"
    client_secret: str = "sim-cloud-secret-0123456789"
    tenant: str = "6f1c2a7e-0000-4000-8000-00000000a11e"
    token_ttl: int = 3600
    registration_open: bool = False  # the admin has Wawi's registration dialog open
    auto_answer: bool | None = None  # the admin accepts (True) / denies at the first poll
    tokens: dict[str, datetime] = field(default_factory=dict)
    registrations: dict[str, Registration] = field(default_factory=dict)

    # -- entry ----------------------------------------------------------------------------
    def route(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: Any
    ) -> Answer:
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        if self.flavour == "cloud" and path == "/oauth2/token":
            return self._token(headers, body)
        prefix = "/erp" if self.flavour == "cloud" else "/api/eazybusiness"
        if not path.startswith(prefix):
            raise SimError(404, "NotFound", f"no route {path}")
        path = path[len(prefix) :] or "/"
        if headers.get("api-version") not in (None, API_VERSION):
            raise SimError(
                400, "UnsupportedApiVersion", "The requested API version is not supported"
            )
        if path == "/info":
            return 200, {"Version": "1.10.12.0", "Timestamp": self.store.time(self.now()),
                         "Tenant": "eazybusiness", "Type": "Wawi"}, {}  # fmt: skip
        if path.startswith("/authentication"):
            return self._registration(method, path, headers, body)
        granted = self._authenticate(headers)
        return self._resource(method, path, params, body, granted)

    # -- auth -----------------------------------------------------------------------------
    def _token(self, headers: Mapping[str, str], body: Any) -> Answer:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if headers.get("Authorization") != f"Basic {expected}":
            return 401, {"error": "invalid_client"}, {}
        if "grant_type=client_credentials" not in (body or ""):
            return 400, {"error": "unsupported_grant_type"}, {}
        token = secrets.token_urlsafe(24)
        self.tokens[token] = self.now() + timedelta(seconds=self.token_ttl)
        payload = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl}
        return 200, payload, {}

    def _authenticate(self, headers: Mapping[str, str]) -> tuple[str, ...]:
        auth = headers.get("Authorization") or ""
        if self.flavour == "cloud":
            expiry = self.tokens.get(auth.removeprefix("Bearer "))
            if not auth.startswith("Bearer ") or expiry is None or expiry <= self.now():
                raise SimError(401)
            if headers.get("X-Tenant-ID") != self.tenant:
                raise SimError(401)
        else:
            if auth != f"Wawi {self.api_key}":
                raise SimError(401)
            if headers.get("x-appid") != self.app_id or not headers.get("x-appversion"):
                raise SimError(401)
        if not self.licensed:
            raise SimError(402)
        return self.scopes

    def _registration(
        self, method: str, path: str, headers: Mapping[str, str], body: Any
    ) -> Answer:
        if not self.licensed:
            raise SimError(402)
        challenge = headers.get("x-challengecode") or ""
        if not challenge or len(challenge) > 30:
            raise SimError(400, "InvalidChallengeCode", "x-challengecode: 1 to 30 characters")
        if method == "POST" and path == "/authentication":
            if not self.registration_open:
                raise SimError(
                    403,
                    "NoApplicationService",
                    "There was no application service available to receive and handle the "
                    "registration request",
                )
            app = str((body or {}).get("AppId") or "")
            scopes = tuple((body or {}).get("MandatoryApiScopes") or ())
            new = Registration(secrets.token_hex(8).upper(), app, challenge, scopes)
            self.registrations[new.id] = new
            return 201, {"AppId": app, "RegistrationRequestId": new.id, "Status": 0}, {}
        reg = self.registrations.get(path.rsplit("/", 1)[-1])
        if method != "GET" or reg is None or reg.challenge != challenge:
            raise SimError(404, "NotFound", "unknown registration")
        if reg.delivered:
            raise SimError(410)
        if self.auto_answer is not None and reg.status == 0:
            reg.status = 2 if self.auto_answer else 1
        info = {"AppId": reg.app_id, "RegistrationRequestId": reg.id, "Status": reg.status}
        token, granted = None, []
        if reg.status == 2:
            token, granted = {"ApiKey": self.api_key}, list(reg.scopes)
            reg.delivered = True
            self.scopes, self.app_id = reg.scopes, reg.app_id
        elif reg.status == 1:
            reg.delivered = True
        return 200, {"RequestStatusInfo": info, "Token": token, "GrantedScopes": granted}, {}

    def answer(self, accept: bool) -> None:
        """The admin clicks accept (or deny) in Wawi's registration dialog."""
        for reg in self.registrations.values():
            if reg.status == 0:
                reg.status = 2 if accept else 1

    # -- resources ------------------------------------------------------------------------
    def _resource(self, method: str, path: str, params: dict[str, str], body: Any,
                  granted: tuple[str, ...]) -> Answer:  # fmt: skip
        for pattern, verb, scope, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if match and verb == method:
                if scope not in granted and not (method == "GET" and "all.read" in granted):
                    raise SimError(403, "MissingScope", f"the app lacks the scope {scope}")
                return handler(params, body, *match.groups())
        raise SimError(404, "NotFound", f"no route {method} {path}")

    def _routes(self) -> list[tuple[str, str, str, Callable[..., Answer]]]:
        return [
            (r"/customers", "GET", "customer.querycustomers", self._customers),
            (r"/customers/customfields", "GET", "customer.querycustomercustomfields",
             lambda p, b: (200, self.store.custom_fields, {})),
            (r"/customers/(\d+)", "GET", "customer.getcustomer", self._customer),
            (r"/customers/(\d+)", "PATCH", "customer.updatecustomer", self._patch_customer),
            (r"/customers/(\d+)/customfields", "GET", "customer.querycustomercustomfieldvalues",
             self._field_values),
            (r"/customers/(\d+)/customfields/(\d+)", "PATCH",
             "customer.updatecustomercustomfield", self._set_field),
            (r"/customerGroups", "GET", "customergroup.querycustomergroups",
             lambda p, b: (200, list(self.store.groups.values()), {})),
            (r"/customerGroups", "POST", "customergroup.createcustomergroup",
             lambda p, b: self._create("group", b)),
            (r"/customerCategories", "GET", "customercategory.querycustomercategories",
             lambda p, b: (200, list(self.store.categories.values()), {})),
            (r"/customerCategories", "POST", "customercategory.createcustomercategory",
             lambda p, b: self._create("category", b)),
            (r"/salesOrders", "GET", "salesorder.querysalesorders", self._orders),
            (r"/salesOrders/(\d+)/lineitems", "GET", "salesorder.querysalesorderlineitems",
             self._items),
        ]  # fmt: skip

    def _customers(self, params: dict[str, str], body: Any) -> Answer:
        rows = sorted(self.store.customers.values(), key=lambda r: r["Id"])
        for key, column in (("groupId", "CustomerGroupId"), ("categoryId", "CustomerCategoryId")):
            if key in params:
                rows = [r for r in rows if str(r[column]) == params[key]]
        if "number" in params:
            rows = [r for r in rows if r["Number"] == params["number"]]
        return 200, envelope(rows, params), {}

    def _customer(self, params: dict[str, str], body: Any, cid: str) -> Answer:
        if cid not in self.store.customers:
            raise SimError(404, "NotFound", f"customer {cid} not found")
        return 200, self.store.customers[cid], {}

    def _orders(self, params: dict[str, str], body: Any) -> Answer:
        orders = self.store.visible_orders()
        since, until = (
            parse_query_time(params, "createdSince"),
            parse_query_time(params, "createdUntil"),
        )
        orders = [o for o in orders if (since is None or o.created >= since)
                  and (until is None or o.created <= until)]  # fmt: skip
        if "customerId" in params:
            orders = [o for o in orders if str(o.header["CustomerId"]) == params["customerId"]]
        if "isCancelled" in params:
            wanted = params["isCancelled"].lower() == "true"
            orders = [o for o in orders if o.header["IsCancelled"] == wanted]
        return 200, envelope([o.header for o in orders], params), {}

    def _items(self, params: dict[str, str], body: Any, oid: str) -> Answer:
        order = self.store.orders.get(oid)
        if order is None or order.pending:
            raise SimError(404, "NotFound", f"sales order {oid} not found")
        return 200, order.items, {}

    def _patch_customer(self, params: dict[str, str], body: Any, cid: str) -> Answer:
        if cid not in self.store.customers:
            raise SimError(404, "NotFound", f"customer {cid} not found")
        if not isinstance(body, dict):
            raise SimError(400, "ValidationError", "body must be an UpdateCustomer object")
        for key, table in (("CustomerGroupId", self.store.groups),
                           ("CustomerCategoryId", self.store.categories)):  # fmt: skip
            if key in body and body[key] not in (0, None) and str(body[key]) not in table:
                raise SimError(400, "ValidationError", "invalid data", **{key: "does not exist"})
        workflows = params.get("disableAutomaticWorkflows", "false").lower() != "true"
        return 201, self.store.patch_customer(cid, body, workflows), {}

    def _field_values(self, params: dict[str, str], body: Any, cid: str) -> Answer:
        if cid not in self.store.customers:
            raise SimError(404, "NotFound", f"customer {cid} not found")
        values = self.store.field_values.get(cid, {})
        return 200, [{"CustomFieldId": k, "Value": v} for k, v in sorted(values.items())], {}

    def _set_field(self, params: dict[str, str], body: Any, cid: str, fid: str) -> Answer:
        known = {f["CustomFieldId"]: f for f in self.store.custom_fields}
        if cid not in self.store.customers or int(fid) not in known:
            raise SimError(404, "NotFound", "customer or custom field not found")
        if not isinstance(body, dict) or "Value" not in body:
            raise SimError(400, "ValidationError", "invalid data", Value="is required")
        value = body["Value"]
        if known[int(fid)]["Type"] in (3, 12) and not isinstance(value, str):
            raise SimError(400, "ValidationError", "invalid data", Value="must be text")
        self.store.set_field(cid, int(fid), value)
        return 204, None, {}

    def _create(self, table: str, body: Any) -> Answer:
        if not isinstance(body, dict) or not str(body.get("Name") or "").strip():
            raise SimError(400, "ValidationError", "invalid data", Name="is required")
        rows = self.store.groups if table == "group" else self.store.categories
        if any(r["Name"] == body["Name"] for r in rows.values()):
            raise SimError(400, "ValidationError", "invalid data", Name="already exists")
        return 201, self.store.create(table, body), {}


def envelope(rows: list[Any], params: dict[str, str]) -> dict[str, Any]:
    """`PagedListOf<T>`: on the last page NextPageNumber is TotalPages, not null (§5.1)."""
    try:
        number = max(1, int(params.get("pageNumber", "1")))
        size = max(1, min(1000, int(params.get("pageSize", "100"))))
    except ValueError:
        raise SimError(
            400, "ValidationError", "invalid data", pageNumber="must be a number"
        ) from None
    pages = max(1, math.ceil(len(rows) / size))
    items = rows[(number - 1) * size : number * size]
    return {
        "TotalItems": len(rows), "PageNumber": number, "PageSize": size, "Items": items,
        "TotalPages": pages, "HasPreviousPage": number > 1, "HasNextPage": number < pages,
        "NextPageNumber": min(number + 1, pages), "PreviousPageNumber": max(1, number - 1),
    }  # fmt: skip


def parse_query_time(params: dict[str, str], key: str) -> datetime | None:
    if key not in params:
        return None
    try:
        value = datetime.fromisoformat(params[key])
    except ValueError:
        raise SimError(400, "ValidationError", "invalid data", **{key: "not a date-time"}) from None
    if value.tzinfo is None:  # naive: Wawi local time
        from loyalsync.connectors.jtl.sim_store import WAWI_ZONE

        value = value.replace(tzinfo=WAWI_ZONE)
    return value
