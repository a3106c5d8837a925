"""Customer identities: guest checkouts and accounts merged into one person by e-mail.

SQL aggregates orders per customer row (and per e-mail for orders without a customer row);
this module merges those partial aggregates into one row per identity. With
`merge_guests_by_email` every customer row with a non-empty e-mail belongs to the identity
`e:<trimmed, lower-cased e-mail>`, other rows to `c:<customer id>`; orders without a customer
row join the identity of their e-mail. The identity is represented by one customer row: a
registered (non-guest) row if there is one, else a guest row; the most recently created among
those (then the largest id, for determinism). Its id, contact data and group speak for the
identity; `created_at` is the earliest of the merged rows. Identities without any live
customer row (deleted customers, unknown ids) are dropped: there is nobody to push to. Pure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.segments.summary import utc_series

CONTACT_COLUMNS = (
    "number", "email", "first_name", "last_name", "company", "group_id", "group_name",
    "is_guest", "country", "city", "postcode",
)  # fmt: skip
SUM_COLUMNS = ("orders", "invalid_orders", "revenue")


def normalise_emails(emails: pd.Series) -> pd.Series:
    """Trimmed, lower-cased e-mails; missing or blank become NA."""
    text = pd.Series(emails.astype(object).where(emails.notna(), None), dtype="str")
    text = text.str.strip().str.lower()
    return text.where(text.str.len() > 0)


def identity_keys(ids: pd.Series, emails: pd.Series, merge: bool) -> pd.Series:
    """'e:<normalised e-mail>' when merging and the e-mail is set, else 'c:<id>'."""
    by_id = "c:" + ids.astype("str")
    if not merge:
        return by_id.reset_index(drop=True)
    normal = normalise_emails(emails)
    return ("e:" + normal).fillna(by_id).reset_index(drop=True)


def representatives(
    customers: pd.DataFrame, merge: bool, keys: pd.Series | None = None
) -> pd.DataFrame:
    """One row per identity: the representative's columns (`id` renamed `customer_id`),
    `identity`, `identity_size` and the earliest `created_at` of the merged rows. `customers`
    holds live rows (id, email, is_guest, created_at and the contact columns); `keys` are
    their identity keys if already computed."""
    customers = customers.assign(created_at=utc_series(customers["created_at"]))
    if keys is None:
        keys = identity_keys(customers["id"], customers["email"], merge)
    codes, uniques = pd.factorize(keys)
    size = np.bincount(codes, minlength=len(uniques))
    chosen = size[codes] == 1
    multi = np.flatnonzero(~chosen)
    earliest = None
    if len(multi):
        rows = pd.DataFrame(
            {
                "code": codes[multi],
                "guest": customers["is_guest"].to_numpy()[multi].astype(bool),
                "created": customers["created_at"].iloc[multi].array,
                "id": customers["id"].iloc[multi].array,
                "row": multi,
            }
        ).sort_values(
            ["code", "guest", "created", "id"],
            ascending=[True, True, False, False],
            na_position="last",
            kind="stable",
        )
        chosen[rows.drop_duplicates("code")["row"].to_numpy()] = True
        earliest = rows.groupby("code")["created"].min()
    picked = np.flatnonzero(chosen)
    out = customers.iloc[picked].rename(columns={"id": "customer_id"}).reset_index(drop=True)
    out["identity"] = pd.array(np.asarray(uniques, dtype=object)[codes[picked]], dtype="str")
    out["identity_size"] = size[codes[picked]]
    if earliest is not None:
        merged = out["identity_size"].to_numpy() > 1
        first = earliest.reindex(codes[picked][merged]).to_numpy()
        out.loc[merged, "created_at"] = first
    return out


def partial_identities(
    partials: pd.DataFrame, customers: pd.DataFrame, merge: bool, keys: pd.Series | None = None
) -> pd.Series:
    """The identity of each partial aggregate: its customer row's identity, else (orders
    without a live customer row) 'e:<normalised order e-mail>' when merging, else NA."""
    if keys is None:
        keys = identity_keys(customers["id"], customers["email"], merge)
    by_customer = pd.Series(keys.to_numpy(), index=customers["id"].astype("str").to_numpy())
    found = partials["customer_id"].astype("str").map(by_customer)
    if merge:
        found = found.fillna("e:" + normalise_emails(partials["email"]))
    return found.reset_index(drop=True)


def merge_partials(partials: pd.DataFrame, identities: pd.Series) -> pd.DataFrame:
    """Per identity: counts and revenue summed, the first and last order time, and distinct
    products summed (exact for one partial, an upper bound for several: see
    `distinct_products`). Partials without an identity are dropped."""
    columns = [*SUM_COLUMNS, "distinct_products", "first_order_at", "last_order_at"]
    frame = partials.reset_index(drop=True)
    frame = frame.assign(identity=identities.to_numpy())
    frame = frame.loc[frame["identity"].notna().to_numpy(), ["identity", *columns]]
    for column in ("first_order_at", "last_order_at"):  # typed: grouped min/max stay in C
        frame[column] = utc_series(frame[column])
    codes, _ = pd.factorize(frame["identity"])
    single = (np.bincount(codes) == 1)[codes] if len(codes) else np.zeros(0, dtype=bool)
    alone = frame.loc[single].set_index("identity")
    grouped = frame.loc[~single].groupby("identity", sort=False)
    together = grouped[[*SUM_COLUMNS, "distinct_products"]].sum()
    together["first_order_at"] = grouped["first_order_at"].min()
    together["last_order_at"] = grouped["last_order_at"].max()
    return pd.concat([alone, together[columns]])


def distinct_products(pairs: pd.DataFrame, customers: pd.DataFrame, merge: bool) -> pd.Series:
    """Exact distinct products per identity from purchase pairs (customer_id, email, product)."""
    if pairs.empty:
        return pd.Series(dtype=np.int64)
    identity = partial_identities(pairs, customers, merge)
    unique = pd.DataFrame({"identity": identity, "product": pairs["product"].to_numpy()})
    unique = unique.dropna().drop_duplicates()
    return unique.groupby("identity", sort=False).size()


def assemble(
    customers: pd.DataFrame,
    partials: pd.DataFrame,
    merge: bool,
    exact_products: pd.Series | None = None,
) -> pd.DataFrame:
    """The raw summary (one row per identity with a live customer row): representative
    columns plus merged order aggregates; `exact_products` overrides distinct_products for
    the identities it covers (the merged ones)."""
    keys = identity_keys(customers["id"], customers["email"], merge)
    people = representatives(customers, merge, keys)
    merged = merge_partials(partials, partial_identities(partials, customers, merge, keys))
    if exact_products is not None and not exact_products.empty:
        covered = merged.index.intersection(exact_products.index)
        merged.loc[covered, "distinct_products"] = exact_products[covered].to_numpy()
    out = people.join(merged, on="identity")
    for column in (*SUM_COLUMNS, "distinct_products"):
        out[column] = out[column].fillna(0)
    return out


def merged_identity_members(
    partials: pd.DataFrame, customers: pd.DataFrame, merge: bool
) -> tuple[list[str], list[str]]:
    """Customer ids and raw order e-mails whose partials belong to identities made of more
    than one partial: the only identities whose distinct products need an exact count."""
    identities = partial_identities(partials, customers, merge)
    counts = identities.value_counts()
    multi = identities.isin(counts.index[counts.to_numpy() > 1]).to_numpy()
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
        own = own.fillna("e:" + normalise_emails(purchases["order_email"]).reset_index(drop=True))
    return own.reset_index(drop=True)


def bought_frame(purchases: pd.DataFrame, refs: tuple[str, ...], merge: bool) -> pd.DataFrame:
    """(identity, product) for each purchase and each of `refs` it matches by id or SKU."""
    who = purchase_identities(purchases, merge)
    parts = []
    for column in ("product_id", "sku"):
        hit = purchases[column].isin(refs).to_numpy()
        parts.append(pd.DataFrame({"identity": who[hit].to_numpy(),
                                   "product": purchases[column][hit].to_numpy()}))  # fmt: skip
    out = pd.concat(parts, ignore_index=True).dropna().drop_duplicates()
    return out.reset_index(drop=True)
