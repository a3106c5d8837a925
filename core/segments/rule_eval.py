"""Evaluate parsed rule conditions (`rules.py`) on a customer summary, vectorised.

Every condition becomes a boolean mask over the summary rows. Segment membership and product
purchases are not looked up here: the caller passes two functions, `in_segment(name)` and
`bought(refs)`, each returning a mask, so this module stays pure and needs no mirror.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import numpy as np
import pandas as pd

from loyalsync.core.segments.rules import (
    FIELDS,
    All,
    AnyOf,
    Bought,
    Compare,
    Condition,
    InSegment,
    Not,
)
from loyalsync.core.segments.summary import DAY_SECONDS, utc_timestamp

Mask = np.ndarray
SegmentLookup = Callable[[str], Mask]
BoughtLookup = Callable[[tuple[str, ...]], Mask]


class RuleContext:
    """What conditions are evaluated against; caches casefolded text columns."""

    def __init__(
        self,
        frame: pd.DataFrame,
        as_of: datetime,
        in_segment: SegmentLookup,
        bought: BoughtLookup,
    ) -> None:
        self.frame = frame
        self.as_of = utc_timestamp(as_of)
        self.in_segment = in_segment
        self.bought = bought
        self._text: dict[str, pd.Series] = {}

    def text(self, field: str) -> pd.Series:
        if field not in self._text:
            column = self.frame[field].astype(object).where(self.frame[field].notna(), None)
            self._text[field] = pd.Series(column, dtype="str").str.strip().str.casefold()
        return self._text[field]


def evaluate(condition: Condition, ctx: RuleContext) -> Mask:
    """Boolean mask of the rows satisfying `condition`."""
    n = len(ctx.frame)
    if isinstance(condition, All):
        mask = np.ones(n, dtype=bool)
        for item in condition.items:
            mask &= evaluate(item, ctx)
        return mask
    if isinstance(condition, AnyOf):
        mask = np.zeros(n, dtype=bool)
        for item in condition.items:
            mask |= evaluate(item, ctx)
        return mask
    if isinstance(condition, Not):
        return ~evaluate(condition.item, ctx)
    if isinstance(condition, InSegment):
        mask = np.zeros(n, dtype=bool)
        for name in condition.segments:
            mask |= ctx.in_segment(name)
        return mask
    if isinstance(condition, Bought):
        return np.asarray(ctx.bought(condition.refs), dtype=bool)
    return _compare(condition, ctx)


def _compare(cond: Compare, ctx: RuleContext) -> Mask:
    kind = FIELDS[cond.field]
    if kind == "number":
        return _number(ctx.frame[cond.field].to_numpy(dtype=float, na_value=np.nan), cond)
    if kind == "text":
        return _text(ctx.text(cond.field), cond)
    if kind == "time":
        return _time(ctx.frame[cond.field], cond, ctx.as_of)
    flags = ctx.frame[cond.field].fillna(False).to_numpy(dtype=bool)
    return flags == cond.value if cond.op == "==" else flags != cond.value


def _number(values: np.ndarray, cond: Compare) -> Mask:
    known = ~np.isnan(values)
    op, v = cond.op, cond.value
    with np.errstate(invalid="ignore"):
        if op in ("in", "not_in"):
            hit = np.isin(values, np.asarray(v, dtype=float))
            result = hit if op == "in" else ~hit
        else:
            result = {
                ">": values > v, ">=": values >= v, "<": values < v, "<=": values <= v,
                "==": values == v, "!=": values != v,
            }[op]  # fmt: skip
    return np.asarray(result & known, dtype=bool)


def _text(values: pd.Series, cond: Compare) -> Mask:
    known = values.notna().to_numpy()
    op, v = cond.op, cond.value
    if op == "==":
        result = values == v
    elif op == "!=":
        result = values != v
    elif op == "in":
        result = values.isin(list(v))
    elif op == "not_in":
        result = ~values.isin(list(v))
    else:
        result = values.str.startswith(v)
    return np.asarray(result.fillna(False).to_numpy(dtype=bool) & known, dtype=bool)


def _time(values: pd.Series, cond: Compare, as_of: pd.Timestamp) -> Mask:
    known = values.notna().to_numpy()
    if cond.op in ("before", "after"):
        result = values < cond.value if cond.op == "before" else values > cond.value
    else:
        age = (as_of - values).dt.total_seconds() / DAY_SECONDS
        result = age <= cond.value if cond.op == "within_days" else age > cond.value
    return np.asarray(result.fillna(False).to_numpy(dtype=bool) & known, dtype=bool)
