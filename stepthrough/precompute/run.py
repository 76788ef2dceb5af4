"""Precompute: plan the content's trajectories, skip those the bundle already holds, render the rest."""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import click
import numpy as np
import torch
from tqdm import tqdm

from stepthrough.content import Content
from stepthrough.precompute.bundle import (
    FileRecord,
    Manifest,
    Projection,
    Trajectory,
    View,
    atomic_write,
    projection_is_complete,
    read_manifest,
    trajectory_is_complete,
    write_manifest,
)
from stepthrough.precompute.frames import encode_sprite, removed_noise
from stepthrough.precompute.models import load_model
from stepthrough.precompute.models.base import DiffusionModel
from stepthrough.precompute.plan import Job, ProjectionJob, plan_content
from stepthrough.precompute.project import embedding_map, latent_false_colour, pooled, trajectory_paths
from stepthrough.precompute.sampler import Rendered, sample

BUNDLE_FOLDERS = ("frames", "latents", "projections")  # every file in these is listed in the manifest


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

    projection_ids = {sid: p.content_id(manifest.fingerprint()) for sid, p in plan.projections.items()}
    for sid, projection in plan.projections.items():
        pid = projection_ids[sid]
        if not projection_is_complete(bundle_dir, manifest, pid):
            data = _project(bundle_dir, manifest, model, projection, [ids[job] for job in projection.jobs])
            _store_file(bundle_dir, manifest, f"projections/{pid}.json", json.dumps(data).encode())
            manifest.projections[pid] = Projection(kind=projection.kind, file=f"projections/{pid}.json")
            write_manifest(bundle_dir, manifest)

    manifest.plan = {sid: [ids[job] for job in jobs] for sid, jobs in plan.sections.items()}
    _prune(manifest, keep=set(ids.values()), keep_projections=set(projection_ids.values()))
    write_manifest(bundle_dir, manifest)
    _delete_unlisted_files(bundle_dir, manifest)  # only after the manifest no longer names them
    return bundle_dir


def _project(
    bundle_dir: Path,
    manifest: Manifest,
    model: DiffusionModel,
    projection: ProjectionJob,
    trajectory_ids: list[str],
) -> dict:
    """Compute one projection's JSON: paths from stored latents, or a map from prompt embeddings."""
    if projection.kind == "paths":
        latents = [np.load(bundle_dir / manifest.trajectories[tid].latents) for tid in trajectory_ids]
        paths, explained = trajectory_paths(latents)
        return {
            "kind": "paths",
            "trajectories": trajectory_ids,
            "paths": paths,
            "explained_variance": explained,
        }
    with torch.inference_mode():
        embedding = model.encode_prompts(list(projection.prompts))
    if embedding.pooled is not None:
        vectors = embedding.pooled.float().cpu().numpy()
    else:
        mask = None if embedding.mask is None else embedding.mask.cpu().numpy()
        vectors = pooled(embedding.hidden.float().cpu().numpy(), mask)
    points = embedding_map(vectors, projection.method)
    return {
        "kind": "embedding-map",
        "method": projection.method,
        "prompts": list(projection.prompts),
        "points": [[round(float(x), 4), round(float(y), 4)] for x, y in points],
    }


def _batches(jobs: list[Job], size: int):
    """Jobs grouped by step count (one scheduler per batch), then cut to `size`."""
    by_steps = sorted(jobs, key=lambda job: job.steps)
    for _, group in itertools.groupby(by_steps, key=lambda job: job.steps):
        group = list(group)
        for start in range(0, len(group), size):
            yield group[start : start + size]


def _store(bundle_dir: Path, manifest: Manifest, trajectory_id: str, rendered: Rendered) -> None:
    noise, noise_rms = removed_noise(rendered.xt)
    latent_view = latent_false_colour(rendered.latents)
    views = {}
    for name, frames in (("xt", rendered.xt), ("x0", rendered.x0), ("noise", noise), ("latent", latent_view)):
        data, columns = encode_sprite(frames)
        rel = f"frames/{trajectory_id}-{name}.webp"
        _store_file(bundle_dir, manifest, rel, data)
        views[name] = View(
            file=rel, frames=len(frames), width=frames.shape[2], height=frames.shape[1], columns=columns
        )
    buffer = io.BytesIO()
    np.save(buffer, rendered.latents.astype(np.float16))
    latents_rel = f"latents/{trajectory_id}.npy"
    _store_file(bundle_dir, manifest, latents_rel, buffer.getvalue())
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


def _store_file(bundle_dir: Path, manifest: Manifest, rel: str, data: bytes) -> None:
    atomic_write(bundle_dir / rel, data)
    manifest.files[rel] = FileRecord(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))


def _metrics(rendered: Rendered) -> dict[str, list[float]]:
    """Per-step distances to the final picture (RMS over pixels, 0 = identical, 1 = opposite)."""
    final = rendered.xt[-1].astype(np.float32) / 255

    def distance(frames: np.ndarray) -> list[float]:
        diff = frames.astype(np.float32) / 255 - final
        return [round(float(v), 5) for v in np.sqrt((diff**2).mean(axis=(1, 2, 3)))]

    return {"xt_distance_to_final": distance(rendered.xt), "x0_distance_to_final": distance(rendered.x0)}


def _prune(manifest: Manifest, keep: set[str], keep_projections: set[str]) -> None:
    """Drop trajectories and projections the content no longer uses, and their file records."""
    manifest.trajectories = {tid: t for tid, t in manifest.trajectories.items() if tid in keep}
    manifest.projections = {pid: p for pid, p in manifest.projections.items() if pid in keep_projections}
    used = {rel for t in manifest.trajectories.values() for rel in t.files()}
    used |= {p.file for p in manifest.projections.values()}
    manifest.files = {rel: rec for rel, rec in manifest.files.items() if rel in used}


def _delete_unlisted_files(bundle_dir: Path, manifest: Manifest) -> None:
    for folder in BUNDLE_FOLDERS:
        if (bundle_dir / folder).is_dir():
            for path in (bundle_dir / folder).iterdir():
                if f"{folder}/{path.name}" not in manifest.files:
                    path.unlink() if path.is_file() else shutil.rmtree(path)
