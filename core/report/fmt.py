"""Formatting for the report's cells: money, counts, shares, dates, a customer's contact.
Pure and locale-free (thousands separated by commas, like the CLI's tables)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pandas as pd


def missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def count(value: Any) -> str:
    return "" if missing(value) else f"{int(value):,}"


def money(value: Any, currency: str = "") -> str:
    if missing(value):
        return ""
    text = f"{float(value):,.2f}"
    return f"{text} {currency}" if currency else text


def share(value: Any, digits: int = 1) -> str:
    return "" if missing(value) else f"{100 * float(value):.{digits}f} %"


def day(value: Any) -> str:
    if missing(value):
        return ""
    if isinstance(value, str):
        return value[:10]
    if isinstance(value, datetime | pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    return str(value)[:10]


def text(value: Any) -> str:
    return "" if missing(value) else str(value)


def name(row: Any) -> str:
    """First and last name, with the company in brackets (a row of the summary)."""
    full = " ".join(filter(None, (text(row.first_name), text(row.last_name))))
    if text(row.company):
        full = f"{full} ({row.company})" if full else text(row.company)
    return full or text(row.number) or text(row.customer_id)


def place(row: Any) -> str:
    return " ".join(filter(None, (text(row.country), text(row.postcode), text(row.city))))


def label(segment: str) -> str:
    """'rfm_segment:at_risk' -> 'at risk'."""
    return segment.partition(":")[2].replace("_", " ") if ":" in segment else segment
