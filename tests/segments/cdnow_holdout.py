"""Calibration / holdout on the full CDNOW transactions (tests/fixtures/cdnow/CDNOW_master.txt):
fit BG/NBD on the first 39 weeks (1997-01-01 to 1997-09-30), predict each customer's repeat
orders in the next 39 weeks, and compare with what they did and with a naive baseline (each
customer keeps their past rate of repeat orders, x / T). Same-day orders count once, as in the
paper. Used by tests/segments/test_predict_holdout.py and bench/bench_predict.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from loyalsync.core.segments.predict import BetaGeoModel, fit_bgnbd
from tests.segments.cdnow import CDNOW_FILE

START = pd.Timestamp("1997-01-01")
CALIBRATION_END = pd.Timestamp("1997-09-30")  # end of week 39
HOLDOUT_WEEKS = 39.0


@dataclass(frozen=True)
class HoldoutResult:
    model: BetaGeoModel
    actual: np.ndarray
    predicted: np.ndarray
    baseline: np.ndarray
    inputs: dict[str, np.ndarray]  # the calibration frequency, recency, T and monetary

    def errors(self, guess: np.ndarray) -> dict[str, float]:
        diff = guess - self.actual
        return {
            "mae": float(np.mean(np.abs(diff))),
            "rmse": float(np.sqrt(np.mean(diff**2))),
            "aggregate_error": float(abs(guess.sum() - self.actual.sum()) / self.actual.sum()),
        }

    def lines(self) -> list[str]:
        out = [f"CDNOW holdout: {len(self.actual):,} customers, actual repeat orders "
               f"{self.actual.sum():,.0f} in the 39 holdout weeks"]  # fmt: skip
        for label, guess in (("BG/NBD", self.predicted), ("baseline x/T", self.baseline)):
            e = self.errors(guess)
            out.append(
                f"  {label:<13} predicted {guess.sum():8,.0f}  per-customer MAE {e['mae']:.3f}  "
                f"RMSE {e['rmse']:.3f}  aggregate error {e['aggregate_error']:.1%}"
            )
        return out


def daily_transactions() -> pd.DataFrame:
    """One row per customer and day: the day's orders as one, with their summed value."""
    frame = pd.read_csv(CDNOW_FILE, sep=r"\s+", dtype={"customer_id": str, "date": str})
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame.groupby(["customer_id", "date"], as_index=False)["dollar_value"].sum()


def repeat_spend(calibration: pd.DataFrame, customers: pd.Index) -> np.ndarray:
    """Each customer's mean value of their repeat orders (days after the first); 0 without."""
    ordered = calibration.sort_values(["customer_id", "date"])
    repeat = ordered[ordered.groupby("customer_id").cumcount() > 0]
    mean = repeat.groupby("customer_id")["dollar_value"].mean()
    return mean.reindex(customers, fill_value=0.0).to_numpy(float)


def holdout() -> HoldoutResult:
    days = daily_transactions()
    calibration = days[days["date"] <= CALIBRATION_END]
    grouped = calibration.groupby("customer_id")["date"]
    first, last, count = grouped.min(), grouped.max(), grouped.count()
    week = pd.Timedelta(days=7)
    end = CALIBRATION_END + pd.Timedelta(days=1)
    frequency = (count - 1).to_numpy(float)
    recency = ((last - first) / week).to_numpy(float)
    age = ((end - first) / week).to_numpy(float)
    later = days[(days["date"] > CALIBRATION_END) & (days["date"] < end + HOLDOUT_WEEKS * week)]
    actual = later.groupby("customer_id").size().reindex(count.index, fill_value=0)
    model = fit_bgnbd(frequency, recency, age)
    predicted = model.expected_orders(HOLDOUT_WEEKS, frequency, recency, age)
    baseline = frequency / age * HOLDOUT_WEEKS
    inputs = {"frequency": frequency, "recency": recency, "T": age,
              "monetary": repeat_spend(calibration, count.index)}  # fmt: skip
    return HoldoutResult(model, actual.to_numpy(float), predicted, baseline, inputs)
