"""CLI commands that live in a module of their own; `stepthrough.cli` lists them."""
