"""RFM scores (`rfm:<code>`) and their named segments (`rfm_segment:<name>`).

Scored are the customers with at least one valid order (`n` of them). Each of recency (days
since the last order, in whole days, more recent is better), frequency (valid orders) and
monetary value (revenue, in cents) gets a score from 1 to `scale` (3 or 5):

    score = 1 + floor(scale * (rank_min - 1) / n)

where `rank_min` is the rank of the customer's value among the n values, ascending from the
worst value (1) to the best, and tied values all take the lowest rank of their group
(`method='min'`). So tied values always get the same score, a better value never gets a lower
score, and a score k covers roughly the k-th `1/scale` slice of the base. When all values are
equal (a single customer, everyone with one order) everybody gets 1: there is nothing to rank.

The code is the three digits R, F, M ('332'). Named segments come from an ordered map of code
patterns to names, first match wins. A pattern has three positions, each a digit, `*` (any) or
a class such as `[23]` or `[2-5]`. Codes that match no pattern are named `other`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

FALLBACK_NAME = "other"

# Ordered: first match wins. Every name is reachable and every code is covered (tested).
DEFAULT_NAMES: dict[int, dict[str, str]] = {
    3: {
        "333": "champions",
        "[23]3*": "loyal",
        "31*": "new",
        "32*": "promising",
        "133": "cant_lose",
        "13*": "at_risk",
        "2[12]*": "needs_attention",
        "12*": "hibernating",
        "11*": "lost",
    },
    5: {
        "[45][45][45]": "champions",
        "[3-5][3-5]*": "loyal",
        "[45]1*": "new",
        "[3-5][12]*": "promising",
        "[12][45][45]": "cant_lose",
        "[12][3-5]*": "at_risk",
        "2[12]*": "needs_attention",
        "12*": "hibernating",
        "11*": "lost",
    },
}
_TOKEN = re.compile(r"\*|\?|\d|\[[^\]]*\]")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def scores(values: npt.ArrayLike, scale: int) -> np.ndarray:
    """Scores 1..scale for `values` where larger is better, by the formula above."""
    data = np.asarray(values, dtype=float)
    n = len(data)
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    _, inverse, counts = np.unique(data, return_inverse=True, return_counts=True)
    rank_min = (np.cumsum(counts) - counts + 1)[inverse]
    return (1 + (scale * (rank_min - 1)) // n).astype(np.int8)


def rfm_scores(summary: pd.DataFrame, scale: int) -> pd.DataFrame:
    """Columns r, f, m (int8, 0 for customers without orders) and code (str or None)."""
    orders = summary["orders"].to_numpy()
    scored = orders > 0
    out = pd.DataFrame(index=summary.index)
    recency = -np.floor(summary["recency_days"].to_numpy()[scored])
    revenue = np.round(summary["revenue"].to_numpy()[scored] * 100)
    for column, values in (("r", recency), ("f", orders[scored]), ("m", revenue)):
        full = np.zeros(len(summary), dtype=np.int8)
        full[scored] = scores(values, scale)
        out[column] = full
    codes = code_strings(out["r"].to_numpy(), out["f"].to_numpy(), out["m"].to_numpy())
    out["code"] = pd.Series(codes, index=out.index, dtype=object)
    return out


def code_strings(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """'RFM' digit strings (object array), None where a score is 0 (not scored)."""
    table = np.array([f"{a}{b}{c}" for a in range(10) for b in range(10) for c in range(10)])
    codes = table.astype(object)[r.astype(int) * 100 + f.astype(int) * 10 + m.astype(int)]
    codes[(r == 0) | (f == 0) | (m == 0)] = None
    return codes


def parse_pattern(pattern: str, scale: int) -> list[set[int]] | str:
    """Three sets of allowed scores, or a problem description."""
    tokens = _TOKEN.findall(pattern)
    if "".join(tokens) != pattern or len(tokens) != 3:
        return "expected three positions, each a digit, '*' or a class like [23] or [2-5]"
    sets: list[set[int]] = []
    for token in tokens:
        allowed = _token_set(token, scale)
        if isinstance(allowed, str):
            return allowed
        sets.append(allowed)
    return sets


def _token_set(token: str, scale: int) -> set[int] | str:
    if token in ("*", "?"):
        return set(range(1, scale + 1))
    body = token.strip("[]") if token.startswith("[") else token
    allowed: set[int] = set()
    for part in re.findall(r"\d-\d|\d|.", body):
        if re.fullmatch(r"\d-\d", part):
            low, high = int(part[0]), int(part[2])
            allowed.update(range(low, high + 1))
        elif part.isdigit():
            allowed.add(int(part))
        else:
            return f"unexpected {part!r} in {token!r}"
    if not allowed or not allowed <= set(range(1, scale + 1)):
        return f"{token!r} allows scores outside 1..{scale}"
    return allowed


def validate_names(names: Mapping[str, str], scale: int) -> list[str]:
    """Problems with a pattern -> name map: bad patterns, bad names, unreachable names."""
    problems = []
    for pattern, name in names.items():
        parsed = parse_pattern(str(pattern), scale)
        if isinstance(parsed, str):
            problems.append(f"names[{pattern!r}]: {parsed}")
        if not _NAME.match(str(name)):
            problems.append(
                f"names[{pattern!r}]: name {name!r} must be lower-case a-z, 0-9, _ or -"
            )
    if problems:
        return problems
    reachable = set(name_table(names, scale).values())
    for name in dict.fromkeys(names.values()):
        if name not in reachable:
            problems.append(f"names: {name!r} is unreachable (earlier patterns take all its codes)")
    return problems


def effective_names(names: Mapping[str, str], scale: int) -> Mapping[str, str]:
    """The configured map, or the default for the scale when none is configured."""
    return names or DEFAULT_NAMES[scale]


def name_table(names: Mapping[str, str], scale: int) -> dict[str, str]:
    """Every code of the scale -> its segment name (first matching pattern, else 'other')."""
    compiled = [(parse_pattern(str(p), scale), n) for p, n in names.items()]
    table = {}
    digits = range(1, scale + 1)
    for code in (f"{r}{f}{m}" for r in digits for f in digits for m in digits):
        table[code] = FALLBACK_NAME
        for sets, name in compiled:
            if isinstance(sets, list) and all(int(c) in s for c, s in zip(code, sets, strict=True)):
                table[code] = name
                break
    return table


def segment_names(codes: np.ndarray, names: Mapping[str, str], scale: int) -> np.ndarray:
    """Named segment per code (object array; None where the code is None)."""
    table = name_table(effective_names(names, scale), scale)
    index, uniques = pd.factorize(pd.Series(codes, dtype=object))
    named = np.array([table.get(str(code)) for code in uniques] + [None], dtype=object)
    return np.asarray(named[np.where(index >= 0, index, len(named) - 1)], dtype=object)
