"""Stage 1: plan → sample → capture → write bundle. Only `run` and `sampler` import torch."""
