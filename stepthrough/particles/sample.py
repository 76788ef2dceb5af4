"""Run the particles model with numpy alone: weights, noise schedule, seeded noise, DDIM sampler.

The page's script (stepthrough/widgets/particles/particles.js) is a line-by-line port of this module:
same PRNG, same features, same float64 arithmetic, so a seed gives the same particles in both.
Training (`train.py`) builds its inputs with `Inputs` and `alpha_bar` from here too.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

WEIGHTS = Path(__file__).parent / "weights.json"
COSINE_S = 0.008  # offset of the cosine schedule (Nichol & Dhariwal 2021), keeps early steps gentle
MIN_ALPHA_BAR = 1e-4  # t = 1 is "almost only noise", never a division by zero
CLIP = 2.0  # the denoised guess is clipped to this box; data lies within about ±1


def alpha_bar(t: np.ndarray | float) -> np.ndarray:
    """How much of the clean signal is left at time t ∈ [0, 1] (1 at t = 0, ~0 at t = 1)."""
    f = np.cos(np.pi / 2 * (np.asarray(t, dtype=np.float64) + COSINE_S) / (1 + COSINE_S)) ** 2
    f0 = math.cos(math.pi / 2 * COSINE_S / (1 + COSINE_S)) ** 2
    return np.maximum(f / f0, MIN_ALPHA_BAR)


@dataclass(frozen=True)
class Inputs:
    """How a point, a time and a shape label become the network's input vector.

    [x, y, sin(b·p) and cos(b·p) for a few random directions b, sin/cos of t at a few frequencies,
    one-hot label]. Sines of the position let a small MLP draw thin outlines (raw x, y alone give
    blurry blobs); random directions rather than the x and y axes keep stripes out of the dots.
    """

    position_directions: np.ndarray  # F × 2: the b's, in radians per unit
    time_frequencies: np.ndarray
    classes: int  # shapes + 1: the last label means "no shape"

    def __call__(self, x: np.ndarray, t: np.ndarray | float, labels: np.ndarray | int) -> np.ndarray:
        n = len(x)
        b = self.position_directions
        along = x[:, :1] * b[:, 0] + x[:, 1:] * b[:, 1]  # written out, as the page computes it
        angles = np.asarray(t, dtype=np.float64).reshape(-1, 1) * self.time_frequencies
        angles = np.broadcast_to(angles, (n, len(self.time_frequencies)))
        onehot = np.eye(self.classes)[np.broadcast_to(labels, (n,))]
        return np.concatenate(
            [x, np.sin(along), np.cos(along), np.sin(angles), np.cos(angles), onehot], axis=1
        )

    @property
    def size(self) -> int:
        return 2 + 2 * len(self.position_directions) + 2 * len(self.time_frequencies) + self.classes


@dataclass(frozen=True)
class Model:
    """The noise predictor ε(x, t, shape) as plain arrays: Linear → SiLU → … → Linear."""

    shapes: tuple[str, ...]
    inputs: Inputs
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]  # (weight out×in, bias out) each

    @property
    def null_label(self) -> int:
        """The "no shape" label, learned by dropping labels in training: the unconditional model."""
        return len(self.shapes)

    def eps(self, x: np.ndarray, t: float, label: int) -> np.ndarray:
        h = self.inputs(x, t, label)
        for i, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if i < len(self.layers) - 1:
                with np.errstate(over="ignore"):  # exp(-h) = inf for very negative h: SiLU is then -0
                    h = h / (1 + np.exp(-h))  # SiLU
        return h


def _decode(blob: dict[str, Any]) -> np.ndarray:
    raw = np.frombuffer(base64.b64decode(blob["data"]), dtype="<f2")
    return raw.astype(np.float64).reshape(blob["shape"])


def encode(array: np.ndarray) -> dict[str, Any]:
    """An array as float16 little-endian bytes in base64: the weights file's (and the page's) format."""
    return {"shape": list(array.shape), "data": base64.b64encode(array.astype("<f2").tobytes()).decode()}


def load_weights_json(path: Path = WEIGHTS) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def model_from_json(data: dict[str, Any]) -> Model:
    layers = tuple((_decode(layer["weight"]), _decode(layer["bias"])) for layer in data["layers"])
    return Model(tuple(data["shapes"]), inputs_from_json(data), layers)


def inputs_from_json(data: dict[str, Any]) -> Inputs:
    return Inputs(
        np.asarray(data["position_directions"], dtype=np.float64).reshape(-1, 2),
        np.asarray(data["time_frequencies"], dtype=np.float64),
        len(data["shapes"]) + 1,
    )


def load_model(path: Path = WEIGHTS) -> Model:
    return model_from_json(load_weights_json(path))


def mulberry32(seed: int) -> Callable[[], float]:
    """The mulberry32 PRNG, bit for bit as in JavaScript (Math.imul, >>>): floats in [0, 1)."""
    mask = 0xFFFFFFFF
    state = seed & mask

    def imul(a: int, b: int) -> int:
        return (a * b) & mask

    def next_float() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & mask
        t = imul(state ^ (state >> 15), 1 | state)
        t = ((t + imul(t ^ (t >> 7), 61 | t)) & mask) ^ t
        return ((t ^ (t >> 14)) & mask) / 4294967296

    return next_float


def start_noise(seed: int, count: int) -> np.ndarray:
    """count × 2 standard normal points from a seed (Box–Muller over mulberry32), as the page makes them."""
    rand = mulberry32(seed)
    points = np.empty((count, 2))
    for i in range(count):
        radius = math.sqrt(-2 * math.log(1 - rand()))
        angle = 2 * math.pi * rand()
        points[i] = radius * math.cos(angle), radius * math.sin(angle)
    return points


def guided_eps(model: Model, x: np.ndarray, t: float, label: int, guidance: float) -> np.ndarray:
    """Classifier-free guidance: ε_uncond + w · (ε_shape − ε_uncond); w = 0 ignores the shape."""
    if guidance == 0:
        return model.eps(x, t, model.null_label)
    if guidance == 1:
        return model.eps(x, t, label)
    uncond = model.eps(x, t, model.null_label)
    return uncond + guidance * (model.eps(x, t, label) - uncond)


def ddim_step(x: np.ndarray, eps: np.ndarray, t: float, t_next: float) -> np.ndarray:
    """One deterministic DDIM step from t to t_next, through the clipped guess of the clean points."""
    a, a_next = float(alpha_bar(t)), float(alpha_bar(t_next))
    x0 = np.clip((x - math.sqrt(1 - a) * eps) / math.sqrt(a), -CLIP, CLIP)
    return math.sqrt(a_next) * x0 + math.sqrt(1 - a_next) * eps


def sample(
    model: Model, shape: str, seed: int = 0, count: int = 1000, steps: int = 40, guidance: float = 2.0
) -> np.ndarray:
    """Every step of a run: (steps + 1) × count × 2, from the seeded noise (step 0) to the shape."""
    label = model.shapes.index(shape)
    x = start_noise(seed, count)
    frames = [x]
    # Matrices this small finish before extra BLAS threads wake up; on a busy CPU they were 25x slower.
    with threadpool_limits(1, user_api="blas"):
        for i in range(steps):
            t, t_next = 1 - i / steps, 1 - (i + 1) / steps
            x = ddim_step(x, guided_eps(model, x, t, label, guidance), t, t_next)
            frames.append(x)
    return np.stack(frames)
