"""Precompute: plan the content's trajectories, skip those the bundle already holds, render the rest."""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import json
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from stepthrough import log
from stepthrough.content import Content
from stepthrough.errors import StepthroughError
from stepthrough.precompute.bundle import (
    FileRecord,
    Manifest,
    Projection,
    Trajectory,
    View,
    atomic_write,
    final_picture,
    read_manifest,
    write_manifest,
)
from stepthrough.precompute.frames import encode_sprite, removed_noise
from stepthrough.precompute.models import load_model
from stepthrough.precompute.models.base import DiffusionModel
from stepthrough.precompute.plan import Job, ProjectionJob, plan_content
from stepthrough.precompute.project import (
    embedding_map,
    latent_false_colour,
    mean_distances,
    nearest_rows,
    picture_features,
    pooled,
    trajectory_paths,
)
from stepthrough.precompute.sampler import Rendered, sample
from stepthrough.precompute.shards import (
    Rank,
    Shard,
    all_finished,
    finish,
    gather,
    rank_from_env,
    read_shards,
    write_shard,
)


def model_record(model: DiffusionModel) -> dict:
    info = asdict(model.info)
    info["image_size"], info["latent_shape"] = list(info["image_size"]), list(info["latent_shape"])
    if not info["settings"]:
        del info["settings"]  # models without settings keep the fingerprint they always had
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
        log.info(f"{bundle_dir}: made with another model or scheduler; rendering it again")
    fingerprint = fresh.fingerprint()
    ids = {job: job.content_id(fingerprint) for job in plan.jobs}
    fresh.plan = {sid: [ids[job] for job in jobs] for sid, jobs in plan.sections.items()}
    projections = {p.content_id(fingerprint): p for p in plan.projections.values()}
    specs = {pid: _projection_spec(p, ids) for pid, p in projections.items()}  # for whoever merges
    mine = rank.share(plan.jobs)
    # What the bundle or any rank's shard already holds is not rendered again.
    manifest = gather(bundle_dir, fresh, ids=None if rank.alone else {ids[job] for job in mine})
    todo = [job for job in mine if ids[job] not in manifest.trajectories]
    done = len(mine) - len(todo)
    if done:
        whose = "" if rank.alone else f" ({rank}'s share)"
        log.info(f"{done} of {len(mine)} trajectories{whose} already in {bundle_dir}; skipping them")

    def save(finished: bool = False) -> None:
        if rank.alone:
            write_manifest(bundle_dir, manifest)
            return
        shard = Shard(rank.rank, rank.world_size, [ids[job] for job in mine], finished, manifest, specs)
        write_shard(bundle_dir, shard)

    total_steps = sum(job.steps for job in todo)
    with tqdm(total=total_steps, desc="precompute", unit="step", disable=not progress or not todo) as bar:
        for batch in render(model, todo, batch_size, bar):
            for rendered in batch:
                _store(bundle_dir, manifest, ids[rendered.job], rendered)
            save()  # after every batch: an interrupted run resumes here

    # Maps of prompt embeddings need the model: rank 0 draws them. Paths and tallies need every
    # trajectory: whoever completes the bundle draws them.
    if rank.rank == 0:
        for pid, projection in projections.items():
            if projection.kind not in FROM_TRAJECTORIES and pid not in manifest.projections:
                _store_projection(bundle_dir, manifest, pid, _embedding_map(model, projection))
    if rank.alone:
        _complete(bundle_dir, manifest, fresh.plan, specs)
    else:
        save(finished=True)
        if all_finished(bundle_dir, rank.world_size, fingerprint):
            try:
                merge_bundle(bundle_dir)
            except StepthroughError:
                # Two ranks that finish at the same moment may both merge; one finds the other's result.
                merged = read_manifest(bundle_dir)
                if merged is None or merged.fingerprint() != fingerprint or merged.plan != fresh.plan:
                    raise
            log.info(f"{rank}: every rank has finished; merged the shards into {bundle_dir}")
        else:
            log.info(f"{rank}: finished; the last rank to finish merges the shards")
    return bundle_dir


def merge_bundle(bundle_dir: Path) -> Manifest:
    """Join the shards that ranks wrote into the bundle's manifest; refuse while a rank has work left."""
    bundle_dir = Path(bundle_dir)
    shards = read_shards(bundle_dir)
    if not shards:
        raise StepthroughError(
            f"{bundle_dir}/shards: no shard manifests to merge (ranks write them when "
            "`stepthrough precompute` runs with RANK and WORLD_SIZE set)"
        )
    newest = max(shards, key=lambda shard: shard.written)
    fingerprint = newest.manifest.fingerprint()
    current = [
        s for s in shards if s.world_size == newest.world_size and s.manifest.fingerprint() == fingerprint
    ]
    if any(s.manifest.plan != newest.manifest.plan for s in current):
        raise StepthroughError(
            f"{bundle_dir}/shards: the ranks planned different content; run every rank on the same content"
        )
    base = Manifest(**{**vars(newest.manifest), "trajectories": {}, "files": {}, "projections": {}})
    manifest = gather(bundle_dir, base)
    missing = {tid for ids in newest.manifest.plan.values() for tid in ids} - set(manifest.trajectories)
    maps = [pid for pid, spec in newest.projections.items() if spec["kind"] not in FROM_TRAJECTORIES]
    missing_maps = [pid for pid in maps if pid not in manifest.projections]
    if missing or missing_maps:
        by_rank = {s.rank: s for s in current}
        unfinished = [
            str(Rank(r, newest.world_size))
            for r in range(newest.world_size)
            if r not in by_rank or set(by_rank[r].assigned) & missing or (r == 0 and missing_maps)
        ]
        raise StepthroughError(
            f"{bundle_dir}: {len(missing)} trajectories are not rendered yet ({', '.join(unfinished)} "
            "not finished); run `stepthrough precompute` again with those RANK values and "
            f"WORLD_SIZE={newest.world_size}, then merge"
        )
    _complete(bundle_dir, manifest, newest.manifest.plan, newest.projections)
    return manifest


def _complete(bundle_dir: Path, manifest: Manifest, plan: dict[str, list[str]], projections: dict) -> None:
    """Draw the paths and tally projections (they need every trajectory), then write the final manifest."""
    for pid, spec in projections.items():
        if spec["kind"] in FROM_TRAJECTORIES and pid not in manifest.projections:
            _store_projection(
                bundle_dir, manifest, pid, FROM_TRAJECTORIES[spec["kind"]](bundle_dir, manifest, spec)
            )
    finish(bundle_dir, manifest, plan, list(projections))


def _projection_spec(projection: ProjectionJob, ids: dict[Job, str]) -> dict:
    spec = {"kind": projection.kind, "trajectories": [ids[job] for job in projection.jobs]}
    if projection.references:
        spec["references"] = [ids[job] for job in projection.references]
    return spec


def _store_projection(bundle_dir: Path, manifest: Manifest, pid: str, data: dict) -> None:
    _store_file(bundle_dir, manifest, f"projections/{pid}.json", json.dumps(data).encode())
    manifest.projections[pid] = Projection(kind=data["kind"], file=f"projections/{pid}.json")


def _paths(bundle_dir: Path, manifest: Manifest, spec: dict) -> dict:
    """Trajectories as paths through a 2-D view of latent space, from their stored latents."""
    trajectory_ids = spec["trajectories"]
    latents = [np.load(bundle_dir / manifest.trajectories[tid].latents) for tid in trajectory_ids]
    paths, explained = trajectory_paths(latents)
    return {
        "kind": "paths",
        "trajectories": trajectory_ids,
        "paths": paths,
        "explained_variance": explained,
        "spread": mean_distances(latents),
    }


def _tally(bundle_dir: Path, manifest: Manifest, spec: dict) -> dict:
    """Each default picture sorted to the explicit-prompt picture it looks most like (see
    project.picture_features for the space), from the finished pictures the bundle holds."""
    defaults, references = spec["trajectories"], spec["references"]

    def features(ids: list[str]) -> np.ndarray:
        return picture_features(np.stack([final_picture(bundle_dir, manifest, tid) for tid in ids]))

    same = np.array([[d == r for r in references] for d in defaults])  # a picture is not its own look-alike
    index, distance = nearest_rows(features(defaults), features(references), exclude=same)
    return {
        "kind": "tally",
        "trajectories": defaults,
        "references": references,
        "nearest": [
            {
                "trajectory": references[i],
                "prompt": manifest.trajectories[references[i]].prompt,
                "distance": round(float(d), 4),
            }
            for i, d in zip(index, distance, strict=True)
        ],
    }


# Projections drawn from finished trajectories (no model needed), by kind.
FROM_TRAJECTORIES = {"paths": _paths, "tally": _tally}


def _embedding_map(model: DiffusionModel, projection: ProjectionJob) -> dict:
    """Prompts placed on a 2-D map by their embeddings (pooled when the model has no pooled vector)."""
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


def render(model: DiffusionModel, jobs: list[Job], batch_size: int, bar: tqdm) -> Iterator[list[Rendered]]:
    """Sample the jobs batch by batch, yielding each batch's trajectories. When the GPU runs out
    of memory, say so and go on with half the batch size; only a single trajectory that does not
    fit is an error."""
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
            log.warning(
                f"out of GPU memory with {len(batch)} trajectories per batch; retrying with {batch_size}"
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
    atomic_write(bundle_dir / rel, data, durable=False)  # the manifest's sha256 catches a torn file
    manifest.files[rel] = FileRecord(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))


def _metrics(rendered: Rendered) -> dict[str, list[float]]:
    """Per-step distances to the final picture (RMS over pixels, 0 = identical, 1 = opposite)."""
    final = rendered.xt[-1].astype(np.float32) / 255

    def distance(frames: np.ndarray) -> list[float]:
        diff = frames.astype(np.float32) / 255 - final
        return [round(float(v), 5) for v in np.sqrt((diff**2).mean(axis=(1, 2, 3)))]

    return {"xt_distance_to_final": distance(rendered.xt), "x0_distance_to_final": distance(rendered.x0)}
