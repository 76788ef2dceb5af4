"""Precompute: plan the content's trajectories, skip those the bundle already holds, render the rest."""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import click
import numpy as np
import torch
from tqdm import tqdm

from stepthrough.content import Content
from stepthrough.errors import StepthroughError
from stepthrough.precompute.bundle import (
    FileRecord,
    Manifest,
    Trajectory,
    View,
    atomic_write,
    read_manifest,
    write_manifest,
)
from stepthrough.precompute.frames import encode_sprite
from stepthrough.precompute.models import load_model
from stepthrough.precompute.models.base import DiffusionModel
from stepthrough.precompute.plan import Job, plan_content
from stepthrough.precompute.sampler import Rendered, sample
from stepthrough.precompute.shards import (
    Rank,
    Shard,
    all_finished,
    finish,
    gather,
    merge,
    rank_from_env,
    write_shard,
)

VIEWS = ("xt", "x0")


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
    rank: Rank | None = None,
) -> Path:
    """Write or complete the bundle that `content` names; return its folder.

    With `rank` (default: from RANK / WORLD_SIZE) this process renders only its share of the jobs
    into its own shard manifest; the last rank to finish merges the shards into the bundle.
    """
    if model is None or isinstance(model, str):
        model = load_model(model or content.site.model, device=device, revision=content.site.revision)
    rank = rank or rank_from_env()
    bundle_dir = Path(bundles_dir) / content.site.bundle
    plan = plan_content(content)

    fresh = Manifest(
        bundle_id=content.site.bundle, model=model_record(model), scheduler=scheduler_record(model)
    )
    previous = read_manifest(bundle_dir)
    if previous is not None and previous.fingerprint() != fresh.fingerprint():
        click.echo(f"{bundle_dir}: made with another model or scheduler; rendering it again", err=True)
    ids = {job: job.content_id(fresh.fingerprint()) for job in plan.jobs}
    fresh.plan = {sid: [ids[job] for job in jobs] for sid, jobs in plan.sections.items()}
    mine = rank.share(plan.jobs)
    # What the bundle or any rank's shard already holds is not rendered again.
    manifest = gather(bundle_dir, fresh, ids=None if rank.alone else {ids[job] for job in mine})
    todo = [job for job in mine if ids[job] not in manifest.trajectories]
    done = len(mine) - len(todo)
    whose = "" if rank.alone else f" ({rank}'s share)"
    if done:
        click.echo(
            f"{done} of {len(mine)} trajectories{whose} already in {bundle_dir}; skipping them", err=True
        )

    def save(finished: bool = False) -> None:
        if rank.alone:
            write_manifest(bundle_dir, manifest)
        else:
            assigned = [ids[job] for job in mine]
            write_shard(bundle_dir, Shard(rank.rank, rank.world_size, assigned, finished, manifest))

    total_steps = sum(job.steps for job in todo)
    with tqdm(total=total_steps, desc="precompute", unit="step", disable=not progress or not todo) as bar:
        for batch in render(model, todo, batch_size, bar):
            for rendered in batch:
                _store(bundle_dir, manifest, ids[rendered.job], rendered)
            save()  # after every batch: an interrupted run resumes here

    if rank.alone:
        finish(bundle_dir, manifest, fresh.plan)
    else:
        save(finished=True)
        if all_finished(bundle_dir, rank.world_size, fresh.fingerprint()):
            merge(bundle_dir)
            click.echo(f"{rank}: every rank has finished; merged the shards into {bundle_dir}", err=True)
        else:
            click.echo(f"{rank}: finished; the last rank to finish merges the shards", err=True)
    return bundle_dir


def render(model: DiffusionModel, jobs: list[Job], batch_size: int, bar: tqdm) -> Iterator[list[Rendered]]:
    """Sample the jobs batch by batch, yielding each batch's trajectories. When the GPU runs out of memory, say so and go on with
    half the batch size; only a single trajectory that does not fit is an error."""
    pending = deque(_batches(jobs, batch_size))
    while pending:
        batch = pending.popleft()
        if len(batch) > batch_size:
            pending.extendleft([batch[batch_size:], batch[:batch_size]])
            continue
        start = bar.n
        try:
            rendered = sample(model, batch, on_step=functools.partial(bar.update, len(batch)))
        except torch.OutOfMemoryError:
            bar.update(start - bar.n)  # undo the failed batch's progress
            if len(batch) == 1:
                raise StepthroughError(
                    "out of GPU memory with a single trajectory; use --dtype float16 or bfloat16, "
                    "a smaller --size, a tiny --preview-vae, or a GPU with more memory"
                )
            batch_size = len(batch) // 2
            click.echo(
                f"out of GPU memory with {len(batch)} trajectories per batch; retrying with {batch_size}",
                err=True,
            )
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            pending.appendleft(batch)
            continue
        yield rendered


def _batches(jobs: list[Job], size: int):
    """Jobs grouped by step count (one scheduler per batch), then cut to `size`."""
    by_steps = sorted(jobs, key=lambda job: job.steps)
    for _, group in itertools.groupby(by_steps, key=lambda job: job.steps):
        group = list(group)
        for start in range(0, len(group), size):
            yield group[start : start + size]


def _store(bundle_dir: Path, manifest: Manifest, trajectory_id: str, rendered: Rendered) -> None:
    views = {}
    for name in VIEWS:
        frames = getattr(rendered, name)
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
        metrics=_metrics(rendered),
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
