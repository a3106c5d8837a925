"""Per-customer predictions in segmentation: the predict: family, rule fields, the contact-due
date and lifecycle, and the data requirements that skip predictions with a warning."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from loyalsync.core.config import PredictConfig, RuleConfig, SegmentationConfig, build_config
from loyalsync.core.errors import ConfigError
from loyalsync.core.segments import lifecycle
from loyalsync.core.segments.engine import build_segments
from loyalsync.core.segments.predict_sample import sample_bgnbd
from loyalsync.core.segments.predictions import customer_predictions
from loyalsync.core.segments.references import segment_problem
from loyalsync.core.segments.summary import build_summary
from tests.segments.frames import AS_OF

CFG = SegmentationConfig()


def sampled_summary(n: int = 3000, seed: int = 11, max_age: float = 720.0) -> pd.DataFrame:
    """A summary of customers drawn from BG/NBD (days) and Gamma-Gamma."""
    rng = np.random.default_rng(seed)
    age = np.round(rng.uniform(20, max_age, n))
    h = sample_bgnbd(rng, age, 0.6, 60.0, 0.8, 2.5, spend=(6.0, 4.0, 15.0))
    first = pd.Timestamp(AS_OF) - pd.to_timedelta(age, unit="D")
    last = first + pd.to_timedelta(np.round(h.recency), unit="D")
    spend = np.where(h.frequency > 0, h.monetary, 25.0)
    raw = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "orders": (h.frequency + 1).astype(int),
            "revenue": spend * (h.frequency + 1),
            "first_order_at": first,
            "last_order_at": last,
            "created_at": first,
        }
    )
    return build_summary(raw, AS_OF)


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    return sampled_summary()


def test_per_customer_predictions(summary: pd.DataFrame) -> None:
    got = customer_predictions(summary, CFG, AS_OF)
    assert got.available and not got.warnings and got.bgnbd and got.gamma_gamma
    frame = got.frame
    assert frame is not None and len(frame) == len(summary)
    assert ((frame["p_alive"] >= 0) & (frame["p_alive"] <= 1)).all()
    assert (frame["expected_orders_365"] >= frame["expected_orders_90"]).all()
    assert (frame["clv"] > 0).all() and (frame["expected_order_value"] > 0).all()
    assert got.bgnbd.r == pytest.approx(0.6, rel=0.3)  # fitted in days on the summary


def test_contact_due_is_when_p_alive_crosses_the_threshold(summary: pd.DataFrame) -> None:
    got = customer_predictions(summary, CFG, AS_OF)
    assert got.frame is not None and got.bgnbd is not None
    repeat = (summary["orders"] > 1).to_numpy()
    first = summary["first_order_at"].dt.floor("D")[repeat]
    due_age = ((got.frame["contact_due_at"][repeat] - first).dt.days).to_numpy(float)
    x = summary["orders"].to_numpy(float)[repeat] - 1
    tx = np.round(summary["tenure_days"])[repeat] - np.round(summary["recency_days"])[repeat]
    at_due = got.bgnbd.probability_alive(x, tx.to_numpy(), due_age)
    before = got.bgnbd.probability_alive(x, tx.to_numpy(), np.maximum(due_age - 1, tx))
    assert (at_due < 0.5).all()
    assert ((before >= 0.5) | (due_age - 1 < tx)).all()


def test_interval_contact_rule_and_one_time_buyers(summary: pd.DataFrame) -> None:
    cfg = replace(CFG, predict=PredictConfig(contact_due="interval", interval_factor=2.0))
    got = customer_predictions(summary, cfg, AS_OF)
    assert got.frame is not None
    interval = lifecycle.expected_interval(summary, lifecycle.shop_interval(summary, cfg.lifecycle))
    span = np.round(summary["tenure_days"]) - np.round(summary["recency_days"])
    wanted = summary["first_order_at"].dt.floor("D") + pd.to_timedelta(
        np.ceil(span + 2.0 * interval), unit="D"
    )
    assert got.frame["contact_due_at"].equals(wanted.astype(got.frame["contact_due_at"].dtype))
    once = (summary["orders"] == 1).to_numpy()
    default = customer_predictions(summary, CFG, AS_OF).frame
    assert default is not None
    assert (default["p_alive"][once] == 1.0).all()  # BG/NBD never counts them inactive ...
    risk = default["churn_risk"][once]
    assert set(risk) == {"churn_risk_high", "churn_risk_medium", "churn_risk_low"}  # ... gaps do
    by_gap = customer_predictions(summary, replace(cfg, predict=PredictConfig(
        interval_factor=2.0)), AS_OF).frame  # fmt: skip
    assert by_gap is not None
    assert by_gap["contact_due_at"][once].equals(got.frame["contact_due_at"][once])


def test_predict_family_and_rule_fields(summary: pd.DataFrame) -> None:
    rules = (
        RuleConfig("valuable_slipping", {"all": ["p_alive < 0.3", "clv > 20"]}),
        RuleConfig("due_soon", "contact_due_at before 2026-07-01"),
    )
    cfg = replace(CFG, rules=rules)
    members = build_segments(summary, cfg, AS_OF)
    frame = customer_predictions(summary, cfg, AS_OF).frame
    assert frame is not None
    seg = members.astype(str)
    risk = seg[seg["segment"].str.startswith("predict:churn")].set_index("customer_id")["segment"]
    expected = "predict:" + frame["churn_risk"].set_axis(summary["customer_id"])
    assert risk.sort_index().equals(expected.sort_index())
    top = set(seg.loc[seg["segment"] == "predict:clv_top10", "customer_id"])
    assert len(top) == pytest.approx(0.1 * len(summary), abs=3)
    best = summary["customer_id"][frame["clv"].to_numpy().argmax()]
    assert best in top
    rule = set(seg.loc[seg["segment"] == "rule:valuable_slipping", "customer_id"])
    wanted = summary["customer_id"][(frame["p_alive"] < 0.3) & (frame["clv"] > 20)]
    assert rule == set(wanted) and rule
    due = set(seg.loc[seg["segment"] == "rule:due_soon", "customer_id"])
    cutoff = pd.Timestamp("2026-07-01", tz="UTC")
    assert due == set(summary["customer_id"][frame["contact_due_at"] < cutoff])


def test_lifecycle_slipping_follows_the_contact_due_date(summary: pd.DataFrame) -> None:
    members = build_segments(summary, CFG, AS_OF).astype(str)
    frame = customer_predictions(summary, CFG, AS_OF).frame
    assert frame is not None
    stage = members[members["family"] == "lifecycle"].set_index("customer_id")["segment"]
    stage = stage.reindex(summary["customer_id"]).to_numpy()
    overdue = (frame["contact_due_at"] <= pd.Timestamp(AS_OF)).to_numpy()
    middle = np.isin(stage, ["lifecycle:active", "lifecycle:slipping"])
    wanted = np.where(overdue[middle], "lifecycle:slipping", "lifecycle:active")
    assert (stage[middle] == wanted).all()
    plain = build_segments(summary, replace(CFG, predict=PredictConfig(use_in_lifecycle=False)),
                           AS_OF).astype(str)  # fmt: skip
    old = plain[plain["family"] == "lifecycle"].set_index("customer_id")["segment"]
    assert not old.reindex(summary["customer_id"]).equals(pd.Series(stage))


def test_too_few_repeat_buyers_skip_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    small = sampled_summary(n=60)
    rules = (RuleConfig("gone", "p_alive < 0.9"),)
    with caplog.at_level(logging.WARNING, logger="loyalsync.predict"):
        members = build_segments(small, replace(CFG, rules=rules), AS_OF).astype(str)
    assert "too few repeat buyers" in caplog.text and "min_repeat_buyers" in caplog.text
    assert not members["family"].eq("predict").any()
    assert not members["segment"].eq("rule:gone").any()
    plain = build_segments(small, replace(CFG, predict=PredictConfig(enabled=False)), AS_OF)
    lifecycle_rows = members[members["family"] == "lifecycle"].reset_index(drop=True)
    assert lifecycle_rows.equals(plain.astype(str).query("family == 'lifecycle'").reset_index(
        drop=True))  # fmt: skip


def test_too_short_history_and_no_convergence_skip() -> None:
    young = sampled_summary(n=3000, max_age=60.0)
    got = customer_predictions(young, CFG, AS_OF)
    assert got.frame is None and "too short a history" in got.warnings[0]
    n = 200
    first = pd.Timestamp(AS_OF) - timedelta(days=100)
    regular = build_summary(
        pd.DataFrame({
            "customer_id": [f"r{i}" for i in range(n)], "orders": 96 + np.arange(n) % 5,
            "revenue": 1000.0, "first_order_at": first, "last_order_at": pd.Timestamp(AS_OF),
        }),
        AS_OF,
    )  # fmt: skip
    got = customer_predictions(regular, CFG, AS_OF)
    assert got.frame is None
    assert "did not converge" in got.warnings[0] or "bound" in got.warnings[0]


def test_predict_segment_names_are_checked() -> None:
    assert segment_problem("predict:churn_risk_high", CFG) is None
    problem = segment_problem("predict:churn_risk_hihg", CFG)
    assert problem and "did you mean 'churn_risk_high'" in problem
    off = replace(CFG, predict=PredictConfig(enabled=False))
    assert "predictions are off" in str(segment_problem("predict:clv_top10", off))


def test_predict_config_is_loaded_and_validated() -> None:
    shop = {"name": "a", "platform": "shopware", "url": "https://a.example"}
    data = {"shops": [shop], "segmentation": {"predict": {"alive_threshold": 0.4,
                                                         "contact_due": "interval"}}}  # fmt: skip
    config = build_config(data, env={}, platforms=("shopware",))
    assert config.segmentation.predict.alive_threshold == 0.4
    assert config.segmentation.predict.contact_due == "interval"
    data["segmentation"] = {"predict": {"alive_threshold": 1.5, "contact_due": "pallive"}}
    with pytest.raises(ConfigError) as caught:
        build_config(data, env={}, platforms=("shopware",))
    assert "segmentation.predict.contact_due" in str(caught.value)
    data["segmentation"] = {"predict": {"alive_threshold": 1.5}}
    with pytest.raises(ConfigError, match="alive_threshold"):
        build_config(data, env={}, platforms=("shopware",))
    data["segmentation"] = {"predict": {"enabled": False}}
    data["push"] = {"tags": [{"segment": "predict:clv_top10", "tag": "top"}]}
    with pytest.raises(ConfigError, match="predictions are off"):
        build_config(data, env={}, platforms=("shopware",))


def test_a_buyer_without_order_dates_gets_no_prediction_and_breaks_nothing(
    summary: pd.DataFrame,
) -> None:
    broken = summary.copy()
    broken.loc[broken.index[:2], ["tenure_days", "recency_days"]] = np.nan
    got = customer_predictions(broken, CFG, AS_OF)
    assert got.frame is not None and not got.warnings
    alive = got.frame["p_alive"]
    assert alive.iloc[:2].isna().all() and alive.iloc[2:].notna().all()
    assert got.frame["contact_due_at"].iloc[:2].isna().all()
