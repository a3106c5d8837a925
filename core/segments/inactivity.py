"""Inactivity (`inactive:4w|3m|6m`): buyers without a valid order for a configured window.

Windows are `label -> days` (default 4w: 28, 3m: 91, 6m: 182). A customer is in exactly one
bucket, the longest window their silence has reached: silent for 100 days is `inactive:3m`,
not also `inactive:4w`, so a win-back campaign per bucket never mails anyone twice. Customers
silent for less than the shortest window, and customers who never bought, are in none. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt


def inactivity_buckets(recency_days: npt.ArrayLike, windows: Mapping[str, int]) -> np.ndarray:
    """Bucket label per customer (object array, None when active or without orders)."""
    recency = np.asarray(recency_days, dtype=float)
    out = np.full(len(recency), None, dtype=object)
    if not windows:
        return out
    ordered = sorted(windows.items(), key=lambda item: (item[1], item[0]))
    days = np.array([d for _, d in ordered], dtype=float)
    labels = np.asarray([label for label, _ in ordered], dtype=object)
    known = np.isfinite(recency)
    reached = np.searchsorted(days, recency[known], side="right") - 1
    picked = np.full(len(reached), None, dtype=object)
    picked[reached >= 0] = labels[reached[reached >= 0]]
    out[known] = picked
    return out


def validate_windows(windows: Mapping[str, int]) -> list[str]:
    """Problems with the configured windows (labels and days)."""
    problems = []
    for label, days in windows.items():
        if not label or ":" in label or " " in label:
            problems.append(f"inactivity.{label}: labels must be non-empty without ':' or blanks")
        if days <= 0:
            problems.append(f"inactivity.{label}: days must be positive, got {days}")
    return problems
