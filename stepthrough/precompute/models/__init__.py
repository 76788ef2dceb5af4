"""Model adapters: each hands the sampler the pieces of a pipeline (see base.py)."""

from __future__ import annotations

from stepthrough.errors import StepthroughError
from stepthrough.precompute.models.base import DiffusionModel

BUILTIN = "builtin"


def load_model(name: str, device: str = "cpu", revision: str | None = None) -> DiffusionModel:
    """The adapter for `name`: "builtin", or (later) a diffusers hub id or folder."""
    if name == BUILTIN:
        if device != "cpu":
            import torch

            if device.startswith("cuda") and not torch.cuda.is_available():
                raise StepthroughError(f"--device {device}: no CUDA GPU is visible here; use --device cpu")
        from stepthrough.precompute.models.builtin import load_builtin

        return load_builtin(device=device)
    raise StepthroughError(
        f"model '{name}': this version of stepthrough renders only the builtin model; "
        'set model = "builtin" in site.toml or pass --model builtin'
    )
