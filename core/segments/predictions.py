"""Per-customer predictions from the customer summary: the `predict:` family, the prediction
fields of rule conditions and the contact-due date that `lifecycle:` uses.

`customer_predictions(summary, cfg, as_of)` fits BG/NBD and Gamma-Gamma (`predict.py`) on the
buyers of the summary, in days, and returns a `Predictions` whose `frame` has one row per summary
row (NaN / NaT for customers without a valid order) with the columns in `FIELDS`:

    p_alive              P(still an active customer)
    expected_orders_90   expected orders in the next 90 days (and _365 for a year)
    expected_order_value expected value of the next order (Gamma-Gamma)
    clv                  discounted expected revenue over `clv_months` months
    contact_due_at       when, without a new order, to contact the customer: the day P(active)
                         falls below `alive_threshold` (contact_due: p_alive) or the gap exceeds
                         `interval_factor` x the customer's usual interval (contact_due: interval;
                         always for one-time buyers, whom BG/NBD never counts as inactive)
    churn_risk           high | medium | low: P(active) against the configured bands; one-time
                         buyers by their gap (beyond the interval factor: medium; beyond
                         lifecycle.lost_factor: high)

Frequency is the count of repeat orders (orders - 1), recency and age are whole days from the
first order. Spend is the customer's mean order value. When the data cannot support a model (too
few repeat buyers, too short a history, a fit that did not converge) the frame is None (or its
spend columns NaN) and `warnings` names the requirement: rules on prediction fields then match
nobody, the `predict:` family is empty, and lifecycle keeps its interval rule. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from loyalsync.core.config import LifecycleConfig, PredictConfig, SegmentationConfig
from loyalsync.core.segments import lifecycle
from loyalsync.core.segments.predict import (
    BetaGeoModel,
    GammaGammaModel,
    customer_lifetime_value,
    dedupe,
    fit_bgnbd,
    fit_gamma_gamma,
)
from loyalsync.core.segments.summary import utc_timestamp

FIELDS = {
    "p_alive": "number", "expected_orders_90": "number", "expected_orders_365": "number",
    "expected_order_value": "number", "clv": "number", "contact_due_at": "time",
}  # fmt: skip
RISKS = ("churn_risk_high", "churn_risk_medium", "churn_risk_low")
CLV_TOP = "clv_top10"
VALUES = (*RISKS, CLV_TOP)
MONTH_DAYS = 365.25 / 12


@dataclass(frozen=True)
class Predictions:
    """Per-customer predictions (`frame`, aligned with the summary rows; None when skipped),
    the fitted models and the warnings about skipped parts."""

    frame: pd.DataFrame | None = field(repr=False)
    bgnbd: BetaGeoModel | None = None
    gamma_gamma: GammaGammaModel | None = None
    warnings: tuple[str, ...] = ()

    @property
    def available(self) -> bool:
        return self.frame is not None


def config_problems(cfg: PredictConfig) -> list[str]:
    """Problems in `segmentation.predict` (paths relative to segmentation)."""
    problems = []
    if not 0 < cfg.alive_threshold < 1:
        problems.append("predict.alive_threshold: must be between 0 and 1 (exclusive)")
    if not 0 < cfg.high_risk_below <= cfg.medium_risk_below <= 1:
        problems.append("predict: need 0 < high_risk_below <= medium_risk_below <= 1")
    if cfg.interval_factor <= 0:
        problems.append("predict.interval_factor: must be greater than 0")
    if not 1 <= cfg.clv_months <= 120:
        problems.append("predict.clv_months: must be between 1 and 120")
    if not 0 <= cfg.monthly_discount < 1:
        problems.append("predict.monthly_discount: must be in [0, 1)")
    if cfg.min_repeat_buyers < 2:
        problems.append("predict.min_repeat_buyers: must be at least 2")
    if cfg.min_history_days < 1:
        problems.append("predict.min_history_days: must be at least 1")
    return problems


@dataclass(frozen=True)
class _History:
    """The model inputs of the buyers: rows into the summary, x, t_x and T in whole days."""

    rows: np.ndarray
    frequency: np.ndarray
    recency: np.ndarray
    age: np.ndarray
    spend: np.ndarray


def _history(summary: pd.DataFrame) -> _History:
    orders = summary["orders"].to_numpy()
    known = np.isfinite(summary["tenure_days"].to_numpy(dtype=float)) & np.isfinite(
        summary["recency_days"].to_numpy(dtype=float)
    )
    rows = np.flatnonzero((orders > 0) & known)  # a buyer without order dates: no prediction
    age = np.round(summary["tenure_days"].to_numpy(dtype=float)[rows])
    silent = np.round(summary["recency_days"].to_numpy(dtype=float)[rows])
    recency = np.clip(age - silent, 0.0, age)
    spend = summary["avg_order_value"].to_numpy(dtype=float)[rows]
    return _History(rows, orders[rows] - 1.0, recency, np.maximum(age, 0.0), spend)


def requirement_problem(h: _History, cfg: PredictConfig) -> str | None:
    """Why the buyers cannot support a model, naming the requirement; None if they can."""
    repeat = int(np.count_nonzero(h.frequency > 0))
    if repeat < cfg.min_repeat_buyers:
        return (
            f"predictions skipped: too few repeat buyers ({repeat}, need at least "
            f"{cfg.min_repeat_buyers}: segmentation.predict.min_repeat_buyers)"
        )
    history = float(h.age.max()) if len(h.age) else 0.0
    if history < cfg.min_history_days:
        return (
            f"predictions skipped: too short a history (the first order is {history:.0f} days "
            f"old, need {cfg.min_history_days}: segmentation.predict.min_history_days)"
        )
    return None


def customer_predictions(
    summary: pd.DataFrame, cfg: SegmentationConfig, as_of: datetime
) -> Predictions:
    """The predictions described in the module docstring (never raises on data)."""
    pc = cfg.predict
    if not pc.enabled:
        return Predictions(None)
    h = _history(summary)
    problem = requirement_problem(h, pc)
    if problem:
        return Predictions(None, warnings=(problem,))
    model = fit_bgnbd(h.frequency, h.recency, h.age)
    if not model.report.converged or not model.a < 1e6:
        return Predictions(
            None, model, warnings=(f"predictions skipped: the BG/NBD fit {model.report.message}",)
        )
    spend_model, warnings = _spend_model(h)
    frame = _frame(summary, h, model, spend_model, cfg, as_of)
    return Predictions(frame, model, spend_model, warnings)


def _spend_model(h: _History) -> tuple[GammaGammaModel | None, tuple[str, ...]]:
    repeat = (h.frequency > 0) & (h.spend > 0)
    if np.count_nonzero(repeat) < 2:
        return None, ("order values and CLV skipped: no repeat buyers with a positive spend",)
    model = fit_gamma_gamma(h.frequency[repeat], h.spend[repeat])
    if not model.report.converged or model.q <= 1:
        reason = model.report.message if not model.report.converged else "q <= 1 (no finite mean)"
        return None, (f"order values and CLV skipped: the Gamma-Gamma fit: {reason}",)
    return model, ()


def _frame(
    summary: pd.DataFrame,
    h: _History,
    model: BetaGeoModel,
    spend_model: GammaGammaModel | None,
    cfg: SegmentationConfig,
    as_of: datetime,
) -> pd.DataFrame:
    (x, tx, age), _, inverse = dedupe(h.frequency, h.recency, h.age)
    alive = model.probability_alive(x, tx, age)
    values: dict[str, np.ndarray] = {
        "p_alive": alive,
        "expected_orders_90": model.expected_orders(90.0, x, tx, age),
        "expected_orders_365": model.expected_orders(365.0, x, tx, age),
    }
    per_buyer = {name: column[inverse] for name, column in values.items()}
    if spend_model is not None:
        spend = spend_model.expected_spend(h.frequency, h.spend)
        unit_clv = customer_lifetime_value(
            model, np.ones(len(x)), x, tx, age, months=cfg.predict.clv_months,
            month_length=MONTH_DAYS, monthly_discount=cfg.predict.monthly_discount,
        )[inverse]  # fmt: skip
        per_buyer["expected_order_value"] = spend
        per_buyer["clv"] = unit_clv * spend
    frame = pd.DataFrame(index=summary.index)
    for name in FIELDS:
        column = np.full(len(summary), np.nan)
        if name in per_buyer:
            column[h.rows] = per_buyer[name]
        frame[name] = column
    due_days = _due_days(summary, h, model, cfg)
    frame["contact_due_at"] = _due_times(summary, h, due_days)
    frame["churn_risk"] = _churn_risk(summary, h, per_buyer["p_alive"], cfg, as_of)
    return frame


def _due_days(
    summary: pd.DataFrame, h: _History, model: BetaGeoModel, cfg: SegmentationConfig
) -> np.ndarray:
    """Days from each buyer's first order to the contact-due date."""
    typical = lifecycle.shop_interval(summary, cfg.lifecycle)
    interval = lifecycle.expected_interval(summary.iloc[h.rows], typical)
    by_gap = h.recency + cfg.predict.interval_factor * interval
    if cfg.predict.contact_due == "interval":
        return np.asarray(by_gap, dtype=float)
    by_alive = model.alive_until(cfg.predict.alive_threshold, h.frequency, h.recency)
    return np.asarray(np.where(np.isfinite(by_alive), by_alive, by_gap), dtype=float)


def _due_times(summary: pd.DataFrame, h: _History, due_days: np.ndarray) -> pd.Series:
    """First order's day + the due days (rounded up), UTC; NaT for non-buyers (in numpy: a
    column of a million tz-aware Timestamps would cost seconds)."""
    first = summary["first_order_at"].iloc[h.rows]
    days = first.dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("D").to_numpy()
    known = np.isfinite(due_days)
    offset = np.where(known, np.ceil(np.where(known, due_days, 0.0)), 0).astype(np.int64)
    due = days + offset * np.timedelta64(1, "D")
    due[~known] = np.datetime64("NaT")
    out = np.full(len(summary), np.datetime64("NaT"), dtype=days.dtype)
    out[h.rows] = due
    utc = pd.DatetimeIndex(out).tz_localize("UTC")
    return pd.Series(utc, index=summary.index).astype(first.dtype)


def _churn_risk(
    summary: pd.DataFrame,
    h: _History,
    alive: np.ndarray,
    cfg: SegmentationConfig,
    as_of: datetime,
) -> np.ndarray:
    pc, lc = cfg.predict, cfg.lifecycle
    level = np.where(alive < pc.high_risk_below, 0, np.where(alive < pc.medium_risk_below, 1, 2))
    once = h.frequency == 0
    if once.any():
        gap = _gap_ratio(summary, h, lc)
        by_gap = np.where(gap > lc.lost_factor, 0, np.where(gap > pc.interval_factor, 1, 2))
        level = np.where(once, by_gap, level)
    names = np.asarray([*RISKS, None], dtype=object)
    full = np.full(len(summary), len(RISKS))
    full[h.rows] = level
    return names[full]


def _gap_ratio(summary: pd.DataFrame, h: _History, lc: LifecycleConfig) -> np.ndarray:
    typical = lifecycle.shop_interval(summary, lc)
    interval = lifecycle.expected_interval(summary.iloc[h.rows], typical)
    return np.asarray((h.age - h.recency) / interval, dtype=float)


def predict_columns(predictions: Predictions) -> list[tuple[str, np.ndarray]]:
    """The `predict` family columns for the engine: churn risk, and the top 10% by CLV."""
    frame = predictions.frame
    if frame is None:
        return []
    out: list[tuple[str, np.ndarray]] = [("predict", frame["churn_risk"].to_numpy(dtype=object))]
    clv = frame["clv"].to_numpy(dtype=float)
    known = np.isfinite(clv)
    if known.any():
        cut = np.quantile(clv[known], 0.9)
        top = np.full(len(frame), None, dtype=object)
        top[known & (clv >= cut) & (clv > 0)] = CLV_TOP
        out.append(("predict", top))
    return out


def overdue(predictions: Predictions, as_of: datetime) -> np.ndarray | None:
    """Mask of customers whose contact-due date has passed (None without predictions)."""
    if predictions.frame is None:
        return None
    due = predictions.frame["contact_due_at"]
    return np.asarray((due <= utc_timestamp(as_of)).fillna(False).to_numpy(dtype=bool))
