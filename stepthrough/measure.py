"""How far apart two pictures (or latents) are: the one distance every stage reports. A leaf module."""

from __future__ import annotations

import numpy as np


def rms(a: np.ndarray, b: np.ndarray | float = 0.0, axis: int | tuple[int, ...] | None = None) -> np.ndarray:
    """Root-mean-square of a − b (over `axis`, default all): for pictures in 0–1, 0 is the same
    picture and 1 the opposite one."""
    return np.sqrt(((a - b) ** 2).mean(axis=axis))
