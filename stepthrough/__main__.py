"""`python -m stepthrough …`, e.g. under `torchrun -m stepthrough precompute` or `accelerate launch -m`."""

from stepthrough.cli import main

main()
