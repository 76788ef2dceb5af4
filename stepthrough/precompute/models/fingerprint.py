"""Torch-free provenance of the builtin model's weights, so `build` can tell a stale bundle."""

from __future__ import annotations

from pathlib import Path

from stepthrough.bundle.ids import weights_sha256

BUILTIN_WEIGHTS = Path(__file__).resolve().parents[2] / "builtin" / "weights"


def builtin_weights_sha256() -> str:
    return weights_sha256(sorted(BUILTIN_WEIGHTS.glob("*.safetensors")))
