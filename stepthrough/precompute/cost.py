"""What rendering the plan's trajectories costs (evaluations, batched forward passes, time and disk),
and how they are cut into batches. Pure and torch-free."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from stepthrough.bundle.ids import Job


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
        return job.steps, job.sampler

    ordered = sorted(jobs, key=kind)
    runs = [ordered] if mixed else [list(group) for _, group in itertools.groupby(ordered, key=kind)]
    for run in runs:
        for start in range(0, len(run), size):
            yield run[start : start + size]


def forward_passes(jobs: Iterable[Job], batch_size: int, mixed: bool = False) -> int:
    """Batched forward passes: each batch (see `batches`) takes as many as its longest job needs."""
    return sum(max(job.evaluations for job in batch) for batch in batches(jobs, batch_size, mixed))


# What rendering costs with the builtin model, measured: a 25-step trajectory takes about 0.7 s on
# 2 CPU cores, and its frames about 8 kB a step on disk (32 trajectories of 25 steps: 6.4 MB).
BUILTIN_SECONDS_PER_EVALUATION = 0.7 / 25
BUILTIN_BYTES_PER_STEP = 8_000
# Above either, a render waits for --yes: a sweep multiplies (prompts × seeds × steps × guidance),
# and a typo in a seed range can ask for days of CPU.
MAX_TRAJECTORIES = 2_000
MAX_SECONDS = 3_600


@dataclass(frozen=True)
class Cost:
    """What rendering some trajectories costs; time and disk where the model's speed is measured."""

    trajectories: int
    evaluations: int
    seconds: float | None = None
    bytes: int | None = None

    @property
    def too_much(self) -> bool:
        return self.trajectories > MAX_TRAJECTORIES or (self.seconds or 0) > MAX_SECONDS

    @property
    def estimate(self) -> str:
        """Such as 'about 8 s, 1.9 MB'; empty where the model's speed is not measured."""
        known = [f"about {duration(self.seconds)}"] if self.seconds is not None else []
        return ", ".join(known + ([disk(self.bytes)] if self.bytes is not None else []))

    def __str__(self) -> str:
        """Such as '12 trajectories (about 8 s, 1.9 MB)'."""
        return f"{self.trajectories:,} trajectories" + (f" ({self.estimate})" if self.estimate else "")


def render_cost(jobs: Iterable[Job], model: str) -> Cost:
    """The cost of rendering `jobs` with `model` (time and disk for the builtin model on a CPU)."""
    jobs = list(jobs)
    evaluations = model_evaluations(jobs)
    if model != "builtin":  # no measured speed: a GPU model's varies a hundredfold with the card
        return Cost(len(jobs), evaluations)
    steps = sum(job.steps for job in jobs)
    seconds = evaluations * BUILTIN_SECONDS_PER_EVALUATION
    return Cost(len(jobs), evaluations, seconds, steps * BUILTIN_BYTES_PER_STEP)


def disk(size: int) -> str:
    """400 kB, 2.4 MB, 1.6 GB, 600 GB."""
    if size < 1e6:
        return f"{size / 1e3:.0f} kB"
    if size < 1e9:
        return f"{size / 1e6:.1f} MB"
    return f"{size / 1e9:.1f} GB" if size < 1e11 else f"{size / 1e9:,.0f} GB"


def duration(seconds: float) -> str:
    """3 s, 4 min, 2.5 hours, 12 days."""
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86400:,.0f} days"
