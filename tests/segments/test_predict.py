"""BG/NBD and Gamma-Gamma against the published CDNOW results, synthetic recovery and the
calibration / holdout check on the full CDNOW transactions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from loyalsync.core.segments.predict import (
    CHUNKED_FROM,
    _bgnbd_terms,
    _chunks,
    _gamma_gamma_terms,
    _spend_data,
    customer_lifetime_value,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
)
from loyalsync.core.segments.predict_sample import sample_bgnbd

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cdnow"


@pytest.fixture(scope="module")
def cdnow_summary() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def cdnow_repeat_spend() -> pd.DataFrame:
    """Repeat buyers of the sample's 39 calibration weeks: repeat orders (distinct days) and the
    mean value of those repeat orders."""
    sample = pd.read_csv(
        FIXTURES / "CDNOW_sample.txt", sep=r"\s+", header=None,
        names=["full_id", "id", "date", "cds", "value"], dtype={"date": str},
    )  # fmt: skip
    sample["date"] = pd.to_datetime(sample["date"], format="%Y%m%d")
    calibration = sample[sample["date"] <= "1997-09-30"]
    daily = calibration.groupby(["id", "date"], as_index=False)["value"].sum()
    daily = daily.sort_values(["id", "date"])
    repeat = daily[daily.groupby("id").cumcount() > 0]
    return repeat.groupby("id")["value"].agg(frequency="count", monetary="mean")


def test_bgnbd_reproduces_the_published_cdnow_fit(cdnow_summary: pd.DataFrame) -> None:
    model = fit_bgnbd(cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"])
    assert model.report.converged, model.report.message
    # Fader, Hardie and Lee (2005), table 1 / section 5
    assert (round(model.r, 3), round(model.alpha, 3)) == (0.243, 4.414)
    assert (round(model.a, 3), round(model.b, 3)) == (0.793, 2.426)
    assert round(model.log_likelihood, 1) == -9582.4
    assert model.customers == 2357


def test_published_predictions_for_cdnow(cdnow_summary: pd.DataFrame) -> None:
    model = fit_bgnbd(cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"])
    # the paper's worked example: x = 2, t_x = 30.43, T = 38.86 expects 1.226 orders in 39 weeks
    expected = model.expected_orders(39.0, np.array([2]), np.array([30.43]), np.array([38.86]))
    assert expected[0] == pytest.approx(1.226, abs=0.001)
    alive = model.probability_alive(np.array([0, 2]), np.array([0.0, 30.43]), np.array([38.86] * 2))
    assert alive[0] == 1.0 and 0 < alive[1] < 1


def test_weights_fit_identical_rows_once(cdnow_summary: pd.DataFrame) -> None:
    s = cdnow_summary.iloc[:400]
    doubled = pd.concat([s, s.iloc[:100]])
    expanded = fit_bgnbd(doubled["frequency"], doubled["recency"], doubled["T"])
    weights = np.r_[np.full(100, 2.0), np.ones(300)]
    weighted = fit_bgnbd(s["frequency"], s["recency"], s["T"], weights=weights)
    assert weighted.log_likelihood == pytest.approx(expanded.log_likelihood, rel=1e-9)
    assert weighted.r == pytest.approx(expanded.r, rel=1e-5)


def test_analytic_gradient_matches_finite_differences(cdnow_summary: pd.DataFrame) -> None:
    x = cdnow_summary["frequency"].to_numpy(float)
    tx, age = cdnow_summary["recency"].to_numpy(float), cdnow_summary["T"].to_numpy(float)
    xs, index = np.unique(x, return_inverse=True)
    theta, w = np.log([0.4, 6.0, 0.6, 1.7]), np.ones(len(x))
    value, gradient = _bgnbd_terms(theta, xs, index, tx, age, w)
    step = 1e-6
    numeric = [
        (_bgnbd_terms(theta + step * e, xs, index, tx, age, w)[0] - value) / step for e in np.eye(4)
    ]
    assert gradient == pytest.approx(numeric, rel=1e-4, abs=1e-3)


def test_large_fits_sum_in_chunks_to_the_same_fit() -> None:
    """Past CHUNKED_FROM rows the likelihood is summed over row chunks on threads: the fit is
    the one a single sum gives (the chunked sum is compared with the plain one)."""
    rng = np.random.default_rng(3)
    age = np.round(rng.uniform(30, 900, CHUNKED_FROM + 20_000))
    h = sample_bgnbd(rng, age, 0.6, 60.0, 0.8, 2.5, spend=(6.0, 4.0, 15.0))
    x, tx = h.frequency, np.round(h.recency)
    parts = _chunks(len(x))
    assert len(parts) > 1 and parts[0].start == 0 and parts[-1].stop == len(x)
    xs, index = np.unique(x, return_inverse=True)
    theta, w = np.log([0.5, 50.0, 0.7, 2.0]), np.ones(len(x))
    whole = _bgnbd_terms(theta, xs, index, tx, h.T, w)
    pieces = [_bgnbd_terms(theta, xs, index[at], tx[at], h.T[at], w[at]) for at in parts]
    assert sum(p[0] for p in pieces) == pytest.approx(whole[0], rel=1e-12)
    model = fit_bgnbd(x, tx, h.T)
    assert model.report.converged
    assert (model.r, model.alpha, model.a, model.b) == pytest.approx((0.6, 60.0, 0.8, 2.5), rel=0.1)
    repeat = (x > 0) & (h.monetary > 0)
    spend = fit_gamma_gamma(x[repeat], h.monetary[repeat])
    data = _spend_data(x[repeat], h.monetary[repeat], np.ones(int(repeat.sum())))
    gg_theta = np.log([5.0, 3.0, 12.0])
    plain = _gamma_gamma_terms(gg_theta, data)
    chunked = _gamma_gamma_terms(gg_theta, data, _chunks(int(repeat.sum())))
    assert chunked[0] == pytest.approx(plain[0], rel=1e-12)
    assert chunked[1] == pytest.approx(plain[1], rel=1e-9)
    assert spend.report.converged
    assert spend.p == pytest.approx(6.0, rel=0.15) and spend.v == pytest.approx(15.0, rel=0.25)


def _independent_gamma_gamma_ll(p: float, q: float, v: float, x: np.ndarray, m: np.ndarray):
    """The Gamma-Gamma log-likelihood by numerical integration over nu ~ Gamma(q, v): the mean of
    x Gamma(p, nu) values is Gamma(p x, x nu). No closed form involved."""
    grid = np.geomspace(1e-5, 50.0, 6000)
    prior = stats.gamma.pdf(grid, q, scale=1.0 / v)
    density = stats.gamma.pdf(m[:, None], (p * x)[:, None], scale=1.0 / (x[:, None] * grid))
    return float(np.log(np.trapezoid(density * prior, grid, axis=1)).sum())


def test_gamma_gamma_on_cdnow_repeat_buyers(cdnow_repeat_spend: pd.DataFrame) -> None:
    x = cdnow_repeat_spend["frequency"].to_numpy(float)
    m = cdnow_repeat_spend["monetary"].to_numpy(float)
    assert len(x) == 946
    model = fit_gamma_gamma(x, m)
    assert model.report.converged
    # Fader, Hardie and Lee (2005), "RFM and CLV": p = 6.25, q = 3.74, gamma = 15.44
    assert (round(model.p, 2), round(model.q, 2), round(model.v, 2)) == (6.25, 3.74, 15.44)
    independent = _independent_gamma_gamma_ll(model.p, model.q, model.v, x, m)
    assert model.log_likelihood == pytest.approx(independent, abs=0.05)
    assert gamma_gamma_log_likelihood(model.p, model.q, model.v, x, m).sum() == pytest.approx(
        model.log_likelihood, rel=1e-12
    )
    for scale in ([1.03, 1, 1], [0.97, 1, 1], [1, 1.03, 1], [1, 0.97, 1], [1, 1, 1.03]):
        p, q, v = np.array([model.p, model.q, model.v]) * scale
        assert _independent_gamma_gamma_ll(p, q, v, x, m) < independent
    spend = model.expected_spend(np.array([0, 2, 20]), np.array([np.nan, 30.0, 30.0]))
    assert spend[0] == pytest.approx(model.population_mean)
    # shrunk towards the population mean (35.2), less so with more orders
    assert spend[0] > spend[1] > spend[2] > 30.0


def test_synthetic_parameters_are_recovered() -> None:
    rng = np.random.default_rng(2005)
    truth = (0.6, 60.0, 0.8, 2.5)
    age = np.round(rng.uniform(30, 720, 60_000))
    h = sample_bgnbd(rng, age, *truth, spend=(6.0, 4.0, 15.0))
    model = fit_bgnbd(h.frequency, h.recency, h.T)
    assert model.report.converged
    fitted = (model.r, model.alpha, model.a, model.b)
    assert fitted == pytest.approx(truth, rel=0.12)
    repeat = h.frequency > 0
    spend = fit_gamma_gamma(h.frequency[repeat], h.monetary[repeat])
    assert (spend.p, spend.q, spend.v) == pytest.approx((6.0, 4.0, 15.0), rel=0.12)


def test_clv_discounting(cdnow_summary: pd.DataFrame) -> None:
    model = fit_bgnbd(cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"])
    x, tx, age = np.array([2, 2]), np.array([30.43, 30.43]), np.array([38.86, 38.86])
    month = 52 / 12
    flat = customer_lifetime_value(
        model, np.array([10.0, 20.0]), x, tx, age, months=12, month_length=month,
        monthly_discount=0.0,
    )  # fmt: skip
    assert flat[0] == pytest.approx(10 * model.expected_orders(12 * month, x, tx, age)[0])
    assert flat[1] == pytest.approx(2 * flat[0])
    discounted = customer_lifetime_value(
        model, np.array([10.0, 20.0]), x, tx, age, months=12, month_length=month,
        monthly_discount=0.01,
    )  # fmt: skip
    assert 0.9 * flat[0] < discounted[0] < flat[0]


def test_invalid_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="recency <= T"):
        fit_bgnbd(np.array([1.0]), np.array([5.0]), np.array([3.0]))
    with pytest.raises(ValueError, match="repeat buyers"):
        fit_gamma_gamma(np.array([0.0, 1.0]), np.array([10.0, 12.0]))
