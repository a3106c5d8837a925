"""`positions` answers exactly what pandas' get_indexer answers, on every path it takes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalsync.core.segments.keys import positions

# short texts from a small alphabet: many near-collisions, prefixes and shared bytes; NUL
# and non-ASCII letters push the search off its fast path or test its check of each hit
TEXT = st.text(alphabet="ab0\x00é", max_size=4)
KEY = st.one_of(TEXT, st.none())


def _expected(keys: list[str], wanted: list[str | None]) -> np.ndarray:
    return pd.Index(np.asarray(keys, dtype=object)).get_indexer(
        pd.Index(np.asarray(wanted, dtype=object))
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXT, unique=True, max_size=30), st.lists(KEY, max_size=30), st.booleans())
def test_positions_equal_get_indexer(keys: list[str], wanted: list[str | None], order: bool):
    if order:
        keys = sorted(keys)  # code point order: the mirror's key order, the binary search
    found = positions(np.asarray(keys, dtype=object), np.asarray(wanted, dtype=object))
    assert found.dtype == np.int64
    assert found.tolist() == _expected(keys, wanted).tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXT, unique=True, max_size=30), st.lists(TEXT, max_size=30), st.randoms())
def test_positions_from_sorted_wanted_keys(keys: list[str], wanted: list[str], rnd):
    """Unsorted keys against sorted distinct keys looked up (a summary in identity order
    against stored ids in key order): the search runs the other way round."""
    rnd.shuffle(keys)
    wanted = sorted(set(wanted) | set(rnd.sample(keys, len(keys) // 2)))
    found = positions(np.asarray(keys, dtype=object), np.asarray(wanted, dtype=object))
    assert found.tolist() == _expected(keys, wanted).tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(TEXT, unique=True, min_size=1, max_size=30))
def test_positions_of_the_same_keys(keys: list[str]):
    """The same ids in the same order (a steady day's stored and new membership)."""
    same = np.asarray([k.encode().decode() for k in keys], dtype=object)  # new objects
    assert positions(np.asarray(keys, dtype=object), same).tolist() == list(range(len(keys)))


def test_positions_trailing_nul_is_not_a_match():
    """Fixed-width bytes drop trailing NULs: 'a' and 'a\\x00' would compare equal there."""
    keys = np.asarray(["a", "b", "c"], dtype=object)
    wanted = np.asarray(["a\x00", "b", None, "z", "c"], dtype=object)
    assert positions(keys, wanted).tolist() == [-1, 1, -1, -1, 2]


def test_positions_of_pandas_text_columns():
    """The frames hand over pandas' str columns (missing as NaN), not only object arrays."""
    keys = pd.Series(["0a", "0b", "1c"], dtype="str")
    wanted = pd.Series(["1c", None, "0a", "2d"], dtype="str")
    assert positions(keys, wanted).tolist() == [2, -1, 0, -1]
