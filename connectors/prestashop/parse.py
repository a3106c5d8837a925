"""Decoding PrestaShop webservice bodies: JSON lists, errors, values (pure; no HTTP).

Owns the quirks of research/prestashop.md §2.4, §2.5 and §4: an empty list arrives as `[]`,
`{}` or `{"<plural>": []}`; every scalar but `id` is a string; unset dates are
`0000-00-00 00:00:00`; a date may even arrive as a list of `{id, value}`; multilingual fields
are either a list of `{id, value}` or a plain string (one language shown); anything PHP echoed
before the output (a warning) is skipped; an HTML page where JSON belongs (a proxy or hosting
error page) is a TransientError; a list entry that is not an object is split off with the
reason, for the caller to quarantine (never silently dropped); error bodies are XML
`<errors><error><code>` or JSON `{"errors":[{"code":..,"message":..}]}`. Shop dates are the
shop's local wall-clock time.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import requests

from loyalsync.core.errors import ApiError, RecordError, TransientError
from loyalsync.core.records import Quarantined

ZERO_DATE = re.compile(r"^0{4}-0{2}-0{2}")
SHOP_DATE = "%Y-%m-%d %H:%M:%S"
SHOP_LAYOUT = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?\Z")
_STARTS = re.compile(r"[\[{]")


def _content_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


def _looks_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith(("<!doctype html", "<html")) or "<html" in head


def decode_json(text: str) -> Any:
    """The JSON document in `text`, skipping anything PHP printed before it (§4.3)."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    for match in _STARTS.finditer(text):
        start = match.start()
        if start and text[start - 1] not in "\n>":
            continue  # a bracket inside the warning's text, not the output's first byte
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if not text[end:].strip():
            return value
    raise ValueError("no JSON document in the body")


def json_payload(response: requests.Response, what: str) -> Any:
    """The parsed JSON of a 2xx answer. An HTML page is a TransientError (a proxy or the
    hosting answered, not the webservice); other garbage is an ApiError naming `what`."""
    text = response.text
    if not text.strip():
        return []
    try:
        return decode_json(text)
    except ValueError:
        excerpt = " ".join(text[:200].split())
        if "html" in _content_type(response) or _looks_html(text):
            raise TransientError(
                f"GET {what}: the shop answered with an HTML page instead of JSON "
                f"(HTTP {response.status_code}); a proxy or the hosting is failing",
                status=response.status_code,
                excerpt=excerpt,
            ) from None
        raise ApiError(
            f"GET {what}: the answer is not JSON ({_content_type(response) or 'no type'})",
            status=response.status_code,
            excerpt=excerpt,
        ) from None


def entries_of(payload: Any, resource: str) -> list[Any]:
    """Every entry of a list answer, objects or not: `[]`, `{}` and `{"x": []}` are all empty
    (§2.4); the single-record shapes `{"customer": {...}}` and `{"customers": [{...}]}` are
    accepted; anything else in the record's place (a string, a number) is one entry."""
    if isinstance(payload, list):
        return list(payload)
    if payload is None or payload == {}:
        return []
    if not isinstance(payload, dict):
        return [payload]  # a JSON scalar where the list belongs
    value = payload.get(resource)
    if value is None and len(payload) == 1:
        value = next(iter(payload.values()))
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def split_rows(entries: list[Any], resource: str) -> tuple[list[dict[str, Any]], list[Quarantined]]:
    """(the objects, the entries that are not objects as Quarantined with the reason)."""
    rows, bad = [], []
    for entry in entries:
        if isinstance(entry, dict):
            rows.append(entry)
        else:
            reason = f"{resource} row is not an object: {type(entry).__name__}"
            bad.append(Quarantined(resource, None, reason, entry))
    return rows, bad


def rows_of(payload: Any, resource: str) -> list[dict[str, Any]]:
    """The objects of a list answer (entries that are not objects are left out: callers that
    must account for them use `entries_of` and `split_rows`)."""
    return split_rows(entries_of(payload, resource), resource)[0]


# ---------------------------------------------------------------------------------------------
# Errors


def parse_error_text(text: str) -> tuple[str | None, str | None]:
    """(PrestaShop error code, message) of an error body in XML or JSON, else (None, None)."""
    stripped = text.strip()
    if not stripped:
        return None, None
    try:
        data = decode_json(stripped)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("errors"), list) and data["errors"]:
        first = data["errors"][0]
        if isinstance(first, dict):
            code = first.get("code")
            message = first.get("message")
            return (None if code in (None, "") else str(code)), (
                None if message is None else str(message)
            )
    start = stripped.find("<?xml")
    if start < 0:
        start = stripped.find("<prestashop")
    if start >= 0:
        try:
            root = ET.fromstring(stripped[start:])  # noqa: S314 (expat: no external entities; entity expansion capped)
        except ET.ParseError:
            return None, None
        error = root.find("./errors/error")
        if error is not None:
            code = (error.findtext("code") or "").strip() or None
            message = (error.findtext("message") or "").strip() or None
            return code, message
    return None, None


def parse_error(response: requests.Response) -> tuple[str | None, str | None]:
    """The `HttpPolicy.error_parser` of PrestaShop: code and message of an error answer."""
    return parse_error_text(response.text if response.content else "")


# ---------------------------------------------------------------------------------------------
# Values


def text(value: Any) -> str | None:
    """A scalar as text; None and "" stay None."""
    if value is None:
        return None
    if isinstance(value, list):  # a date-like field as [{id, value}] (airbyte PR #34513)
        value = value[-1].get("value") if value and isinstance(value[-1], dict) else None
        return text(value)
    out = str(value).strip()
    return out or None


def number(value: Any, field: str = "value") -> float:
    """A PrestaShop decimal string ("61.800000") as a float; empty is 0."""
    raw = text(value)
    if raw is None:
        return 0.0
    try:
        value = float(Decimal(raw))
    except (InvalidOperation, ValueError):
        raise RecordError(f"{field} is not a number: {raw!r:.40}") from None
    if not math.isfinite(value):  # "NaN", "Infinity", "1E400": no amount the mirror can keep
        raise RecordError(f"{field} is not a finite number: {raw!r:.40}")
    return value


def integer(value: Any) -> int | None:
    raw = text(value)
    if raw is None:
        return None
    try:
        return int(Decimal(raw))
    except (InvalidOperation, ValueError, OverflowError):  # "abc", "NaN", "Infinity"
        return None


def flag(value: Any) -> bool:
    return text(value) in ("1", "true", "True")


def shop_time(value: Any, tz: ZoneInfo, field: str = "date") -> datetime | None:
    """A shop-local `YYYY-MM-DD[ HH:MM:SS]` as tz-aware UTC; zero dates and "" are None."""
    raw = text(value)
    if raw is None or ZERO_DATE.match(raw):
        return None
    if SHOP_LAYOUT.match(raw):  # only the shop's layouts; fromisoformat is ~10x strptime
        try:
            return datetime.fromisoformat(raw).replace(tzinfo=tz).astimezone(UTC)
        except ValueError:
            pass  # 2024-02-30 and the like
    raise RecordError(f"{field} is not a date: {raw!r}")


def shop_text(moment: datetime, tz: ZoneInfo) -> str:
    """A UTC moment as the shop's local `YYYY-MM-DD HH:MM:SS` (for filters and cart rules)."""
    return moment.astimezone(tz).strftime(SHOP_DATE)


def language_text(value: Any, language: str | None = None) -> str | None:
    """A multilingual field in either shape: `[{"id": "1", "value": ".."}]` or a string."""
    if isinstance(value, list):
        entries = [v for v in value if isinstance(v, dict)]
        chosen = next((v for v in entries if str(v.get("id")) == language), None)
        chosen = chosen or next((v for v in entries if text(v.get("value"))), None)
        return text(chosen.get("value")) if chosen else None
    if isinstance(value, dict):  # {"1": "..", "2": ".."} from hand-made fixtures
        return text(value.get(language or "", None)) or next(
            (text(v) for v in value.values() if text(v)), None
        )
    return text(value)


def association_ids(record: dict[str, Any], name: str) -> list[str]:
    """The ids of an association (`associations.groups: [{"id": "3"}]`), in order."""
    assoc = record.get("associations")
    items = assoc.get(name) if isinstance(assoc, dict) else None
    if not isinstance(items, list):
        return []
    out = []
    for item in items:
        value = item.get("id") if isinstance(item, dict) else item
        if text(value) is not None:
            out.append(str(text(value)))
    return out
