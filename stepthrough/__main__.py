"""`python -m stepthrough` is the `stepthrough` command."""

from stepthrough.cli import main

main()
