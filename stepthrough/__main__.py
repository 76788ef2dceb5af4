"""`python -m stepthrough` is the `stepthrough` command (same name in help and shell completion)."""

from stepthrough.cli import main

main(prog_name="stepthrough")
