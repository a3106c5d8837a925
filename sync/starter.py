"""The starter config written by `loyalsync init`, per platform. Kept valid by a test."""

from __future__ import annotations

CREDENTIALS = {
    "shopware": (
        "      client_id: ${SHOPWARE_CLIENT_ID}          # Integration: Access key ID\n"
        "      client_secret: ${SHOPWARE_CLIENT_SECRET}  # Integration: Secret access key\n"
    ),
    "prestashop": "      api_key: ${PRESTASHOP_API_KEY}   # Webservice key\n",
    "jtl": "      api_key: ${JTL_API_KEY}   # JTL-Wawi REST API key of the registered app\n",
}


def starter_config(platform: str) -> str:
    creds = CREDENTIALS.get(platform, "      {}\n")
    return f"""# loyalsync config: see config.example.yaml in the repository for every option.
# Secrets come from the environment (or a .env file next to this file).
database: loyalsync.db

shops:
  - name: my-shop
    platform: {platform}
    url: https://shop.example.com
    credentials:
{creds}    currency: EUR
    requests_per_second: 5
    protected_groups: []          # e.g. ["B2B / Händler"]: members are never modified

segmentation:
  revenue: gross

push:
  enabled: false                  # look at `loyalsync plan` first, then set to true
  tag_prefix: "ls:"
  groups:
    - {{segment: "loyalty:vip", group: "VIP (auto)"}}
  tags:
    - {{segment: "rfm_segment:champions", tag: champions}}
    - {{segment: "lifecycle:slipping", tag: slipping}}

schedule:
  pull_every_minutes: 15
  cycle_at: "02:00"
  timezone: Europe/Berlin
"""
