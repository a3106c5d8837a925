"""Geography (`country:DE`, `city:Berlin`, `postcode:8*`): where customers live.

Values are taken from the customer's address as mirrored: the country code upper-cased, the
city with blanks trimmed and runs of blanks collapsed (case kept), and for each configured
length the first characters of the postcode without blanks, upper-cased, followed by `*`
(`postcode:8*`, `postcode:80*`). A postcode shorter than the length gets no segment for it, so
a customer is in at most one `postcode` segment per configured length. Pure.

These families are derived from the address on every run and are not stored as membership
history: the address is already in the mirror, and a history of it would be a movement
profile that outlives the customer's own deletion. The push planner derives the ones its
mappings name at plan time instead (`address_segments`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from loyalsync.core.segments.settings import GeographyConfig


def _on_distinct(values: pd.Series, clean: Callable[[pd.Series], pd.Series]) -> np.ndarray:
    """Apply a string clean-up to each distinct value once (addresses repeat a lot) and map
    the results back; missing or empty results become None."""
    codes, uniques = pd.factorize(values)
    cleaned = clean(pd.Series(np.asarray(uniques, dtype=object), dtype="str"))
    tidy = [v if isinstance(v, str) and v else None for v in cleaned.tolist()]
    table = np.array([*tidy, None], dtype=object)
    return np.asarray(table[np.where(codes >= 0, codes, len(table) - 1)], dtype=object)


def _tidy(text: pd.Series) -> pd.Series:
    return text.str.strip().str.replace(r"\s+", " ", regex=True)


def countries(summary: pd.DataFrame) -> np.ndarray:
    """Upper-cased country code per customer (object array, None when unknown)."""
    return _on_distinct(summary["country"], lambda t: _tidy(t).str.upper())


def cities(summary: pd.DataFrame) -> np.ndarray:
    """Normalised city per customer (object array, None when unknown)."""
    return _on_distinct(summary["city"], _tidy)


def postcode_prefixes(summary: pd.DataFrame, length: int) -> np.ndarray:
    """'<first `length` characters>*' per customer (None when shorter or unknown)."""

    def prefix(text: pd.Series) -> pd.Series:
        compact = text.str.replace(r"\s+", "", regex=True).str.upper()
        return (compact.str.slice(0, length) + "*").where(compact.str.len() >= length)

    return _on_distinct(summary["postcode"], prefix)


def geography_columns(summary: pd.DataFrame, cfg: GeographyConfig) -> list[tuple[str, np.ndarray]]:
    """(family, value per customer) for country, city (if enabled) and each postcode length."""
    columns = [("country", countries(summary))]
    if cfg.cities:
        columns.append(("city", cities(summary)))
    for length in sorted(set(cfg.postcode_prefix_lengths)):
        if length > 0:
            columns.append(("postcode", postcode_prefixes(summary, length)))
    return columns


def address_segments(
    addresses: pd.DataFrame, cfg: GeographyConfig, segments: Iterable[str]
) -> dict[str, set[str]]:
    """customer_id -> those of `segments` (names like 'country:AT') the customer's address puts
    them in, by the same columns as the engine's; customers in none of them are left out.
    `addresses` has the columns customer_id, country, city and postcode."""
    wanted = set(segments)
    ids = addresses["customer_id"].to_numpy()
    found: dict[str, set[str]] = {}
    for family, values in geography_columns(addresses, cfg):
        for segment in sorted(s for s in wanted if s.partition(":")[0] == family):
            for cid in ids[values == segment.partition(":")[2]].tolist():
                found.setdefault(cid, set()).add(segment)
    return found
