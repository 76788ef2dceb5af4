"""What the inside widget records beside the sampler's loop: a trajectory's steps opened up
(precompute/tensors.py gathers them from the loop), stored as palette PNGs of real numbers (x_t and
the prediction: a row per step, a tile per channel; the token vectors: a row per token) and the
manifest entry `tensors` (`Tensors`, its type and its checks here)."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from stepthrough.bundle.formats import MAX_SIDE
from stepthrough.bundle.validate import Problems, dotted, latent_shape
from stepthrough.recorder import Recorder

MAX_TILE = 32  # a latent channel wider than this is shown in blocks (2×2 means for SD's 64×64)
ZERO = 127  # the palette index of 0; 0 … 254 run from −scale to +scale
SCALE_PERCENTILE = 99.5  # the colours' ends: a few outliers (CLIP's start token) do not grey the rest
UPDATES = ("ddim", "euler", "flow", "")
PREDICTIONS = ("epsilon", "v_prediction", "sample", "flow")
PROBE = ("x", "prediction", "next")  # what the page follows through each step
# What each update reads of the schedule at every step, and its range: the page divides by √ᾱ,
# √(1−ᾱ) and σ, so those may not be 0.
LEVELS: dict[str, tuple[str, float, float]] = {  # update → (the schedule's list, low (excluded), high)
    "ddim": ("alpha_bar", 0.0, 1.0),
    "euler": ("sigma", 0.0, math.inf),
    "flow": ("sigma", 0.0, 1.0),
}


@dataclass
class Grid:
    """Real numbers as a palette PNG: `rows` × `columns` tiles of `width` × `height` pixels. Colour
    index i stands for (i − 127)/127 · `scale` (blue below 0, white at 0, red above; |v| ≥ scale
    shows the darkest colour); each pixel is the mean of `pooled` × `pooled` numbers."""

    file: str  # relative to the bundle folder
    rows: int
    columns: int
    width: int
    height: int
    scale: float
    pooled: int = 1

    @property
    def sheet(self) -> tuple[int, int]:
        """(width, height) of the whole grid: what its file's header must say."""
        return self.columns * self.width, self.rows * self.height


@dataclass
class Tensors:
    """One step opened up (widget: inside): the real tensors of a trajectory, step by step."""

    prediction_type: str  # what the model predicts: "epsilon", "v_prediction", "sample" or "flow"
    update: str  # the scheduler's update the page writes out: "ddim", "euler", "flow", "" (another)
    latent: (
        Grid  # x_t as the model saw it: row k before step k+1, the last row the result; a column per channel
    )
    prediction: Grid  # the (guided) prediction at each step: a row per step, a column per channel
    probe: dict[str, list[float]]  # [step]: one latent number ("x", "prediction", "x0", "next")
    probe_at: list[int]  # [channel, row, column] of that number
    tokens: list[str] = field(default_factory=list)  # the tokenizer's own pieces, markers included
    token_ids: list[int] = field(default_factory=list)
    special: list[int] = field(default_factory=list)  # 1: a marker the tokenizer adds; 0: the prompt's
    vectors: Grid | None = None  # the text encoder's vector of each token: a row each, 1 pixel high
    padding: int = 0  # positions after the tokens that the denoiser also gets
    padding_read: int = 1  # 0 where a mask tells the denoiser to ignore them


class TensorsRecorder(Recorder):
    """The tensors of every step: the prediction the scheduler was handed, the prompt's token
    vectors (the scheduler's numbers are the manifest's schedule record)."""

    name = "tensors"
    entry = Tensors
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


    def pictures(self, entry: Tensors) -> dict[str, tuple[str, tuple[int, int]]]:
        """The latent, prediction and (where recorded) token-vector grids."""
        grids = {"latent": entry.latent, "prediction": entry.prediction, "vectors": entry.vectors}
        return {f"{name}.file": (grid.file, grid.sheet) for name, grid in grids.items() if grid is not None}

    def check(self, found: Problems, at: str, entry: Tensors, trajectory, manifest) -> None:
        """Grids and the probe as long as the steps they cover, tokens as long as each other, and
        what the update reads of the trajectory's schedule in its range."""
        steps = trajectory.steps
        _grids(found, at, entry, steps)
        found.choice(f"{at}.prediction_type", entry.prediction_type, PREDICTIONS)
        found.choice(f"{at}.update", entry.update, UPDATES)
        _probe(found, at, entry, steps, latent_shape(manifest.model))
        _tokens(found, at, entry)
        schedule = manifest.schedule_of(trajectory)
        if schedule is not None and len(schedule.timesteps) == steps:
            _levels(found, dotted("schedules", trajectory.schedule_key), entry, schedule, steps)


def _grids(found: Problems, at: str, tensors: Tensors, steps: int) -> None:
    """The latent, prediction and token-vector grids: a row per step (the latent's one more) or token."""
    rows = {"latent": steps + 1, "prediction": steps, "vectors": len(tensors.tokens)}
    for name, count in rows.items():
        grid = getattr(tensors, name)
        if grid is None:
            continue
        where = f"{at}.{name}"
        if found.number(f"{where}.rows", grid.rows, count, count, whole=True) and found.number(
            f"{where}.columns", grid.columns, 1, MAX_SIDE, whole=True
        ):
            found.picture(where, grid.columns, grid.rows, grid.width, grid.height)
        found.number(f"{where}.scale", grid.scale, 0, math.inf, low_in=False)
        found.number(f"{where}.pooled", grid.pooled, 1, MAX_SIDE, whole=True)


def _probe(found: Problems, at: str, tensors: Tensors, steps: int, latent: list[int] | None) -> None:
    """The latent number followed through each step: one value a step, at a place inside the latent."""
    for name in PROBE:
        values = tensors.probe.get(name)
        if values is None:
            found.append(f"{at}.probe.{name}: missing (the page follows it through each step)")
        else:
            found.numbers(f"{at}.probe.{name}", values, steps, -math.inf, math.inf)
    if found.length(f"{at}.probe_at", tensors.probe_at, 3, " (channel, row, column)") and latent is not None:
        for i, (index, size) in enumerate(zip(tensors.probe_at, latent, strict=True)):
            found.number(f"{at}.probe_at.{i}", index, 0, size - 1, whole=True)


def _tokens(found: Problems, at: str, tensors: Tensors) -> None:
    """Token ids and markers, one per token piece; the padding after them."""
    for name, values, high in (("token_ids", tensors.token_ids, 2**31), ("special", tensors.special, 1)):
        if len(values) != len(tensors.tokens):
            found.append(f"{at}.{name}: expected {len(tensors.tokens)} entries, one per token (got {len(values)})")
        for i, value in enumerate(values):
            if not found.number(f"{at}.{name}.{i}", value, 0, high, whole=True):
                break
    found.number(f"{at}.padding", tensors.padding, 0, 1 << 16, whole=True)
    found.number(f"{at}.padding_read", tensors.padding_read, 0, 1, whole=True)


def _levels(found: Problems, at: str, tensors: Tensors, schedule, steps: int) -> None:
    """What the update the page writes out reads of the schedule (`at`) at each step, in its range."""
    if tensors.update not in LEVELS:
        return
    name, low, high = LEVELS[tensors.update]
    # v and x̂₀ predictions never divide by √ᾱ, and a zero-SNR schedule starts at ᾱ = 0: only an
    # ε model needs ᾱ above 0.
    low_in = name == "alpha_bar" and tensors.prediction_type != "epsilon"
    found.numbers(f"{at}.{name}", getattr(schedule, name)[:steps], steps, low, high, low_in)
    if tensors.update == "ddim":
        found.length(f"{at}.alpha_bar_prev", schedule.alpha_bar_prev, steps, " (the ddim update reads it)")
        if tensors.prediction_type == "sample" and 1.0 in schedule.alpha_bar[:steps]:
            found.append(f"{at}.alpha_bar: below 1 for a model that predicts the picture "
                         "(the page divides by √(1 − ᾱ))")


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
