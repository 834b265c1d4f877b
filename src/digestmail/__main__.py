"""Allow ``python -m digestmail``."""

from digestmail.cli import main

main()
