"""Precompute, top to bottom: plan the content → skip what the bundle holds → sample and capture →
write frames → draw projections → complete the bundle (or this rank's shard)."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from stepthrough import log
from stepthrough.adapter import DiffusionModel
from stepthrough.bundle import Manifest, folder_lock, read_manifest
from stepthrough.bundle.ids import Job
from stepthrough.content import Content
from stepthrough.errors import StepthroughError
from stepthrough.plan import Plan, plan_content
from stepthrough.precompute.capture import LOOP, Rendered, render
from stepthrough.precompute.cost import batches
from stepthrough.precompute.draw import draw_missing
from stepthrough.precompute.models import load_model
from stepthrough.precompute.shards import Progress, Rank, gather, rank_from_env
from stepthrough.precompute.write import BatchWriter, store_trajectory

SAVE_SPACING = 20  # the manifest is written after a batch once 20× its last write's time has passed


@dataclass
class Timings:
    """Where a precompute's wall time went, in seconds: the model's denoising loop, decoding latents
    to pictures, waiting for the writer (encode + hash + write, when it did not keep up), and the
    rest (planning, checking what the bundle holds, projections, the final manifest). `writing` is
    the writer's own busy time, most of it hidden behind the model's."""

    wall: float = 0.0
    model: float = 0.0
    decode: float = 0.0
    write: float = 0.0
    writing: float = 0.0

    @property
    def other(self) -> float:
        return max(0.0, self.wall - self.model - self.decode - self.write)

    @property
    def overhead_share(self) -> float:
        """The share of the wall time not spent in the model or the decoder."""
        return (self.write + self.other) / self.wall if self.wall else 0.0


def precompute(
    content: Content,
    bundles_dir: Path,
    model: DiffusionModel | str | None = None,
    device: str = "cpu",
    batch_size: int = 8,
    progress: bool = True,
    rank: Rank | None = None,
    replace: bool = False,
    timings: Timings | None = None,
    overlap: bool = True,
) -> Path:
    """Write or complete the bundle that `content` names; return its folder.

    With `rank` (default: from RANK / WORLD_SIZE) this process renders only its share of the jobs
    into its own shard manifest; the last rank to finish merges the shards into the bundle. A
    bundle that another model made is rendered again only with `replace` (a GPU render is dear).
    A single run holds the bundle's lock: a second run on the same bundle waits for it.

    Files are encoded and written on a second thread while the model renders the next batch
    (`overlap=False` writes between batches instead); `timings`, when given, is filled in.
    """
    started = time.perf_counter()
    timings = timings if timings is not None else Timings()
    rank = rank or rank_from_env()
    bundle_dir = Path(bundles_dir) / content.site.bundle
    if not rank.alone:  # ranks share the bundle by design, each writing its own shard
        result = _precompute(content, bundle_dir, model, device, batch_size, progress, rank, replace, timings, overlap)
    else:
        with folder_lock(bundle_dir, "writing the bundle"):
            result = _precompute(
                content, bundle_dir, model, device, batch_size, progress, rank, replace, timings, overlap
            )
    timings.wall = time.perf_counter() - started
    return result


def _precompute(
    content: Content,
    bundle_dir: Path,
    model: DiffusionModel | str | None,
    device: str,
    batch_size: int,
    progress: bool,
    rank: Rank,
    replace: bool,
    timings: Timings,
    overlap: bool,
) -> Path:
    if model is None or isinstance(model, str):
        model = load_model(model or content.site.model, device=device, revision=content.site.revision)

    # 1. Plan: the content's trajectories and projections, named by ids for this model and scheduler.
    fresh = Manifest(
        bundle_id=content.site.bundle, model=model_record(model), scheduler=scheduler_record(model)
    )
    _keep_another_models_render(bundle_dir, fresh, replace)
    plan = plan_content(content, fresh.fingerprint())
    ids = plan.ids
    fresh.plan = plan.manifest_plan
    projections = plan.projections_by_id

    # 2. Skip what the bundle or any rank's shard already holds, with what the plan asks of it.
    mine = rank.share(plan.jobs)
    manifest = gather(bundle_dir, fresh, ids=None if rank.alone else {ids[job] for job in mine})
    todo = [job for job in mine if plan.lacks(manifest, job)]
    if done := len(mine) - len(todo):
        whose = "" if rank.alone else f" ({rank}'s share)"
        log.info(f"{done} of {len(mine)} trajectories{whose} already in {bundle_dir}; skipping them")

    record = Progress(bundle_dir, rank, [ids[job] for job in mine], projections)

    # 3. Sample and capture batch by batch; a writer thread stores each batch (its files, then the
    # manifest naming them) while the next one renders: an interrupted run resumes after the last batch.
    saved = {"at": 0.0, "took": 0.0}  # when the manifest was last written, and how long that took

    def store(batch: list[Rendered]) -> None:
        for rendered in batch:
            store_trajectory(bundle_dir, manifest, ids[rendered.job], rendered, plan.records_of(rendered.job))
        # The manifest names every trajectory so far: written after every batch, its writes would grow
        # with the square of the trajectories (at 8,000, an hour). Written once the time since the last
        # write is SAVE_SPACING times what that write took, they stay a small share of the run, and an
        # interrupted run renders again at most that much.
        if time.perf_counter() - saved["at"] >= SAVE_SPACING * saved["took"]:
            started = time.perf_counter()
            record.save(manifest)
            saved.update(at=time.perf_counter(), took=time.perf_counter() - started)

    with (
        tqdm(
            total=sum(job.steps for job in todo),
            desc="precompute",
            unit="step",
            disable=not progress or not todo,
        ) as bar,
        BatchWriter(store, threaded=overlap) as writer,
    ):
        for batch in render_batches(model, todo, batch_size, bar, timings, plan):
            writer.put(batch)
    timings.write, timings.writing = writer.waited, writer.busy

    # 4. Maps of prompt embeddings need the model: rank 0 draws them. Paths and tallies need every
    # trajectory: whoever completes the bundle draws them.
    if rank.rank == 0:
        draw_missing(bundle_dir, manifest, projections, model=model)
    record.finish(manifest, fresh.plan)
    return bundle_dir


def _keep_another_models_render(bundle_dir: Path, fresh: Manifest, replace: bool) -> None:
    """Stop before rendering over a bundle that another model made, unless told to replace it."""
    previous = read_manifest(bundle_dir)
    if previous is None or previous.fingerprint() == fresh.fingerprint():
        return
    other = previous.model.get("id")
    if other != fresh.model["id"] and not replace:
        raise StepthroughError(
            f"{bundle_dir}: rendered by model '{other}'; rendering it with '{fresh.model['id']}' would "
            "replace its pictures. Name another bundle in site.toml, or add --replace to replace them"
        )
    log.info(f"{bundle_dir}: made with another model or scheduler; rendering it again")


def model_record(model: DiffusionModel) -> dict:
    info = asdict(model.info)
    info["extra"]["cross_attention"] = model.cross_attention() is not None  # maps of where each word acts
    info["image_size"], info["latent_shape"] = list(info["image_size"]), list(info["latent_shape"])
    if not info["settings"]:
        del info["settings"]  # a model without settings: none in its fingerprint
    return info


def scheduler_record(model: DiffusionModel) -> dict:
    scheduler = model.make_scheduler()
    config = {k: v for k, v in dict(scheduler.config).items() if not k.startswith("_")}
    # Round-trip through JSON so the fingerprint is the same whether computed here or read back.
    return json.loads(json.dumps({"class": type(scheduler).__name__, "config": config}, default=str))


def render_batches(
    model: DiffusionModel,
    jobs: list[Job],
    batch_size: int,
    bar: tqdm,
    timings: Timings | None = None,
    plan: Plan | None = None,
) -> Iterator[list[Rendered]]:
    """Render the jobs batch by batch, yielding each batch's trajectories, with what `plan` asks
    them to record (default: everything the model offers). When the GPU runs out
    of memory, say so and go on with half the batch size; only a single trajectory that does not
    fit is an error."""
    pending = deque(batches(jobs, batch_size, mixed=model.mixed_timesteps))
    while pending:
        batch = pending.popleft()
        if len(batch) > batch_size:
            pending.extendleft([batch[batch_size:], batch[:batch_size]])
            continue
        start = bar.n
        try:
            keep = plan.loop(batch) if plan is not None else LOOP
            rendered = _render(model, batch, bar.update, timings, keep)
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


def _render(
    model: DiffusionModel, jobs: list[Job], on_step, timings: Timings | None, keep: frozenset[str]
) -> list[Rendered]:
    """capture.render, with the model's loop and the decoding timed apart."""

    def timed(model_seconds: float, decode_seconds: float) -> None:
        if timings is not None:
            timings.model += model_seconds
            timings.decode += decode_seconds

    return render(model, jobs, on_step, timed, keep)
