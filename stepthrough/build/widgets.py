"""Each widget's data: what its script reads from the inline JSON, built from the section and the bundle.

A widget is three files that share its name: a `WIDGET_DATA` function here, the template
`site_templates/widgets/<name>.html` (which must show a meaningful static frame without
JavaScript) and the classic script `site_templates/static/<name>.js`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stepthrough.content import Section
from stepthrough.precompute.bundle import Manifest, read_json


class Assets:
    """Copies bundle frames into the site once each, under content-hashed names."""

    def __init__(self, bundle_dir: Path, manifest: Manifest, site_dir: Path, projections: dict[str, str]):
        self.bundle_dir, self.manifest, self.site_dir = bundle_dir, manifest, site_dir
        self.projection_ids = projections  # section id → projection id
        (site_dir / "assets" / "frames").mkdir(parents=True, exist_ok=True)

    def projection(self, section_id: str) -> dict[str, Any]:
        """The 2-D projection precompute made for a section (paths or an embedding map)."""
        record = self.manifest.projections[self.projection_ids[section_id]]
        return read_json(self.bundle_dir, record.file)

    def frame_url(self, rel: str) -> str:
        record = self.manifest.files[rel]
        url = f"assets/frames/{record.sha256[:16]}{Path(rel).suffix}"
        target = self.site_dir / url
        if not target.exists():
            shutil.copyfile(self.bundle_dir / rel, target)
        return url

    def views(self, trajectory_id: str) -> dict[str, dict[str, Any]]:
        """A trajectory's frame strips as the page uses them: URL and sprite layout per view."""
        trajectory = self.manifest.trajectories[trajectory_id]
        return {
            name: {
                "src": self.frame_url(view.file),
                "frames": view.frames,
                "columns": view.columns,
                "rows": view.rows,
                "width": view.width,
                "height": view.height,
            }
            for name, view in trajectory.views.items()
        }


def stepper(section: Section, trajectory_ids: list[str], assets: Assets) -> dict[str, Any]:
    """Trajectories with their parameters and frames; `params` lists each parameter's values in order."""
    trajectories = [trajectory_entry(assets, tid) for tid in trajectory_ids]
    params = {key: list(dict.fromkeys(t[key] for t in trajectories)) for key in PARAMS}
    return {"id": section.id, "trajectories": trajectories, "params": params}


PARAMS = ("prompt", "seed", "steps", "guidance", "blend")


def trajectory_entry(assets: Assets, trajectory_id: str) -> dict[str, Any]:
    """A trajectory's parameters, frames and per-step metrics, as widgets read them."""
    t = assets.manifest.trajectories[trajectory_id]
    return {
        "prompt": t.prompt,
        "label": t.prompt or "(no words)",
        "seed": t.seed,
        "steps": t.steps,
        "guidance": t.guidance,
        "towards": t.towards,
        "blend": t.blend,
        "views": assets.views(trajectory_id),
        "metrics": t.metrics,
    }


def paths(section: Section, trajectory_ids: list[str], assets: Assets) -> dict[str, Any]:
    """Trajectories as paths through a 2-D view of latent space, scaled into a 100 × 100 box."""
    projection = assets.projection(section.id)
    points = [point for path in projection["paths"] for point in path]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
    pad = 6.0

    def place(point: list[float]) -> list[float]:
        x = pad + (point[0] - min(xs)) / span * (100 - 2 * pad)
        y = 100 - pad - (point[1] - min(ys)) / span * (100 - 2 * pad)  # SVG's y grows downwards
        return [round(x, 2), round(y, 2)]

    return {
        "id": section.id,
        "trajectories": [trajectory_entry(assets, tid) for tid in trajectory_ids],
        "paths": [[place(p) for p in path] for path in projection["paths"]],
        "explained_variance": projection["explained_variance"],
    }


def embedding_map(section: Section, trajectory_ids: list[str], assets: Assets) -> dict[str, Any]:
    """Prompts placed on a 2-D map (in a 100 × 100 box), each with its group."""
    projection = assets.projection(section.id)
    position = dict(zip(projection["prompts"], projection["points"], strict=True))
    groups = list(section.settings.groups)
    points = []
    for group_index, (group, prompts) in enumerate(section.settings.groups.items()):
        for prompt in prompts:
            x, y = position[prompt]
            points.append(
                {
                    "prompt": prompt,
                    "group": group_index,
                    "x": round(8 + x * 84, 2),
                    "y": round(92 - y * 84, 2),
                }
            )
    return {"id": section.id, "groups": groups, "points": points, "method": projection["method"]}


WidgetData = Callable[[Section, list[str], Assets], dict[str, Any]]
WIDGET_DATA: dict[str, WidgetData] = {
    "stepper": stepper,
    "paths": paths,
    "embedding-map": embedding_map,
}
