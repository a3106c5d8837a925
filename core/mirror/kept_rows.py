"""The rows segmentation reads for every customer, kept in the mirror as columns (issue 17: the
daily run of a big shop reads a million customers as a few BLOBs in well under a second,
instead of a million rows through SQLite's row interface and pandas).

Two frames per shop, each in customer id order (the order a fresh read has):

    customers  one row per live customer row: id, email, identity (its key when guests
               merge by e-mail, see core.segments.identity), is_guest, created_at (UTC),
               group_id (the row's groups membership as `CUSTOMER_ROWS` picks it), country,
               city, postcode
    orders     the shop's `order_summary` rows: customer_id, orders, revenue_gross,
               revenue_net, first_order_at, last_order_at (UTC)

Each column is one BLOB in `segment_rows`: numbers as .npy (times as int64 nanoseconds), text
as int32 codes plus its distinct values joined by NUL. The triggers of migration 11 note in
`segment_rows_dirty` every customer whose customer row, groups membership or order_summary
row changed, by whatever path; `kept_rows` re-reads just those rows through SQL and splices
them in, and a writer (holding the run lock) stores the result back in one transaction.
Deleting customers' personal data (privacy.py) drops a shop's kept rows outright, so no erased
e-mail or address outlives the deletion scan in a BLOB; the next run builds them again.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from loyalsync.core.mirror.rows import db_time
from loyalsync.core.records import GROUPS, utcnow
from loyalsync.core.segments.identity import identity_keys
from loyalsync.core.segments.summary import utc_series

if TYPE_CHECKING:
    import sqlite3

    from loyalsync.core.mirror.store import Mirror

COMPACT_SHARE = 0.05  # noted rows, as a share of the kept customers, that make a writer store
FORMAT = 2  # bump when the columns or their encoding change: older kept rows are rebuilt
GROUP_OF = (
    "(SELECT m.value FROM memberships m WHERE m.shop = c.shop AND m.customer_id = c.id "
    "AND m.slot = :groups ORDER BY m.is_default DESC, m.value LIMIT 1)"
)  # the customer row's group: its default, else the first by id
CUSTOMER_ROWS = (
    f"SELECT c.id, c.email, c.is_guest, c.created_at, {GROUP_OF} AS group_id, "
    "c.country, c.city, c.postcode FROM customers c INDEXED BY customers_segment "
    "WHERE c.shop = :shop AND c.deleted_at IS NULL {only} ORDER BY c.id"
)
ORDER_ROWS = (
    "SELECT customer_id, orders, revenue_gross, revenue_net, first_order_at, last_order_at "
    "FROM order_summary WHERE shop = :shop {only} ORDER BY customer_id"
)
_DIRTY_ONLY = (
    "AND {column} IN (SELECT d.customer_id FROM segment_rows_dirty d WHERE d.shop = :shop)"
)
_CUSTOMER_TEXT = ("id", "email", "identity", "group_id", "country", "city")
TEXT = {"customers": (*_CUSTOMER_TEXT, "postcode"), "orders": ("customer_id",)}
TIMES = {"customers": ("created_at",), "orders": ("first_order_at", "last_order_at")}
SHARED = ("group_id", "country", "city", "postcode")  # few distinct values: stored once each
KEY = {"customers": "id", "orders": "customer_id"}
TABLES = ("segment_rows", "segment_rows_dirty", "segment_rows_state")


@dataclass(frozen=True)
class KeptRows:
    """A shop's kept frames as they are now (see the module docstring)."""

    customers: pd.DataFrame
    orders: pd.DataFrame


def kept_rows(mirror: Mirror, shop: str, *, write: bool) -> KeptRows | None:
    """The shop's customer and order-summary rows, current: the kept columns with the rows
    noted dirty re-read and spliced in. With `write` (a writer holding the run lock; the
    order summary refreshed first) rows never kept are built from a full read and stored,
    and the spliced result is stored back once the notes exceed COMPACT_SHARE of the rows
    (until then every read re-reads the noted rows: rewriting a million rows for the 1% that
    changed would cost more than the read it saves). Without `write`, None when nothing is
    kept yet (the caller reads by SQL)."""
    if write:  # a writer holds the run lock
        return _kept_rows(mirror, shop, write)
    with mirror.snapshot():  # a reader: columns and notes from one snapshot of the file
        return _kept_rows(mirror, shop, write)


def _kept_rows(mirror: Mirror, shop: str, write: bool) -> KeptRows | None:
    state = mirror.conn.execute(
        "SELECT format FROM segment_rows_state WHERE shop = ?", (shop,)
    ).fetchone()
    if state is None or state[0] != FORMAT:
        if not write:
            return None
        rows = KeptRows(_read(mirror, shop, "customers"), _read(mirror, shop, "orders"))
        _store(mirror, shop, rows)
        return rows
    dirty = mirror.conn.execute(
        "SELECT COUNT(*) FROM segment_rows_dirty WHERE shop = ?", (shop,)
    ).fetchone()[0]
    rows = KeptRows(_load(mirror, shop, "customers"), _load(mirror, shop, "orders"))
    if dirty:
        rows = KeptRows(
            _spliced(mirror, shop, "customers", rows.customers),
            _spliced(mirror, shop, "orders", rows.orders),
        )
        if write and dirty > COMPACT_SHARE * len(rows.customers):
            _store(mirror, shop, rows)
    return rows


def forget_kept_rows(conn: sqlite3.Connection, shop: str) -> None:
    """Drop the shop's kept rows (inside the caller's transaction); the next writer rebuilds."""
    for table in TABLES:
        conn.execute(f"DELETE FROM {table} WHERE shop = ?", (shop,))


# ---------------------------------------------------------------------------------------------
# Reading rows through SQL


def _read(mirror: Mirror, shop: str, frame: str, only: str = "") -> pd.DataFrame:
    """The frame's rows by SQL (all of them, or those `only` selects), typed as kept."""
    sql = CUSTOMER_ROWS if frame == "customers" else ORDER_ROWS
    params = {"shop": shop, "groups": GROUPS}
    cursor = mirror.conn.execute(sql.format(only=only), params)
    names = [d[0] for d in cursor.description]
    out = pd.DataFrame.from_records(cursor.fetchall(), columns=names)
    for column in names:
        if column in TEXT[frame]:
            out[column] = _text(out[column].to_numpy(dtype=object))
    if frame == "customers":
        out["identity"] = _text(identity_keys(out["id"], out["email"], True).to_numpy())
        out["is_guest"] = out["is_guest"].fillna(0).astype(bool)
    else:
        out["orders"] = out["orders"].astype(np.int64)
        for column in ("revenue_gross", "revenue_net"):
            out[column] = out[column].astype(float)
    for column in TIMES[frame]:
        out[column] = utc_series(out[column]).dt.as_unit("ns")
    return out


def _spliced(mirror: Mirror, shop: str, frame: str, old: pd.DataFrame) -> pd.DataFrame:
    """`old` with the dirty customers' rows replaced by what SQL holds now, in key order."""
    key = KEY[frame]
    fresh = _read(mirror, shop, frame, _DIRTY_ONLY.format(column=_qualified(frame, key)))
    ids = mirror.conn.execute("SELECT customer_id FROM segment_rows_dirty WHERE shop = ?", (shop,))
    dirty = pd.Index([r[0] for r in ids], dtype=object)
    base = old.loc[~old[key].isin(dirty).to_numpy()].reset_index(drop=True)
    if fresh.empty:
        return base
    at = np.searchsorted(base[key].to_numpy(dtype=object), fresh[key].to_numpy(dtype=object))
    place = at + np.arange(len(fresh))  # where each fresh row lands in the merged frame
    order = np.empty(len(base) + len(fresh), dtype=np.int64)
    is_fresh = np.zeros(len(order), dtype=bool)
    is_fresh[place] = True
    order[~is_fresh] = np.arange(len(base))
    order[place] = len(base) + np.arange(len(fresh))
    merged = pd.concat([base, fresh[base.columns]], ignore_index=True)
    return merged.iloc[order].reset_index(drop=True)


def _qualified(frame: str, key: str) -> str:
    return f"c.{key}" if frame == "customers" else key


# ---------------------------------------------------------------------------------------------
# Columns as BLOBs


def _store(mirror: Mirror, shop: str, rows: KeptRows) -> None:
    """Write the frames' columns and clear the dirty notes, in one transaction (after a full
    read too: it saw every change noted before)."""
    parts: list[tuple[str, str, bytes]] = []
    for frame, data in (("customers", rows.customers), ("orders", rows.orders)):
        for column in data.columns:
            parts.append((shop, f"{frame}.{column}", _encode(data[column], frame, column)))
    with mirror.transaction() as conn:
        conn.execute("DELETE FROM segment_rows WHERE shop = ?", (shop,))
        conn.executemany("INSERT INTO segment_rows (shop, part, data) VALUES (?, ?, ?)", parts)
        conn.execute("DELETE FROM segment_rows_dirty WHERE shop = ?", (shop,))
        conn.execute(
            "INSERT OR REPLACE INTO segment_rows_state (shop, built_at, format) VALUES (?, ?, ?)",
            (shop, db_time(utcnow()), FORMAT),
        )


def _load(mirror: Mirror, shop: str, frame: str) -> pd.DataFrame:
    found = mirror.conn.execute(
        "SELECT part, data FROM segment_rows WHERE shop = ? AND part >= ? AND part < ?",
        (shop, f"{frame}.", f"{frame}/"),  # '/' sorts right after '.'
    )
    columns: dict[str, Any] = {}
    for part, data in found:
        column = part.partition(".")[2]
        values = _decode(bytes(data), frame, column)
        columns[column] = _text(values) if column in TEXT[frame] else values
    return pd.DataFrame(columns)


def _text(values: np.ndarray) -> pd.Series:
    """A text column typed as a fresh SQL read types it (pandas infers the string dtype)."""
    return pd.Series(values, dtype=object).infer_objects()


def _npy(values: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, values, allow_pickle=False)
    return buffer.getvalue()


def _from_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def _encode(values: pd.Series, frame: str, column: str) -> bytes:
    """One column as bytes: text as `encode_text` encodes it, times as int64 nanoseconds,
    the rest as stored."""
    if column in TEXT[frame]:
        return encode_text(values.to_numpy(dtype=object), shared=column in SHARED)
    if column in TIMES[frame]:
        return _npy(values.dt.as_unit("ns").dt.tz_localize(None).to_numpy().view(np.int64))
    return _npy(values.to_numpy())


def _decode(data: bytes, frame: str, column: str) -> Any:
    if column in TEXT[frame]:
        return decode_text(data)
    if column in TIMES[frame]:
        return pd.DatetimeIndex(_from_npy(data).view("M8[ns]")).tz_localize("UTC")
    return _from_npy(data)


def encode_text(items: np.ndarray, *, shared: bool) -> bytes:
    """A text column (object array, None for missing) as bytes: b'R' + missing mask + every
    value NUL-joined, or for columns of few distinct values (`shared`, or text holding a NUL
    or a value that is not text) b'N' + codes + the distinct values NUL-joined (b'J' + codes
    + JSON when a value is not text or holds a NUL)."""
    if not shared:
        missing = pd.isna(items)
        kind = pd.api.types.infer_dtype(items, skipna=True)
        if kind in ("string", "empty"):
            text = "\x00".join(np.where(missing, "", items).tolist())
            if text.count("\x00") == max(len(items) - 1, 0):
                head = _npy(missing)
                sizes = len(head).to_bytes(8, "little") + len(items).to_bytes(8, "little")
                return b"R" + sizes + head + text.encode()
    codes, uniques = pd.factorize(items, use_na_sentinel=True)
    words = list(uniques)
    text = "\x00".join(w for w in words if isinstance(w, str))
    plain = all(isinstance(w, str) for w in words) and text.count("\x00") == len(words) - 1
    head = _npy(codes.astype(np.int32))
    tail = text.encode() if plain else json.dumps(words, default=str).encode()
    sizes = len(head).to_bytes(8, "little") + len(words).to_bytes(8, "little")
    return (b"N" if plain else b"J") + sizes + head + tail


def decode_text(data: bytes) -> np.ndarray:
    """The object array `encode_text` encoded (None where missing)."""
    if data[:1] == b"R":  # codes: the missing mask; every value in the text
        size, count = int.from_bytes(data[1:9], "little"), int.from_bytes(data[9:17], "little")
        missing = _from_npy(data[17 : 17 + size])
        tail = data[17 + size :].decode()
        out = np.empty(count, dtype=object)
        out[:] = tail.split("\x00") if count else []
        out[missing] = None
        return out
    codes, words = decode_text_codes(data)
    table = np.empty(len(words) + 1, dtype=object)  # code -1: missing, the None at the end
    table[: len(words)] = words
    return table[codes]


def decode_text_codes(data: bytes) -> tuple[np.ndarray, list[Any]]:
    """(code per row, -1 where missing; the distinct values) of a b'N' or b'J' column."""
    if data[:1] not in (b"N", b"J"):
        values = decode_text(data)
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        return codes, list(uniques)
    size, count = int.from_bytes(data[1:9], "little"), int.from_bytes(data[9:17], "little")
    codes = _from_npy(data[17 : 17 + size])
    tail = data[17 + size :].decode()
    if data[:1] == b"N":
        return codes, tail.split("\x00") if count else []
    return codes, json.loads(tail)
