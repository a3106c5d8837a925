"""How loyalsync prints: one number format, plural forms, one date form, JSON, and tables that
become plain CSV lines when stdout is not a terminal.

`SAY` is the console for summaries of work done (silenced by `-q`, so cron mails nothing on
success); `DATA` is for output that is the answer itself (tables the user asked for). Neither
wraps lines: a pipe or a log file gets whole lines. Display only; never writes files.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table

SAY = Console(soft_wrap=True, highlight=False)
DATA = Console(soft_wrap=True, highlight=False)
ERR = Console(stderr=True, soft_wrap=True, highlight=False)

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
IRREGULAR = {"company": "companies", "entry": "entries", "is": "are", "was": "were"}


def number(value: int | float) -> str:
    """Thousands separators, one way everywhere: 2,000 and 1,234.50."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def plural(count: int | float, noun: str, many: str | None = None) -> str:
    """'1 group', '2,000 groups', '0 customers'."""
    word = noun if count == 1 else (many or IRREGULAR.get(noun) or f"{noun}s")
    return f"{number(count)} {word}"


def iso_utc(value: datetime | date | str | None) -> str | None:
    """The one date form of CSV and JSON output: ISO 8601 in UTC, 2026-11-01T08:30:00Z.
    A date alone stays a date (2026-11-01); strings are parsed, then formatted the same way."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return iso_utc(parsed)
    if not isinstance(value, datetime):
        return value.isoformat()
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def plain(value: Any) -> Any:
    """JSON-ready data with every datetime (also in nested lists and dicts, and the mirror's
    times stored as text) in `iso_utc` form; NaN and pandas' NaT become null."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, datetime | date):
        return iso_utc(value) if value == value else None  # NaT != NaT
    if isinstance(value, str) and _DATE_TIME.match(value):  # a stored time (UTC) as text
        return iso_utc(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return plain(value.item())
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def emit_json(data: Any) -> None:
    """The one JSON printer of every `--json`: indented, UTF-8, dates in `iso_utc` form."""
    click.echo(json.dumps(plain(data), indent=2, ensure_ascii=False))


def csv_line(values: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(["" if v is None else v for v in values])
    return buffer.getvalue()


def print_rows(
    console: Console,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    right: Sequence[str] = (),
) -> None:
    """A table for a person at a terminal; plain CSV lines (header first) for a pipe or file,
    so nothing is wrapped or cut at 80 columns."""
    if not console.is_terminal:
        if title:
            console.print(title, markup=False)
        console.print(csv_line(columns), markup=False)
        for row in rows:
            console.print(csv_line(row), markup=False)
        return
    table = Table(title=title, title_justify="left", show_header=True, header_style="bold")
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
