"""Torch-free provenance of the builtin model's weights, so `build` can tell a stale bundle."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from stepthrough.bundle import sha256_file

BUILTIN_WEIGHTS = Path(__file__).resolve().parents[2] / "builtin" / "weights"


def weights_sha256(files: list[Path], names: list[str] | None = None) -> str:
    """One hash over several weight files: sha256 of 'name sha256' lines, in name order.

    `names` label the files (default: their file names), e.g. "unet/model.safetensors".
    """
    labels = names if names is not None else [path.name for path in files]
    lines = sorted(f"{label} {file_sha256(path)}\n" for label, path in zip(labels, files, strict=True))
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def file_sha256(path: Path) -> str:
    """A file's sha256. A Hugging Face hub download is a link to a blob named by its sha256 (for
    large files): that name is used, so gigabytes of weights are not read again on every run."""
    target = Path(path).resolve()
    if target.parent.name == "blobs" and re.fullmatch(r"[0-9a-f]{64}", target.name):
        return target.name
    return sha256_file(path)


def builtin_weights_sha256() -> str:
    return weights_sha256(sorted(BUILTIN_WEIGHTS.glob("*.safetensors")))
