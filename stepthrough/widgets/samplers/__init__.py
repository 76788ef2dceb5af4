"""Samplers side by side: one prompt and seed through several samplers (DDIM, Euler, DPM-Solver++
2M, Heun) at a few step counts, each run's finished picture, its path through one 2-D view of
latent space, its model evaluations and its distance to a many-step reference. samplers.html shows
the whole table and the paths of the fewest steps without JavaScript; samplers.js picks a step
count and a run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stepthrough.bundle.ids import SCHEDULERS, Job, projection_id
from stepthrough.measure import rms
from stepthrough.options import Choice, Number, Schema
from stepthrough.widgets.base import (
    Projection,
    ProjectionResult,
    Widget,
    no_words,
    placed_paths,
    points_problems,
    shares_problems,
    steps_phrase,
    sweep_jobs,
)


class SamplersSettings(Schema):
    """The reference every run is measured against: the same prompt and seed, many steps."""

    reference_steps = Number(100, low=10, high=200, whole=True)
    reference = Choice(tuple(SCHEDULERS), "dpm++2m")  # the sampler that renders the reference
    # A claim the build checks (site/claims.py): each sampler's distance to the reference falls as its
    # evaluations grow and ends within this (RMS pixel difference, 0–1). None: no claim.
    converge_within = Number(None, low=0.001, high=1)


@dataclass(frozen=True)
class SamplersResult(ProjectionResult):
    kind = "samplers"
    trajectories: list[str]  # ids: the runs, then the reference
    paths: list[list[list[float]]]  # per trajectory, one (x, y) point per step, in the reference's PCA view
    explained_variance: list[float]  # the share of the reference's variance each of the two axes explains
    distances: list[float]  # per run, RMS pixel difference of its finished picture to the reference's

    def problems(self) -> list[str]:
        found = points_problems("paths", self.paths, len(self.trajectories))
        found += shares_problems("explained_variance", self.explained_variance)
        if len(self.distances) != len(self.trajectories) - 1:
            found.append(
                f"distances: expected {len(self.trajectories) - 1} numbers, one per run (got {len(self.distances)})"
            )
        return found


@dataclass(frozen=True)
class SamplersProjection(Projection):
    """The runs and their reference as paths in the 2-D PCA view of the reference's own latents (a
    run that goes far astray must not decide the axes for all), and each run's distance to the
    reference (root-mean-square difference of the finished pictures' pixels, 0 to 1)."""

    kind = "samplers"
    jobs: tuple[Job, ...]  # the runs, then the reference

    def content_id(self, fingerprint: dict[str, Any]) -> str:
        return projection_id(fingerprint, self.kind, trajectories=self.jobs, method="pca-of-reference")

    def draw(self, source) -> SamplersResult:
        from stepthrough.reduce import trajectory_paths

        latents = [source.latents(job) for job in self.jobs]
        paths, explained = trajectory_paths(latents, fit=latents[-1:])
        pictures = [source.picture(job).astype(np.float32) / 255 for job in self.jobs]
        distances = [round(float(rms(p, pictures[-1])), 4) for p in pictures[:-1]]
        return SamplersResult([source.trajectory_id(job) for job in self.jobs], paths, explained, distances)


class Samplers(Widget):
    name = "samplers"
    settings = SamplersSettings
    projection_type = SamplersProjection

    def sweep_problems(self, sweep) -> list[tuple[str, str]]:
        problems = []
        if not sweep.schedulers:
            problems.append(
                ("schedulers", f"widget 'samplers' needs 'schedulers:', some of {', '.join(SCHEDULERS)}")
            )
        for key in ("prompts", "seeds", "guidance"):
            if len(getattr(sweep, key)) != 1:
                problems.append(
                    (key, f"widget 'samplers' compares samplers on one start: give one value of '{key}'")
                )
        if sweep.towards or sweep.word_by_word:
            key = "towards" if sweep.towards else "word_by_word"
            problems.append((key, f"widget 'samplers' takes no '{key}'"))
        return problems

    def jobs(self, sweep, settings) -> tuple[Job, ...]:
        """Every sampler at every step count, by sampler, then the many-step reference."""
        runs = sorted(sweep_jobs(sweep), key=lambda job: (sweep.schedulers.index(job.sampler), job.steps))
        first = runs[0]
        reference = Job(
            first.prompt, first.seed, settings.reference_steps, first.guidance, sampler=settings.reference
        )
        return (*[job for job in runs if job != reference], reference)

    def projection(self, sweep, settings, jobs) -> SamplersProjection:
        return SamplersProjection(jobs)

    def data(self, section, trajectory_ids, assets) -> dict[str, Any]:
        """The runs (picture, evaluations, distance, path) by sampler and step count, and the reference."""
        projection = assets.projection(section.id, SamplersResult)
        trajectories = assets.manifest.trajectories
        # The map is framed on the reference's path; a run that leaves it runs along its edge.
        paths = placed_paths(projection.paths, frame=projection.paths[-1:], margin=0.35)
        *runs, reference = [
            {
                "scheduler": trajectories[tid].scheduler,
                "name": SCHEDULERS.get(trajectories[tid].scheduler, trajectories[tid].scheduler),
                "steps": trajectories[tid].steps,
                "evaluations": trajectories[tid].model_evaluations,
                "picture": assets.picture_url(tid),
                "path": path,
            }
            for tid, path in zip(projection.trajectories, paths, strict=True)
        ]
        for run, distance in zip(runs, projection.distances, strict=True):
            run["distance"] = distance
        schedulers = list(dict.fromkeys(run["scheduler"] for run in runs))
        steps = sorted({run["steps"] for run in runs})
        first = trajectories[trajectory_ids[0]]
        return {
            "id": section.id,
            "prompt": first.prompt or no_words(),
            "seed": first.seed,
            "schedulers": [{"key": key, "name": SCHEDULERS.get(key, key)} for key in schedulers],
            "steps": steps,
            "step_labels": [steps_phrase(n) for n in steps],
            "runs": runs,
            "reference": reference,
            "explained_variance": projection.explained_variance,
        }


WIDGET = Samplers()
