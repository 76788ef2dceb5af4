"""The step-through viewer: one trajectory at a time, every step, with a picker (or a slider, for a
2-D explorer) for each parameter the sweep varies. stepper.html shows the finished picture without
JavaScript; stepper.js drives the frame from one state object."""

from __future__ import annotations

from typing import Any

from stepthrough.options import Choice, ListOf, Schema
from stepthrough.widgets.base import PARAMS, Widget, label, model_sizes, trajectory_entry

VIEWS = ("xt", "x0", "noise", "latent")


class StepperSettings(Schema):
    """Which views the reader may switch between, and which parameter (if any) gets a slider."""

    views = ListOf(Choice(VIEWS), ["xt", "x0", "noise"], unique="each view may be listed once")
    axis = Choice(tuple(PARAMS), None)  # this parameter as a second slider: a 2-D explorer (axis × step)


class Stepper(Widget):
    name = "stepper"
    settings = StepperSettings

    def data(self, section, trajectory_ids, assets) -> dict[str, Any]:
        """Trajectories with their parameters and frames; `params` lists each parameter's values in order."""
        settings = section.settings
        trajectories = [trajectory_entry(assets, tid, settings.views) for tid in trajectory_ids]
        params = {key: list(dict.fromkeys(t[key] for t in trajectories)) for key in PARAMS}
        return {
            "id": section.id,
            "trajectories": trajectories,
            "params": params,
            "labels": {key: [label(v) for v in values] for key, values in params.items()},
            "views": settings.views,
            "axis": settings.axis if settings.axis and len(params[settings.axis]) > 1 else None,
            "model": model_sizes(assets.manifest),
            "_pickers": list(PARAMS.items()),  # (parameter, label), for the template
        }


WIDGET = Stepper()
