"""Membership changes: which (customer, segment) pairs enter and which exit in a run.

The stored membership is summarised per customer as a *signature*: the customer's segment
names sorted (by code point, as SQLite's BINARY collation sorts them) and joined with the unit
separator. A run's membership is a `Membership`: per customer the number of its combination of
segments (a million customers share a few thousand), built from the engine's family columns
(`membership_of`) or from rows (`membership_of_rows`). `membership_changes_of` compares it with
the stored signatures and works out what enters and exits once per pair of (stored signature,
new combination), so a daily run with few moves costs one pass and a handful of writes. If
SQLite ever concatenated in another order, more customers would look changed, and comparing
the segments themselves would still find no change for them: the result stays correct.
Everything runs on integer codes and numpy object arrays, never a Python loop per customer.
Pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from loyalsync.core.segments.keys import positions

SEP = "\x1f"


def _segment_codes(segment: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, name per code) with codes numbered in code point order of the names."""
    if not isinstance(segment.dtype, pd.CategoricalDtype):
        segment = segment.astype(str).astype("category")
    names = np.asarray([str(c) for c in segment.cat.categories], dtype=object)
    order = np.argsort(names.astype(str), kind="stable")
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    return rank[segment.cat.codes.to_numpy()], names[order]


def _customer_codes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, id per code); free when the ids are categorical (as the engine's)."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        return ids.cat.codes.to_numpy().astype(np.int64), np.asarray(
            ids.cat.categories, dtype=object
        )
    codes, uniques = pd.factorize(ids)
    return codes, np.asarray(uniques, dtype=object)


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
class Changes:
    """A run's membership changes, one row per customer whose segments change (`rows`:
    customer_id, entered, exited, signature; the two lists are JSON arrays of segment names in
    code point order, `signature` the customer's membership afterwards ('' for none); rows
    sorted by customer_id in code point order, the mirror's key order), and how many
    (customer, segment) rows enter and exit in all."""

    rows: pd.DataFrame
    entered: int
    exited: int


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
    combo, first = _combinations(grid)
    names = tuple(
        tuple(sorted({
            f"{family}:{uniques[code]}"
            for (family, _, uniques), code in zip(columns, row, strict=True)
            if code >= 0
        }))
        for row in grid[first].tolist()
    )  # fmt: skip
    return Membership(ids, combo, names)


def _json_list(names: list[str]) -> str:
    return "[" + ",".join(json.dumps(str(n), ensure_ascii=False) for n in names) + "]"


def membership_changes_of(current: pd.DataFrame, new: Membership) -> Changes:
    """The changes that turn the stored membership (`current`: customer_id, signature) into
    `new`, worked out once per pair of (stored signature, new combination)."""
    mine = np.asarray([SEP.join(n) for n in new.names], dtype=object)[new.combo]
    stored_ids = current["customer_id"].to_numpy(dtype=object)
    stored = current["signature"].to_numpy(dtype=object)
    at = positions(new.ids, stored_ids)  # a steady day: the same ids, one comparison
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


def _combinations(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(combination number per row of `grid`, the first row of each combination)."""
    width = grid.dtype.itemsize * grid.shape[1]
    combo, _ = pd.factorize(np.ascontiguousarray(grid).view(np.dtype((np.void, width))).ravel())
    _, first = np.unique(combo, return_index=True)
    return combo.astype(np.int64), first


def membership_of_rows(members: pd.DataFrame) -> Membership:
    """A Membership from rows (customer_id, segment; each pair once). A categorical
    customer_id (the engine's) counts its categories without rows as customers in no
    segment."""
    codes, uniques = _customer_codes(members["customer_id"])
    seg, names = _segment_codes(members["segment"])
    order = np.lexsort((seg, codes))
    who, what = codes[order], seg[order]
    starts = np.r_[True, who[1:] != who[:-1]] if len(who) else np.zeros(0, dtype=bool)
    group_start = np.flatnonzero(starts)
    position = np.arange(len(who)) - group_start[np.cumsum(starts) - 1]
    # each customer's sorted segment codes laid out in a row, -1 after the last
    width = int(position.max()) + 1 if len(position) else 1
    grid = np.full((len(uniques), width), -1, dtype=np.int32)
    grid[who, position] = what
    combo, first = _combinations(grid)
    combos = tuple(tuple(str(names[c]) for c in row if c >= 0) for row in grid[first].tolist())
    return Membership(uniques.astype(str).astype(object), combo, combos)


def signatures(members: pd.DataFrame) -> pd.DataFrame:
    """customer_id, signature: each customer's sorted segment names joined by SEP (the
    customers with rows)."""
    new = membership_of_rows(members)
    present = np.asarray([bool(n) for n in new.names] or [False])[new.combo]
    texts = np.asarray([SEP.join(n) for n in new.names] or [""], dtype=object)
    return pd.DataFrame(
        {
            "customer_id": pd.array(new.ids[present], dtype="str"),
            "signature": pd.array(texts[new.combo][present], dtype="str"),
        }
    )


def customer_changes(current: pd.DataFrame, members: pd.DataFrame) -> Changes:
    """The changes that turn the stored membership (`current`: customer_id, signature) into
    `members` (customer_id, segment rows; each pair once): `membership_changes_of`."""
    return membership_changes_of(current, membership_of_rows(members))
