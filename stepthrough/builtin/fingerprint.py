"""Torch-free provenance of the builtin model's weights, so `build` can tell a stale bundle."""

from __future__ import annotations

from pathlib import Path

from stepthrough.bundle.ids import weights_sha256

BUILTIN_WEIGHTS = Path(__file__).resolve().parent / "weights"
# the networks' weights: what the pictures depend on (the data card's caption vectors beside them do not)
WEIGHT_FILES = ("autoencoder.safetensors", "unet.safetensors")


def builtin_weights_sha256(folder: Path = BUILTIN_WEIGHTS) -> str:
    return weights_sha256([Path(folder) / name for name in WEIGHT_FILES])
