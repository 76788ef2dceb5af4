"""Point clouds of a few named shapes: the training data of the particles model.

Each shape is a set of outlines (polylines); points are spread evenly along their length and
jittered a little, so the model learns a thin band around each outline. Coordinates lie in
about [-1, 1] with y pointing up. Deterministic for a seed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

JITTER = 0.015  # a band, not a line: a distribution with zero width is hard to learn and to score
DETAIL = 400  # points per outline before resampling by arc length


def _circle(cx: float, cy: float, r: float, start: float = 0.0, end: float = 2 * np.pi) -> np.ndarray:
    t = np.linspace(start, end, DETAIL)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)


def heart() -> list[np.ndarray]:
    # The classic heart curve (x = 16 sin³t, y = 13 cos t − 5 cos 2t − 2 cos 3t − cos 4t), scaled to fit.
    t = np.linspace(0, 2 * np.pi, DETAIL)
    x = 16 * np.sin(t) ** 3
    y = 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
    return [np.stack([x, y + 2.5], axis=1) / 17.0]


def star() -> list[np.ndarray]:
    angles = np.pi / 2 + np.arange(11) * np.pi / 5  # 10 corners, closed
    radii = np.where(np.arange(11) % 2 == 0, 0.95, 0.4)
    corners = np.stack([radii * np.cos(angles), radii * np.sin(angles) - 0.05], axis=1)
    return [np.concatenate([np.linspace(a, b, DETAIL // 10) for a, b in itertools.pairwise(corners)])]


def spiral() -> list[np.ndarray]:
    t = np.linspace(0.6, 3.2 * np.pi, DETAIL)
    r = t / (3.2 * np.pi) * 0.92
    return [np.stack([r * np.cos(t), r * np.sin(t)], axis=1)]


def ring() -> list[np.ndarray]:
    return [_circle(0, 0, 0.8)]


def smile() -> list[np.ndarray]:
    return [
        _circle(0, 0, 0.9),
        _circle(-0.32, 0.3, 0.1),
        _circle(0.32, 0.3, 0.1),
        _circle(0, 0.05, 0.5, start=1.15 * np.pi, end=1.85 * np.pi),
    ]


# Order matters: a shape's index is its class label in the model (the weights file records it).
SHAPES: dict[str, Callable[[], list[np.ndarray]]] = {
    "heart": heart,
    "star": star,
    "spiral": spiral,
    "ring": ring,
    "smile": smile,
}
SHAPE_NAMES: tuple[str, ...] = tuple(SHAPES)


def sample_shape(name: str, n: int, seed: int = 0, jitter: float = JITTER) -> np.ndarray:
    """`n` points (n × 2, float64) spread evenly along the shape's outlines, plus Gaussian jitter."""
    rng = np.random.default_rng(seed)
    outlines = SHAPES[name]()
    lengths = [np.linalg.norm(np.diff(o, axis=0), axis=1) for o in outlines]
    ends = np.cumsum([seg.sum() for seg in lengths])
    # Positions along the concatenated outlines, uniform in arc length; each lands on one outline.
    s = rng.uniform(0, ends[-1], n)
    which = np.minimum(np.searchsorted(ends, s, side="right"), len(outlines) - 1)
    points = []
    for k, (outline, seg) in enumerate(zip(outlines, lengths)):
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        along = s[which == k] - (ends[k] - cum[-1])
        points.append(np.stack([np.interp(along, cum, outline[:, d]) for d in (0, 1)], axis=1))
    cloud = np.concatenate(points)
    cloud = cloud[rng.permutation(len(cloud))]
    return cloud + rng.normal(0, jitter, cloud.shape)
