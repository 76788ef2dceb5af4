"""What the attention widget records beside the sampler's loop: each step's cross-attention maps
(precompute/attention.py reads them off the model's layers), stored as one greyscale PNG grid and
the manifest entry `attention` (`AttentionMaps`, its type and its checks here)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from stepthrough.bundle.validate import Problems
from stepthrough.recorder import Recorder


@dataclass
class AttentionMaps:
    """Where each word acts: one greyscale map per step and word piece, in a PNG grid of `steps`
    rows and one column per token, each map `width` × `height` (the latent grid) and scaled so that
    its brightest point is white; `peak` and `share` hold each map's real numbers."""

    file: str  # relative to the bundle folder
    tokens: list[str]  # the text encoder's own word pieces of the prompt, in order
    steps: int
    width: int
    height: int
    peak: list[list[float]]  # [step][token]: the largest attention probability in the map (white)
    share: list[list[float]]  # [step][token]: the attention probability averaged over the picture

    @property
    def sheet(self) -> tuple[int, int]:
        """(width, height) of the whole grid: what its file's header must say."""
        return len(self.tokens) * self.width, self.steps * self.height


class AttentionRecorder(Recorder):
    """The cross-attention maps of every step, where the model offers them and the prompt has words."""

    name = "attention"
    entry = AttentionMaps
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


    def pictures(self, entry: AttentionMaps) -> dict[str, tuple[str, tuple[int, int]]]:
        return {"file": (entry.file, entry.sheet)}

    def check(self, found: Problems, at: str, entry: AttentionMaps, trajectory, manifest) -> None:
        """One map per step and token: `peak` and `share` are steps × tokens probabilities."""
        steps = trajectory.steps
        if not found.number(f"{at}.steps", entry.steps, steps, steps, whole=True):
            return
        tokens = len(entry.tokens)
        if not tokens:
            found.append(f"{at}.tokens: expected at least one word piece (got none)")
            return
        found.picture(at, tokens, steps, entry.width, entry.height)
        for name in ("peak", "share"):
            rows = getattr(entry, name)
            if found.length(f"{at}.{name}", rows, steps, " (one per step)"):
                for k, row in enumerate(rows):
                    found.numbers(f"{at}.{name}.{k}", row, tokens, 0, 1)


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
