"""Write: rendered trajectories and drawn projections into the bundle's files and manifest."""

from __future__ import annotations

import hashlib
import io
import json
import queue
import threading
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Self

import numpy as np

from stepthrough.atomic import atomic_write
from stepthrough.bundle import (
    FileRecord,
    Manifest,
    ProjectionFile,
    Trajectory,
    View,
)
from stepthrough.measure import rms
from stepthrough.precompute.capture import Rendered
from stepthrough.precompute.frames import encode_sprite, removed_noise
from stepthrough.reduce import latent_false_colour
from stepthrough.widgets import RECORDERS
from stepthrough.widgets.base import ProjectionResult


def store_trajectory(
    bundle_dir: Path,
    manifest: Manifest,
    trajectory_id: str,
    rendered: Rendered,
    records: Collection[str] = (),
) -> None:
    """A trajectory's four views as WebP sprite sheets, its latents, the recordings of `records`
    that the render holds (the plan's `records_of`: attention maps where the model offers them and
    the prompt has words, the tensors of its steps), its manifest entry, and its sampler's schedule
    (once per sampler and step count)."""
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

    def store(rel: str, data: bytes) -> None:
        store_file(bundle_dir, manifest, rel, data)

    recorded = {}
    for recorder in RECORDERS:  # each writes its files and returns its manifest entry
        if recorder.name in records and (entry := recorder.write(rendered, trajectory_id, store)) is not None:
            recorded[recorder.name] = entry
    job = rendered.job
    trajectory = Trajectory(
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
        scheduler=job.sampler,
        records=recorded,
    )
    manifest.schedules.setdefault(trajectory.schedule_key, rendered.schedule)
    manifest.trajectories[trajectory_id] = trajectory


class BatchWriter:
    """Writes rendered batches on a thread of its own while the model renders the next one, so the
    sampler waits only for the model: WebP encoding, hashing and file writes release the GIL.

    `write_batch` does one batch's work (its files, then the manifest that lists them); it runs for
    one batch at a time, in order, so the manifest only ever names whole trajectories.
    The queue holds one batch: at most three are in memory (rendering, waiting, being written).
    When writing fails, the error is raised in the caller at its next `put` or at the end, and no
    later batch is written; when the caller fails, the batches already rendered are written first
    (they are whole; a resumed run skips them), then its error goes on.

    `threaded=False` writes in the caller's thread, one batch after another (for comparisons).
    `busy` is the seconds spent writing; `waited`, the seconds the caller waited for the writer.
    """

    def __init__(self, write_batch: Callable[[list], None], threaded: bool = True):
        self._write_batch, self.threaded = write_batch, threaded
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="stepthrough-writer", daemon=True)
        self.busy = self.waited = 0.0

    def __enter__(self) -> Self:
        if self.threaded:
            self._thread.start()
        return self

    def put(self, batch: list) -> None:
        self._raise()
        if not self.threaded:  # the caller waits for all of the writing
            started = time.perf_counter()
            self._write(batch)
            self.waited += time.perf_counter() - started
            return
        self._hand_over(batch)

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.threaded:
            self._hand_over(None)  # the end: write what is queued, then stop
            started = time.perf_counter()
            self._thread.join()
            self.waited += time.perf_counter() - started
        if exc is None:
            self._raise()

    def _hand_over(self, item) -> None:
        started = time.perf_counter()
        while True:
            try:
                self._queue.put(item, timeout=0.05)
                break
            except queue.Full:
                if item is not None:
                    self._raise()  # the writer failed while we waited
        self.waited += time.perf_counter() - started

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            if self._error is None:  # after a failure, take batches without writing them
                try:
                    self._write(batch)
                except BaseException as error:  # noqa: BLE001 — handed to the caller's thread
                    self._error = error

    def _write(self, batch: list) -> None:
        started = time.perf_counter()
        try:
            self._write_batch(batch)
        finally:
            self.busy += time.perf_counter() - started

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error


def store_projection(
    bundle_dir: Path, manifest: Manifest, projection_id: str, result: ProjectionResult
) -> None:
    rel = f"projections/{projection_id}.json"
    store_file(bundle_dir, manifest, rel, json.dumps(result.to_json()).encode())
    manifest.projections[projection_id] = ProjectionFile(kind=result.kind, file=rel)


def store_file(bundle_dir: Path, manifest: Manifest, rel: str, data: bytes) -> None:
    atomic_write(bundle_dir / rel, data, durable=False)  # the manifest's sha256 catches a torn file
    manifest.files[rel] = FileRecord(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))


def _metrics(rendered: Rendered) -> dict[str, list[float]]:
    """Per-step distances to the final picture (RMS over pixels, 0 = identical, 1 = opposite)."""
    final = rendered.xt[-1].astype(np.float32) / 255

    def distance(frames: np.ndarray) -> list[float]:
        return [round(float(v), 5) for v in rms(frames.astype(np.float32) / 255, final, axis=(1, 2, 3))]

    return {"xt_distance_to_final": distance(rendered.xt), "x0_distance_to_final": distance(rendered.x0)}
