"""Recommended actions per named RFM segment: sensible defaults (thank and upsell loyal
customers without discounts, reactivate sleeping valuable ones with a medium incentive, spend
little on low-value lost ones), overridden per name by `report.actions` in the config."""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_ACTIONS: dict[str, str] = {
    "champions": "Thank them, offer early access and referrals; no discounts needed.",
    "loyal": "Upsell and cross-sell with personal recommendations; no discounts needed.",
    "new": "Welcome series: help with the first product, invite a second order.",
    "promising": "Build the habit: a recommendation or a small perk for the next order.",
    "cant_lose": "Reach out personally with a medium incentive before they are gone.",
    "at_risk": "Reactivate with a personal medium incentive (e.g. 10 %) and a reminder.",
    "needs_attention": "A limited-time offer or a survey: find out what is missing.",
    "hibernating": "Low-cost reminders only (newsletter, a seasonal offer).",
    "lost": "Spend little: one cheap win-back attempt, then leave them out of campaigns.",
    "other": "No specific action; watch whether they move.",
}


def action_for(segment: str, overrides: Mapping[str, str]) -> str:
    """The action for an RFM segment name ('at_risk' or 'rfm_segment:at_risk')."""
    name = segment.partition(":")[2] if ":" in segment else segment
    return overrides.get(name) or DEFAULT_ACTIONS.get(name, DEFAULT_ACTIONS["other"])
