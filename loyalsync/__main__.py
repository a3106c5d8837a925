"""`python -m loyalsync`: the same as the `loyalsync` console script."""

from loyalsync.sync.cli import main

main()
