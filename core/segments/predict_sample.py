"""Customers drawn from known BG/NBD and Gamma-Gamma parameters, for tests and benchmarks.

The generative story of the models (Fader, Hardie and Lee 2005): each customer buys at rate
lambda ~ Gamma(r, alpha) while active and drops out after each repeat order with probability
p ~ Beta(a, b); each order's value is Gamma(p_spend, nu) with nu ~ Gamma(q, v). Vectorised over
customers, one step per order. Pure: the randomness arrives as a numpy Generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SampledHistory:
    """Frequency (repeat orders), recency and age T per customer, and the mean spend of the
    repeat orders (NaN without one)."""

    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    monetary: np.ndarray


def sample_bgnbd(
    rng: np.random.Generator,
    T: np.ndarray,
    r: float,
    alpha: float,
    a: float,
    b: float,
    spend: tuple[float, float, float] | None = None,
) -> SampledHistory:
    """Histories observed for `T` time units after each first order. `spend` = (p, q, v) of the
    Gamma-Gamma model; without it monetary is NaN."""
    age = np.asarray(T, dtype=float)
    n = len(age)
    rate = rng.gamma(r, 1.0 / alpha, n)
    drop = rng.beta(a, b, n)
    clock = np.zeros(n)
    last = np.zeros(n)
    count = np.zeros(n)
    active = np.arange(n)
    while len(active):
        clock[active] += rng.exponential(1.0, len(active)) / rate[active]
        seen = clock[active] <= age[active]
        active = active[seen]
        count[active] += 1
        last[active] = clock[active]
        active = active[rng.random(len(active)) >= drop[active]]
    monetary = np.full(n, np.nan)
    if spend is not None:
        p, q, v = spend
        nu = rng.gamma(q, 1.0 / v, n)
        repeat = count > 0
        # the mean of x Gamma(p, nu) order values is Gamma(p x, x nu)
        monetary[repeat] = rng.gamma(p * count[repeat], 1.0 / (count[repeat] * nu[repeat]))
    return SampledHistory(count, last, age, monetary)
