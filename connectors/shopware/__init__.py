"""Shopware 6 (6.4 to 6.7) connector: `client.ShopwareConnector` and its simulator.

client.py (auth via auth.py, paged pulls, state, deletion scan) · criteria.py (search bodies)
· mapping.py (payloads -> records, pure) · sync_plan.py (write ops -> Sync API rows, pure) ·
writer.py (sending them) · simulator.py with sim_*.py (the fake shop for tests and the demo).
Research notes: ../shared/research/shopware.md.
"""
