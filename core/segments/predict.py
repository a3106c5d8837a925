"""Buy-till-you-die models: BG/NBD for repeat orders, Gamma-Gamma for spend, and CLV from both.

Owns the statistics only: arrays in, fitted parameters and arrays out. No frames, no config,
no clock (`predictions.py` turns a customer summary into per-customer predictions).

BG/NBD (Fader, Hardie and Lee 2005, "Counting Your Customers the Easy Way"), fitted by maximum
likelihood on the frequency x (repeat orders), recency t_x (first to last order) and age T (first
order to the end of the observation) of each customer, per customer:

    A1 = lgamma(r + x) - lgamma(r) + r ln(alpha)
    A2 = betaln(a, b + x) - betaln(a, b)
    A3 = -(r + x) ln(alpha + T)
    A4 = ln(a) - ln(b + x - 1) - (r + x) ln(alpha + t_x)          (x > 0 only)
    LL = A1 + A2 + ln(exp(A3) + [x > 0] exp(A4))                  (a log-sum-exp)

The parameters are optimised in log space (always positive) with the analytic gradient by
L-BFGS-B; identical (x, t_x, T) rows are fitted once with a weight, and the terms that depend on x
alone are computed once per distinct x. Gamma-Gamma (Fader, Hardie and Lee 2005, "RFM and CLV:
Using Iso-Value Curves") models the mean spend m_x of the x repeat orders of repeat buyers.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

Array = np.ndarray
LOG_BOUND = 12.0  # parameters in exp(-12) .. exp(12): beyond that the fit is degenerate
GRADIENT_TOLERANCE = 1e-5  # on the mean log-likelihood per customer (scale free)
# Large fits sum the log-likelihood over this many contiguous row chunks, on up to as many
# threads (numpy's ufuncs release the GIL). The chunking is fixed, not taken from the machine,
# so a fit gives the same bits everywhere; small fits stay in one piece.
CHUNKS, CHUNKED_FROM = 4, 100_000


@dataclass(frozen=True)
class FitReport:
    """How an optimisation ended: `converged` is False when the optimiser gave up, a parameter
    ran into its bound or the gradient is not near zero; `message` says which."""

    converged: bool
    iterations: int
    gradient_norm: float
    message: str


def dedupe(*columns: Array) -> tuple[list[Array], Array, Array]:
    """The distinct rows of the columns, their counts, and each input row's distinct row
    (hash-based, in first-seen order)."""
    inverse = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:  # codes stay below rows x distinct values: no overflow
        local, uniques = pd.factorize(np.asarray(column, dtype=float))
        inverse = pd.factorize(inverse * (len(uniques) + 1) + local)[0]
    seen = np.maximum.accumulate(inverse)  # codes are numbered in first-seen order
    first = np.flatnonzero(np.r_[True, seen[1:] > seen[:-1]]) if len(seen) else seen
    counts = np.bincount(inverse, minlength=len(first)).astype(float)
    return [np.asarray(c, dtype=float)[first] for c in columns], counts, inverse


def _chunks(rows: int) -> list[slice]:
    """Contiguous row ranges for a chunked sum (one range for small fits)."""
    if rows < CHUNKED_FROM:
        return [slice(0, rows)]
    cuts = np.linspace(0, rows, CHUNKS + 1).astype(int)
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(cuts)]


def _summed(
    terms: Callable[[slice], tuple[Any, ...]],
    parts: Sequence[slice],
    pool: ThreadPoolExecutor | None = None,
) -> tuple[Any, ...]:
    """The element-wise sum of the tuples `terms` gives for each row range, added in order
    (the same bits however many threads ran them)."""
    results = [terms(at) for at in parts] if pool is None else list(pool.map(terms, parts))
    total = results[0]
    for result in results[1:]:
        total = tuple(a + b for a, b in zip(total, result, strict=True))
    return total


def _pool(parts: Sequence[slice]) -> ThreadPoolExecutor | None:
    """Threads for a chunked sum (None for one chunk or one core)."""
    workers = min(len(parts), os.cpu_count() or 1)
    return ThreadPoolExecutor(workers) if workers > 1 else None


def _optimise(
    objective: Callable[[Array], tuple[float, Array]], start: Array
) -> tuple[Array, float, FitReport]:
    """Minimise the negative mean log-likelihood in log space; (log params, mean LL, report)."""
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    result = minimize(
        objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
        options={"maxiter": 500, "gtol": GRADIENT_TOLERANCE * 1e-2, "ftol": 1e-14},
    )  # fmt: skip
    theta = np.asarray(result.x, dtype=float)
    _, gradient = objective(theta)
    norm = float(np.max(np.abs(gradient)))
    at_bound = bool(np.any(np.abs(theta) >= LOG_BOUND - 1e-6))
    converged = bool(np.isfinite(result.fun)) and norm < GRADIENT_TOLERANCE and not at_bound
    if at_bound:
        message = "a parameter ran into its bound (the data cannot identify the model)"
    elif not converged:
        message = f"the optimiser stopped with gradient {norm:.2g}: {result.message}"
    else:
        message = "converged"
    return theta, -float(result.fun), FitReport(converged, int(result.nit), norm, message)


# ---------------------------------------------------------------------------------------------
# BG/NBD


def _bgnbd_terms(
    theta: Array, xs: Array, x_index: Array, recency: Array, T: Array, weights: Array
) -> tuple[float, Array]:
    """Weighted sum of the log-likelihood and its gradient in log space. `xs` are the distinct
    frequencies, `x_index` each row's position in `xs` (so x-only terms are computed per x)."""
    r, alpha, a, b = np.exp(theta)
    rx = r + xs
    a1 = gammaln(rx) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + xs) - betaln(a, b)
    repeat = xs > 0
    log_a_b = np.where(repeat, np.log(a) - np.log(np.where(repeat, b + xs - 1, 1.0)), -np.inf)
    rx_row = rx[x_index]
    log_t = np.log(alpha + T)
    log_tx = np.log(alpha + recency)
    a3 = -rx_row * log_t
    a4 = log_a_b[x_index] - rx_row * log_tx
    top = np.maximum(a3, a4)
    e3, e4 = np.exp(a3 - top), np.exp(a4 - top)
    total = e3 + e4
    ll = a1[x_index] + a2[x_index] + top + np.log(total)
    w3, w4 = weights * e3 / total, weights * e4 / total
    per_x = np.bincount(x_index, weights=weights, minlength=len(xs))
    d_r = per_x @ (digamma(rx) - digamma(r) + np.log(alpha)) - w3 @ log_t - w4 @ log_tx
    d_alpha = weights.sum() * r / alpha - (w3 * rx_row) @ (1 / (alpha + T))
    d_alpha -= (w4 * rx_row) @ (1 / (alpha + recency))
    w4_x = np.bincount(x_index, weights=w4, minlength=len(xs))
    ab = digamma(a + b) - digamma(a + b + xs)
    d_a = per_x @ ab + w4_x.sum() / a
    d_b = per_x @ (ab + digamma(b + xs) - digamma(b)) - w4_x @ np.where(
        repeat, 1 / np.where(repeat, b + xs - 1, 1.0), 0.0
    )
    gradient = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
    return float(weights @ ll), gradient


@dataclass(frozen=True)
class BetaGeoModel:
    """A fitted BG/NBD model; recency, T and t in the time unit of the fit."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float  # the sum over customers
    report: FitReport
    customers: int

    def _log_odds_dead(self, frequency: Array, recency: Array, T: Array) -> Array:
        """ln of P(inactive) / P(active) given the history; -inf for x = 0 (never dead)."""
        x = np.asarray(frequency, dtype=float)
        repeat = x > 0
        base = np.log(self.a) - np.log(np.where(repeat, self.b + x - 1, 1.0))
        ratio = np.log(self.alpha + np.asarray(T, float)) - np.log(
            self.alpha + np.asarray(recency, float)
        )
        return np.where(repeat, base + (self.r + x) * ratio, -np.inf)

    def probability_alive(self, frequency: Array, recency: Array, T: Array) -> Array:
        """P(the customer is still active | x, t_x, T)."""
        return np.asarray(expit(-self._log_odds_dead(frequency, recency, T)), dtype=float)

    def expected_orders(
        self, t: float | Array, frequency: Array, recency: Array, T: Array
    ) -> Array:
        """E[repeat orders in (T, T + t] | x, t_x, T] (equation 10 of the paper)."""
        t, x, tx, age = np.broadcast_arrays(
            *(np.asarray(v, float) for v in (t, frequency, recency, T))
        )
        shape = x.shape
        t, x, tx, age = (v.ravel() for v in (t, x, tx, age))
        orders = self.orders_if_active(t, x, age) * self.probability_alive(x, tx, age)
        return np.asarray(orders.reshape(shape), dtype=float)

    def orders_if_active(self, t: Array, frequency: Array, T: Array) -> Array:
        """E[repeat orders in (T, T + t]] of a customer still active after x repeat orders:
        (a + b + x - 1) / (a - 1) [1 - ((alpha + T) / (alpha + T + t))^(r + x) 2F1(r + x,
        b + x; a + b + x - 1; t / (alpha + T + t))]. It depends on (t, x, T) only, so the
        hypergeometric function is evaluated once per distinct triple."""
        (ut, ux, uage), _, inverse = dedupe(t, frequency, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = ut / (alpha + uage + ut)
        power = np.exp((r + ux) * (np.log(alpha + uage) - np.log(alpha + uage + ut)))
        head = (a + b + ux - 1) / (a - 1)
        body = 1 - power * hyp2f1(r + ux, b + ux, a + b + ux - 1, z)
        return np.asarray((head * body)[inverse], dtype=float)

    def alive_until(self, threshold: float, frequency: Array, recency: Array) -> Array:
        """The age T at which P(alive) reaches `threshold` without a new order (inf for x = 0,
        whom BG/NBD never counts as inactive)."""
        x = np.asarray(frequency, dtype=float)
        repeat = x > 0
        base = np.log(self.a) - np.log(np.where(repeat, self.b + x - 1, 1.0))
        odds = np.log((1 - threshold) / threshold)
        growth = np.exp((odds - base) / (self.r + x))
        age = (self.alpha + np.asarray(recency, float)) * growth - self.alpha
        return np.where(repeat, np.maximum(age, np.asarray(recency, float)), np.inf)


def bgnbd_start(frequency: Array, T: Array, weights: Array) -> Array:
    """Starting values in log space: r = 1, alpha matching the mean rate, a = b = 1."""
    rate = max(float(weights @ frequency), 1e-9) / max(float(weights @ T), 1e-9)
    return np.log(np.array([1.0, 1.0 / rate, 1.0, 1.0]))


def fit_bgnbd(
    frequency: Array, recency: Array, T: Array, weights: Array | None = None
) -> BetaGeoModel:
    """Maximum-likelihood BG/NBD fit (see the module docstring); `weights` count customers."""
    x, tx, age = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    if not (len(x) == len(tx) == len(age)) or len(x) == 0:
        raise ValueError("frequency, recency and T need the same, non-zero length")
    if np.any(x < 0) or np.any(tx < 0) or np.any(tx > age + 1e-9) or np.any(np.isnan(x + tx + age)):
        raise ValueError("need frequency >= 0 and 0 <= recency <= T, without missing values")
    given = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    (ux, utx, uage), counts, inverse = dedupe(x, tx, age)
    w = np.bincount(inverse, weights=given, minlength=len(counts))
    order = np.lexsort((uage, ux))  # sorted rows: the per-x gathers and sums run in order
    ux, utx, uage, w = ux[order], utx[order], uage[order], w[order]
    xs, x_index = np.unique(ux, return_inverse=True)
    total = float(w.sum())

    parts = _chunks(len(w))
    pool = _pool(parts)

    def objective(theta: Array) -> tuple[float, Array]:
        def terms(at: slice) -> tuple[float, Array]:
            return _bgnbd_terms(theta, xs, x_index[at], utx[at], uage[at], w[at])

        ll, gradient = _summed(terms, parts, pool)
        return -ll / total, -gradient / total

    try:
        theta, mean_ll, report = _optimise(objective, bgnbd_start(ux, uage, w))
    finally:
        if pool is not None:
            pool.shutdown()
    r, alpha, a, b = (float(v) for v in np.exp(theta))
    return BetaGeoModel(r, alpha, a, b, mean_ll * total, report, round(total))


# ---------------------------------------------------------------------------------------------
# Gamma-Gamma


@dataclass(frozen=True)
class _SpendData:
    """Gamma-Gamma inputs prepared once per fit: the distinct frequencies `xs`, each row's
    position in them, and the per-row constants."""

    xs: Array
    x_index: Array
    xm: Array  # x m: the total repeat spend
    weights: Array
    wx: Array  # weights x
    constant: Array  # weights x (ln m + ln x) per distinct x, for the gradient in p
    log_m_sum: float  # sum of weights x ln m


def _spend_data(x: Array, m: Array, weights: Array) -> _SpendData:
    xs, x_index = np.unique(x, return_inverse=True)
    per_row = weights * (np.log(m) + np.log(x))
    constant = np.bincount(x_index, weights=per_row, minlength=len(xs))
    return _SpendData(
        xs, x_index, x * m, weights, weights * x, constant, float(weights @ np.log(m))
    )


def _spend_rows(v: float, d: _SpendData, at: slice) -> tuple[Array, float, float]:
    """The row sums of one range: per x the weighted ln(x m + v), and the two weighted sums of
    1 / (x m + v) the gradient in v needs."""
    log_total = np.log(d.xm[at] + v)
    sum_by_x = np.bincount(d.x_index[at], weights=d.weights[at] * log_total, minlength=len(d.xs))
    inverse = 1 / (d.xm[at] + v)
    return sum_by_x, float(d.wx[at] @ inverse), float(d.weights[at] @ inverse)


def _gamma_gamma_terms(
    theta: Array, d: _SpendData, parts: Sequence[slice] | None = None
) -> tuple[float, Array]:
    """Weighted log-likelihood and gradient in log space; the terms in p x alone are computed
    once per distinct x, so each row costs one logarithm (summed over `parts` of the rows,
    in one thread: a few ms per million rows, less than threads would cost)."""
    p, q, v = np.exp(theta)
    pxs = p * d.xs
    per_x = np.bincount(d.x_index, weights=d.weights, minlength=len(d.xs))
    head = gammaln(pxs + q) - gammaln(pxs) - gammaln(q) + q * np.log(v)
    chunks = parts or [slice(0, len(d.xm))]
    sum_by_x, wx_inverse, w_inverse = _summed(lambda at: _spend_rows(v, d, at), chunks)
    # sum_i w_i [(p x_i - 1) ln m_i + p x_i ln x_i] = p * sum_x x (sum w (ln m + ln x)) - sum w ln m
    ll = per_x @ head + p * (d.xs @ d.constant) - d.log_m_sum - (pxs + q) @ sum_by_x
    psi = digamma(pxs + q)
    d_p = d.xs @ (per_x * (psi - digamma(pxs)) + d.constant - sum_by_x)
    d_q = per_x @ (psi - digamma(q) + np.log(v)) - sum_by_x.sum()
    d_v = float(d.weights.sum()) * q / v - p * wx_inverse - q * w_inverse
    return float(ll), np.array([d_p * p, d_q * q, d_v * v])


def gamma_gamma_log_likelihood(
    p: float, q: float, v: float, frequency: Array, monetary: Array
) -> Array:
    """Per-customer Gamma-Gamma log-likelihood of the mean spend (repeat buyers only)."""
    x, m = np.asarray(frequency, dtype=float), np.asarray(monetary, dtype=float)
    px = p * x
    return np.asarray(
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
        + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(x * m + v),
        dtype=float,
    )  # fmt: skip


@dataclass(frozen=True)
class GammaGammaModel:
    """A fitted Gamma-Gamma spend model."""

    p: float
    q: float
    v: float
    log_likelihood: float
    report: FitReport
    customers: int

    @property
    def population_mean(self) -> float:
        """The expected spend of a customer without repeat orders (needs q > 1)."""
        return self.p * self.v / (self.q - 1) if self.q > 1 else float("nan")

    def expected_spend(self, frequency: Array, monetary: Array) -> Array:
        """E[spend per order | x repeat orders of mean m_x]; the population mean for x = 0."""
        x = np.asarray(frequency, dtype=float)
        m = np.nan_to_num(np.asarray(monetary, dtype=float))
        p, q, v = self.p, self.q, self.v
        return np.asarray((p * (v + x * m)) / (p * x + q - 1), dtype=float)


def fit_gamma_gamma(
    frequency: Array, monetary: Array, weights: Array | None = None
) -> GammaGammaModel:
    """Maximum-likelihood Gamma-Gamma fit on repeat buyers (x > 0, mean spend m_x > 0)."""
    x, m = np.asarray(frequency, dtype=float), np.asarray(monetary, dtype=float)
    if len(x) != len(m) or len(x) == 0:
        raise ValueError("frequency and monetary need the same, non-zero length")
    if np.any(x <= 0) or np.any(~(m > 0)):
        raise ValueError("Gamma-Gamma needs repeat buyers: frequency > 0 and monetary > 0")
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    data = _spend_data(x, m, w)
    total = float(w.sum())

    def objective(theta: Array) -> tuple[float, Array]:
        # one logarithm per row: a few ms for a million rows, less than threads would cost
        ll, gradient = _gamma_gamma_terms(theta, data)
        return -ll / total, -gradient / total

    mean = float(w @ m) / total
    start = np.log(np.array([1.0, 2.0, mean]))  # E[spend] = p v / (q - 1) = the mean
    theta, mean_ll, report = _optimise(objective, start)
    p, q, v = (float(value) for value in np.exp(theta))
    return GammaGammaModel(p, q, v, mean_ll * total, report, round(total))


def customer_lifetime_value(
    model: BetaGeoModel,
    spend: Array,
    frequency: Array,
    recency: Array,
    T: Array,
    *,
    months: int,
    month_length: float,
    monthly_discount: float,
) -> Array:
    """Discounted expected revenue over the next `months` months: the expected orders of each
    month times the expected spend, discounted by (1 + monthly_discount) per month.
    `month_length` is a month in the time unit of the model."""
    x, tx, age = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    (ux, uage), _, inverse = dedupe(x, age)  # the month sums depend on (x, T) only
    per_pair = np.zeros(len(ux), dtype=float)
    before = np.zeros_like(per_pair)
    for month in range(1, months + 1):
        upto = model.orders_if_active(np.full(len(ux), month * month_length), ux, uage)
        per_pair += (upto - before) / (1 + monthly_discount) ** month
        before = upto
    value = per_pair[inverse] * model.probability_alive(x, tx, age)
    return np.asarray(value * np.asarray(spend, dtype=float), dtype=float)
