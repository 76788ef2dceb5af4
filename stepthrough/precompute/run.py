"""Precompute: plan the content's trajectories, skip those the bundle already holds, render the rest."""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import click
import numpy as np
from tqdm import tqdm

from stepthrough.content import Content
from stepthrough.precompute.bundle import (
    FileRecord,
    Manifest,
    Trajectory,
    View,
    atomic_write,
    read_manifest,
    trajectory_is_complete,
    write_manifest,
)
from stepthrough.precompute.frames import encode_sprite, removed_noise
from stepthrough.precompute.models import load_model
from stepthrough.precompute.models.base import DiffusionModel
from stepthrough.precompute.plan import Job, plan_content
from stepthrough.precompute.sampler import Rendered, sample


def model_record(model: DiffusionModel) -> dict:
    info = asdict(model.info)
    info["image_size"], info["latent_shape"] = list(info["image_size"]), list(info["latent_shape"])
    return info


def scheduler_record(model: DiffusionModel) -> dict:
    scheduler = model.make_scheduler()
    config = {k: v for k, v in dict(scheduler.config).items() if not k.startswith("_")}
    # Round-trip through JSON so the fingerprint is the same whether computed here or read back.
    return json.loads(json.dumps({"class": type(scheduler).__name__, "config": config}, default=str))


def precompute(
    content: Content,
    bundles_dir: Path,
    model: DiffusionModel | str | None = None,
    device: str = "cpu",
    batch_size: int = 8,
    progress: bool = True,
) -> Path:
    """Write or complete the bundle that `content` names; return its folder."""
    if model is None or isinstance(model, str):
        model = load_model(model or content.site.model, device=device, revision=content.site.revision)
    bundle_dir = Path(bundles_dir) / content.site.bundle
    plan = plan_content(content)

    fresh = Manifest(
        bundle_id=content.site.bundle, model=model_record(model), scheduler=scheduler_record(model)
    )
    manifest = read_manifest(bundle_dir)
    if manifest is None or manifest.fingerprint() != fresh.fingerprint():
        if manifest is not None:
            click.echo(f"{bundle_dir}: made with another model or scheduler; rendering it again", err=True)
        manifest = fresh
    ids = {job: job.content_id(manifest.fingerprint()) for job in plan.jobs}
    todo = [job for job in plan.jobs if not trajectory_is_complete(bundle_dir, manifest, ids[job])]
    done = len(plan.jobs) - len(todo)
    if done:
        click.echo(
            f"{done} of {len(plan.jobs)} trajectories already in {bundle_dir}; skipping them", err=True
        )

    total_steps = sum(job.steps for job in todo)
    with tqdm(total=total_steps, desc="precompute", unit="step", disable=not progress or not todo) as bar:
        for batch in _batches(todo, batch_size):
            advance = functools.partial(bar.update, len(batch))
            for rendered in sample(model, batch, on_step=advance):
                _store(bundle_dir, manifest, ids[rendered.job], rendered)
            write_manifest(bundle_dir, manifest)  # after every batch: an interrupted run resumes here

    manifest.plan = {sid: [ids[job] for job in jobs] for sid, jobs in plan.sections.items()}
    _prune(manifest, keep=set(ids.values()))
    write_manifest(bundle_dir, manifest)
    _delete_unlisted_frames(bundle_dir, manifest)  # only after the manifest no longer names them
    return bundle_dir


def _batches(jobs: list[Job], size: int):
    """Jobs grouped by step count (one scheduler per batch), then cut to `size`."""
    by_steps = sorted(jobs, key=lambda job: job.steps)
    for _, group in itertools.groupby(by_steps, key=lambda job: job.steps):
        group = list(group)
        for start in range(0, len(group), size):
            yield group[start : start + size]


def _store(bundle_dir: Path, manifest: Manifest, trajectory_id: str, rendered: Rendered) -> None:
    noise, noise_rms = removed_noise(rendered.xt)
    views = {}
    for name, frames in (("xt", rendered.xt), ("x0", rendered.x0), ("noise", noise)):
        data, columns = encode_sprite(frames)
        rel = f"frames/{trajectory_id}-{name}.webp"
        atomic_write(bundle_dir / rel, data)
        manifest.files[rel] = FileRecord(sha256=_sha256(data), bytes=len(data))
        views[name] = View(
            file=rel, frames=len(frames), width=frames.shape[2], height=frames.shape[1], columns=columns
        )
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
    )


def _metrics(rendered: Rendered) -> dict[str, list[float]]:
    """Per-step distances to the final picture (RMS over pixels, 0 = identical, 1 = opposite)."""
    final = rendered.xt[-1].astype(np.float32) / 255

    def distance(frames: np.ndarray) -> list[float]:
        diff = frames.astype(np.float32) / 255 - final
        return [round(float(v), 5) for v in np.sqrt((diff**2).mean(axis=(1, 2, 3)))]

    return {"xt_distance_to_final": distance(rendered.xt), "x0_distance_to_final": distance(rendered.x0)}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _prune(manifest: Manifest, keep: set[str]) -> None:
    """Drop trajectories the content no longer uses, and their file records."""
    manifest.trajectories = {tid: t for tid, t in manifest.trajectories.items() if tid in keep}
    used = {view.file for t in manifest.trajectories.values() for view in t.views.values()}
    manifest.files = {rel: rec for rel, rec in manifest.files.items() if rel in used}


def _delete_unlisted_frames(bundle_dir: Path, manifest: Manifest) -> None:
    frames_dir = bundle_dir / "frames"
    if frames_dir.is_dir():
        for path in frames_dir.iterdir():
            if f"frames/{path.name}" not in manifest.files:
                path.unlink() if path.is_file() else shutil.rmtree(path)
