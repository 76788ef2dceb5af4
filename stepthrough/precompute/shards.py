"""Scale out: `RANK` / `WORLD_SIZE` split the job list; each rank keeps its own shard manifest in
`shards/`; the last rank to finish (or `stepthrough merge`) joins the shards into `manifest.json`.
A single process is rank 0 of 1 and writes `manifest.json` itself: both end in `complete`.

Torch-free. Ranks share the bundle folder (one machine, or a shared file system): frames have
content-hash names, so ranks never write the same file; only the merge writes `manifest.json`.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar

from stepthrough import log
from stepthrough.atomic import atomic_write
from stepthrough.bundle import (
    BUNDLE_FOLDERS,
    Manifest,
    projection_is_complete,
    read_manifest,
    trajectory_is_complete,
    write_manifest,
)
from stepthrough.errors import StepthroughError
from stepthrough.precompute.draw import draw_missing
from stepthrough.widgets import projection_kinds
from stepthrough.widgets.base import Projection

SHARDS = "shards"
T = TypeVar("T")


@dataclass(frozen=True)
class Rank:
    rank: int = 0
    world_size: int = 1

    @property
    def alone(self) -> bool:
        return self.world_size == 1

    def share(self, jobs: Sequence[T]) -> list[T]:
        """This rank's jobs: every world_size-th one, so a restarted rank gets the same ones."""
        return list(jobs[self.rank :: self.world_size])

    def __str__(self) -> str:
        return f"rank {self.rank} of {self.world_size}"


@dataclass
class Shard:
    """What one rank has rendered: its assigned trajectory ids and a manifest holding them."""

    rank: int
    world_size: int
    assigned: list[str]
    finished: bool
    manifest: Manifest
    # The projections the content wants, by id: the merge draws those that need every rank's trajectories.
    projections: dict[str, Projection] = field(default_factory=dict)
    written: float = 0.0  # the shard file's modification time, when read back


def rank_from_env(environ: Mapping[str, str] = os.environ) -> Rank:
    """The rank as `torchrun` and `accelerate launch` set it; rank 0 of 1 when unset."""
    raw = {key: environ.get(key) for key in ("RANK", "WORLD_SIZE")}
    if raw["WORLD_SIZE"] is None:
        return Rank()
    try:
        rank, world = int(raw["RANK"] or 0), int(raw["WORLD_SIZE"])
    except ValueError:
        raise StepthroughError(
            f"RANK={raw['RANK']} WORLD_SIZE={raw['WORLD_SIZE']}: both must be whole numbers"
        )
    if world < 1 or not 0 <= rank < world:
        raise StepthroughError(
            f"RANK={rank} WORLD_SIZE={world}: need WORLD_SIZE ≥ 1 and 0 ≤ RANK < WORLD_SIZE"
        )
    return Rank(rank, world)


def device_for_rank(device: str, environ: Mapping[str, str] = os.environ) -> str:
    """`cuda` means this process's own GPU under torchrun / accelerate (LOCAL_RANK), else as given."""
    local = environ.get("LOCAL_RANK")
    return f"cuda:{int(local)}" if device == "cuda" and local is not None else device


def shard_path(bundle_dir: Path, rank: Rank) -> Path:
    return Path(bundle_dir) / SHARDS / f"rank-{rank.rank:05d}-of-{rank.world_size:05d}.json"


def write_shard(bundle_dir: Path, shard: Shard) -> None:
    data = {**asdict(shard), "manifest": shard.manifest.to_data()}
    data["projections"] = {pid: p.to_dict() for pid, p in shard.projections.items()}
    del data["written"]
    atomic_write(
        shard_path(bundle_dir, Rank(shard.rank, shard.world_size)), json.dumps(data, indent=1).encode()
    )


def read_shards(bundle_dir: Path) -> list[Shard]:
    """Every readable shard in the bundle; a damaged one is skipped (its rank will redo its jobs)."""
    shards, kinds = [], projection_kinds()
    for path in sorted((Path(bundle_dir) / SHARDS).glob("rank-*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data["manifest"] = Manifest.from_dict(data["manifest"])
            data["projections"] = {
                pid: kinds[p["kind"]].from_dict(p) for pid, p in data.get("projections", {}).items()
            }
            shards.append(Shard(**data, written=path.stat().st_mtime))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return shards


def gather(bundle_dir: Path, fresh: Manifest, ids: set[str] | None = None) -> Manifest:
    """`fresh` plus every verified trajectory (of `ids`, default all) rendered for the same model and
    scheduler that the bundle's manifest or any shard holds: what a (re)started run need not redo."""
    manifest = copy.deepcopy(fresh)
    fingerprint = fresh.fingerprint()
    sources = [read_manifest(bundle_dir), *(shard.manifest for shard in read_shards(bundle_dir))]
    for source in sources:
        if source is None or source.fingerprint() != fingerprint:
            continue
        for tid, trajectory in source.trajectories.items():
            wanted = ids is None or tid in ids
            if (
                wanted
                and tid not in manifest.trajectories
                and trajectory_is_complete(bundle_dir, source, tid)
            ):
                manifest.trajectories[tid] = trajectory
                if (schedule := source.schedule_of(trajectory)) is not None:
                    manifest.schedules.setdefault(trajectory.schedule_key, schedule)
                for rel in trajectory.files():
                    manifest.files[rel] = source.files[rel]
        for pid, projection in source.projections.items():
            if pid not in manifest.projections and projection_is_complete(bundle_dir, source, pid):
                manifest.projections[pid] = projection
                manifest.files[projection.file] = source.files[projection.file]
    return manifest


def finish(bundle_dir: Path, manifest: Manifest, plan: dict[str, list[str]], projections: list[str]) -> None:
    """Write the bundle's manifest for `plan` and `projections` (ids): in their order, nothing
    unused, no shards left. Single runs and merges both end here, so both give the same manifest."""
    bundle_dir = Path(bundle_dir)
    order = list(dict.fromkeys(tid for ids in plan.values() for tid in ids))
    manifest.plan = plan
    manifest.trajectories = {tid: manifest.trajectories[tid] for tid in order if tid in manifest.trajectories}
    keys = dict.fromkeys(t.schedule_key for t in manifest.trajectories.values())
    manifest.schedules = {key: manifest.schedules[key] for key in keys if key in manifest.schedules}
    manifest.projections = {
        pid: manifest.projections[pid] for pid in projections if pid in manifest.projections
    }
    files = [rel for t in manifest.trajectories.values() for rel in t.files()]
    files += [p.file for p in manifest.projections.values()]
    manifest.files = {rel: manifest.files[rel] for rel in files}
    write_manifest(bundle_dir, manifest)
    for folder in BUNDLE_FOLDERS:  # only after the manifest no longer names them
        if (bundle_dir / folder).is_dir():
            for path in (bundle_dir / folder).iterdir():
                if f"{folder}/{path.name}" not in manifest.files and path.is_file():
                    path.unlink(missing_ok=True)  # another rank may be finishing the same merge
    shards = bundle_dir / SHARDS
    if shards.is_dir():
        for path in shards.glob("rank-*.json"):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty (a temp file) or already gone: leave it
            shards.rmdir()


def all_finished(bundle_dir: Path, world_size: int, fingerprint: dict) -> bool:
    """True when every rank of this world size has written a finished shard for this fingerprint."""
    finished = {
        shard.rank
        for shard in read_shards(bundle_dir)
        if shard.world_size == world_size and shard.finished and shard.manifest.fingerprint() == fingerprint
    }
    return finished == set(range(world_size))


def complete(
    bundle_dir: Path, manifest: Manifest, plan: dict[str, list[str]], projections: dict[str, Projection]
) -> None:
    """Draw the projections that need every trajectory (paths, tallies), then write the final manifest."""
    draw_missing(bundle_dir, manifest, projections)
    finish(bundle_dir, manifest, plan, list(projections))


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
    maps = [pid for pid, projection in newest.projections.items() if projection.needs_model]
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
    complete(bundle_dir, manifest, newest.manifest.plan, newest.projections)
    return manifest


@dataclass
class Progress:
    """Where a process records what it has rendered: the bundle's manifest when it is alone, else
    its own shard; `finish` completes the bundle, or (the last rank to finish) merges the shards."""

    bundle_dir: Path
    rank: Rank
    assigned: list[str]  # this rank's trajectory ids
    projections: dict[str, Projection]

    def save(self, manifest: Manifest, finished: bool = False) -> None:
        if self.rank.alone:
            write_manifest(self.bundle_dir, manifest)
        else:
            shard = Shard(
                self.rank.rank, self.rank.world_size, self.assigned, finished, manifest, self.projections
            )
            write_shard(self.bundle_dir, shard)

    def finish(self, manifest: Manifest, plan: dict[str, list[str]]) -> None:
        if self.rank.alone:
            complete(self.bundle_dir, manifest, plan, self.projections)
            return
        self.save(manifest, finished=True)
        fingerprint = manifest.fingerprint()
        if not all_finished(self.bundle_dir, self.rank.world_size, fingerprint):
            log.info(f"{self.rank}: finished; the last rank to finish merges the shards")
            return
        try:
            merge_bundle(self.bundle_dir)
        except StepthroughError:
            # Two ranks that finish at the same moment may both merge; one finds the other's result.
            merged = read_manifest(self.bundle_dir)
            if merged is None or merged.fingerprint() != fingerprint or merged.plan != plan:
                raise
        log.info(f"{self.rank}: every rank has finished; merged the shards into {self.bundle_dir}")
