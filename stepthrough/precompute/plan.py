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
class Plan:
    jobs: tuple[Job, ...]  # unique, in first-use order
    sections: dict[str, tuple[Job, ...]]  # section id → the jobs it shows, in sweep order


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


def plan_content(content: Content) -> Plan:
    """Expand every section's sweep; a job wanted by several sections is rendered once."""
    sections = {section.id: section_jobs(section) for section in content.sections}
    unique = dict.fromkeys(job for jobs in sections.values() for job in jobs)
    return Plan(jobs=tuple(unique), sections=sections)


def render_fingerprint(model: dict[str, Any], scheduler: dict[str, Any]) -> dict[str, Any]:
    """The model provenance and scheduler settings that job ids depend on (stored in the manifest)."""
    return {"model": model, "scheduler": scheduler}
