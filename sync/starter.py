"""The starter config written by `loyalsync init`, per platform. Kept valid by a test.

The shop section (url, credentials, the platform's own options) comes from the connector
through the registry; this module only adds the generic parts."""

from __future__ import annotations

from loyalsync.connectors import connector_class
from loyalsync.connectors import starter_config as shop_section
from loyalsync.core.records import TAGS


def starter_config(platform: str) -> str:
    section = shop_section(platform)
    return f"""# loyalsync config for one shop; every option of the shop's platform is listed below.
# Secrets come from the environment (or a .env file next to this file).
database: loyalsync.db

shops:
  - name: my-shop
    platform: {platform}
{section}    currency: EUR
    requests_per_second: 5        # token bucket per shop: be cheap on the shop's API
    timeout: 30                   # read timeout in seconds
    protected_groups: []          # e.g. ["B2B / Händler"]: members are never modified
    valid_states: []              # order states that count; empty: the platform default
    lag_minutes: 10               # incremental pulls re-read this window before the cursor
    page_size: 500                # records per request
    deletion_scan_days: 7         # full id scan for customers deleted in the shop

segmentation:
  revenue: gross

push:
  enabled: false                  # look at `loyalsync plan` first, then set to true
  groups:
    - {{segment: "loyalty:vip", group: "VIP (auto)"}}
{_tags(platform)}
schedule:
  pull_every_minutes: 15
  cycle_at: "02:00"
  timezone: Europe/Berlin
"""


def _tags(platform: str) -> str:
    """Tag mappings only for a platform that has customer tags (else they would be ignored)."""
    if TAGS not in {s.name for s in getattr(connector_class(platform), "slots", ())}:
        return ""
    return (
        '  tag_prefix: "ls:"\n'
        "  tags:\n"
        '    - {segment: "rfm_segment:champions", tag: champions}\n'
        '    - {segment: "lifecycle:slipping", tag: slipping}\n'
    )
