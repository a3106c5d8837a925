"""Segmentation's customer read keeps one string object per distinct country, city, postcode
and group in each chunk: the same values (and missing values) as read, far fewer objects."""

from __future__ import annotations

import pandas as pd

from loyalsync.core.mirror.segments import _shared_strings


def test_shared_strings_keep_values_dtype_and_missing() -> None:
    for values in (
        pd.Series([f"city{i % 3}" for i in range(9)] + [None]),
        pd.Series(["x", None, "x"], dtype=object),
        pd.Series([None, None]),
        pd.Series([1, 2]),
    ):
        shared = _shared_strings(values)
        assert shared.dtype == values.dtype
        pd.testing.assert_series_equal(shared, values)


def test_repeated_strings_become_one_object() -> None:
    values = pd.Series(["".join(["Ber", "lin"]) for _ in range(5)], dtype=object)
    assert len({id(v) for v in values}) == 5  # as SQLite hands them over: one per row
    shared = _shared_strings(values)
    assert len({id(v) for v in shared}) == 1
