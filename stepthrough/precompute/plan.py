"""Plan: the content's trajectories (each section's widget says which) and projections, and what
rendering them costs. Pure and torch-free."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
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
    it; Heun evaluates twice a step)."""
    return sum(job.evaluations for job in jobs)


def forward_passes(jobs: Iterable[Job], batch_size: int, mixed: bool = False) -> int:
    """Batched forward passes: jobs sharing a step count and sampler run `batch_size` at a time;
    with `mixed` (a model that takes a timestep per row) any `batch_size` consecutive jobs of the
    sorted list share passes, as many as the longest of them needs."""
    if mixed:
        ordered = sorted(jobs, key=lambda job: (job.steps, job.scheduler))
        chunks = [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]
        return sum(max(job.evaluations for job in chunk) for chunk in chunks)
    counts = Counter((job.evaluations, job.steps, job.scheduler) for job in jobs)
    return sum(-(-n // batch_size) * evaluations for (evaluations, _, _), n in counts.items())
