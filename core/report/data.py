"""What one shop's report shows (`ReportData`), as plain data: read and segmented by
`sync/report_data.py` (segmentation over the mirror is orchestration, it lives in `sync/`).
Everything here and after it (`build.py`, the sections, the charts) is a pure function of a
`ReportData`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from loyalsync.core.config import Config
from loyalsync.core.segments import loyalty

# single-valued families the report shows, as columns of `ReportData.summary`
FAMILY_COLUMNS = ("abc", "rfm", "rfm_segment", "loyalty", "lifecycle", "inactive")
PREDICTED = ("p_alive", "clv", "contact_due_at")
RUN_HISTORY = 500  # stored runs looked at (segment and push runs, newest first)
PUSH_RUNS = 5


@dataclass(frozen=True)
class CampaignData:
    """One configured discount campaign: its segment, when its first code went out, and the
    valid orders per customer account placed after that (for the recipients comparison)."""

    name: str
    segment: str
    started: datetime | None
    orders_after: pd.DataFrame = field(repr=False)


@dataclass(frozen=True)
class ReportData:
    """One shop's inputs to the report. `summary`: the segmented customers with contacts, the
    FAMILY_COLUMNS and (when predictions ran) PREDICTED; `sizes`: every family's segment sizes
    (as `segment` prints them). Runs are `Mirror.runs` rows, newest first."""

    shop: str
    platform: str
    currency: str
    as_of: datetime
    config: Config = field(repr=False)
    summary: pd.DataFrame = field(repr=False)
    sizes: pd.DataFrame = field(repr=False)
    excluded_protected: int = 0
    thresholds: loyalty.Thresholds | None = None
    predictions_note: str | None = None  # why predictions are missing, if they are
    monthly: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    cohorts: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    segment_runs: list[dict[str, Any]] = field(default_factory=list, repr=False)
    moves: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    codes: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    campaigns: list[CampaignData] = field(default_factory=list, repr=False)
    push_runs: list[dict[str, Any]] = field(default_factory=list, repr=False)
    push_failures: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)


def buyers_mask(summary: pd.DataFrame) -> np.ndarray:
    return np.asarray(summary["orders"].to_numpy() > 0, dtype=bool)
