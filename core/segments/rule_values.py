"""Values in rule conditions: coerce what YAML gives (numbers, strings, dates, lists) to what a
field kind and operator need, or say precisely what is wrong. Pure; used by `rules.py`.

    number  > >= < <= == != take a number; in / not_in take a list of numbers
    text    == != starts_with take a string (numbers are read as text: postcode 80331);
            in / not_in a list of strings. Compared case-insensitively (casefolded here).
    time    before / after take a date or an ISO time (naive means UTC);
            within_days / older_than_days a number of days >= 0
    flag    == != take true or false
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd

Coerced = tuple[Any, str | None]


def coerce_value(kind: str, op: str, value: Any) -> Coerced:
    """(coerced value, None) or (None, problem)."""
    if op in ("in", "not_in"):
        if not isinstance(value, list | tuple) or not value:
            return None, f"operator {op!r} needs a non-empty list, got {value!r}"
        items = [_scalar(kind, item) for item in value]
        for _, problem in items:
            if problem:
                return None, problem
        return tuple(item for item, _ in items), None
    if kind == "time":
        return _time(op, value)
    return _scalar(kind, value)


def _scalar(kind: str, value: Any) -> Coerced:
    if kind == "number":
        return _number(value)
    if kind == "text":
        if isinstance(value, bool | list | dict) or value is None:
            return None, f"expected text, got {value!r}"
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip().casefold(), None
    if kind == "flag":
        if isinstance(value, bool):
            return value, None
        return None, f"expected true or false, got {value!r}"
    return None, f"unsupported field kind {kind!r}"  # pragma: no cover - FIELDS is closed


def _number(value: Any) -> Coerced:
    if isinstance(value, bool):
        return None, f"expected a number, got {value!r}"
    if isinstance(value, int | float):
        return float(value), None
    if isinstance(value, str):
        try:
            return float(value.strip()), None
        except ValueError:
            pass
    return None, f"expected a number, got {value!r}"


def _time(op: str, value: Any) -> Coerced:
    if op in ("within_days", "older_than_days"):
        days, problem = _number(value)
        if problem:
            return None, f"expected a number of days, got {value!r}"
        if days < 0:
            return None, f"expected a number of days >= 0, got {value!r}"
        return days, None
    if isinstance(value, datetime | date):
        stamp = pd.Timestamp(value)
    elif isinstance(value, str):
        try:
            stamp = pd.Timestamp(value.strip())
        except ValueError:
            return None, f"expected a date such as 2024-01-31 or an ISO time, got {value!r}"
    else:
        return None, f"expected a date such as 2024-01-31 or an ISO time, got {value!r}"
    if stamp is pd.NaT:
        return None, f"expected a date, got {value!r}"
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")), None
