"""The step-through viewer: one trajectory at a time, every step, with a picker (or a slider, for a
2-D explorer) for each parameter the sweep varies. stepper.html shows the finished picture without
JavaScript; stepper.js drives the frame from one state object."""

from __future__ import annotations

from typing import Any

from stepthrough.bundle.ids import Job
from stepthrough.options import Choice, ListOf, Nested, Prompt, Schema, Seeds
from stepthrough.widgets.base import PARAMS, Widget, label, model_sizes, sweep_jobs, trajectory_entry

VIEWS = ("xt", "x0", "noise", "latent")


class RoomSeeds(Schema):
    """Seeds across the room: `#<section>?seed=room` gives each device one of these seeds for `prompt`."""

    prompt = Prompt()
    seeds = Seeds()  # rendered at the sweep's first step count and guidance


class StepperSettings(Schema):
    """Which views the reader may switch between, and which parameter (if any) gets a slider."""

    views = ListOf(Choice(VIEWS), ["xt", "x0", "noise"], unique="each view may be listed once")
    axis = Choice(tuple(PARAMS), None)  # this parameter as a second slider: a 2-D explorer (axis × step)
    room = Nested(RoomSeeds, None)


class Stepper(Widget):
    name = "stepper"
    settings = StepperSettings

    def jobs(self, sweep, settings) -> tuple[Job, ...]:
        """The sweep's trajectories, then the room's prompt from each of the room's seeds."""
        jobs = sweep_jobs(sweep)
        if settings.room is not None:
            steps, guidance = sweep.steps[0], float(sweep.guidance[0])
            jobs += tuple(Job(settings.room.prompt, seed, steps, guidance) for seed in settings.room.seeds)
        return tuple(dict.fromkeys(jobs))

    def data(self, section, trajectory_ids, assets) -> dict[str, Any]:
        """Trajectories with their parameters and frames; `params` lists each parameter's values in order."""
        settings = section.settings
        trajectories = [trajectory_entry(assets, tid, settings.views) for tid in trajectory_ids]
        # Prompts in the author's order; seeds and the other numbers in numeric order (a room's
        # seeds 0-31 after the sweep's 7 read 7, 0, 1, … in a picker otherwise).
        params = {key: list(dict.fromkeys(t[key] for t in trajectories)) for key in PARAMS}
        params |= {key: sorted(values) for key, values in params.items() if key != "prompt"}
        return {
            "id": section.id,
            "trajectories": trajectories,
            "params": params,
            "labels": {key: [label(v) for v in values] for key, values in params.items()},
            "views": settings.views,
            "axis": settings.axis if settings.axis and len(params[settings.axis]) > 1 else None,
            "model": model_sizes(assets.manifest),
            "room": settings.room
            and {"prompt": params["prompt"].index(settings.room.prompt), "seeds": settings.room.seeds},
            "_pickers": list(PARAMS.items()),  # (parameter, label), for the template
        }


WIDGET = Stepper()
