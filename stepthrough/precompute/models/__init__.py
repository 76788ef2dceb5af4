"""Model adapters: each hands the sampler the pieces of a pipeline (see stepthrough/adapter.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stepthrough.errors import StepthroughError

if TYPE_CHECKING:  # torch: not for `stepthrough build`, which reads fingerprint.py beside this
    from stepthrough.adapter import DiffusionModel

BUILTIN = "builtin"


OPTIONS = {"dtype": "--dtype", "preview_vae": "--preview-vae", "image_size": "--size"}  # diffusers only


def load_model(name: str, device: str = "cpu", revision: str | None = None, **options) -> DiffusionModel:
    """The adapter for `name`: "builtin", or a diffusers pipeline by hub id or local folder.

    `options` are those of load_diffusers (dtype, preview_vae, image_size); None means its default.
    """
    if device != "cpu":
        import torch

        if device.startswith("cuda") and not torch.cuda.is_available():
            raise StepthroughError(f"--device {device}: no CUDA GPU is visible here; use --device cpu")
    if name == BUILTIN:
        if unused := [OPTIONS[key] for key, value in options.items() if value is not None]:
            raise StepthroughError(f"{', '.join(unused)}: only for diffusers models, not the builtin one")
        from stepthrough.precompute.models.builtin import load_builtin

        return load_builtin(device=device)
    from stepthrough.precompute.models.diffusers_adapter import load_diffusers

    return load_diffusers(name, device=device, revision=revision, **options)
