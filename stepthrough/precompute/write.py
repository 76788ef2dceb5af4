"""Write: rendered trajectories and drawn projections into the bundle's files and manifest."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np

from stepthrough.bundle import FileRecord, Manifest, Projection, Trajectory, View
from stepthrough.bundle.atomic import atomic_write
from stepthrough.precompute.capture import Rendered
from stepthrough.precompute.frames import encode_sprite, removed_noise
from stepthrough.precompute.project import latent_false_colour
from stepthrough.widgets.base import ProjectionResult


def store_trajectory(bundle_dir: Path, manifest: Manifest, trajectory_id: str, rendered: Rendered) -> None:
    """A trajectory's four views as WebP sprite sheets, its latents, and its manifest entry."""
    noise, noise_rms = removed_noise(rendered.xt)
    latent_view = latent_false_colour(rendered.latents)
    views = {}
    for name, frames in (("xt", rendered.xt), ("x0", rendered.x0), ("noise", noise), ("latent", latent_view)):
        data, columns = encode_sprite(frames)
        rel = f"frames/{trajectory_id}-{name}.webp"
        store_file(bundle_dir, manifest, rel, data)
        views[name] = View(
            file=rel, frames=len(frames), width=frames.shape[2], height=frames.shape[1], columns=columns
        )
    buffer = io.BytesIO()
    np.save(buffer, rendered.latents.astype(np.float16))
    latents_rel = f"latents/{trajectory_id}.npy"
    store_file(bundle_dir, manifest, latents_rel, buffer.getvalue())
    job = rendered.job
    manifest.trajectories[trajectory_id] = Trajectory(
        prompt=job.prompt,
        seed=job.seed,
        steps=job.steps,
        guidance=job.guidance,
        timesteps=rendered.timesteps,
        model_evaluations=rendered.model_evaluations,
        views=views,
        metrics={**_metrics(rendered), "noise_removed_rms": noise_rms},
        towards=job.towards,
        blend=job.blend,
        latents=latents_rel,
    )


def store_projection(
    bundle_dir: Path, manifest: Manifest, projection_id: str, result: ProjectionResult
) -> None:
    rel = f"projections/{projection_id}.json"
    store_file(bundle_dir, manifest, rel, json.dumps(result.to_json()).encode())
    manifest.projections[projection_id] = Projection(kind=result.kind, file=rel)


def store_file(bundle_dir: Path, manifest: Manifest, rel: str, data: bytes) -> None:
    atomic_write(bundle_dir / rel, data, durable=False)  # the manifest's sha256 catches a torn file
    manifest.files[rel] = FileRecord(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))


def _metrics(rendered: Rendered) -> dict[str, list[float]]:
    """Per-step distances to the final picture (RMS over pixels, 0 = identical, 1 = opposite)."""
    final = rendered.xt[-1].astype(np.float32) / 255

    def distance(frames: np.ndarray) -> list[float]:
        diff = frames.astype(np.float32) / 255 - final
        return [round(float(v), 5) for v in np.sqrt((diff**2).mean(axis=(1, 2, 3)))]

    return {"xt_distance_to_final": distance(rendered.xt), "x0_distance_to_final": distance(rendered.x0)}
