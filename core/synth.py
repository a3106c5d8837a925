"""Realistic synthetic shop data for simulators, the demo and benchmarks.

Owns the generator of customers, orders, groups, tags and a product catalogue that look like a
mid-sized DACH web shop: purchases follow the BG/NBD model (a purchase rate per customer drawn
from Gamma(r, alpha), a dropout chance after each purchase drawn from Beta(a, b)), customers live
in real cities with matching postcodes, orders carry line items, VAT, a second currency, states
and the odd discount code. Pure and deterministic: the same `SynthSpec` always yields the same
records, vectorised with numpy and streamed in chunks so a million customers never sit in memory
at once. It performs no I/O and reads no clock; `raw` stays empty (simulators render their own).
Unlike connector output, line-item prices stay in the order's currency, as the shop would show
them: the simulators render them unchanged and the connectors convert them like any shop data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from loyalsync.core.records import GROUPS as GROUPS_SLOT
from loyalsync.core.records import (
    TAGS,
    CustomerRecord,
    OrderItemRecord,
    OrderRecord,
    SlotValue,
    collector_paused,
)
from loyalsync.core.synth_data import (
    _CH,
    _COUNTRIES,
    _HOURS,
    _NL_LETTERS,
    _POOLS,
    _POPULARITY,
    _PRICE_CENTS,
    _REDUCED,
    _VAT,
    PRODUCTS,
    Product,
    _ascii,
    synth_id,
)

T = TypeVar("T")
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]


@dataclass(frozen=True)
class SynthSpec:
    """What to generate. `customers` counts customer rows (guest rows included); orders follow
    from the purchase model, about 2.9 per row by default, or `mean_orders` when set."""

    customers: int = 1000
    seed: int = 42
    as_of: datetime = datetime(2026, 11, 1, tzinfo=UTC)  # end of the history
    years: float = 3.0  # length of history
    guest_share: float = 0.12  # customer rows that are guest checkouts
    b2b_share: float = 0.03  # customers in the B2B group (company set)
    second_currency_share: float = 0.08  # orders paid in CHF
    cancel_share: float = 0.05  # cancelled orders (is_valid False)
    mean_orders: float | None = None  # target mean orders per customer row (scales the rates)
    deleted_share: float = 0.01  # extra registered customers since deleted: orders keep email only

    def __post_init__(self) -> None:
        shares = (self.guest_share, self.b2b_share, self.second_currency_share)
        if self.customers < 0 or self.years <= 0 or self.as_of.tzinfo is None:
            raise ValueError("SynthSpec needs customers >= 0, years > 0 and a tz-aware as_of")
        if not all(0 <= s <= 1 for s in (*shares, self.cancel_share, self.deleted_share)):
            raise ValueError("SynthSpec shares must lie in [0, 1]")
        if self.guest_share + self.b2b_share > 1:
            raise ValueError("guest_share + b2b_share must not exceed 1")
        if self.mean_orders is not None and self.mean_orders < 1:
            raise ValueError("mean_orders must be at least 1 (every customer buys once)")


# ---------------------------------------------------------------------------------------------
# Catalogue, groups, tags, currencies

DEFAULT_GROUP_ID = synth_id("group", "default")
B2B_GROUP_ID = synth_id("group", "b2b")
GROUPS = (
    SlotValue(GROUPS_SLOT, DEFAULT_GROUP_ID, "Standard customer group"),
    SlotValue(GROUPS_SLOT, B2B_GROUP_ID, "B2B / Händler"),
)
HAND_TAGS = tuple(
    SlotValue(TAGS, synth_id("tag", n), n) for n in ("newsletter", "complaint", "press")
)
CURRENCIES = {"EUR": 1.0, "CHF": 0.94}  # order currency per 1 EUR (the base currency)
PROMO_CODES = (("WELCOME10", 10), ("DANKE15", 15))  # first orders, repeat orders: percent off


_BLOCK = 10_000  # fixed, so the output never depends on the chunk size a caller asks for
_R, _ALPHA = 1.0, 0.25  # purchase rate per year ~ Gamma(r, 1/alpha): mean 4 a year
_A, _B = 0.6, 1.4  # dropout chance after each purchase ~ Beta(a, b): mean 0.3
_GROWTH = 0.4  # first purchases arrive with density ~ GROWTH + x over the history x in [0, 1]
_REPEAT_GUEST = 0.25  # guest rows that reuse an earlier person's e-mail, cased differently
_DAY = 86_400


@dataclass
class _People:
    """Arrays for one block: persons [0, rows) are customer rows, the rest were since deleted."""

    block: int
    rows: int
    seq0: int  # orders of earlier blocks (order numbers continue from here)
    ids: list[str | None]
    number: IntArray
    country: IntArray
    first: ObjArray
    last: ObjArray
    email: ObjArray
    city: ObjArray
    postcode: ObjArray
    company: ObjArray
    guest: BoolArray
    b2b: BoolArray
    chf: BoolArray
    tag: IntArray  # index into HAND_TAGS, -1: none
    owner: IntArray  # per order: the person, orders sorted by person and time
    placed: IntArray  # per order: epoch seconds


def _rng(spec: SynthSpec, *stream: int) -> np.random.Generator:
    return np.random.default_rng([spec.seed & 0xFFFF_FFFF_FFFF_FFFF, *stream])


def _behaviour(
    rng: np.random.Generator, spec: SynthSpec, guest: BoolArray, b2b: BoolArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Birth (days since the history start), observed window (days), purchase rate per day
    (before scaling) and dropout chance, per person."""
    m, span = len(guest), spec.years * 365.25
    x = -_GROWTH + np.sqrt(_GROWTH**2 + (1 + 2 * _GROWTH) * rng.random(m))
    lam = rng.gamma(_R, 1 / _ALPHA, m) / 365.25 * np.where(b2b, 4.0, 1.0)
    p = np.clip(rng.beta(_A, _B, m) * np.where(b2b, 0.4, 1.0), 1e-6, 1.0)
    lam[guest] = 0.0  # each guest checkout creates a new guest row
    return span * x, span * (1 - x), lam, p


@lru_cache(maxsize=64)
def _rate_scale(spec: SynthSpec) -> float:
    """Factor on every purchase rate so that the expected orders per row hit `mean_orders`.
    Uses E[repeats] = (1-p)/p * (1 - exp(-lam*w*p)) on a fixed pilot sample; bisection."""
    if spec.mean_orders is None:
        return 1.0
    rng, n = _rng(spec, 1 << 32), 20_000
    guest = rng.random(n) < spec.guest_share
    b2b = ~guest & (rng.random(n) < spec.b2b_share / max(1e-9, 1 - spec.guest_share))
    _, window, lam, p = _behaviour(rng, spec, guest, b2b)
    low, high = -12.0, 12.0
    for _ in range(60):
        mid = (low + high) / 2
        mean = 1 + np.mean((1 - p) / p * -np.expm1(-lam * math.exp(mid) * window * p))
        low, high = (mid, high) if mean < spec.mean_orders else (low, mid)
    return math.exp((low + high) / 2)


def _draw_orders(
    rng: np.random.Generator, spec: SynthSpec, guest: BoolArray, b2b: BoolArray
) -> tuple[IntArray, IntArray]:
    """(owner, placed epoch seconds) per order, sorted by owner then time. Repeat purchases are a
    Poisson process cut short by dropout: k = min(Geometric(p) - 1, Poisson(lam * window)); the
    first k of M uniform arrival times come from exponential spacings and one Gamma remainder."""
    birth, window, lam, p = _behaviour(rng, spec, guest, b2b)
    m = len(guest)
    arrivals_total = rng.poisson(lam * _rate_scale(spec) * window)
    k = np.minimum(rng.geometric(p) - 1, arrivals_total)
    rep_owner = np.repeat(np.arange(m), k)
    spacing = np.cumsum(rng.exponential(size=int(k.sum())))
    ends = np.cumsum(k)
    base = np.concatenate(([0.0], spacing))[ends - k]
    arrivals = spacing - base[rep_owner]
    last = np.where(k > 0, np.concatenate(([0.0], spacing))[ends] - base, 0.0)
    total = last + rng.gamma((arrivals_total - k + 1).astype(float))
    days = birth[rep_owner] + arrivals / total[rep_owner] * window[rep_owner]
    owner = np.concatenate((np.arange(m), rep_owner))
    end = spec.as_of.timestamp()
    moment = np.concatenate((birth, days)) * _DAY + end - spec.years * 365.25 * _DAY
    midnight = np.floor(moment / _DAY) * _DAY  # keep the day, draw the hour: evenings are busy
    tod = (rng.choice(24, size=len(owner), p=_HOURS) + rng.random(len(owner))) * 3600
    placed = np.minimum(midnight + tod, end - 1).astype(np.int64)
    order = np.lexsort((placed, owner))
    return owner[order], placed[order]


_POOL_ARRAYS = {
    k: (np.array(f, dtype=object), np.array(la, dtype=object)) for k, (f, la) in _POOLS.items()
}
_LOCAL_PARTS = ("{f}.{l}{n}", "{f}{l}{n}", "{i}.{l}{n}", "{l}.{f}{n}", "{f}_{l}{n}", "{i}{l}{n}")
_TRADES = ("Kaffeehandel", "Gastro Service", "Feinkost", "Rösterei", "Bürobedarf", "Hotel")


def _place(rng: np.random.Generator, country: IntArray) -> tuple[ObjArray, ...]:
    """First name, last name, city, postcode and e-mail domain consistent with each country."""
    out = tuple(np.empty(len(country), dtype=object) for _ in range(5))
    first, last, city, postcode, domain = out
    for ci, c in enumerate(_COUNTRIES):
        idx = np.flatnonzero(country == ci)
        pool_w = np.array(list(c.pools.values()))
        pick = rng.choice(len(pool_w), size=len(idx), p=pool_w / pool_w.sum())
        for pi, key in enumerate(c.pools):
            sub, (firsts, lasts) = idx[pick == pi], _POOL_ARRAYS[key]
            first[sub] = firsts[rng.integers(len(firsts), size=len(sub))]
            last[sub] = lasts[rng.integers(len(lasts), size=len(sub))]
        low, high, step, weight = (np.array([x[i] for x in c.cities]) for i in range(1, 5))
        where = rng.choice(len(c.cities), size=len(idx), p=weight / weight.sum())
        city[idx] = np.array([x[0] for x in c.cities], dtype=object)[where]
        n = low[where] + step[where] * rng.integers(0, (high - low)[where] // step[where] + 1)
        if "{a}" in c.postcode:
            pairs = rng.choice(_NL_LETTERS, size=(len(idx), 2)).tolist()
            postcode[idx] = [
                c.postcode.format(n=v, a=a, b=b)
                for v, (a, b) in zip(n.tolist(), pairs, strict=True)
            ]
        else:
            postcode[idx] = [c.postcode.format(n=v) for v in n.tolist()]
        domain[idx] = np.array(c.domains, dtype=object)[rng.integers(len(c.domains), size=len(idx))]
    return out


def _company(rng: np.random.Generator, last: str, city: str, country: int) -> str:
    legal = _COUNTRIES[country].legal[int(rng.integers(len(_COUNTRIES[country].legal)))]
    style = rng.random()
    if style < 0.6:
        return f"{last} {legal}"
    if style < 0.75:
        return f"{last} & Partner {legal}"
    return f"{city} {_TRADES[int(rng.integers(len(_TRADES)))]} {legal}"


def _emails(
    rng: np.random.Generator,
    first: ObjArray,
    last: ObjArray,
    number: IntArray,
    company: ObjArray,
    country: IntArray,
    domain: ObjArray,
) -> ObjArray:
    pattern = rng.integers(len(_LOCAL_PARTS), size=len(number)).tolist()
    out = np.empty(len(number), dtype=object)
    people = zip(first, last, number.tolist(), pattern, company, country.tolist(), strict=True)
    for j, (f, la, n, pat, firm, ci) in enumerate(people):
        fa, lo = _ascii(f), _ascii(la)
        local = _LOCAL_PARTS[pat].format(f=fa, l=lo, i=fa[0], n=n)  # n keeps e-mails unique
        if firm is not None:  # the company's own domain
            slug = "-".join(_ascii(w) for w in firm.replace("&", " ").split()).replace(".", "")
            out[j] = f"{local}@{slug}.{_COUNTRIES[ci].code.lower()}"
        else:
            out[j] = f"{local}@{domain[j]}"
    return out


def _reuse_guests(
    rng: np.random.Generator, rows: int, guest: BoolArray, email: ObjArray, same: list[Any]
) -> None:
    """Repeat guests: some guest rows are an earlier person checking out again, with the same
    name and address (`same`) and the e-mail typed with other case or stray blanks
    (" Anna@Example.com"). Changes the arrays in place."""
    copies = np.flatnonzero(guest & (rng.random(len(guest)) < _REPEAT_GUEST))
    originals = np.setdiff1d(np.arange(rows), copies)
    if len(originals) == 0 or len(copies) == 0:
        return
    src = originals[rng.integers(len(originals), size=len(copies))]
    for arr in same:
        arr[copies] = arr[src]
    variant = rng.integers(4, size=len(copies))
    typed = (str.title, lambda e: " " + e.capitalize(), str.upper, lambda e: e + " ")
    email[copies] = [typed[v](e) for v, e in zip(variant, email[src], strict=True)]


def _draw_kinds(
    rng: np.random.Generator, spec: SynthSpec, rows: int, ghosts: int
) -> tuple[BoolArray, BoolArray, BoolArray, IntArray]:
    """Guest, B2B and CHF flags and the country index per person (CHF payers live in CH)."""
    m = rows + ghosts
    guest = np.zeros(m, dtype=bool)
    guest[:rows] = rng.random(rows) < spec.guest_share
    b2b = ~guest & (rng.random(m) < spec.b2b_share / max(1e-9, 1 - spec.guest_share))
    b2b[rows:] = False
    chf = rng.random(m) < spec.second_currency_share
    weights = np.array([c.weight for c in _COUNTRIES])
    country = np.where(chf, _CH, rng.choice(len(weights), size=m, p=weights / weights.sum()))
    return guest, b2b, chf, country


def _draw_people(spec: SynthSpec, block: int, start: int, rows: int, seq0: int) -> _People:
    rng, ghosts = _rng(spec, block, 0), round(rows * spec.deleted_share)
    guest, b2b, chf, country = _draw_kinds(rng, spec, rows, ghosts)
    first, last, city, postcode, domain = _place(rng, country)
    number = np.concatenate(
        (start + np.arange(rows), spec.customers + block * _BLOCK + np.arange(ghosts))
    )
    company = np.full(rows + ghosts, None, dtype=object)
    for j in np.flatnonzero(b2b):
        company[j] = _company(rng, last[j], city[j], int(country[j]))
    tagged = rng.random(rows + ghosts) < 0.04
    tag = np.where(tagged & ~guest, rng.choice(3, size=rows + ghosts, p=[0.6, 0.25, 0.15]), -1)
    ids: list[str | None] = [*_hex_ids(rng, rows), *[None] * ghosts]
    email = _emails(rng, first, last, number, company, country, domain)
    _reuse_guests(rng, rows, guest, email, [first, last, country, city, postcode, chf])
    owner, placed = _draw_orders(_rng(spec, block, 1), spec, guest, b2b)
    return _People(
        block, rows, seq0, ids, number, country, first, last, email, city, postcode, company,
        guest, b2b, chf, tag, owner, placed,
    )  # fmt: skip


def _blocks(spec: SynthSpec) -> Iterator[_People]:
    seq0 = 0
    for block, start in enumerate(range(0, spec.customers, _BLOCK)):
        people = _draw_people(spec, block, start, min(_BLOCK, spec.customers - start), seq0)
        seq0 += len(people.owner)
        yield people


# ---------------------------------------------------------------------------------------------
# Orders: states, line items, money

_STATUSES = ("open", "in_progress", "completed", "cancelled")
_STATUS_BY_AGE = np.cumsum([[0.55, 0.40, 0.05], [0.10, 0.35, 0.55], [0.002, 0.005, 0.993]], 1)
_UPDATE_DELAY_DAYS = np.array([0.3, 1.0, 3.0, 2.0])  # mean delay of the last change, by state


def _draw_status(
    rng: np.random.Generator, spec: SynthSpec, placed: IntArray
) -> tuple[IntArray, IntArray]:
    """State index and updated_at (epoch seconds, -1: never updated) per order: orders younger
    than two days are mostly open, younger than two weeks often in progress."""
    n, end = len(placed), int(spec.as_of.timestamp())
    band = np.digitize((end - placed) / _DAY, [2.0, 14.0])
    status = (rng.random(n)[:, None] >= _STATUS_BY_AGE[band][:, :2]).sum(axis=1)
    status[rng.random(n) < spec.cancel_share] = 3
    delay = rng.exponential(_UPDATE_DELAY_DAYS[status]) * _DAY + 600
    updated = np.minimum(placed + delay.astype(np.int64), end)
    never = rng.random(n)
    updated[((status == 0) & (never < 0.8)) | ((status == 2) & (never < 0.04))] = -1
    return status, updated


def _draw_items(
    rng: np.random.Generator, b2b: BoolArray
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Lines per order, and per line: order index, product index, quantity."""
    count = rng.choice(4, size=len(b2b), p=[0.55, 0.27, 0.12, 0.06]) + 1
    count[b2b] = rng.choice(4, size=int(b2b.sum()), p=[0.3, 0.3, 0.25, 0.15]) + 1
    item_order = np.repeat(np.arange(len(b2b)), count)
    product = rng.choice(len(PRODUCTS), size=len(item_order), p=_POPULARITY)
    u = rng.random(len(item_order))
    qty = 1 + (u < 0.15) + (u < 0.04)
    wholesale = b2b[item_order]
    bulk = rng.geometric(0.12, size=int(wholesale.sum()))  # resellers buy consumables in bulk
    qty[wholesale] = np.clip(150_000 // _PRICE_CENTS[product[wholesale]], 1, 48).clip(max=bulk)
    return count, item_order, product, qty.astype(np.int64)


@dataclass
class _Money:
    """Cents per line (unit, total) and per order (totals, base currency, refund, promotion)."""

    unit: IntArray
    line: IntArray
    gross: IntArray
    net: IntArray
    base_gross: IntArray
    base_net: IntArray
    refunded: IntArray
    promo: IntArray  # index into PROMO_CODES, -1: none
    discount: IntArray


def _cents(amount: npt.NDArray[Any]) -> IntArray:
    return np.rint(amount).astype(np.int64)


def _draw_money(
    rng: np.random.Generator,
    p: _People,
    item_order: IntArray,
    product: IntArray,
    qty: IntArray,
    status: IntArray,
) -> _Money:
    n = len(p.owner)
    factor = np.where(p.chf[p.owner], CURRENCIES["CHF"], 1.0)
    unit = _cents(_PRICE_CENTS[product] * factor[item_order])
    line = unit * qty
    rate = _VAT[p.country[p.owner][item_order], _REDUCED[product].astype(np.int64)]
    gross = _cents(np.bincount(item_order, weights=line, minlength=n))  # exact below 2**53
    net = _cents(np.bincount(item_order, weights=_cents(line / (1 + rate)), minlength=n))
    first = np.concatenate(([True], p.owner[1:] != p.owner[:-1]))
    u = rng.random(n)
    promo = np.where(first, np.where(u < 0.06, 0, -1), np.where(u < 0.02, 1, -1))
    percent = np.where(promo >= 0, np.array([c[1] for c in PROMO_CODES])[promo], 0) / 100
    discount = _cents(gross * percent)
    gross, net = gross - discount, net - _cents(net * percent)
    base_gross, base_net = _cents(gross / factor), _cents(net / factor)
    refund = (status == 2) & (rng.random(n) < 0.02)  # a return, in part or in full
    refunded = np.where(refund, _cents(base_gross * rng.choice([0.25, 0.5, 1.0], size=n)), 0)
    return _Money(unit, line, gross, net, base_gross, base_net, refunded, promo, discount)


def _item_tuples(count: IntArray, product: IntArray, qty: IntArray, money: _Money) -> list[Any]:
    """Line items per order. Equal lines are one shared (frozen) object: far fewer allocations."""
    line_no = np.arange(len(product)) - np.repeat(np.cumsum(count) - count, count) + 1
    key = (((line_no << 8 | product) << 6 | qty) << 24) | money.unit  # 200 products, qty <= 48
    unique, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    shared = np.empty(len(unique), dtype=object)
    columns = (line_no[first], product[first], qty[first].astype(float), money.unit[first])
    for u, (no, pi, q, unit) in enumerate(zip(*(c.tolist() for c in columns), strict=True)):
        prod = PRODUCTS[pi]
        item = OrderItemRecord(no, prod.id, prod.sku, prod.name, q, unit / 100, unit * q / 100)
        shared[u] = item
    flat = shared[inverse.ravel()].tolist()
    ends = np.cumsum(count).tolist()
    out = [tuple(flat[e - c : e]) for e, c in zip(ends, count.tolist(), strict=True)]
    for j in np.flatnonzero(money.promo >= 0).tolist():
        code, off = PROMO_CODES[int(money.promo[j])][0], -int(money.discount[j]) / 100
        name = f"Rabattcode {code}"
        promo = OrderItemRecord(len(out[j]) + 1, None, None, name, 1.0, off, off, "promotion", code)
        out[j] = (*out[j], promo)
    return out


def _hex_ids(rng: np.random.Generator, n: int) -> list[str]:
    """n random 32-char hex ids (uuid-sized: collisions are out of the question)."""
    text = rng.bytes(16 * n).hex()
    return [text[i : i + 32] for i in range(0, 32 * n, 32)]


def _datetimes(seconds: IntArray) -> list[datetime | None]:
    return [datetime.fromtimestamp(s, UTC) if s >= 0 else None for s in seconds.tolist()]


@collector_paused()
def _order_records(spec: SynthSpec, p: _People) -> list[OrderRecord]:
    rng, n = _rng(spec, p.block, 2), len(p.owner)
    ids = _hex_ids(rng, n)
    status, updated = _draw_status(rng, spec, p.placed)
    count, item_order, product, qty = _draw_items(rng, p.b2b[p.owner])
    money = _draw_money(rng, p, item_order, product, qty, status)
    items = _item_tuples(count, product, qty, money)
    owner = p.owner.tolist()
    cents = (money.gross, money.net, money.base_gross, money.base_net, money.refunded)
    gross, net, base_gross, base_net, refunded = ((a / 100).tolist() for a in cents)
    codes = [(PROMO_CODES[c][0],) if c >= 0 else () for c in money.promo.tolist()]
    columns = zip(
        ids,
        [str(10000 + s) for s in range(p.seq0, p.seq0 + n)],
        [p.ids[o] for o in owner],
        p.email[p.owner].tolist(),
        _datetimes(p.placed),
        [_STATUSES[s] for s in status.tolist()],
        (status != 3).tolist(),
        gross,
        net,
        ["CHF" if c else "EUR" for c in p.chf[p.owner].tolist()],
        base_gross,
        base_net,
        refunded,
        _datetimes(updated),
        items,
        codes,
        strict=True,
    )
    return [OrderRecord(*row) for row in columns]


@collector_paused()
def _customer_records(spec: SynthSpec, p: _People) -> list[CustomerRecord]:
    """Registered customers sign up on the day of their first purchase or a while before it;
    a guest row is created a few minutes before its checkout."""
    rng, rows, end = _rng(spec, p.block, 3), p.rows, int(spec.as_of.timestamp())
    first = p.placed[np.concatenate(([True], p.owner[1:] != p.owner[:-1]))][:rows]
    early = rng.random(rows) < 0.35
    lead = np.where(early, rng.exponential(20 * _DAY, rows), rng.uniform(60, 1800, rows))
    lead[p.guest[:rows]] = rng.uniform(30, 300, int(p.guest[:rows].sum()))
    created = first - lead.astype(np.int64)
    updated = created + (rng.random(rows) * (end - created)).astype(np.int64)
    updated[(rng.random(rows) < np.where(p.guest[:rows], 0.9, 0.35))] = -1  # guests: rarely
    # the canonical memberships value (slots sorted by name): one group, at most one hand tag
    b2b, default = ((GROUPS_SLOT, (B2B_GROUP_ID,)),), ((GROUPS_SLOT, (DEFAULT_GROUP_ID,)),)
    held = [
        (b2b if b else default) + (((TAGS, (HAND_TAGS[t].id,)),) if t >= 0 else ())
        for b, t in zip(p.b2b[:rows].tolist(), p.tag[:rows].tolist(), strict=True)
    ]
    columns = zip(
        p.ids[:rows],
        p.email[:rows].tolist(),
        [str(10000 + n) for n in p.number[:rows].tolist()],
        p.first[:rows].tolist(),
        p.last[:rows].tolist(),
        p.company[:rows].tolist(),
        p.guest[:rows].tolist(),
        [_COUNTRIES[c].code for c in p.country[:rows].tolist()],
        p.city[:rows].tolist(),
        p.postcode[:rows].tolist(),
        _datetimes(created),
        _datetimes(updated),
        strict=True,
    )
    return [
        replace(CustomerRecord(*row), memberships=m) for row, m in zip(columns, held, strict=True)
    ]


# ---------------------------------------------------------------------------------------------
# Public API


@dataclass
class SynthShop:
    customers: list[CustomerRecord]
    orders: list[OrderRecord]
    groups: list[SlotValue]
    tags: list[SlotValue]
    products: list[Product]


def _rechunk(blocks: Iterable[list[T]], chunk: int) -> Iterator[list[T]]:
    rest: list[T] = []
    for block in blocks:
        pending, start = rest + block, 0
        while len(pending) - start >= chunk:
            yield pending[start : start + chunk]
            start += chunk
        rest = pending[start:]
    if rest:
        yield rest


def _check_chunk(chunk: int) -> None:
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, not {chunk}")


def iter_customers(spec: SynthSpec, chunk: int = 50_000) -> Iterator[list[CustomerRecord]]:
    """All customer rows in chunks of `chunk` (the last may be shorter)."""
    _check_chunk(chunk)
    return _rechunk((_customer_records(spec, p) for p in _blocks(spec)), chunk)


def iter_orders(spec: SynthSpec, chunk: int = 50_000) -> Iterator[list[OrderRecord]]:
    """All orders of the customers of `iter_customers(spec)`, plus those of customers deleted
    since (customer_id None, e-mail kept), in chunks of `chunk`. Orders come grouped by
    customer, not by time; their numbers are unique but not chronological."""
    _check_chunk(chunk)
    return _rechunk((_order_records(spec, p) for p in _blocks(spec)), chunk)


def generate_shop(spec: SynthSpec) -> SynthShop:
    """The whole shop in memory: for small and medium sizes (simulators, demo, tests)."""
    customers: list[CustomerRecord] = []
    orders: list[OrderRecord] = []
    for people in _blocks(spec):
        customers.extend(_customer_records(spec, people))
        orders.extend(_order_records(spec, people))
    return SynthShop(customers, orders, list(GROUPS), list(HAND_TAGS), list(PRODUCTS))
