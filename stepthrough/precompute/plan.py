"""Plan: sections' sweeps → deduplicated trajectory jobs with content-hash ids.

Pure and torch-free: the builder uses it too, to see which trajectories a bundle must hold.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass
from typing import Any

from stepthrough.content import Content, Section

# Bump when the same job would produce different files (capture, encoding, layout changes).
BUNDLE_FORMAT = 1


@dataclass(frozen=True, order=True)
class Job:
    """One trajectory to render: a prompt from one seed, with a step count and guidance scale."""

    prompt: str
    seed: int
    steps: int
    guidance: float

    def content_id(self, fingerprint: dict[str, Any]) -> str:
        """Hash of everything that decides this trajectory's pixels."""
        key = {"format": BUNDLE_FORMAT, "render": fingerprint, "job": asdict(self)}
        blob = json.dumps(key, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Plan:
    jobs: tuple[Job, ...]  # unique, in first-use order
    sections: dict[str, tuple[Job, ...]]  # section id → the jobs it shows, in sweep order


def section_jobs(section: Section) -> tuple[Job, ...]:
    sweep = section.meta.sweep
    if sweep is None:
        return ()
    combos = itertools.product(sweep.prompts, sweep.seeds, sweep.steps, sweep.guidance)
    return tuple(dict.fromkeys(Job(p, s, n, float(g)) for p, s, n, g in combos))


def plan_content(content: Content) -> Plan:
    """Expand every section's sweep; a job wanted by several sections is rendered once."""
    sections = {section.id: section_jobs(section) for section in content.sections}
    unique = dict.fromkeys(job for jobs in sections.values() for job in jobs)
    return Plan(jobs=tuple(unique), sections=sections)


def render_fingerprint(model: dict[str, Any], scheduler: dict[str, Any]) -> dict[str, Any]:
    """The model provenance and scheduler settings that job ids depend on (stored in the manifest)."""
    return {"model": model, "scheduler": scheduler}
