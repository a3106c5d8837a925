"""Which segment names (`family:value`) segmentation can produce, for settings that refer to
segments (push mappings, rule conditions), so a typo is caught when the config loads instead
of silently matching nobody.

The family must be one the engine computes (`families.FAMILIES`). Where a family's values form a
closed set, the value is checked as well:

    abc          A, B or C
    rfm          three digits (recency, frequency, monetary), each 1..rfm.scale
    rfm_segment  a name the configured (or default) patterns can produce, 'other' included
                 when some code matches no pattern
    loyalty      one_time | loyal | frequent | vip
    lifecycle    new | active | slipping | lost
    inactive     a window label of `inactivity`
    predict      churn_risk_high | churn_risk_medium | churn_risk_low | clv_top10, while
                 segmentation.predict.enabled
    rule         the name of a configured rule
    postcode     a configured prefix length of upper-case characters followed by '*'
    country      two upper-case letters (the engine upper-cases the ISO code)
    city         any name, trimmed with single blanks, and only while `geography.cities` is on

Messages say what is wrong and, like the rest of the config, suggest the closest valid value.
Pure: no I/O.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence

from loyalsync.core.config import SegmentationConfig
from loyalsync.core.segments import abc, lifecycle, loyalty, predictions, rfm
from loyalsync.core.segments.families import FAMILIES

Check = Callable[[str, SegmentationConfig], str | None]


def segment_problem(name: str, cfg: SegmentationConfig) -> str | None:
    """What is wrong with the segment name `name` under `cfg`, or None when segmentation can
    produce it."""
    family, sep, value = name.partition(":")
    if not sep or not family or not value:
        return f"expected 'family:value' such as 'loyalty:vip', got {name!r}"
    if family not in FAMILIES:
        return f"unknown family {family!r}{_hint(family, FAMILIES)}; known: {', '.join(FAMILIES)}"
    return _CHECKS[family](value, cfg)


def _hint(value: str, known: Sequence[str]) -> str:
    """' (did you mean X?)' for the closest of `known`, ignoring case; '' if none is close."""
    folded = {k.lower(): k for k in known}
    close = difflib.get_close_matches(value.lower(), list(folded), n=1)
    return f" (did you mean {folded[close[0]]!r}?)" if close else ""


def _one_of(what: str, value: str, known: Sequence[str]) -> str | None:
    if value in known:
        return None
    return f"unknown {what} {value!r}{_hint(value, known)}; known: {', '.join(known)}"


def _abc(value: str, cfg: SegmentationConfig) -> str | None:
    return _one_of("ABC class", value, abc.CLASSES)


def _loyalty(value: str, cfg: SegmentationConfig) -> str | None:
    return _one_of("loyalty tier", value, loyalty.TIERS)


def _lifecycle(value: str, cfg: SegmentationConfig) -> str | None:
    return _one_of("lifecycle stage", value, lifecycle.STAGES)


def _inactive(value: str, cfg: SegmentationConfig) -> str | None:
    if not cfg.inactivity:
        return "no inactivity windows are configured (segmentation.inactivity is empty)"
    return _one_of("inactivity window", value, list(cfg.inactivity))


def _predict(value: str, cfg: SegmentationConfig) -> str | None:
    if not cfg.predict.enabled:
        return "predictions are off (segmentation.predict.enabled is false)"
    return _one_of("prediction segment", value, predictions.VALUES)


def _rule(value: str, cfg: SegmentationConfig) -> str | None:
    names = [r.name for r in cfg.rules]
    if value in names:
        return None
    if not names:
        return f"no rule named {value!r}: segmentation.rules defines none"
    return f"no rule named {value!r} in segmentation.rules{_hint(value, names)}"


def _rfm(value: str, cfg: SegmentationConfig) -> str | None:
    scale = cfg.rfm.scale
    if not re.fullmatch(r"\d{3}", value):
        return f"expected an RFM code of three digits 1-{scale} such as '{scale}{scale}{scale}'"
    if any(not 1 <= int(d) <= scale for d in value):
        return (
            f"RFM code {value!r} has digits outside 1-{scale} (segmentation.rfm.scale is {scale})"
        )
    return None


def _rfm_segment(value: str, cfg: SegmentationConfig) -> str | None:
    names = rfm.effective_names(cfg.rfm.names, cfg.rfm.scale)
    if rfm.validate_names(names, cfg.rfm.scale):
        return None  # reported under segmentation.rfm.names already; don't pile on
    produced = set(rfm.name_table(names, cfg.rfm.scale).values())
    known = [n for n in dict.fromkeys([*names.values(), rfm.FALLBACK_NAME]) if n in produced]
    return _one_of("RFM segment", value, known)


def _postcode(value: str, cfg: SegmentationConfig) -> str | None:
    lengths = sorted({n for n in cfg.geography.postcode_prefix_lengths if n > 0})
    if not lengths:
        return "no postcode segments: segmentation.geography.postcode_prefix_lengths has no length"
    examples = " or ".join(repr("8" + "0" * (n - 1) + "*") for n in lengths)
    prefix = value[:-1]
    if not value.endswith("*") or not prefix or "*" in prefix:
        return f"expected a postcode prefix followed by '*', such as {examples}"
    compact = re.sub(r"\s+", "", prefix).upper()
    if len(compact) not in lengths:
        return (
            f"postcode prefix {prefix!r} has {len(compact)} characters, but segmentation."
            f"geography.postcode_prefix_lengths is {lengths} (prefixes like {examples})"
        )
    if compact != prefix:
        return f"postcode prefixes are upper-case without blanks (did you mean '{compact}*'?)"
    return None


def _country(value: str, cfg: SegmentationConfig) -> str | None:
    if re.fullmatch(r"[A-Z]{2}", value):
        return None
    upper = value.strip().upper()
    if re.fullmatch(r"[A-Z]{2}", upper):
        return f"country codes are two upper-case letters (did you mean {upper!r}?)"
    return f"expected a two-letter ISO country code such as 'DE', got {value!r}"


def _city(value: str, cfg: SegmentationConfig) -> str | None:
    if not cfg.geography.cities:
        return "city segments are off (segmentation.geography.cities is false)"
    tidy = " ".join(value.split())  # the engine trims and collapses blanks (geography.py)
    if tidy != value:
        return f"city names are trimmed, with single blanks (did you mean {tidy!r}?)"
    return None


_CHECKS: dict[str, Check] = {
    "abc": _abc,
    "rfm": _rfm,
    "rfm_segment": _rfm_segment,
    "loyalty": _loyalty,
    "lifecycle": _lifecycle,
    "inactive": _inactive,
    "country": _country,
    "city": _city,
    "postcode": _postcode,
    "predict": _predict,
    "rule": _rule,
}
