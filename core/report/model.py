"""The report as plain data: sections made of blocks (figures, charts, tables, sentences) that
the template (templates/report.html.j2) lays out. No computing and no HTML here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Stat:
    """A headline figure: a label, its formatted value and an optional note under it."""

    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class Stats:
    kind = "stats"
    items: tuple[Stat, ...]


@dataclass(frozen=True)
class Text:
    kind = "text"
    text: str


@dataclass(frozen=True)
class Chart:
    """An inline SVG (from charts.py) with a title and a caption saying what it shows."""

    kind = "chart"
    title: str
    svg: str
    caption: str = ""


@dataclass(frozen=True)
class Table:
    """Rows of formatted cells. `numeric`: indexes of right-aligned columns. `hidden`: rows
    left out, listed in full by `command`. `heat`: per cell an intensity 0..1 (or None) for
    matrices such as the cohort triangle."""

    kind = "table"
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: frozenset[int] = frozenset()
    hidden: int = 0
    command: str | None = None
    heat: tuple[tuple[float | None, ...], ...] | None = None
    empty: str = "No rows."


Block = Stats | Text | Chart | Table


@dataclass(frozen=True)
class Section:
    """One part of the page. `empty`: the one sentence saying why there is nothing to show
    (then `blocks` is empty)."""

    key: str
    title: str
    blocks: tuple[Block, ...] = ()
    empty: str | None = None
    intro: str = ""


@dataclass(frozen=True)
class Report:
    shop: str
    platform: str
    as_of: datetime
    sections: tuple[Section, ...] = field(default=())

    def section(self, key: str) -> Section:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    @property
    def charts(self) -> list[Chart]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Chart)]


def empty_section(key: str, title: str, why: str) -> Section:
    return Section(key, title, (), empty=why)
