"""Customer identities: guest checkouts and accounts merged into one person by e-mail.

SQL aggregates orders per customer row (and per e-mail for orders without a customer row);
this module merges those partial aggregates into one row per identity. With
`merge_guests_by_email` every customer row with a non-empty e-mail belongs to the identity
`e:<trimmed, lower-cased e-mail>`, other rows to `c:<customer id>`; orders without a customer
row join the identity of their e-mail. The identity is represented by one customer row: a
registered (non-guest) row if there is one, else a guest row; the most recently created among
those (then the largest id, for determinism). Its id, contact data and group speak for the
identity; `created_at` is the earliest of the merged rows. Identities without any live
customer row (deleted customers, unknown ids) are dropped: there is nobody to push to.

Work is done on integer identity codes (one factorize of the keys), never by joining on
strings, so a million customers merge in about a second. Pure.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from loyalsync.core.segments.keys import positions
from loyalsync.core.segments.summary import utc_series


def _normal(email: object) -> str | None:
    if not isinstance(email, str):
        return None
    return email.strip().lower() or None


def normalise_emails(emails: pd.Series) -> pd.Series:
    """Trimmed, lower-cased e-mails; missing, blank or not text become None (as `_normal`,
    without a Python call per row)."""
    values = pd.Series(np.asarray(emails, dtype=object), dtype=object)
    text = values.map(type).to_numpy() == str  # noqa: E721 (exactly str, as _normal)
    out = np.full(len(values), None, dtype=object)
    if text.any():
        normal = values[text].str.strip().str.lower().to_numpy(dtype=object)
        out[np.flatnonzero(text)] = np.where(normal == "", None, normal)
    return pd.Series(out, dtype=object)


def identity_keys(ids: pd.Series, emails: pd.Series, merge: bool) -> pd.Series:
    """'e:<normalised e-mail>' when merging and the e-mail is set, else 'c:<id>'."""
    own = ("c:" + pd.Series(np.asarray(ids, dtype=object), dtype=object).astype(str)).to_numpy()
    if not merge:
        return pd.Series(own, dtype=object)
    found = normalise_emails(emails).to_numpy(dtype=object)
    known = pd.notna(found)
    keys = own.copy()
    keys[known] = "e:" + found[known].astype(str)
    return pd.Series(keys.astype(object), dtype=object)


def partial_codes(
    partials: pd.DataFrame,
    customers: pd.DataFrame,
    keys: pd.Series,
    merge: bool,
    factorized: tuple[np.ndarray, Any] | None = None,
) -> np.ndarray:
    """Identity code (position in `keys.unique()` order, as pd.factorize numbers it) of each
    partial row: its live customer row's identity, else (no customer row) the identity of its
    normalised e-mail when merging; -1 when it belongs to nobody. `factorized`: the
    factorization of `keys` if already done."""
    codes, uniques = factorized if factorized is not None else pd.factorize(keys)
    row = positions(customers["id"], partials["customer_id"])
    out = np.where(row >= 0, codes[np.maximum(row, 0)], -1)
    loose = (row < 0) & partials["customer_id"].isna().to_numpy()
    if merge and loose.any():
        emails = normalise_emails(partials["email"].iloc[np.flatnonzero(loose)])
        wanted = pd.Series([f"e:{e}" if e is not None else "" for e in emails.tolist()])
        # one factorize of known and wanted keys: codes below len(uniques) are known ones
        both, _ = pd.factorize(pd.concat([pd.Series(uniques, dtype=object), wanted]))
        found = both[len(uniques) :]
        out[loose] = np.where(found < len(uniques), found, -1)
    return out


def _per_code(values: pd.Series, codes: np.ndarray, size: int, how: str) -> pd.Series:
    """min or max of times per identity code 0..size-1 (NaT where a code has none), on int64
    nanoseconds: no groupby, no million Timestamp objects."""
    stamps = pd.DatetimeIndex(values).as_unit("ns")
    nanos = stamps.asi8
    known = ~np.asarray(stamps.isna())
    big = np.iinfo(np.int64).max
    out = np.full(size, big if how == "min" else -big, dtype=np.int64)
    (np.minimum if how == "min" else np.maximum).at(out, codes[known], nanos[known])
    out[np.abs(out) == big] = np.iinfo(np.int64).min  # NaT
    return pd.Series(pd.DatetimeIndex(out.view("M8[ns]")).tz_localize("UTC"))


def _representatives(customers: pd.DataFrame, codes: np.ndarray, size: int) -> np.ndarray:
    """Row of each identity's representative (see the module docstring)."""
    order = pd.DataFrame(
        {
            "code": codes,
            "guest": customers["is_guest"].fillna(0).to_numpy().astype(bool),
            "created": customers["created_at"].array,
            "id": customers["id"].astype("str").array,
        }
    )
    counts = np.bincount(codes, minlength=size)
    rep = np.full(size, -1, dtype=np.int64)
    single = counts[codes] == 1
    rep[codes[single]] = np.flatnonzero(single)
    multi = order.loc[~single].sort_values(
        ["code", "guest", "created", "id"],
        ascending=[True, True, False, False],
        na_position="last",
        kind="stable",
    )
    first = multi.drop_duplicates("code")
    rep[first["code"].to_numpy()] = first.index.to_numpy()
    return rep


def assemble(
    customers: pd.DataFrame,
    partials: pd.DataFrame,
    merge: bool,
    exact_products: pd.Series | None = None,
) -> pd.DataFrame:
    """The raw summary, one row per identity with a live customer row: the representative's
    columns (`id` renamed `customer_id`), `identity`, `identity_size`, the earliest
    `created_at`, and the partials merged (orders, revenue and distinct products summed, first
    and last order times). `exact_products` (identity -> count) overrides the summed
    distinct products, which over-count for identities with several partials. A customers
    column `identity` holds the keys when merging already (the kept rows have it)."""
    customers = customers.reset_index(drop=True)
    customers = customers.assign(created_at=utc_series(customers["created_at"]))
    kept = customers.pop("identity") if "identity" in customers.columns else None
    keys = (
        kept
        if merge and kept is not None
        else identity_keys(customers["id"], customers["email"], merge)
    )
    codes, uniques = pd.factorize(keys)
    size = len(uniques)
    where = partial_codes(partials, customers, keys, merge, (codes, uniques))
    mine = where >= 0
    taken = partials.reset_index(drop=True).loc[mine]
    got = where[mine]
    rep = _representatives(customers, codes, size)
    out = customers.iloc[rep].rename(columns={"id": "customer_id"}).reset_index(drop=True)
    out["identity"] = pd.array(np.asarray(uniques, dtype=object), dtype="str")
    out["identity_size"] = np.bincount(codes, minlength=size)
    out["created_at"] = _per_code(customers["created_at"], codes, size, "min")
    for column in ("orders", "revenue", "distinct_products"):
        weights = taken[column].fillna(0).to_numpy(dtype=float)
        out[column] = np.bincount(got, weights=weights, minlength=size)
    for column, how in (("first_order_at", "min"), ("last_order_at", "max")):
        out[column] = _per_code(utc_series(taken[column]), got, size, how)
    if exact_products is not None and not exact_products.empty:
        at = pd.Index(uniques).get_indexer(pd.Index(exact_products.index))
        values = out["distinct_products"].to_numpy().copy()
        values[at[at >= 0]] = exact_products.to_numpy()[at >= 0]
        out["distinct_products"] = values
    return out.astype({"orders": np.int64, "distinct_products": np.int64})


def distinct_products(pairs: pd.DataFrame, customers: pd.DataFrame, merge: bool) -> pd.Series:
    """Exact distinct products per identity key from purchase pairs (customer_id, email,
    product)."""
    if pairs.empty:
        return pd.Series(dtype=np.int64)
    keys = identity_keys(customers["id"], customers["email"], merge)
    code = partial_codes(pairs, customers, keys, merge)
    _, uniques = pd.factorize(keys)
    found = pd.DataFrame({"code": code, "product": pairs["product"].to_numpy()})
    found = found.loc[found["code"] >= 0].dropna().drop_duplicates()
    counts = found.groupby("code").size()
    return pd.Series(counts.to_numpy(), index=np.asarray(uniques, dtype=object)[counts.index])


def merged_identity_members(
    partials: pd.DataFrame, customers: pd.DataFrame, merge: bool
) -> tuple[list[str], list[str]]:
    """Customer ids and raw order e-mails whose partials belong to identities made of more
    than one partial: the only identities whose distinct products need an exact count."""
    keys = identity_keys(customers["id"], customers["email"], merge)
    code = partial_codes(partials, customers, keys, merge)
    counts = np.bincount(code[code >= 0], minlength=1)
    multi = (code >= 0) & (counts[np.maximum(code, 0)] > 1)
    rows = partials.reset_index(drop=True).loc[multi]
    ids = rows["customer_id"].dropna().astype(str).unique().tolist()
    emails = rows.loc[rows["customer_id"].isna(), "email"].dropna().astype(str).unique().tolist()
    return ids, emails


def purchase_identities(purchases: pd.DataFrame, merge: bool) -> pd.Series:
    """Identity of each purchase row (customer_row_id, customer_email, order_email): the
    customer row's identity, else 'e:<normalised order e-mail>' when merging, else NA."""
    own = identity_keys(purchases["customer_row_id"], purchases["customer_email"], merge)
    own = own.where(purchases["customer_row_id"].notna().to_numpy())
    if merge:
        loose = [
            f"e:{e}" if e is not None else None for e in normalise_emails(purchases["order_email"])
        ]
        own = own.fillna(pd.Series(loose, dtype=object))
    return own.reset_index(drop=True)


def bought_frame(purchases: pd.DataFrame, refs: tuple[str, ...], merge: bool) -> pd.DataFrame:
    """(identity, product) for each purchase and each of `refs` it matches by id or SKU."""
    who = purchase_identities(purchases, merge)
    parts = []
    for column in ("product_id", "sku"):
        hit = purchases[column].isin(refs).to_numpy()
        parts.append(
            pd.DataFrame(
                {"identity": who[hit].to_numpy(), "product": purchases[column][hit].to_numpy()}
            )
        )
    out = pd.concat(parts, ignore_index=True).dropna().drop_duplicates()
    return out.reset_index(drop=True)
