"""Plan: sections' sweeps → deduplicated trajectory jobs with content-hash ids.

Pure and torch-free: the builder uses it too, to see which trajectories a bundle must hold.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from stepthrough.content import WIDGETS, Content, Section

# Bump when the same job would produce different files (capture, encoding, layout changes).
BUNDLE_FORMAT = 1
# Bump when a projection's JSON changes shape (2: paths carry "spread"); only projections recompute.
PROJECTION_FORMAT = 2


DEFAULT_BLEND = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True, order=True)
class Job:
    """One trajectory to render: a prompt from one seed, with a step count and guidance scale.

    With `towards`, the prompt's embedding is mixed with that prompt's: (1 − blend)·a + blend·b.
    """

    prompt: str
    seed: int
    steps: int
    guidance: float
    towards: str = ""
    blend: float = 0.0

    def content_id(self, fingerprint: dict[str, Any]) -> str:
        """Hash of everything that decides this trajectory's pixels."""
        key = {"format": BUNDLE_FORMAT, "render": fingerprint, "job": asdict(self)}
        blob = json.dumps(key, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class ProjectionJob:
    """What precompute derives from several trajectories or prompts: trajectories as paths, prompts
    on a map, or a tally of which explicit prompt each default picture resembles most."""

    kind: str  # "paths", "embedding-map" or "tally"
    jobs: tuple[Job, ...] = ()  # the trajectories a "paths" projection draws, or a "tally" sorts
    prompts: tuple[str, ...] = ()  # the prompts an "embedding-map" places
    method: str = ""  # "pca" or "tsne"
    references: tuple[Job, ...] = ()  # a "tally"'s explicit-prompt trajectories, to sort `jobs` by

    def content_id(self, fingerprint: dict[str, Any]) -> str:
        key = {
            "format": BUNDLE_FORMAT,
            "projection_format": PROJECTION_FORMAT,
            "render": fingerprint,
            "kind": self.kind,
            "trajectories": [job.content_id(fingerprint) for job in self.jobs],
            "prompts": self.prompts,
            "method": self.method,
        }
        if self.references:  # only tallies have them: older projections keep their ids
            key["references"] = [job.content_id(fingerprint) for job in self.references]
        blob = json.dumps(key, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Plan:
    jobs: tuple[Job, ...]  # unique, in first-use order
    sections: dict[str, tuple[Job, ...]]  # section id → the jobs it shows, in sweep order
    projections: dict[str, ProjectionJob]  # section id → the projection it shows, if any


def word_prefixes(prompt: str) -> list[str]:
    """ "a red apple" → ["", "a", "a red", "a red apple"]: the prompt growing word by word."""
    words = prompt.split()
    return [" ".join(words[:n]) for n in range(len(words) + 1)]


def section_jobs(section: Section) -> tuple[Job, ...]:
    sweep = section.meta.sweep
    if sweep is None:
        return ()
    prompts = sweep.prompts
    if sweep.word_by_word:
        prompts = [prefix for prompt in prompts for prefix in word_prefixes(prompt)]
    blends = (
        [(sweep.towards, float(w)) for w in (sweep.blend or DEFAULT_BLEND)] if sweep.towards else [("", 0.0)]
    )
    combos = itertools.product(prompts, sweep.seeds, sweep.steps, sweep.guidance, blends)
    return tuple(dict.fromkeys(Job(p, s, n, float(g), *b) for p, s, n, g, b in combos))


def reference_jobs(section: Section) -> tuple[Job, ...]:
    """A tally's explicit prompts, each drawn from its `compare_seeds` at the sweep's steps and guidance."""
    if section.meta.widget != "tally":
        return ()
    sweep, settings = section.meta.sweep, section.settings
    prompts = [explicit.prompt for explicit in settings.compare_with]
    combos = itertools.product(prompts, settings.compare_seeds, sweep.steps, sweep.guidance)
    return tuple(dict.fromkeys(Job(p, s, n, float(g)) for p, s, n, g in combos))


def plan_content(content: Content) -> Plan:
    """Expand every section's sweep; a job wanted by several sections is rendered once.

    A tally section shows its sweep's pictures and then its explicit prompts' pictures.
    """
    sections = {
        section.id: tuple(dict.fromkeys(section_jobs(section) + reference_jobs(section)))
        for section in content.sections
    }
    unique = dict.fromkeys(job for jobs in sections.values() for job in jobs)
    projections = {}
    for section in content.sections:
        kind = WIDGETS[section.meta.widget].projection if section.meta.widget else None
        if kind == "paths":
            projections[section.id] = ProjectionJob(kind, jobs=sections[section.id], method="pca")
        elif kind == "embedding-map":
            groups = section.settings.groups
            prompts = tuple(dict.fromkeys(p for group in groups.values() for p in group))
            projections[section.id] = ProjectionJob(kind, prompts=prompts, method=section.settings.method)
        elif kind == "tally":
            references = reference_jobs(section)
            projections[section.id] = ProjectionJob(kind, jobs=section_jobs(section), references=references)
    return Plan(jobs=tuple(unique), sections=sections, projections=projections)


def render_fingerprint(model: dict[str, Any], scheduler: dict[str, Any]) -> dict[str, Any]:
    """The model provenance and scheduler settings that job ids depend on (stored in the manifest)."""
    return {"model": model, "scheduler": scheduler}


def model_evaluations(jobs: Iterable[Job]) -> int:
    """Denoiser evaluations the jobs cost: one per step per trajectory (guidance's two inputs share it)."""
    return sum(job.steps for job in jobs)


def forward_passes(jobs: Iterable[Job], batch_size: int) -> int:
    """Batched forward passes: jobs sharing a step count run `batch_size` at a time."""
    counts = Counter(job.steps for job in jobs)
    return sum(-(-n // batch_size) * steps for steps, n in counts.items())
