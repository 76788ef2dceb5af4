"""What the inside widget records beside the sampler's loop: a trajectory's steps opened up
(precompute/tensors.py gathers them from the loop), stored as palette PNGs of real numbers (x_t and
the prediction: a row per step, a tile per channel; the token vectors: a row per token) and the
manifest entry `tensors` (bundle.Tensors)."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image

from stepthrough.bundle.manifest import Grid, Tensors
from stepthrough.recorder import Recorder

MAX_TILE = 32  # a latent channel wider than this is shown in blocks (2×2 means for SD's 64×64)
ZERO = 127  # the palette index of 0; 0 … 254 run from −scale to +scale
SCALE_PERCENTILE = 99.5  # the colours' ends: a few outliers (CLIP's start token) do not grey the rest


class TensorsRecorder(Recorder):
    """The tensors of every step: the prediction the scheduler was handed, the prompt's token
    vectors (the scheduler's numbers are the manifest's schedule record)."""

    name = "tensors"
    loop = ("prediction", "cond")

    def write(self, rendered, trajectory_id: str, store: Callable[[str, bytes], None]) -> Tensors | None:
        t = rendered.tensors
        if t is None:
            return None
        height, width = rendered.latents.shape[-2:]
        factor = block_size(height, width)

        def grid(name: str, values: np.ndarray, factor: int = 1) -> Grid:
            values = block_means(values, factor)
            scale = colour_scale(values)
            rel = f"frames/{trajectory_id}-{name}.png"
            store(rel, encode_grid(values, scale))
            rows, columns, tile_height, tile_width = values.shape
            return Grid(rel, rows, columns, tile_width, tile_height, scale, factor)

        vectors = None
        if t.vectors is not None:
            vectors = grid("vectors", t.vectors[:, None, None, :])  # a row per token, one pixel high
        return Tensors(
            prediction_type=t.prediction_type,
            update=t.update,
            latent=grid("latent-channels", rendered.latents, factor),
            prediction=grid("prediction", t.predictions, factor),
            probe={k: [round(v, 5) for v in values] for k, values in t.probe.items()},
            probe_at=t.probe_at,
            tokens=[token.piece for token in t.tokens],
            token_ids=[token.id for token in t.tokens],
            special=[int(token.special) for token in t.tokens],
            vectors=vectors,
            padding=t.padding,
            padding_read=int(t.padding_read),
        )


def diverging_palette() -> list[int]:
    """256 RGB entries: blue (most negative) → white (0, index 127) → red (most positive)."""
    blue, red, white = np.array([33, 102, 172]), np.array([178, 24, 43]), np.array([255, 255, 255])
    entries = []
    for i in range(256):
        share = min(abs(i - ZERO) / ZERO, 1.0)
        end = blue if i < ZERO else red
        entries.append(np.round(white + share * (end - white)).astype(int))
    return [int(v) for entry in entries for v in entry]


PALETTE = diverging_palette()


def colour_scale(values: np.ndarray) -> float:
    """The value at either end of the colours (|v| at or beyond it shows the darkest blue or red)."""
    scale = float(np.percentile(np.abs(values), SCALE_PERCENTILE)) if values.size else 0.0
    return round(scale, 5) if scale > 0 else 1.0


def block_size(height: int, width: int) -> int:
    """The smallest block size that brings a channel to MAX_TILE or less and divides both sides."""
    factor = 1
    while (height // factor > MAX_TILE or width // factor > MAX_TILE) and height % (factor * 2) == 0:
        factor *= 2
    return factor


def block_means(values: np.ndarray, factor: int) -> np.ndarray:
    """(..., h, w) → (..., h/f, w/f): the mean of each f×f block."""
    if factor == 1:
        return values
    *lead, height, width = values.shape
    blocks = values.reshape(*lead, height // factor, factor, width // factor, factor)
    return blocks.mean(axis=(-3, -1))


def encode_grid(tiles: np.ndarray, scale: float) -> bytes:
    """(rows, columns, h, w) real numbers → a palette PNG of rows × columns tiles, colour index
    round(127 + 127·v/scale) clipped to 0 … 254."""
    rows, columns, height, width = tiles.shape
    index = np.clip(np.round(ZERO + ZERO * tiles / scale), 0, 2 * ZERO).astype(np.uint8)
    sheet = index.transpose(0, 2, 1, 3).reshape(rows * height, columns * width)
    image = Image.fromarray(sheet, mode="P")
    image.putpalette(PALETTE)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def decode_grid(data: bytes, scale: float, rows: int, columns: int) -> np.ndarray:
    """The inverse of encode_grid, to the colours' precision: (rows, columns, h, w)."""
    with Image.open(io.BytesIO(data)) as image:
        index = np.asarray(image).astype(np.float32)
    height, width = index.shape[0] // rows, index.shape[1] // columns
    tiles = index.reshape(rows, height, columns, width).transpose(0, 2, 1, 3)
    return (tiles - ZERO) / ZERO * scale
