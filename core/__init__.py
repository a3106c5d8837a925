"""The loyalsync domain: configuration, the SQLite mirror, segmentation and planning.

Owns everything that is not network I/O. Never imports `connectors` or `sync`.
"""
