"""Plan: the content's trajectories (each section's widget says which) and projections, and what
rendering them costs. Pure and torch-free."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from stepthrough.bundle.ids import Job
from stepthrough.content import Content
from stepthrough.widgets.base import Projection


@dataclass(frozen=True)
class Plan:
    jobs: tuple[Job, ...]  # unique, in first-use order
    sections: dict[str, tuple[Job, ...]]  # section id → the jobs it shows, in order
    projections: dict[str, Projection]  # section id → the projection it shows, if any


def plan_content(content: Content) -> Plan:
    """Every section's trajectories and projection; a job wanted by several sections is rendered once."""
    return Plan(
        jobs=content.jobs,
        sections={section.id: section.jobs for section in content.sections},
        projections={s.id: s.projection for s in content.sections if s.projection is not None},
    )


def model_evaluations(jobs: Iterable[Job]) -> int:
    """Denoiser evaluations the jobs cost: one per step per trajectory (guidance's two inputs share
    it; Heun evaluates twice a step but the first and the last)."""
    return sum(job.evaluations for job in jobs)


def batches(jobs: Iterable[Job], size: int, mixed: bool = False) -> Iterator[list[Job]]:
    """Jobs sorted by step count and sampler, cut to `size`: one scheduler per batch, or, for a
    model that takes a timestep per row (`mixed`), batches that may mix them (a one-step job
    shares its forward pass with ten-step ones instead of running alone). Either way the batches
    are consecutive runs of one sorted list, so a resumed run, whose list lacks the batches already
    stored, cuts the rest into the same batches."""

    def kind(job: Job) -> tuple[int, str]:
        return job.steps, job.scheduler

    ordered = sorted(jobs, key=kind)
    runs = [ordered] if mixed else [list(group) for _, group in itertools.groupby(ordered, key=kind)]
    for run in runs:
        for start in range(0, len(run), size):
            yield run[start : start + size]


def forward_passes(jobs: Iterable[Job], batch_size: int, mixed: bool = False) -> int:
    """Batched forward passes: each batch (see `batches`) takes as many as its longest job needs."""
    return sum(max(job.evaluations for job in batch) for batch in batches(jobs, batch_size, mixed))
