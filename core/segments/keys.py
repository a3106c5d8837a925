"""Where keys sit in another array of keys, for a million customer ids (issue 17).

`positions` answers what pandas' `Index.get_indexer` answers, but the arrays a daily run
compares are mostly of two kinds that need no hash table of a million strings: the same ids
in the same order (a steady day's stored and new membership), and ids sorted in code point
order (the mirror's key order, which SQLite's BINARY collation gives) against another array,
sorted or not. The first is one element-wise comparison; the second a binary search over the
ids' bytes (in whichever array is sorted), each hit then checked against the text itself.
Anything else (text that is not ASCII, neither array sorted) takes the hash table; a missing
key looked up is absent. Pure.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def positions(index: Any, wanted: Any) -> np.ndarray:
    """Position in `index` (distinct keys) of each key of `wanted`, -1 where it is absent
    (int64), as `pd.Index(index).get_indexer(wanted)` gives it."""
    keys = np.asarray(index, dtype=object)
    look = np.asarray(wanted, dtype=object)
    same = len(keys) == len(look) > 0 and keys[0] == look[0] and keys[-1] == look[-1]
    if same and bool((keys == look).all()):  # the ends first: cheap
        return np.arange(len(keys), dtype=np.int64)
    missing = pd.isna(look)
    found = None
    if len(keys) > 1 and len(look) and not missing.all():
        found = _sorted_search(keys, look[~missing] if missing.any() else look)
    if found is None:
        return pd.Index(keys).get_indexer(pd.Index(look)).astype(np.int64)
    if not missing.any():
        return found
    out = np.full(len(look), -1, dtype=np.int64)  # the keys hold no missing value
    out[~missing] = found
    return out


def _ascending(values: np.ndarray) -> bool:
    return bool((values[1:] > values[:-1]).all())


def _sorted_search(keys: np.ndarray, look: np.ndarray) -> np.ndarray | None:
    """The binary search over bytes when both are ASCII text and either `keys` or `look` is
    strictly ascending (then searched, and the hits turned round); None otherwise."""
    if pd.api.types.infer_dtype(keys, skipna=False) != "string":
        return None
    if pd.api.types.infer_dtype(look, skipna=False) != "string":
        return None
    try:
        key_bytes, look_bytes = keys.astype("S"), look.astype("S")
    except UnicodeEncodeError:
        return None
    if _ascending(key_bytes):
        return _search(key_bytes, keys, look_bytes, look)
    if len(look) < 2 or not _ascending(look_bytes):
        return None
    # the looked-up keys are the sorted ones (a summary in identity order against stored
    # ids in key order): where each key sits among them, turned round (both are distinct)
    back = _search(look_bytes, look, key_bytes, keys)
    out = np.full(len(look), -1, dtype=np.int64)
    hit = back >= 0
    out[back[hit]] = np.flatnonzero(hit)
    return out


def _search(
    sorted_bytes: np.ndarray, sorted_text: np.ndarray, wanted_bytes: np.ndarray, wanted: np.ndarray
) -> np.ndarray:
    """Position in the ascending `sorted_bytes` of each of `wanted_bytes`, -1 where absent."""
    at = np.minimum(np.searchsorted(sorted_bytes, wanted_bytes), len(sorted_bytes) - 1)
    hit = sorted_bytes[at] == wanted_bytes
    # bytes compare with trailing NULs dropped: the text itself decides every hit
    hit[hit] = sorted_text[at[hit]] == wanted[hit]
    return np.where(hit, at, -1).astype(np.int64)
