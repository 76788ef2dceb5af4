"""The reverse process: ~1,000 particles nudged from static into a shape by the project's tiny 2-D
diffusion model (stepthrough/particles/), which particles.js runs live in the page; no bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from stepthrough import cache
from stepthrough.options import Choice, ListOf, Number, Schema, Seed
from stepthrough.particles import sample as particles_model
from stepthrough.particles.shapes import SHAPE_NAMES
from stepthrough.widgets.base import Widget

SAMPLER_CODE = [Path(particles_model.__file__), Path(__file__)]  # what draws the still: a change redraws it
PARTICLES_VIEW = 1.5  # the particles canvas shows [-1.5, 1.5]²: the shapes fill ±1, start noise spills out


class ParticlesSettings(Schema):
    """The reverse-process particles: which shapes the reader may pick (the first is shown first)."""

    shapes = ListOf(Choice(SHAPE_NAMES), list(SHAPE_NAMES))
    count = Number(1000, low=100, high=3000, whole=True)
    steps = Number(40, low=5, high=200, whole=True)  # fewer blur the shape at high guidance
    guidance = Number(2.0, low=0, high=8, step=0.5)  # the slider moves in halves
    seed = Seed(0)


class Particles(Widget):
    name = "particles"
    settings = ParticlesSettings
    needs_sweep = False
    needs_bundle = False

    def data(self, section, trajectory_ids, assets) -> dict[str, Any]:
        """The model's weights and settings for the live sampler, plus the settled first shape for no-JS readers."""
        settings = section.settings
        weights = particles_model.load_weights_json()
        shape = settings.shapes[0]
        run = [shape, settings.seed, settings.count, settings.steps, settings.guidance]

        def still() -> str:
            model = particles_model.model_from_json(weights)
            return _dots_path(particles_model.sample(model, *run)[-1])

        # the same drawing every build (a third of a build's time): computed once per weights and code
        path = cache.remembered("particles-still", run, [particles_model.WEIGHTS, *SAMPLER_CODE], still)
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
                "position_directions": weights["position_directions"],
                "time_frequencies": weights["time_frequencies"],
                "layers": weights["layers"],
                "cosine_s": particles_model.COSINE_S,
                "min_alpha_bar": particles_model.MIN_ALPHA_BAR,
                "clip": particles_model.CLIP,
            },
        }
        return {"script": script, "still": {"shape": shape, "path": path}}


def _dots_path(points: np.ndarray) -> str:
    """Points as one SVG path of zero-length round-capped strokes (a dot each), y up, 2 decimals."""
    shown = points[(np.abs(points) <= PARTICLES_VIEW).all(axis=1)]
    return "".join(f"M{x:.2f} {-y:.2f}h0" for x, y in shown)


WIDGET = Particles()
