"""The simulator's indexes: what MySQL's indexes give a real shop, so a page costs O(page).

Owns two kinds of index and nothing else (the store decides when to use them; sim_criteria.py
still applies every filter and the sort to what an index hands back, so an index only narrows
the rows looked at and never changes an answer):

- `IndexedTable`: a small entity's rows by id (a dict) plus hash look-ups on some fields, kept
  up to date on every write through the dict (`table[id] = row`, `pop`, `del`...). Serves
  `equals`/`equalsAny` filters, such as the connector's one request per page of customers for
  the `newsletter_recipient` rows of that page's e-mails (../shared/research/shopware.md §2.8),
  which otherwise scans every subscriber for every page. Indexed fields are written by
  assigning a new row, never by changing a stored row in place.
- `SortedIndex`: customers or orders in the order of fields that never change once a row
  exists and end on a unique one (`createdAt, id`; `id`), kept up to date as rows come and go.
  Serves the page-paging fallback sorted by createdAt then id (§2.4) and the search-ids pages
  sorted by id (§2.6) without sorting the whole table for every page. A sort that can tie is
  never served from an index: ties stay in MySQL's arbitrary order (sim_criteria.py).

Pure data structures: no HTTP, no clock, no criteria parsing.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

Normalise = Callable[[Any, str], Any]  # (value, field) -> the value as MySQL compares it


class IndexedTable(dict[str, dict[str, Any]]):
    """Rows by id, with hash look-ups on `fields` (values normalised by `norm`)."""

    def __init__(self, fields: Iterable[str], norm: Normalise) -> None:
        super().__init__()
        self.fields = frozenset(fields)
        self._norm = norm
        self._by: dict[str, dict[Any, set[str]]] = {f: {} for f in self.fields}
        self._seq: dict[str, int] = {}  # insertion order, as iterating the dict gives it
        self._next = itertools.count()

    def _keys(self, row: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
        for name in self.fields:
            value = self._norm(row.get(name), name)
            if not isinstance(value, dict | list):  # a filter never matches those by equality
                yield name, value

    def __setitem__(self, key: str, row: dict[str, Any]) -> None:
        if key in self:
            self._unindex(key, self[key])
        else:
            self._seq[key] = next(self._next)
        super().__setitem__(key, row)
        for name, value in self._keys(row):
            self._by[name].setdefault(value, set()).add(key)

    def _unindex(self, key: str, row: Mapping[str, Any]) -> None:
        for name, value in self._keys(row):
            ids = self._by[name].get(value)
            if ids is not None:
                ids.discard(key)
                if not ids:
                    del self._by[name][value]

    def __delitem__(self, key: str) -> None:
        row = self[key]
        super().__delitem__(key)
        self._unindex(key, row)
        del self._seq[key]

    _MISSING: Any = object()

    def pop(self, key: str, default: Any = _MISSING) -> Any:  # type: ignore[override]
        if key in self:
            row = self[key]
            del self[key]
            return row
        if default is IndexedTable._MISSING:
            raise KeyError(key)
        return default

    def popitem(self) -> tuple[str, dict[str, Any]]:
        key = next(reversed(self))
        return key, self.pop(key)

    def clear(self) -> None:
        for key in list(self):
            del self[key]

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kw: Any) -> None:
        for key, row in dict(*args, **kw).items():
            self[key] = row

    def __ior__(self, other: Any) -> IndexedTable:  # type: ignore[override,misc]
        self.update(other)
        return self

    def lookup(self, name: str, values: Iterable[Any]) -> list[dict[str, Any]] | None:
        """The rows whose `name` equals one of the (normalised) `values`, in the order iterating
        the table gives them; None when `name` is not indexed or a value cannot be looked up."""
        if name not in self.fields:
            return None
        found: set[str] = set()
        index = self._by[name]
        for value in values:
            if isinstance(value, dict | list):
                return None
            found |= index.get(value, set())
        return [self[key] for key in sorted(found, key=self._seq.__getitem__)]


class SortedIndex:
    """Rows ascending by `key(row)`, a tuple over fields that never change and end on a unique
    one (so no two rows share a key and the order is the one a full sort gives)."""

    def __init__(self, fields: tuple[str, ...], key: Callable[[Any], tuple[Any, ...]]) -> None:
        self.fields = fields
        self.key = key
        self._keys: list[tuple[Any, ...]] = []
        self._rows: list[Any] = []

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, row: Any) -> None:
        key = self.key(row)
        at = bisect.bisect_right(self._keys, key)
        self._keys.insert(at, key)
        self._rows.insert(at, row)

    def extend(self, rows: Iterable[Any]) -> None:
        """Many rows at once (the initial load): one sort instead of many inserts."""
        pairs = sorted(
            [*zip(self._keys, self._rows, strict=True), *((self.key(r), r) for r in rows)],
            key=lambda pair: pair[0],
        )
        self._keys = [k for k, _ in pairs]
        self._rows = [r for _, r in pairs]

    def remove(self, row: Any) -> None:
        at = bisect.bisect_left(self._keys, self.key(row))
        if at < len(self._rows) and self._rows[at] is row:
            del self._keys[at], self._rows[at]

    def walk(self, descending: bool) -> Iterator[Any]:
        return reversed(self._rows) if descending else iter(self._rows)
