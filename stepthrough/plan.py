"""The plan: what the content asks of its bundle, worked out once. Every section's trajectories
(its widget says which), the recordings each trajectory must carry beyond its frames (its widgets'
recorders), the projections; named by ids once the model's fingerprint is known. Precompute, build,
`check`, the claims, `--dry-run` and the unused-trajectory warning all read it. Torch-free.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from stepthrough.bundle import Manifest, projection_is_complete, trajectory_is_complete
from stepthrough.bundle.ids import Job
from stepthrough.content import Content
from stepthrough.recorder import Recorder
from stepthrough.widgets import RECORDERS, WIDGETS
from stepthrough.widgets.base import Projection


@dataclass(frozen=True)
class Plan:
    jobs: tuple[Job, ...]  # unique, in first-use order
    sections: dict[str, tuple[Job, ...]]  # section id → the jobs it shows, in order
    projections: dict[str, Projection]  # section id → the projection it shows, if any
    records: dict[Job, tuple[Recorder, ...]]  # job → what it must carry beyond its frames
    # Named for one model (`named`): each job's trajectory id, each projection's id.
    fingerprint: dict[str, Any] | None = None
    ids: dict[Job, str] = field(default_factory=dict)
    projection_ids: dict[str, str] = field(default_factory=dict)  # section id → projection id

    def named(self, fingerprint: dict[str, Any]) -> Plan:
        """This plan with every trajectory and projection named by its id for a model and scheduler."""
        return replace(
            self,
            fingerprint=fingerprint,
            ids={job: job.content_id(fingerprint) for job in self.jobs},
            projection_ids={sid: p.content_id(fingerprint) for sid, p in self.projections.items()},
        )

    def trajectory_ids(self, section_id: str) -> list[str]:
        """The ids of the trajectories a section shows, in order."""
        return [self.ids[job] for job in self.sections.get(section_id, ())]

    @property
    def manifest_plan(self) -> dict[str, list[str]]:
        """Section id → trajectory ids: the manifest's `plan`."""
        return {sid: self.trajectory_ids(sid) for sid in self.sections}

    @property
    def projections_by_id(self) -> dict[str, Projection]:
        return {self.projection_ids[sid]: p for sid, p in self.projections.items()}

    def records_of(self, job: Job) -> set[str]:
        """What precompute records for a job beyond its frames: what the plan asks of it, and what
        recorders keep for every trajectory."""
        asked = {r.name for r in self.records.get(job, ())}
        return asked | {r.name for r in RECORDERS if r.everywhere and r.wants(job)}

    def loop(self, jobs: Iterable[Job]) -> frozenset[str]:
        """What the recorders of these jobs read of the sampler's loop (Recorder.loop)."""
        names = {name for job in jobs for name in self.records_of(job)}
        return frozenset(part for r in RECORDERS if r.name in names for part in r.loop)

    def lacks(self, manifest: Manifest, job: Job) -> bool:
        """The one rule for what a bundle still needs: the manifest has no trajectory for the job, or
        its trajectory lacks its schedule (a bundle from before schema 4) or a recording the plan
        asks of it that the manifest's model offers."""
        trajectory = manifest.trajectories.get(self.ids[job])
        if trajectory is None or manifest.schedule_of(trajectory) is None:
            return True
        return any(r.offered(manifest.model) and not r.present(trajectory) for r in self.records.get(job, ()))

    def missing(self, bundle_dir: Path, manifest: Manifest | None) -> tuple[Job, ...]:
        """The jobs whose trajectories the bundle lacks, or holds damaged or without what the plan asks."""
        if manifest is None:
            return self.jobs
        return tuple(
            job
            for job in self.jobs
            if not trajectory_is_complete(bundle_dir, manifest, self.ids[job]) or self.lacks(manifest, job)
        )

    def missing_projections(self, bundle_dir: Path, manifest: Manifest | None) -> tuple[Projection, ...]:
        if manifest is None:
            return tuple(self.projections.values())
        return tuple(
            p
            for pid, p in self.projections_by_id.items()
            if not projection_is_complete(bundle_dir, manifest, pid)
        )

    def unused(self, manifest: Manifest) -> list[str]:
        """The ids of the trajectories the manifest holds that no section shows."""
        wanted = set(self.ids.values())
        return [tid for tid in manifest.trajectories if tid not in wanted]


def plan_content(content: Content, fingerprint: dict[str, Any] | None = None) -> Plan:
    """Every section's trajectories, recordings and projection; a job wanted by several sections is
    rendered once. With `fingerprint` (a manifest's), named by ids for that model and scheduler."""
    records: dict[Job, tuple[Recorder, ...]] = {}
    for section in content.sections:
        recorders = WIDGETS[section.meta.widget].recorders if section.meta.widget else ()
        for job in section.jobs:
            wanted = tuple(r for r in recorders if r.wants(job))
            if wanted:
                records[job] = tuple(dict.fromkeys((*records.get(job, ()), *wanted)))
    plan = Plan(
        jobs=tuple(dict.fromkeys(job for section in content.sections for job in section.jobs)),
        sections={section.id: section.jobs for section in content.sections},
        projections={s.id: s.projection for s in content.sections if s.projection is not None},
        records=records,
    )
    return plan if fingerprint is None else plan.named(fingerprint)
