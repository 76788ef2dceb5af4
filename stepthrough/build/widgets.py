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
from stepthrough.particles import sample as particles_model
from stepthrough.precompute.bundle import Manifest

PARTICLES_VIEW = 1.5  # the particles canvas shows [-1.5, 1.5]²: the shapes fill ±1, start noise spills out


class Assets:
    """Copies bundle frames into the site once each, under content-hashed names."""

    def __init__(self, bundle_dir: Path, manifest: Manifest | None, site_dir: Path):
        self.bundle_dir, self.manifest, self.site_dir = bundle_dir, manifest, site_dir
        (site_dir / "assets" / "frames").mkdir(parents=True, exist_ok=True)

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
    trajectories = []
    for tid in trajectory_ids:
        t = assets.manifest.trajectories[tid]
        trajectories.append(
            {
                "prompt": t.prompt,
                "seed": t.seed,
                "steps": t.steps,
                "guidance": t.guidance,
                "views": assets.views(tid),
            }
        )
    params = {
        key: list(dict.fromkeys(t[key] for t in trajectories))
        for key in ("prompt", "seed", "steps", "guidance")
    }
    return {"id": section.id, "trajectories": trajectories, "params": params}


def particles(section: Section, trajectory_ids: list[str], assets: Assets) -> dict[str, Any]:
    """The model's weights and settings for the live sampler, plus the settled first shape for no-JS readers."""
    settings = section.settings
    weights = particles_model.load_weights_json()
    model = particles_model.model_from_json(weights)
    shape = settings.shapes[0]
    final = particles_model.sample(
        model, shape, settings.seed, settings.count, settings.steps, settings.guidance
    )[-1]
    script = {
        "id": section.id,
        "shapes": list(settings.shapes),
        "count": settings.count,
        "steps": settings.steps,
        "guidance": settings.guidance,
        "seed": settings.seed,
        "view": PARTICLES_VIEW,
        "model": {
            "shapes": weights["shapes"],
            "position_frequencies": weights["position_frequencies"],
            "time_frequencies": weights["time_frequencies"],
            "layers": weights["layers"],
            "cosine_s": particles_model.COSINE_S,
            "min_alpha_bar": particles_model.MIN_ALPHA_BAR,
            "clip": particles_model.CLIP,
        },
    }
    return {"script": script, "still": {"shape": shape, "path": _dots_path(final)}}


def _dots_path(points: Any) -> str:
    """Points as one SVG path of zero-length round-capped strokes (a dot each), y up, 2 decimals."""
    shown = points[(abs(points) <= PARTICLES_VIEW).all(axis=1)]
    return "".join(f"M{x:.2f} {-y:.2f}h0" for x, y in shown)


WidgetData = Callable[[Section, list[str], Assets], dict[str, Any]]
WIDGET_DATA: dict[str, WidgetData] = {
    "stepper": stepper,
    "particles": particles,
}
