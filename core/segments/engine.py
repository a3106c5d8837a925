"""The segment engine: every family for every customer, as one long membership frame.

`build_segments(summary, cfg, as_of, previous, bought)` takes the output of
`summary.build_summary` (protected customers already left out) and returns one row per
(customer_id, segment, family), all three categorical, where `segment` is `family:value`:

    abc          A|B|C                 every customer (no revenue: C)
    rfm          three digit code      customers with a valid order
    rfm_segment  named RFM segment     customers with a valid order
    loyalty      one_time|loyal|frequent|vip   customers with a valid order
    lifecycle    new|active|slipping|lost      customers with a valid order
    inactive     4w|3m|6m (one bucket) buyers silent for at least the shortest window
    country, city                      customers with a known address
    postcode     8*, 80*, ...          one per configured prefix length
    predict      churn_risk_high|medium|low, clv_top10   buyers, when predictions ran
    rule         <name>                any number: one per matching rule

Single-valued families give a customer at most one segment; `postcode` and `rule` may give
several. `previous` (stored membership before this run) feeds the loyalty hysteresis; `bought`
(columns identity, product) answers the `bought` rule conditions. Pure: no I/O, no clock.
"""

from __future__ import annotations

import logging
from datetime import datetime

import numpy as np
import pandas as pd

from loyalsync.core.errors import ConfigError
from loyalsync.core.segments import (
    abc,
    diff,
    geography,
    inactivity,
    lifecycle,
    loyalty,
    predictions,
    rfm,
)
from loyalsync.core.segments.families import FAMILIES, TRANSIENT_FAMILIES
from loyalsync.core.segments.references import segment_problem
from loyalsync.core.segments.rule_eval import RuleContext, evaluate
from loyalsync.core.segments.rules import parse_rule, referenced_segments, validate_rules
from loyalsync.core.segments.settings import SegmentationConfig

MEMBER_COLUMNS = ("customer_id", "segment", "family")
Column = tuple[str, np.ndarray]  # (family, value per summary row; None: not in the family)
log = logging.getLogger("loyalsync.predict")


def config_problems(cfg: SegmentationConfig) -> list[str]:
    """Everything wrong with the segmentation settings (paths relative to `segmentation`)."""
    problems = []
    if not 0 < cfg.abc.a < cfg.abc.b <= 1:
        problems.append("abc: need 0 < a < b <= 1")
    names = rfm.effective_names(cfg.rfm.names, cfg.rfm.scale)
    problems.extend(f"rfm.{p}" for p in rfm.validate_names(names, cfg.rfm.scale))
    problems.extend(inactivity.validate_windows(cfg.inactivity))
    problems.extend(predictions.config_problems(cfg.predict))
    problems.extend(validate_rules(cfg.rules))
    problems.extend(_rule_reference_problems(cfg))
    return problems


def _rule_reference_problems(cfg: SegmentationConfig) -> list[str]:
    """Rule conditions on segments this configuration never produces (always false). Rule
    references are checked by `validate_rules` (defined before the referring rule)."""
    problems = []
    for i, rule in enumerate(cfg.rules):
        parsed = parse_rule(rule, [])
        for name in referenced_segments(parsed) if parsed else ():
            problem = None if name.startswith("rule:") else segment_problem(name, cfg)
            if problem:
                problems.append(f"rules[{i}].when: segment {name!r}: {problem}")
    return problems


def build_columns(
    summary: pd.DataFrame,
    cfg: SegmentationConfig,
    as_of: datetime,
    previous: pd.DataFrame | None = None,
    bought: pd.DataFrame | None = None,
    predicted: predictions.Predictions | None = None,
) -> list[Column]:
    """Each family's value per customer, in FAMILIES order (rules last, in config order).
    `predicted`: predictions already made for this summary (the report reuses them)."""
    problems = config_problems(cfg)
    if problems:
        raise ConfigError("invalid segmentation settings: " + "; ".join(problems))
    scores = rfm.rfm_scores(summary, cfg.rfm.scale)
    codes = scores["code"].to_numpy()
    if predicted is None:
        predicted = build_predictions(summary, cfg, as_of)
    overdue = predictions.overdue(predicted, as_of) if cfg.predict.use_in_lifecycle else None
    columns: list[Column] = [
        ("abc", abc.abc_classes(summary["revenue"].to_numpy(), cfg.abc.a, cfg.abc.b)),
        ("rfm", codes),
        ("rfm_segment", rfm.segment_names(codes, cfg.rfm.names, cfg.rfm.scale)),
        ("loyalty", loyalty.loyalty_tiers(summary, cfg.loyalty, previous)),
        ("lifecycle", lifecycle.lifecycle_stages(summary, cfg.lifecycle, overdue)),
        ("inactive", inactivity.inactivity_buckets(summary["recency_days"], cfg.inactivity)),
        *geography.geography_columns(summary, cfg.geography),
        *predictions.predict_columns(predicted),
    ]
    fields = with_prediction_fields(summary, predicted) if cfg.rules else summary
    columns.extend(rule_columns(fields, cfg, as_of, columns, bought))
    return columns


def build_predictions(
    summary: pd.DataFrame, cfg: SegmentationConfig, as_of: datetime
) -> predictions.Predictions:
    """The per-customer predictions, each warning (a skipped model) logged."""
    predicted = predictions.customer_predictions(summary, cfg, as_of)
    for warning in predicted.warnings:
        log.warning("%s", warning)
    return predicted


def with_prediction_fields(
    summary: pd.DataFrame, predicted: predictions.Predictions
) -> pd.DataFrame:
    """The summary with the prediction fields of rule conditions (NaN/NaT when skipped)."""
    if predicted.frame is not None:
        return pd.concat([summary, predicted.frame[list(predictions.FIELDS)]], axis=1)
    empty = {name: np.full(len(summary), np.nan) for name in predictions.FIELDS}
    frame = summary.assign(**empty)
    frame["contact_due_at"] = pd.Series(pd.NaT, index=summary.index, dtype="datetime64[us, UTC]")
    return frame


def rule_columns(
    summary: pd.DataFrame,
    cfg: SegmentationConfig,
    as_of: datetime,
    columns: list[Column],
    bought: pd.DataFrame | None,
) -> list[Column]:
    """One column per rule (its name where the rule holds), evaluated in config order so a rule
    may refer to the segments of the families and of the rules before it."""
    masks: dict[str, np.ndarray] = {}
    n = len(summary)

    def in_segment(name: str) -> np.ndarray:
        if name in masks:
            return masks[name]
        family, _, value = name.partition(":")
        mask = np.zeros(n, dtype=bool)
        for fam, values in columns:
            if fam == family:
                mask |= values == value
        return mask

    def bought_mask(refs: tuple[str, ...]) -> np.ndarray:
        if bought is None:
            raise ValueError("a rule asks what customers bought: pass `bought` to build_segments")
        who = bought.loc[bought["product"].isin(refs), "identity"]
        return np.asarray(summary["identity"].isin(who).to_numpy(), dtype=bool)

    ctx = RuleContext(summary, as_of, in_segment, bought_mask)
    out: list[Column] = []
    for rule in cfg.rules:
        problems: list[str] = []
        condition = parse_rule(rule, problems)
        if condition is None:  # config_problems has checked every rule; never guess
            raise ConfigError(f"rule {rule.name!r}: " + "; ".join(problems or ["not parseable"]))
        mask = evaluate(condition, ctx)
        masks[f"rule:{rule.name}"] = mask
        named = np.full(n, None, dtype=object)
        named[mask] = rule.name
        out.append(("rule", named))
    return out


Encoded = list[tuple[str, np.ndarray, np.ndarray]]  # (family, code per row or -1, values)


def encode(columns: list[Column]) -> Encoded:
    """Each family column as integer codes into its distinct values (-1: not in the family)."""
    out: Encoded = []
    for family, values in columns:
        local, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
        out.append((family, np.asarray(local), np.asarray(uniques, dtype=object)))
    return out


def encoded_members(customer_ids: pd.Series, encoded: Encoded) -> pd.DataFrame:
    """`long_members` of columns already encoded."""
    ids = pd.Index(customer_ids.astype(str).to_numpy())
    categories: dict[str, int] = {}
    rows, codes, families = [], [], []
    for family, local, uniques in encoded:
        mapping = np.array(
            [categories.setdefault(f"{family}:{u}", len(categories)) for u in uniques] or [0],
            dtype=np.int32,
        )
        present = np.flatnonzero(local >= 0)
        rows.append(present)
        codes.append(mapping[local[present]])
        families.append(np.full(len(present), FAMILIES.index(family), dtype=np.int8))
    row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    return pd.DataFrame(
        {
            "customer_id": pd.Categorical.from_codes(row, categories=ids),
            "segment": pd.Categorical.from_codes(
                np.concatenate(codes) if codes else np.zeros(0, np.int32),
                categories=pd.Index(list(categories)),
            ),
            "family": pd.Categorical.from_codes(
                np.concatenate(families) if families else np.zeros(0, np.int8),
                categories=pd.Index(list(FAMILIES)),
            ),
        }
    )


def long_members(customer_ids: pd.Series, columns: list[Column]) -> pd.DataFrame:
    """One row per (customer, segment): customer_id, segment and family, all categorical
    (customer_id's categories are `customer_ids`, so its codes are summary row numbers)."""
    return encoded_members(customer_ids, encode(columns))


def build_segments(
    summary: pd.DataFrame,
    cfg: SegmentationConfig,
    as_of: datetime,
    previous: pd.DataFrame | None = None,
    bought: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Membership: one row per (customer_id, segment, family); see the module docstring."""
    return long_members(
        summary["customer_id"], build_columns(summary, cfg, as_of, previous, bought)
    )


def stored_membership(customer_ids: pd.Series, encoded: Encoded) -> diff.Membership:
    """What `stored_members` keeps, as combinations of segments per customer (the form
    `save_segments` diffs fastest; no row per membership is built)."""
    kept = [column for column in encoded if column[0] not in TRANSIENT_FAMILIES]
    return diff.membership_of(customer_ids.astype(str).to_numpy(), kept)


def stored_members(members: pd.DataFrame) -> pd.DataFrame:
    """The rows kept in the mirror's membership and history (not the address families)."""
    keep = ~members["family"].isin(TRANSIENT_FAMILIES).to_numpy()  # on categories, not rows
    return members.loc[keep].reset_index(drop=True)


def column_sizes(summary: pd.DataFrame, columns: list[Column]) -> pd.DataFrame:
    """`segment_sizes` straight from the family columns (no look-up of a million ids)."""
    return encoded_sizes(summary, encode(columns))


def encoded_sizes(summary: pd.DataFrame, encoded: Encoded) -> pd.DataFrame:
    """`column_sizes` of columns already encoded."""
    revenue = summary["revenue"].to_numpy(dtype=float)
    parts = []
    for family, codes, uniques in encoded:
        present = codes >= 0
        parts.append(
            pd.DataFrame(
                {
                    "segment": [f"{family}:{u}" for u in uniques],
                    "family": family,
                    "customers": np.bincount(codes[present], minlength=len(uniques)),
                    "revenue": np.bincount(
                        codes[present], weights=revenue[present], minlength=len(uniques)
                    ),
                }
            )
        )
    sizes = pd.concat(parts, ignore_index=True) if parts else _empty_sizes()
    sizes = sizes.groupby(["segment", "family"], as_index=False, sort=False).sum()
    return _finish_sizes(sizes, summary)


def _empty_sizes() -> pd.DataFrame:
    return pd.DataFrame({"segment": [], "family": [], "customers": [], "revenue": []})


def _finish_sizes(sizes: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    sizes = sizes.loc[sizes["customers"] > 0].copy()
    sizes["customers"] = sizes["customers"].astype(np.int64)
    total_revenue = float(summary["revenue"].sum())
    sizes["customer_share"] = sizes["customers"] / max(len(summary), 1)
    sizes["revenue_share"] = sizes["revenue"] / total_revenue if total_revenue else 0.0
    known = {f: i for i, f in enumerate(FAMILIES)}
    sizes["order"] = [known.get(f, len(FAMILIES)) for f in sizes["family"]]
    sizes = sizes.sort_values(["order", "segment"], kind="stable").drop(columns="order")
    columns = ["segment", "family", "customers", "customer_share", "revenue", "revenue_share"]
    return sizes[columns].reset_index(drop=True)


def segment_sizes(members: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """Per segment: family, customers, customer_share, revenue and revenue_share (of the
    segmented customers' total revenue), sorted by family order and segment name."""
    position = pd.Index(summary["customer_id"].astype(str)).get_indexer(
        pd.Index(members["customer_id"])
    )
    revenue = summary["revenue"].to_numpy(dtype=float)[position]
    segment = members["segment"]
    if not isinstance(segment.dtype, pd.CategoricalDtype):
        segment = segment.astype("category")
    codes = segment.cat.codes.to_numpy()
    names = [str(c) for c in segment.cat.categories]
    sizes = pd.DataFrame(
        {
            "segment": names,
            "family": [n.partition(":")[0] for n in names],
            "customers": np.bincount(codes, minlength=len(names)),
            "revenue": np.bincount(codes, weights=revenue, minlength=len(names)),
        }
    )
    return _finish_sizes(sizes, summary)
