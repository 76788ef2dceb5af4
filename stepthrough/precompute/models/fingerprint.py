"""Torch-free provenance of the builtin model's weights, so `build` can tell a stale bundle."""

from __future__ import annotations

import hashlib
from pathlib import Path

BUILTIN_WEIGHTS = Path(__file__).resolve().parents[2] / "builtin" / "weights"


def weights_sha256(files: list[Path]) -> str:
    """One hash over several weight files: sha256 of 'name sha256' lines, in name order."""
    lines = []
    for path in sorted(files, key=lambda p: p.name):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{path.name} {digest}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def builtin_weights_sha256() -> str:
    return weights_sha256(sorted(BUILTIN_WEIGHTS.glob("*.safetensors")))
