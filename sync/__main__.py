"""`python -m sync` runs the loyalsync CLI."""

from sync.cli import main

main()
