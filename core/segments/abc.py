"""ABC analysis (`abc:A|B|C`): which customers bring the bulk of the revenue.

Customers are sorted by revenue, highest first. A customer's *share before* is the revenue of
all customers with strictly more revenue, divided by the total: the customer is A while that
share is below `a` (0.80), B below `b` (0.95), C otherwise. Because ties are measured against
strictly larger revenues, equal revenues always get the same class, and the class can only get
worse as revenue falls. Customers without (positive) revenue are C. Pure numpy, no I/O.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

CLASSES = ("A", "B", "C")


def share_before(revenue: npt.ArrayLike) -> np.ndarray:
    """Share of total revenue held by customers with strictly more revenue (1.0 if none)."""
    values = np.asarray(revenue, dtype=float)
    positive = np.where(np.isfinite(values) & (values > 0), values, 0.0)
    total = positive.sum()
    if total <= 0:
        return np.ones(len(values))
    order = np.argsort(-positive, kind="stable")
    ranked = positive[order]
    before = np.cumsum(ranked) - ranked
    first_of_tie = np.searchsorted(-ranked, -ranked, side="left")
    shares = np.empty(len(values))
    shares[order] = before[first_of_tie] / total
    return np.minimum(shares, 1.0)


def abc_classes(revenue: npt.ArrayLike, a: float = 0.80, b: float = 0.95) -> np.ndarray:
    """'A', 'B' or 'C' per customer (object array), by the rule in the module docstring."""
    values = np.asarray(revenue, dtype=float)
    shares = share_before(values)
    index = np.where(shares < a, 0, np.where(shares < b, 1, 2))
    index[~(values > 0)] = 2
    return np.asarray(CLASSES, dtype=object)[index]


def share_of_customers_for(revenue: npt.ArrayLike, share: float) -> float:
    """The smallest fraction of customers (by revenue, highest first) that together make at
    least `share` of the revenue: the 'top 80% comes from x% of the customers' figure."""
    values = np.sort(np.clip(np.asarray(revenue, dtype=float), 0, None))[::-1]
    if len(values) == 0 or values.sum() <= 0:
        return 0.0
    cumulative = np.cumsum(values) / values.sum()
    needed = int(np.searchsorted(cumulative, share - 1e-12, side="left")) + 1
    return min(needed, len(values)) / len(values)
