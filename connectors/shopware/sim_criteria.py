"""The simulator's Criteria engine: parsing, validation, filters, sorting, paging.

Owns the semantics of Shopware's search Criteria as far as documented and relied on
(../shared/research/shopware.md §2.2-2.3): filters equals/equalsAny/contains/prefix/suffix/
range/multi/not, sort with NO implicit tie-breaker (ties come back in an arbitrary order that
changes between requests, like MySQL's), 1-based page/limit, the max limit (a 400
FRAMEWORK__QUERY_LIMIT_EXCEEDED above it, silently capped when no limit is sent), `ids`
(direct lookup without limit), total-count-mode 0/1/2, and Shopware's error body format.
Pure: the store hands in rows and field accessors.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from loyalsync.connectors.shopware.sim_render import TIME_FIELDS


class SimError(Exception):
    """An error response in Shopware's format: `{"errors": [{status, code, title, ...}]}`."""

    def __init__(
        self, status: int, errors: list[dict[str, Any]], body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(errors[0].get("detail") if errors else str(status))
        self.status = status
        self.errors = errors
        self._body = body  # a different shape (6.4 sync failures)

    def body(self) -> dict[str, Any]:
        return self._body if self._body is not None else {"errors": self.errors}


TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def error(
    status: int,
    code: str,
    detail: str,
    *,
    pointer: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "status": str(status),
        "code": code,
        "title": TITLES.get(status, "Error"),
        "detail": detail,
    }
    if parameters is not None:
        item["meta"] = {"parameters": parameters}
    if pointer is not None:
        item["source"] = {"pointer": pointer}
    return item


def fail(status: int, code: str, detail: str, **kw: Any) -> SimError:
    return SimError(status, [error(status, code, detail, **kw)])


@dataclass
class Query:
    page: int = 1
    limit: int | None = None
    ids: list[str] | None = None
    filters: list[dict[str, Any]] = field(default_factory=list)
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    total_mode: int = 0
    includes: dict[str, list[str]] = field(default_factory=dict)
    associations: dict[str, Any] = field(default_factory=dict)
    aggregations: list[tuple[str, str, str]] = field(default_factory=list)  # (name, type, field)

    @property
    def offset(self) -> int:
        return (self.page - 1) * (self.limit or 0)


_MODES = {0: 0, 1: 1, 2: 2, "none": 0, "exact": 1, "next-pages": 2, "0": 0, "1": 1, "2": 2}
_FILTERS = {
    "equals",
    "equalsAny",
    "contains",
    "prefix",
    "suffix",
    "range",
    "multi",
    "not",
    "and",
    "or",
    "nand",
    "nor",
}


def parse(body: Any, entity: str, known: Callable[[str], bool], max_limit: int | None) -> Query:
    """Validate a criteria body like RequestCriteriaBuilder: every problem in one 400."""
    if not isinstance(body, dict):
        raise fail(400, "FRAMEWORK__INVALID_CRITERIA", "The criteria must be a JSON object.")
    problems: list[dict[str, Any]] = []
    q = Query(
        includes=dict(body.get("includes") or {}), associations=dict(body.get("associations") or {})
    )
    q.page = _positive(body.get("page", 1), "page", problems)
    if "limit" in body:
        q.limit = _positive(body["limit"], "limit", problems)
        if max_limit is not None and q.limit > max_limit:
            problems.append(
                error(
                    400,
                    "FRAMEWORK__QUERY_LIMIT_EXCEEDED",
                    f"The limit must be lower than or equal to MAX_LIMIT(={max_limit}). "
                    f"Given: {q.limit}",
                    pointer="/limit",
                    parameters={"maxLimit": max_limit, "limit": q.limit},
                )
            )
    else:
        q.limit = max_limit  # 6.6+: silently the maximum; 6.4/6.5: everything
    if body.get("ids"):
        q.ids = [str(i).lower() for i in body["ids"]]
        q.limit = None  # a direct lookup has no limit
    q.total_mode = _MODES.get(body.get("total-count-mode", 0), 0)
    for n, flt in enumerate(body.get("filter") or ()):
        _check_filter(flt, f"/filter/{n}", entity, known, problems)
    q.filters = list(body.get("filter") or ())
    for n, srt in enumerate(body.get("sort") or ()):
        name = _field(srt.get("field") if isinstance(srt, dict) else None, entity)
        if not name or not known(name):
            problems.append(_unmapped(name, entity, f"/sort/{n}"))
            continue
        q.sort.append((name, str(srt.get("order", "ASC")).upper() == "DESC"))
    for n, agg in enumerate(body.get("aggregations") or ()):
        _check_aggregation(agg, f"/aggregations/{n}", entity, known, q, problems)
    if problems:
        raise SimError(400, problems)
    return q


METRICS = frozenset({"max", "min", "count", "sum", "avg"})


def _check_aggregation(
    agg: Any,
    pointer: str,
    entity: str,
    known: Callable[[str], bool],
    q: Query,
    problems: list[dict[str, Any]],
) -> None:
    """The metric aggregations (the bucket ones are not simulated: a visible 400, not a guess)."""
    kind = agg.get("type") if isinstance(agg, dict) else None
    name = agg.get("name") if isinstance(agg, dict) else None
    if kind not in METRICS or not isinstance(name, str) or not name:
        detail = f"Unsupported aggregation type: {kind}" if name else "Aggregation name missing"
        problems.append(error(400, "FRAMEWORK__INVALID_AGGREGATION_QUERY", detail, pointer=pointer))
        return
    column = _field(agg.get("field"), entity)
    if not column or not known(column):
        problems.append(_unmapped(column, entity, f"{pointer}/field"))
        return
    q.aggregations.append((name, kind, column))


def _positive(value: Any, name: str, problems: list[dict[str, Any]]) -> int:
    if (
        isinstance(value, int | str)
        and not isinstance(value, bool)
        and str(value).isdigit()
        and int(value) >= 1
    ):
        return int(value)
    code = "FRAMEWORK__INVALID_LIMIT_QUERY" if name == "limit" else "FRAMEWORK__INVALID_PAGE_QUERY"
    problems.append(
        error(
            400,
            code,
            f"The {name} parameter must be a positive integer greater or equals than 1.",
            pointer=f"/{name}",
        )
    )
    return 1


def _field(name: Any, entity: str) -> str:
    name = str(name or "")
    return name[len(entity) + 1 :] if name.startswith(entity + ".") else name


def _unmapped(name: str, entity: str, pointer: str) -> dict[str, Any]:
    return error(
        400,
        "FRAMEWORK__UNMAPPED_FIELD",
        f'Field "{name}" in entity "{entity}" was not found.',
        pointer=pointer,
    )


def _check_filter(
    flt: Any,
    pointer: str,
    entity: str,
    known: Callable[[str], bool],
    problems: list[dict[str, Any]],
) -> None:
    kind = flt.get("type") if isinstance(flt, dict) else None
    if kind not in _FILTERS:
        problems.append(
            error(
                400,
                "FRAMEWORK__INVALID_FILTER_QUERY",
                f"Unsupported filter type: {kind}",
                pointer=pointer,
            )
        )
        return
    if kind in ("multi", "not", "and", "or", "nand", "nor"):
        for n, sub in enumerate(flt.get("queries") or ()):
            _check_filter(sub, f"{pointer}/queries/{n}", entity, known, problems)
        return
    name = _field(flt.get("field"), entity)
    if not name or not known(name):
        problems.append(_unmapped(name, entity, pointer))
    if kind == "equalsAny":
        value = flt.get("value")
        if isinstance(value, str):
            value = [v for v in value.split("|") if v]
        if not value:
            problems.append(
                error(
                    400,
                    "FRAMEWORK__INVALID_FILTER_QUERY",
                    'Parameter "value" for equalsAny filter is missing.',
                    pointer=f"{pointer}/value",
                )
            )


# ---------------------------------------------------------------------------------------------
# Evaluation

Values = Callable[[Any, str], list[Any]]  # (row, field) -> values (several for to-many paths)


def to_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _norm(value: Any, name: str) -> Any:
    if value is None or type(value) is datetime or type(value) is int:
        return value
    if name.rsplit(".", 1)[-1] in TIME_FIELDS:
        return to_time(value)
    if isinstance(value, str):
        return value.casefold()  # MySQL's *_unicode_ci collations compare case-insensitively
    if isinstance(value, bool):
        return int(value)
    return value


Test = Callable[[Any], bool]


def compile_filter(flt: Mapping[str, Any], values: Values, entity: str) -> Test:
    """A filter as a row test, with its constants normalised once (not once per row)."""
    kind = flt["type"]
    if kind in ("multi", "and", "or", "not", "nand", "nor"):
        op = flt.get("operator", "or" if kind in ("or", "nor") else "and").lower()
        tests = [compile_filter(q, values, entity) for q in flt.get("queries") or ()]
        combine = any if op == "or" else all
        negate = kind in ("not", "nand", "nor")
        return lambda row: combine(t(row) for t in tests) != negate
    name = _field(flt["field"], entity)

    def found(row: Any) -> list[Any]:
        return [_norm(v, name) for v in values(row, name)]

    if kind in ("equals", "equalsAny"):
        targets = wanted(flt, name)
        try:  # one look-up per row value, not one scan per wanted value (500 e-mails)
            wanted_set = set(targets)
        except TypeError:
            return lambda row: any(t in found(row) for t in targets)
        return lambda row: any(v in wanted_set for v in found(row) if _hashable(v))
    if kind in ("contains", "prefix", "suffix"):
        needle = str(flt.get("value") or "").casefold()
        test = {"contains": str.__contains__, "prefix": str.startswith, "suffix": str.endswith}[
            kind
        ]
        return lambda row: any(isinstance(v, str) and test(v, needle) for v in found(row))
    bounds = [(op, _norm(b, name)) for op, b in (flt.get("parameters") or {}).items()]
    return lambda row: any(_in_range(v, bounds) for v in found(row))


def wanted(flt: Mapping[str, Any], name: str) -> list[Any]:
    """The values an equals/equalsAny filter on `name` matches, normalised like row values."""
    given = flt.get("value")
    if flt["type"] == "equals":
        given = [given]
    elif isinstance(given, str):
        given = given.split("|")
    return [_norm(w, name) for w in given or ()]


def normalise(value: Any, name: str) -> Any:
    """A value of field `name` as MySQL compares it (times parsed, text case-folded)."""
    return _norm(value, name)


def _hashable(value: Any) -> bool:
    return not isinstance(value, dict | list)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def _in_range(value: Any, bounds: list[tuple[str, Any]]) -> bool:
    if value is None:
        return False  # SQL: NULL compares as unknown
    return all(_COMPARE[op](value, b) for op, b in bounds if op in _COMPARE and b is not None)


def order_rows(
    rows: list[Any], sort: list[tuple[str, bool]], values: Values, rng: random.Random
) -> list[Any]:
    """Sort like MySQL: only by the given keys, NULLs first ascending; ties (and no sort at all)
    in an arbitrary order. Callers relying on an implicit tie-breaker get skipped rows."""
    rows = list(rows)
    rng.shuffle(rows)
    for name, desc in reversed(sort):
        rows.sort(key=lambda row, name=name: sort_value(row, name, values), reverse=desc)
    return rows


def sort_value(row: Any, name: str, values: Values) -> tuple[int, Any]:
    """A row's sort key for one field: NULL before every value (MySQL, ascending)."""
    found = values(row, name)
    value = _norm(found[0], name) if found else None
    return (0, 0) if value is None else (1, value)


def sql_value(value: Any) -> Any:
    """A raw column value as MySQL hands it to PHP: DATETIME(3) as `YYYY-MM-DD HH:MM:SS.fff`
    (UTC). EntityAggregator puts that raw value into MaxResult/MinResult unconverted."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.") + (
            f"{value.microsecond // 1000:03d}"
        )
    return value


def aggregate(rows: Iterable[Any], q: Query, values: Values, entity: str) -> dict[str, Any]:
    """The query's metric aggregations over every row its filters match (paging and sorting do
    not apply: EntityAggregator resets them), keyed by name like AggregationResultCollection."""
    tests = [compile_filter(f, values, entity) for f in q.filters]
    matched = [r for r in rows if all(t(r) for t in tests)]
    results: dict[str, Any] = {}
    for name, kind, column in q.aggregations:
        found = [v for r in matched for v in values(r, column) if v is not None]
        normed = [_norm(v, column) for v in found]
        if kind == "count":
            body: dict[str, Any] = {"count": len(matched)}
        elif kind in ("max", "min"):
            pick = max if kind == "max" else min
            best = pick(range(len(normed)), key=lambda i: normed[i], default=None)
            body = {kind: None if best is None else sql_value(found[best])}
        elif kind == "sum":
            body = {"sum": sum(float(v) for v in found)}
        else:
            body = {"avg": sum(float(v) for v in found) / len(found) if found else None}
        results[name] = {**body, "extensions": [], "apiAlias": f"{name}_aggregation"}
    return results


def select(
    rows: Iterable[Any], q: Query, values: Values, entity: str, *, ordered: bool, rng: random.Random
) -> tuple[list[Any], int]:
    """Filter, sort and page; `ordered` says the rows already come in the query's sort order
    (the store walks one of its indexes, sim_index.py). Returns the page and the `total`
    Shopware reports for the count mode."""
    tests = [compile_filter(f, values, entity) for f in q.filters]
    hits = (r for r in rows if all(t(r) for t in tests)) if tests else iter(rows)
    if ordered and q.limit is not None:
        return _walk_page(hits, q, q.limit)
    matched = list(hits)
    if not ordered:
        matched = order_rows(matched, q.sort, values, rng)
    end = None if q.limit is None else q.offset + q.limit
    page = matched[q.offset : end]
    if q.total_mode == 1:
        return page, len(matched)
    if q.total_mode == 2 and q.limit is not None:
        return page, q.offset + min(len(matched) - q.offset, q.limit * 6 + 1)
    return page, len(page)


def _walk_page(hits: Iterable[Any], q: Query, limit: int) -> tuple[list[Any], int]:
    """A page of rows that already come in sort order, reading no further than the count mode
    needs: the page (0), six more pages and one row (2, "next pages"), every hit (1, exact)."""
    end = q.offset + limit
    enough = {0: end, 2: end + limit * 5 + 1}.get(q.total_mode)
    page: list[Any] = []
    seen = 0
    for row in hits:
        if enough is not None and seen >= enough:
            break
        if seen >= q.offset and seen < end:
            page.append(row)
        seen += 1
    if q.total_mode == 1:
        return page, seen
    if q.total_mode == 2:
        return page, q.offset + min(seen - q.offset, limit * 6 + 1)
    return page, len(page)
