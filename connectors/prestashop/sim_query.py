"""List parameters of the fake PrestaShop webservice: display, filter, sort, limit, date=1.

Owns the semantics of `WebserviceRequest::manageFilters()` as research/prestashop.md §2.3
describes them: `filter[f]=[a|b]` (OR), `[a,b]` (SQL BETWEEN, inclusive, bounds sorted; only
digits, `.`, `:`, `-` and spaces make an interval, anything else is a literal equality),
`[v]`, `![v]`, `>[v]`, `<[v]` (strict), `%` LIKE; a filter or sort on `date_add`/`date_upd`
without `date=1` is a 400 (codes 32 / 38); `sort=[f_ASC,g_DESC]`; `limit=N` or
`limit=offset,N` with no maximum; without `sort` the rows come in whatever order MySQL
returns (here: not by id). Pure functions over rows; errors are `SimError`.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DATE_FIELDS = frozenset({"date_add", "date_upd"})
_INTERVAL = re.compile(r"^([\d\.:\-\s]+),([\d\.:\-\s]+)$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
Row = dict[str, Any]


class SimError(Exception):
    """A PrestaShop error answer: HTTP status, PS error code, message."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Display:
    """None: ids only; "full": every field; else the fields (and associations) named."""

    mode: str | None
    fields: tuple[str, ...] = ()
    associations: tuple[str, ...] = ()


def parse_display(value: str | None, known: Sequence[str], assocs: Sequence[str]) -> Display:
    if value is None:
        return Display(None)
    if value == "full":
        return Display("full", tuple(known), tuple(assocs))
    inner = value[1:-1] if value.startswith("[") and value.endswith("]") else None
    if inner is None or not inner:
        raise SimError(400, 35, f'The "display" syntax is wrong. Got "{value}"')
    fields, nested = [], []
    for part in _split_top(inner):
        name = part.split("[", 1)[0]
        if name in assocs:
            nested.append(name)
        elif name in known:
            fields.append(name)
        else:
            raise SimError(
                400,
                35,
                f'Unable to display this field "{name}". '
                f"However, these are available: {', '.join(known)}",
            )
    return Display("fields", tuple(fields), tuple(nested))


def _split_top(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _text(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [str(v) for v in value.values()]
    return ["" if value is None else str(value)]


def _compare(a: str, b: str, numeric: bool) -> int:
    if numeric and _NUMBER.match(a) and _NUMBER.match(b):
        x, y = float(a), float(b)
    else:
        x, y = a, b  # type: ignore[assignment]
    return (x > y) - (x < y)  # type: ignore[operator]


def _matcher(field: str, raw: str) -> Any:
    numeric = field == "id" or field.startswith("id_")
    negate = raw.startswith("!")
    body = raw[1:] if negate else raw
    op = None
    if body[:1] in (">", "<"):
        op, body = body[0], body[1:]
    like_start, like_end = body.startswith("%"), body.endswith("%")
    body = body.strip("%")
    if not (body.startswith("[") and body.endswith("]")):
        raise SimError(400, 33, f'The "filter" syntax is wrong for field "{field}"')
    inner = body[1:-1]
    interval = _INTERVAL.match(inner) if op is None else None
    lo, hi = "", ""
    if interval:  # the bounds are sorted first (§2.3)
        lo, hi = sorted(
            (interval.group(1), interval.group(2)),
            key=lambda v: float(v) if numeric and _NUMBER.match(v) else v,
        )

    def test(value: str) -> bool:
        if op == ">":
            return _compare(value, inner, numeric) > 0
        if op == "<":
            return _compare(value, inner, numeric) < 0
        if interval:
            return _compare(value, lo, numeric) >= 0 and _compare(value, hi, numeric) <= 0
        options = inner.split("|")
        if like_start or like_end:
            return any(_like(value, o, like_start, like_end) for o in options)
        return any(_compare(value, o, numeric) == 0 for o in options)

    return (lambda v: not test(v)) if negate else test


def _like(value: str, pattern: str, start: bool, end: bool) -> bool:
    v, p = value.lower(), pattern.lower()
    if start and end:
        return p in v
    return v.endswith(p) if start else v.startswith(p)


def _filters(params: Mapping[str, str], known: Sequence[str]) -> list[tuple[str, Any]]:
    dated = params.get("date") == "1"
    tests = []
    for key, raw in params.items():
        if not (key.startswith("filter[") and key.endswith("]")):
            continue
        field = key[7:-1]
        if (field not in known and field != "id") or (field in DATE_FIELDS and not dated):
            raise SimError(400, 32, f'This filter does not exist. Did you mean: "{field}"?')
        tests.append((field, _matcher(field, raw)))
    return tests


def _passes(row: Row, tests: list[tuple[str, Any]]) -> bool:
    return all(any(test(t) for t in _text(row.get(field))) for field, test in tests)


def select(
    rows: list[Row],
    params: Mapping[str, str],
    known: Sequence[str],
    ids: list[int] | None = None,
) -> list[Row]:
    """The rows a list request returns, in order, before rendering. `ids`: the rows' ids when
    the caller knows them to be ascending (an index kept between requests)."""
    dated = params.get("date") == "1"
    tests = _filters(params, known)
    if params.get("sort") == "[id_ASC]" and "limit" in params:
        fast = _by_primary_key(rows, params, tests, ids)  # what MySQL's primary key does
        if fast is not None:
            return fast
    found = rows[1:] + rows[:1]  # MySQL's order without ORDER BY is not the id order
    for field, test in tests:
        found = [r for r in found if any(test(t) for t in _text(r.get(field)))]
    if "sort" in params:
        found = _sorted(found, params["sort"], known, dated)
    return limited(found, params.get("limit"))


def _by_primary_key(
    rows: list[Row],
    params: Mapping[str, str],
    tests: list[tuple[str, Any]],
    ids: list[int] | None = None,
) -> list[Row] | None:
    """`sort=[id_ASC]` with a limit, answered by walking the rows in id order and stopping at
    the limit (the same rows as the general path, without scanning the whole table)."""
    if ids is None:
        ids = [int(r["id"]) for r in rows]
        if any(a >= b for a, b in itertools.pairwise(ids)):
            return None  # not stored in id order: take the general path
    start = 0
    interval = _INTERVAL.match(params.get("filter[id]", "").strip("[]"))
    if interval and params["filter[id]"].startswith("["):
        low = min(float(interval.group(1)), float(interval.group(2)))
        start = bisect.bisect_left(ids, low)
    offset, count = _limit_numbers(params["limit"])
    found: list[Row] = []
    for row in rows[start:]:
        if _passes(row, tests):
            found.append(row)
            if len(found) >= offset + count:
                break
    return found[offset : offset + count]


def _sorted(rows: list[Row], value: str, known: Sequence[str], dated: bool) -> list[Row]:
    if not (value.startswith("[") and value.endswith("]")):
        value = f"[{value}]"
    keys = []
    for part in value[1:-1].split(","):
        field, _, direction = part.strip().rpartition("_")
        ok = direction in ("ASC", "DESC") and (field in known or field == "id")
        if not ok or (field in DATE_FIELDS and not dated):
            raise SimError(400, 38, f'Unable to filter by this field "{part}"')
        keys.append((field, direction == "DESC"))
    for field, desc in reversed(keys):
        numeric = field == "id" or field.startswith("id_")

        def key(row: Row, f: str = field, n: bool = numeric) -> Any:
            text = _text(row.get(f))[0]
            return (0, float(text)) if n and _NUMBER.match(text) else (1, text)

        rows = sorted(rows, key=key, reverse=desc)
    return rows


def limited(rows: list[Row], value: str | None) -> list[Row]:
    if value is None:
        return rows  # no maximum: the whole table (§2.3)
    offset, count = _limit_numbers(value)
    return rows[offset : offset + count]


def _limit_numbers(value: str) -> tuple[int, int]:
    parts = value.split(",")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise SimError(400, 40, 'The "limit" value has to be an integer') from None
    if len(numbers) > 2:
        raise SimError(400, 39, 'The "limit" value has to be formatted as "offset,count"')
    return (0, numbers[0]) if len(numbers) == 1 else (numbers[0], numbers[1])


def interval_of(value: str | None) -> tuple[int, int] | None:
    """The integer bounds of a plain `[a,b]` filter (sorted), else None."""
    match = _INTERVAL.match((value or "").removeprefix("[").removesuffix("]"))
    if not (value or "").startswith("[") or match is None:
        return None
    try:
        low, high = int(match.group(1)), int(match.group(2))
    except ValueError:
        return None
    return min(low, high), max(low, high)


def by_index(index: tuple[list[int], list[Row]], low: int, high: int) -> list[Row]:
    """The rows whose indexed value lies in [low, high], from a sorted (values, rows) pair."""
    values, rows = index
    return rows[bisect.bisect_left(values, low) : bisect.bisect_right(values, high)]
