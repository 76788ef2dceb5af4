"""Trajectories as paths through one 2-D PCA view of latent space, with each finished picture;
paths.js walks every path at once with a step slider."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from stepthrough.bundle.ids import Job, projection_id
from stepthrough.widgets.base import (
    Projection,
    ProjectionResult,
    Widget,
    placed_paths,
    points_problems,
    shares_problems,
    trajectory_entry,
)


@dataclass(frozen=True)
class PathsResult(ProjectionResult):
    kind = "paths"
    trajectories: list[str]  # ids, in the order of `paths`
    paths: list[list[list[float]]]  # per trajectory, one (x, y) point per step
    explained_variance: list[float]  # the share of the variance each of the two axes explains
    spread: list[float]  # per step, the mean distance between two trajectories in the full latent space

    def problems(self) -> list[str]:
        found = points_problems("paths", self.paths, len(self.trajectories))
        found += shares_problems("explained_variance", self.explained_variance)
        if not self.spread or not all(math.isfinite(v) for v in self.spread):
            found.append("spread: expected finite numbers, one per step")
        return found


@dataclass(frozen=True)
class PathsProjection(Projection):
    """Trajectories, from their stored latents, drawn as paths in one shared 2-D PCA view."""

    kind = "paths"
    jobs: tuple[Job, ...]

    def content_id(self, fingerprint: dict[str, Any]) -> str:
        return projection_id(fingerprint, self.kind, trajectories=self.jobs, method="pca")

    def draw(self, source) -> PathsResult:
        from stepthrough.reduce import mean_distances, trajectory_paths

        latents = [source.latents(job) for job in self.jobs]
        paths, explained = trajectory_paths(latents)
        ids = [source.trajectory_id(job) for job in self.jobs]
        return PathsResult(ids, paths, explained, mean_distances(latents))


class Paths(Widget):
    name = "paths"
    projection_type = PathsProjection

    def projection(self, sweep, settings, jobs) -> PathsProjection:
        return PathsProjection(jobs)

    def data(self, section, trajectory_ids, assets) -> dict[str, Any]:
        """Trajectories as paths through a 2-D view of latent space, scaled into a 100 × 100 box."""
        projection = assets.projection(section.id, PathsResult)
        return {
            "id": section.id,
            "trajectories": [trajectory_entry(assets, tid) for tid in trajectory_ids],
            "paths": placed_paths(projection.paths),
            "explained_variance": projection.explained_variance,
            "spread": projection.spread,
        }


WIDGET = Paths()
