"""Reduce: high-dimensional things to 2-D pictures with scikit-learn (fixed random_state), for the
projections widgets ask for.

Pure functions over numpy arrays: latents to false colour, trajectories to paths, prompt
embeddings to a labelled map, finished pictures to their nearest look-alikes.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

RANDOM_STATE = 0
FEATURE_SIDE = 16


def latent_false_colour(latents: np.ndarray) -> np.ndarray:
    """(F, C, h, w) latents → (F, h, w, 3) uint8: the three main directions of the C channels as RGB.

    The colour axes are fitted on the last frame (the finished latent) and reused for every step,
    so a colour means the same thing all along the trajectory.
    """
    frames, channels, height, width = latents.shape
    pixels = latents.transpose(0, 2, 3, 1).reshape(frames, height * width, channels).astype(np.float64)
    components = min(3, channels)
    pca = PCA(n_components=components, random_state=RANDOM_STATE).fit(pixels[-1])
    projected = pca.transform(pixels.reshape(-1, channels)).reshape(frames, height * width, components)
    low, high = np.percentile(projected[-1], [1, 99], axis=0)
    scaled = ((projected - low) / np.maximum(high - low, 1e-6)).clip(0, 1)
    if components < 3:
        scaled = np.concatenate([scaled, np.zeros((*scaled.shape[:2], 3 - components))], axis=2)
    return (scaled.reshape(frames, height, width, 3) * 255).round().astype(np.uint8)


def trajectory_paths(
    trajectories: list[np.ndarray], fit: list[np.ndarray] | None = None
) -> tuple[list[list[list[float]]], list[float]]:
    """Each (F, *latent) trajectory → a path of F points in one shared 2-D PCA view of latent space,
    fitted on all of them or on the trajectories `fit`.

    Returns the paths and the share of the (fitted) variance that the two axes explain.
    """
    flat = [t.reshape(len(t), -1).astype(np.float64) for t in trajectories]
    fitted = flat if fit is None else [t.reshape(len(t), -1).astype(np.float64) for t in fit]
    pca = PCA(n_components=2, random_state=RANDOM_STATE).fit(np.concatenate(fitted))
    paths = [[[round(float(x), 4), round(float(y), 4)] for x, y in pca.transform(f)] for f in flat]
    return paths, [round(float(v), 4) for v in pca.explained_variance_ratio_]


def mean_distances(trajectories: list[np.ndarray]) -> list[float]:
    """Per step, the average distance between every two trajectories in the full latent space.

    The 2-D view can hide how close latents really come; this number does not.
    """
    flat = np.stack([t.reshape(len(t), -1).astype(np.float64) for t in trajectories])  # (T, F, D)
    pairs = [(i, j) for i in range(len(flat)) for j in range(i + 1, len(flat))]
    if not pairs:
        return [0.0] * flat.shape[1]
    distances = np.stack([np.linalg.norm(flat[i] - flat[j], axis=1) for i, j in pairs])
    return [round(float(d), 3) for d in distances.mean(axis=0)]


def embedding_map(vectors: np.ndarray, method: str = "tsne") -> np.ndarray:
    """(n, d) prompt embeddings → (n, 2) positions scaled to [0, 1]; near means similar."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if method == "pca":
        points = PCA(n_components=2, random_state=RANDOM_STATE).fit_transform(vectors)
    elif method == "tsne":
        perplexity = max(2.0, min(30.0, (len(vectors) - 1) / 3))
        tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=RANDOM_STATE)
        points = tsne.fit_transform(vectors)
    else:
        raise ValueError(f"unknown projection method {method!r}")
    low, high = points.min(axis=0), points.max(axis=0)
    return (points - low) / np.maximum(high - low, 1e-9)


def mean_over_tokens(hidden: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """(B, T, D) token states → (B, D): the mean over real tokens (what sentence encoders call pooling)."""
    if mask is None:
        return hidden.mean(axis=1)
    weights = mask[..., None].astype(hidden.dtype)
    return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1)


def picture_features(images: np.ndarray, side: int = FEATURE_SIDE) -> np.ndarray:
    """(N, H, W, 3) uint8 pictures → (N, side·side·3) floats in [0, 1]: each picture box-downscaled.

    The space in which "looks like" is measured (Euclidean distance between rows). Averaging
    blocks of pixels keeps what a glance sees — colours and the rough shape — and forgives the blur
    and small shifts that tell two samples of one prompt apart; 16 × 16 is enough to tell a
    yellow face from a dark-skinned one. It knows nothing about the model, so it works for any.
    Pixels that do not fill a whole block at the right and bottom edges are left out.
    """
    n, height, width, channels = images.shape
    side = min(side, height, width)
    bh, bw = height // side, width // side
    blocks = images[:, : side * bh, : side * bw].reshape(n, side, bh, side, bw, channels)
    return (blocks.astype(np.float32).mean(axis=(2, 4)) / 255).reshape(n, -1)


def nearest_rows(
    queries: np.ndarray, bank: np.ndarray, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """For each query row, the index of the nearest `bank` row (Euclidean) and the distance to it.

    `exclude` (Q, B) marks pairs that may not match (a picture is not its own look-alike); ties go
    to the earlier bank row, so the answer is deterministic.
    """
    diff = queries[:, None, :].astype(np.float64) - bank[None, :, :].astype(np.float64)
    distances = np.sqrt((diff**2).sum(axis=2))
    if exclude is not None:
        distances = np.where(exclude, np.inf, distances)
    index = distances.argmin(axis=1)
    return index, distances[np.arange(len(queries)), index]
