"""Values to question, not store: the checks every pulled page passes before the mirror keeps
it, whatever the platform. Pure: a page and a horizon in, a page out.

A record is quarantined (with its reason) when a value cannot be right: a negative amount or
quantity, a currency that is no ISO 4217 code, a date beyond the horizon (the caller's "now"
plus a tolerance: far in the future), a text field that is not text or absurdly long (an
e-mail of a megabyte), a second copy of an id within one page (the newest copy is kept). Long
strings inside the raw payload are clamped instead (the record itself is fine): each clamp is
reported with the field it cut. The page's cursor never moves past the horizon on the strength
of a row that was questioned, so one order dated 2099 cannot make the next pull skip years.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from loyalsync.core.records import Cursor, CustomerRecord, OrderRecord, Page, Quarantined

FUTURE_TOLERANCE = timedelta(days=7)  # shop clocks run a little ahead; years ahead is a bug
MAX_TEXT = 1_000  # characters of a name, number, city... (an e-mail: MAX_EMAIL)
MAX_EMAIL = 320  # RFC 5321: 64 for the local part, @, 255 for the domain
MAX_RAW_TEXT = 65_536  # characters of one string inside a stored raw payload

# ISO 4217 active codes, plus the European ones withdrawn since 2007 that old orders may carry
_ISO_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD
    BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD
    EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR
    ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD
    MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR
    PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL
    THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF
    XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL HRK LTL LVL EEK SKK"""
ISO_4217 = frozenset(_ISO_CODES.split())
_CUSTOMER_TEXT = ("number", "first_name", "last_name", "company", "country", "city", "postcode")
_ORDER_AMOUNTS = (
    "total_gross",
    "total_net",
    "base_currency_total_gross",
    "base_currency_total_net",
    "base_currency_refunded",
)


@dataclass(frozen=True)
class Clamp:
    """A raw string cut to MAX_RAW_TEXT: which record, which field, how long it was."""

    entity: str
    id: str
    field: str
    length: int


def horizon_of(now: datetime) -> datetime:
    """The latest date a pulled row may carry."""
    return now + FUTURE_TOLERANCE


def question_page(
    page: Page, entity: str, horizon: datetime, previous: Cursor
) -> tuple[Page, list[Clamp]]:
    """The page as the mirror may keep it, and the raw strings clamped on the way.
    `previous`: the cursor stored before this page (where `high` stood)."""
    kept: dict[str, Any] = {}
    questioned: list[Quarantined] = []
    clamps: list[Clamp] = []
    for pulled in page.records:
        raw, cut = (
            clamp_raw(pulled.raw, entity, pulled.id)
            if _has_long_text(pulled.raw)
            else (pulled.raw, [])
        )
        clamps += cut
        record = replace(pulled, raw=raw) if cut else pulled
        reason = why_not(record, horizon)
        if reason is None and record.id in kept:
            reason = "duplicate id within one page: the newest copy is kept"
            record, kept[record.id] = _newest(kept[record.id], record)
        if reason is not None:
            questioned.append(Quarantined(entity, record.id, reason, record.raw))
        else:
            kept[record.id] = record
    old = [replace(q, raw=clamp_raw(q.raw, entity, q.id or "")[0]) for q in page.quarantined]
    cursor = _cursor_within(page.cursor, previous, kept.values(), horizon)
    return replace(
        page, records=tuple(kept.values()), quarantined=(*old, *questioned), cursor=cursor
    ), clamps


def why_not(record: Any, horizon: datetime) -> str | None:
    """Why a mapped record cannot be stored as it is; None when it can."""
    if isinstance(record, CustomerRecord):
        return _customer(record, horizon)
    if isinstance(record, OrderRecord):
        return _order(record, horizon)
    return None


def _customer(c: CustomerRecord, horizon: datetime) -> str | None:
    problem = _text("email", c.email, MAX_EMAIL)
    for name in _CUSTOMER_TEXT:
        problem = problem or _text(name, getattr(c, name), MAX_TEXT)
    return problem or _future(horizon, created_at=c.created_at, updated_at=c.updated_at)


def _order(o: OrderRecord, horizon: datetime) -> str | None:
    problem = _text("email", o.email, MAX_EMAIL) or _text("number", o.number, MAX_TEXT)
    if problem:
        return problem
    for name in _ORDER_AMOUNTS:
        value = getattr(o, name)
        if value is not None and value < 0:
            return f"negative amount: {name} {value}"
    if o.currency not in ISO_4217:
        return f"unknown currency code {o.currency!r} (not ISO 4217)"
    for item in o.items:
        if item.quantity < 0:
            return f"line {item.line}: negative quantity {item.quantity:g}"
        if item.kind == "product" and (item.unit_price < 0 or item.total < 0):
            return f"line {item.line}: negative price of a product"
    return _future(horizon, placed_at=o.placed_at, updated_at=o.updated_at)


def _text(name: str, value: Any, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return f"{name} is not text: {type(value).__name__}"
    if len(value) > limit:
        return f"{name} is {len(value):,} characters long (at most {limit:,})"
    return None


def _future(horizon: datetime, **times: datetime | None) -> str | None:
    for name, value in times.items():
        if value is not None and value > horizon:
            return f"{name} {value:%Y-%m-%d %H:%M} is in the future"
    return None


def _newest(a: Any, b: Any) -> tuple[Any, Any]:
    """(the copy to quarantine, the copy to keep) of two records with one id."""
    return (b, a) if _changed(a) >= _changed(b) else (a, b)


def _changed(record: Any) -> datetime:
    """When the shop last changed a record, as far as it says."""
    names = ("updated_at", "created_at", "placed_at")
    times = [t for t in (getattr(record, n, None) for n in names) if t is not None]
    return max(times, default=_EPOCH)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _has_long_text(raw: Any) -> bool:
    """Whether `raw` holds a string longer than MAX_RAW_TEXT: the cheap look that spares
    almost every record the walk of `clamp_raw` (no paths built, nothing copied)."""
    pending = [raw]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if len(value) > MAX_RAW_TEXT:
                return True
        elif isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


def clamp_raw(raw: Any, entity: str, rid: str, path: str = "") -> tuple[Any, list[Clamp]]:
    """`raw` with every string longer than MAX_RAW_TEXT cut (and marked), and the cuts."""
    if isinstance(raw, str):
        if len(raw) <= MAX_RAW_TEXT:
            return raw, []
        short = f"{raw[:MAX_RAW_TEXT]}...[clamped: {len(raw):,} characters]"
        return short, [Clamp(entity, rid, path or "(payload)", len(raw))]
    if isinstance(raw, dict):
        clamps: list[Clamp] = []
        out = {}
        for key, value in raw.items():
            out[key], cut = clamp_raw(value, entity, rid, f"{path}.{key}" if path else str(key))
            clamps += cut
        return (out if clamps else raw), clamps
    if isinstance(raw, list):
        clamps, items = [], []
        for n, value in enumerate(raw):
            item, cut = clamp_raw(value, entity, rid, f"{path}[{n}]")
            items.append(item)
            clamps += cut
        return (items if clamps else raw), clamps
    return raw, []


def _cursor_within(
    cursor: Cursor, previous: Cursor, kept: Iterable[Any], horizon: datetime
) -> Cursor:
    """The page's cursor, its high-water mark and start mark no later than the horizon: a
    questioned row's date 2099 would otherwise become the next window's start."""
    started = cursor.started if cursor.started is None or cursor.started <= horizon else None
    high = cursor.high
    if high is not None and high > horizon:
        seen = [t for t in (_changed(r) for r in kept) if t <= horizon]
        marks = [t for t in (previous.high, *seen) if t is not None and t <= horizon]
        high = max(marks, default=None)
    if (started, high) == (cursor.started, cursor.high):
        return cursor
    return replace(cursor, started=started, high=high)
