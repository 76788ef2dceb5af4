"""What the attention widget records beside the sampler's loop: each step's cross-attention maps
(precompute/attention.py reads them off the model's layers), stored as one greyscale PNG grid and
the manifest entry `attention` (bundle.AttentionMaps)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from stepthrough.bundle.manifest import AttentionMaps
from stepthrough.recorder import Recorder


class AttentionRecorder(Recorder):
    """The cross-attention maps of every step, where the model offers them and the prompt has words."""

    name = "attention"
    loop = ("cross_attention",)
    everywhere = True  # cheap beside the loop: a section added later needs no render

    def wants(self, job) -> bool:
        return bool(job.prompt) and not job.towards  # a blend mixes two prompts: no words of its own

    def offered(self, model: dict[str, Any]) -> bool:
        # a bundle from before the maps were recorded may have them to offer: render it again
        return bool(model.get("extra", {}).get("cross_attention", True))

    def write(
        self, rendered, trajectory_id: str, store: Callable[[str, bytes], None]
    ) -> AttentionMaps | None:
        maps = rendered.attention
        if maps is None or not rendered.tokens:
            return None
        rel = f"frames/{trajectory_id}-attention.png"
        store(rel, encode_attention(maps))
        steps, _, height, width = maps.shape
        return AttentionMaps(
            file=rel,
            tokens=rendered.tokens,
            steps=steps,
            width=width,
            height=height,
            peak=np.round(maps.max(axis=(2, 3)), 5).tolist(),
            share=np.round(maps.mean(axis=(2, 3)), 5).tolist(),
        )


def encode_attention(maps: np.ndarray) -> bytes:
    """(N, K, h, w) attention maps → lossless greyscale PNG: N rows (steps) by K columns (tokens),
    each map scaled so that its own brightest point is white."""
    steps, tokens, height, width = maps.shape
    peak = maps.max(axis=(2, 3), keepdims=True)
    scaled = np.round(255 * maps / np.where(peak > 0, peak, 1)).astype(np.uint8)
    sheet = scaled.transpose(0, 2, 1, 3).reshape(steps * height, tokens * width)
    buffer = io.BytesIO()
    Image.fromarray(sheet, mode="L").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
