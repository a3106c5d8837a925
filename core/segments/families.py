"""The segment families (`family:value` names) and how many segments each gives a customer.

Data only, imported by the engine, the rule parser and the reference checks alike, so the
list lives in one place.
"""

from __future__ import annotations

FAMILIES = (
    "abc", "rfm", "rfm_segment", "loyalty", "lifecycle", "inactive", "country", "city",
    "postcode", "predict", "rule",
)  # fmt: skip
SINGLE_VALUED = ("abc", "rfm", "rfm_segment", "loyalty", "lifecycle", "inactive", "country", "city")
BUYER_FAMILIES = ("rfm", "rfm_segment", "loyalty", "lifecycle")  # exactly one for each buyer
TRANSIENT_FAMILIES = frozenset({"country", "city", "postcode"})  # derived, never stored
