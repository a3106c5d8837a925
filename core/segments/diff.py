"""Membership changes: which (customer, segment) pairs enter and which exit in a run.

The stored membership is summarised per customer as a *signature*: the customer's segment
names sorted (by code point, as SQLite's BINARY collation sorts them) and joined with the unit
separator. The mirror reads the stored signatures in one indexed pass (`group_concat`), this
module computes the new ones and compares: only customers whose signature differs are looked
at row by row, so a daily run with few moves costs one pass and a handful of writes. If SQLite
ever concatenated in another order, more customers would look changed, and the exact row
comparison that follows would still find no change for them: the result stays correct. Pure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SEP = "\x1f"
CHANGE_COLUMNS = ("customer_id", "segment", "family")


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in CHANGE_COLUMNS})


def signatures(members: pd.DataFrame) -> pd.DataFrame:
    """customer_id, signature: each customer's sorted segment names joined by SEP."""
    if members.empty:
        return pd.DataFrame(
            {"customer_id": pd.Series(dtype="str"), "signature": pd.Series(dtype="str")}
        )
    segment = members["segment"]
    if not isinstance(segment.dtype, pd.CategoricalDtype):
        segment = segment.astype(str).astype("category")
    names = np.asarray([str(c) for c in segment.cat.categories], dtype=object)
    rank = np.empty(len(names), dtype=np.int64)
    rank[np.argsort(names.astype(str), kind="stable")] = np.arange(len(names))
    seg_rank = rank[segment.cat.codes.to_numpy()]
    cust_codes, cust_uniques = pd.factorize(members["customer_id"])
    order = np.lexsort((seg_rank, cust_codes))
    joined = (
        pd.Series(names[segment.cat.codes.to_numpy()[order]])
        .groupby(cust_codes[order], sort=False)
        .agg(SEP.join)
    )
    return pd.DataFrame(
        {
            "customer_id": pd.array(
                np.asarray(cust_uniques, dtype=object)[joined.index], dtype="str"
            ),
            "signature": pd.array(joined.to_numpy(dtype=object), dtype="str"),
        }
    )


def _family(segments: pd.Series) -> pd.Series:
    return segments.str.extract(r"^([^:]*)", expand=False).astype("str")


def membership_changes(
    current: pd.DataFrame, members: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(entered, exited) rows, each with customer_id, segment, family (plain strings), sorted
    by customer and segment. `current` holds the stored signatures (customer_id, signature)."""
    new = members[list(CHANGE_COLUMNS)]
    if current.empty:
        return _plain(new), _empty()
    theirs = signatures(new)
    both = current.merge(theirs, on="customer_id", how="outer", suffixes=("_old", "_new"))
    differs = both["signature_old"].fillna("") != both["signature_new"].fillna("")
    changed = both.loc[differs.to_numpy()]
    if changed.empty:
        return _empty(), _empty()
    old = changed.loc[changed["signature_old"].notna(), ["customer_id", "signature_old"]]
    old_rows = old.assign(segment=old["signature_old"].str.split(SEP)).explode("segment")
    old_rows = old_rows[["customer_id", "segment"]].astype({"segment": "str"})
    new_rows = _plain(new.loc[new["customer_id"].isin(changed["customer_id"]).to_numpy()])
    marked = old_rows.merge(new_rows, on=["customer_id", "segment"], how="outer", indicator=True)
    entered = marked.loc[marked["_merge"] == "right_only"]
    exited = marked.loc[marked["_merge"] == "left_only"]
    return _finish(entered), _finish(exited)


def _plain(rows: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "customer_id": rows["customer_id"].astype("str"),
            "segment": rows["segment"].astype("str"),
        }
    )
    if "family" in rows.columns:
        out["family"] = rows["family"].astype("str")
    else:
        out["family"] = _family(out["segment"])
    return sort_rows(out)


def _ranks(values: pd.Series) -> np.ndarray:
    """Code point order of each value, via its distinct values (cheap for repeated strings)."""
    codes, uniques = pd.factorize(values)
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[np.argsort(np.asarray(uniques, dtype=object).astype(str), kind="stable")] = np.arange(
        len(uniques)
    )
    return rank[codes]


def sort_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by customer_id then segment (the primary key order of segment_members)."""
    if rows.empty:
        return rows.reset_index(drop=True)
    order = np.lexsort((_ranks(rows["segment"]), _ranks(rows["customer_id"])))
    return rows.iloc[order].reset_index(drop=True)


def _finish(rows: pd.DataFrame) -> pd.DataFrame:
    return _plain(rows[["customer_id", "segment"]])
