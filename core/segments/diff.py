"""Membership changes: which (customer, segment) pairs enter and which exit in a run.

The stored membership is summarised per customer as a *signature*: the customer's segment
names sorted (by code point, as SQLite's BINARY collation sorts them) and joined with the unit
separator. The mirror reads the stored signatures in one indexed pass (`group_concat`), this
module computes the new ones and compares: only customers whose signature differs are looked
at row by row, so a daily run with few moves costs one pass and a handful of writes. If SQLite
ever concatenated in another order, more customers would look changed, and the exact row
comparison that follows would still find no change for them: the result stays correct.
Everything runs on integer codes and numpy object arrays, never a Python loop per customer.
Pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

SEP = "\x1f"
CHANGE_COLUMNS = ("customer_id", "segment", "family")


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in CHANGE_COLUMNS})


def _segment_codes(segment: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, name per code) with codes numbered in code point order of the names."""
    if not isinstance(segment.dtype, pd.CategoricalDtype):
        segment = segment.astype(str).astype("category")
    names = np.asarray([str(c) for c in segment.cat.categories], dtype=object)
    order = np.argsort(names.astype(str), kind="stable")
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    return rank[segment.cat.codes.to_numpy()], names[order]


def _signatures_by_code(
    codes: np.ndarray, segment: pd.Series, size: int, *, as_json: bool = False
) -> np.ndarray:
    """Signature (object array) for customer codes 0..size-1 ('' for a code without rows).
    With `as_json` each customer's names form a JSON array instead ('[]' without rows)."""
    return _texts_by_code(codes, segment, size, (as_json,))[0]


def _texts_by_code(
    codes: np.ndarray, segment: pd.Series, size: int, kinds: tuple[bool, ...]
) -> list[np.ndarray]:
    """`_signatures_by_code` for each `as_json` in `kinds`, from one sort of the rows."""
    seg, names = _segment_codes(segment)
    order = np.lexsort((seg, codes))
    who, what = codes[order], seg[order]
    starts = np.r_[True, who[1:] != who[:-1]] if len(who) else np.zeros(0, dtype=bool)
    group_start = np.flatnonzero(starts)
    position = np.arange(len(who)) - group_start[np.cumsum(starts) - 1]
    # customers share few distinct combinations (hundreds for a million customers): lay each
    # customer's sorted segment codes out in a row, number the distinct rows, and join the
    # names once per combination
    grid = np.full((size, int(position.max()) + 1 if len(position) else 1), -1, dtype=np.int32)
    grid[who, position] = what
    width = grid.dtype.itemsize * grid.shape[1]
    combination, _ = pd.factorize(grid.view(np.dtype((np.void, width))).ravel())
    _, first = np.unique(combination, return_index=True)  # a customer of each combination
    rows = grid[first].tolist()
    out = []
    for as_json in kinds:
        if as_json:
            quoted = [json.dumps(str(n), ensure_ascii=False) for n in names]
            texts = ["[" + ",".join(quoted[c] for c in row if c >= 0) + "]" for row in rows]
        else:
            texts = [SEP.join(names[c] for c in row if c >= 0) for row in rows]
        out.append(np.asarray(texts, dtype=object)[combination])
    return out


def _customer_codes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, id per code); free when the ids are categorical (as the engine's)."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        return ids.cat.codes.to_numpy().astype(np.int64), np.asarray(
            ids.cat.categories, dtype=object
        )
    codes, uniques = pd.factorize(ids)
    return codes, np.asarray(uniques, dtype=object)


def signatures(members: pd.DataFrame) -> pd.DataFrame:
    """customer_id, signature: each customer's sorted segment names joined by SEP."""
    codes, uniques = _customer_codes(members["customer_id"])
    signature = _signatures_by_code(codes, members["segment"], len(uniques))
    present = np.bincount(codes, minlength=len(uniques)) > 0
    return pd.DataFrame(
        {
            "customer_id": pd.array(uniques[present], dtype="str"),
            "signature": pd.array(signature[present], dtype="str"),
        }
    )


def _family(segments: pd.Series) -> pd.Series:
    return segments.str.extract(r"^([^:]*)", expand=False).astype("str")


def membership_changes(
    current: pd.DataFrame, members: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(entered, exited) rows, each with customer_id, segment, family (plain strings), sorted
    by customer and segment. `current` holds the stored signatures (customer_id, signature)."""
    entered, exited, _ = _membership_changes(current, members)
    return entered, exited


def _membership_changes(
    current: pd.DataFrame, members: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """`membership_changes` and each new customer's signature (indexed by customer id)."""
    new = members[list(CHANGE_COLUMNS)]
    codes, uniques = _customer_codes(new["customer_id"])
    mine = _signatures_by_code(codes, new["segment"], len(uniques))
    signed = pd.Series(mine, index=pd.Index(uniques, dtype=object), dtype=object)
    if current.empty:
        return _plain(new), _empty(), signed
    at = pd.Index(uniques).get_indexer(pd.Index(current["customer_id"]))
    stored = current["signature"].to_numpy(dtype=object)
    kept = np.zeros(len(current), dtype=bool)
    kept[at >= 0] = stored[at >= 0] == mine[at[at >= 0]]
    unchanged = np.bincount(codes, minlength=len(uniques)) == 0  # ids without rows: nothing new
    unchanged[at[kept]] = True
    if kept.all() and unchanged.all():
        return _empty(), _empty(), signed
    old = current.loc[~kept, ["customer_id", "signature"]]
    old_rows = old.assign(segment=old["signature"].str.split(SEP)).explode("segment")
    old_rows = old_rows.loc[old_rows["segment"].str.len() > 0, ["customer_id", "segment"]]
    new_rows = _plain(new.loc[~unchanged[codes]])
    marked = old_rows.astype({"segment": "str"}).merge(
        new_rows, on=["customer_id", "segment"], how="outer", indicator=True
    )
    entered = marked.loc[marked["_merge"] == "right_only"]
    exited = marked.loc[marked["_merge"] == "left_only"]
    return _finish(entered), _finish(exited), signed


@dataclass(frozen=True)
class Changes:
    """A run's membership changes, one row per customer whose segments change (`rows`:
    customer_id, entered, exited, signature; the two lists are JSON arrays of segment names in
    code point order, `signature` the customer's membership afterwards ('' for none); rows
    sorted by customer_id in code point order, the mirror's key order), and how many
    (customer, segment) rows enter and exit in all."""

    rows: pd.DataFrame
    entered: int
    exited: int


def customer_changes(current: pd.DataFrame, members: pd.DataFrame) -> Changes:
    """The changes that turn the stored membership (`current`: customer_id, signature) into
    `members` (customer_id, segment, family; each pair once, as the engine builds it), grouped
    per customer. With nothing stored yet
    (a shop's first run) every customer's whole membership enters and no row-by-row
    comparison is made."""
    new = members[list(CHANGE_COLUMNS)]
    if current.empty:
        codes, uniques = _customer_codes(new["customer_id"])
        entered, signature = _texts_by_code(codes, new["segment"], len(uniques), (True, False))
        present = np.bincount(codes, minlength=len(uniques)) > 0
        rows = _grouped(
            uniques[present], entered[present], np.full(present.sum(), "[]"), signature[present]
        )
        return Changes(rows, entered=len(new), exited=0)
    entered_rows, exited_rows, signed = _membership_changes(current, members)
    both = pd.concat([entered_rows, exited_rows], ignore_index=True)
    codes, found = pd.factorize(both["customer_id"])
    ids = np.asarray(found, dtype=object)
    first = np.arange(len(both)) < len(entered_rows)
    lists = [
        _signatures_by_code(codes[part], both["segment"][part], len(ids), as_json=True)
        for part in (first, ~first)
    ]
    after = signed.reindex(pd.Index(ids, dtype=object)).fillna("").to_numpy(dtype=object)
    rows = _grouped(ids, lists[0], lists[1], after)
    return Changes(rows, entered=len(entered_rows), exited=len(exited_rows))


def _grouped(
    ids: np.ndarray, entered: np.ndarray, exited: np.ndarray, signature: np.ndarray
) -> pd.DataFrame:
    order = np.argsort(ids.astype(str), kind="stable")
    return pd.DataFrame(
        {
            "customer_id": ids[order],
            "entered": np.asarray(entered, dtype=object)[order],
            "exited": np.asarray(exited, dtype=object)[order],
            "signature": np.asarray(signature, dtype=object)[order],
        }
    )


def _plain(rows: pd.DataFrame) -> pd.DataFrame:
    """Plain-string rows sorted in primary key order (sorted on codes, then materialised)."""
    rows = sort_rows(rows)
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
    return out


def _ranks(values: pd.Series) -> np.ndarray:
    """Code point order of each value, via its distinct values (cheap for repeated strings)."""
    codes, uniques = _customer_codes(values)
    rank = np.empty(len(uniques), dtype=np.int64)
    order = np.argsort(np.asarray(uniques, dtype=object).astype(str), kind="stable")
    rank[order] = np.arange(len(uniques))
    return rank[codes]


def sort_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by customer_id then segment (the primary key order of segment_members)."""
    if rows.empty:
        return rows.reset_index(drop=True)
    order = np.lexsort((_ranks(rows["segment"]), _ranks(rows["customer_id"])))
    return rows.iloc[order].reset_index(drop=True)


def _finish(rows: pd.DataFrame) -> pd.DataFrame:
    return _plain(rows[["customer_id", "segment"]])


def stored_segments(current: pd.DataFrame, family: str) -> pd.DataFrame:
    """customer_id, segment of one family, read from stored signatures (e.g. the loyalty tier
    each customer held before this run, for the hysteresis)."""
    pattern = rf"(?:^|{SEP})({family}:[^{SEP}]*)"
    # few distinct signatures (hundreds for a million customers): search each once
    codes, uniques = pd.factorize(current["signature"])
    per_unique = pd.Series(np.asarray(uniques, dtype=object), dtype="str")
    table = np.asarray([*per_unique.str.extract(pattern, expand=False).tolist(), None])
    found = table[np.where(codes >= 0, codes, len(table) - 1)]
    hit = pd.notna(found)
    return pd.DataFrame(
        {"customer_id": current["customer_id"].to_numpy()[hit], "segment": found[hit]}
    )


@dataclass(frozen=True)
class Membership:
    """Membership as combinations: customer `ids` (object array of strings), per customer
    the number of its combination of segments (`combo`) and per combination the segment
    names in code point order (`names`; an empty tuple: no segment). A million customers
    share a few thousand combinations, so a run's changes are worked out per combination."""

    ids: np.ndarray
    combo: np.ndarray
    names: tuple[tuple[str, ...], ...]

    @property
    def rows(self) -> int:
        """How many (customer, segment) rows this membership stores."""
        sizes = np.asarray([len(n) for n in self.names] or [0], dtype=np.int64)
        return int(sizes[self.combo].sum()) if len(self.combo) else 0


def membership_of(ids: np.ndarray, columns: list[tuple[str, np.ndarray, np.ndarray]]) -> Membership:
    """A Membership from family columns encoded as integer codes per customer (-1: not in
    the family; `uniques`: the value of each code), each column one per row of `ids`."""
    n = len(ids)
    ids = np.asarray(ids, dtype=object)
    if not columns or not n:
        return Membership(ids, np.zeros(n, dtype=np.int64), ((),))
    grid = np.stack([np.asarray(local, dtype=np.int32) for _, local, _ in columns], axis=1)
    width = grid.dtype.itemsize * grid.shape[1]
    combo, _ = pd.factorize(np.ascontiguousarray(grid).view(np.dtype((np.void, width))).ravel())
    _, first = np.unique(combo, return_index=True)  # a customer of each combination
    names = tuple(
        tuple(sorted({
            f"{family}:{uniques[code]}"
            for (family, _, uniques), code in zip(columns, row, strict=True)
            if code >= 0
        }))
        for row in grid[first].tolist()
    )  # fmt: skip
    return Membership(ids, combo.astype(np.int64), names)


def _json_list(names: list[str]) -> str:
    return "[" + ",".join(json.dumps(str(n), ensure_ascii=False) for n in names) + "]"


def membership_changes_of(current: pd.DataFrame, new: Membership) -> Changes:
    """`customer_changes` for a Membership: the same rows and counts, worked out once per
    pair of (stored signature, new combination) instead of row by row. `current`: the
    stored signatures (customer_id, signature)."""
    mine = np.asarray([SEP.join(n) for n in new.names], dtype=object)[new.combo]
    stored_ids = current["customer_id"].to_numpy(dtype=object)
    stored = current["signature"].to_numpy(dtype=object)
    at = pd.Index(new.ids).get_indexer(pd.Index(stored_ids))
    before = np.full(len(new.ids), "", dtype=object)
    before[at[at >= 0]] = stored[at >= 0]
    changed = before != mine
    gone = at < 0  # stored rows of customers not segmented now: all of them exit
    ids = np.concatenate([new.ids[changed], stored_ids[gone]])
    old = np.concatenate([before[changed], stored[gone]])
    after = np.concatenate([new.combo[changed], np.full(int(gone.sum()), -1, dtype=np.int64)])
    if not len(ids):
        return Changes(_grouped(ids, ids, ids, ids), entered=0, exited=0)
    pair, distinct = pd.factorize(pd.MultiIndex.from_arrays([old.astype(str), after]))
    entered, exited, signature = [], [], []
    sizes = np.zeros((len(distinct), 2), dtype=np.int64)
    for k, (old_text, combo) in enumerate(distinct):
        then = set(old_text.split(SEP)) if old_text else set()
        now = set(new.names[combo]) if combo >= 0 else set()
        entered.append(_json_list(sorted(now - then)))
        exited.append(_json_list(sorted(then - now)))
        signature.append(SEP.join(sorted(now)))
        sizes[k] = len(now - then), len(then - now)
    counts = np.bincount(pair, minlength=len(distinct)) @ sizes
    # a stored signature in another order of the same segments is no change (see the top)
    moved = sizes[pair].sum(axis=1) > 0

    def per(texts: list[str]) -> np.ndarray:
        return np.asarray(texts, dtype=object)[pair][moved]

    rows = _grouped(ids[moved], per(entered), per(exited), per(signature))
    return Changes(rows, entered=int(counts[0]), exited=int(counts[1]))
