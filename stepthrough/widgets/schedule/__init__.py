"""The noise schedule: how much picture and how much noise the canvas holds at each step of one
trajectory, for the model and scheduler in use (the bundle's schedule record: ᾱ or σ as the
sampler's own scheduler held them at each step). schedule.html draws the two curves without
JavaScript; schedule.js moves a marker along them with a step slider, and follows a step-through
viewer's step when told to."""

from __future__ import annotations

import math
from typing import Any

from stepthrough import bundle
from stepthrough.options import Schema, Text
from stepthrough.widgets.base import Widget, trajectory_entry


class ScheduleSettings(Schema):
    """Which step-through viewer (its section id) this widget follows, if any."""

    follow = Text(None, pattern=r"[a-z0-9][a-z0-9-]*", hint="a section id such as 'step-through'")


class Schedule(Widget):
    name = "schedule"
    settings = ScheduleSettings

    def data(self, section, trajectory_ids, assets) -> dict[str, Any]:
        """The first trajectory's frames and, per frame, the share of picture and of noise in it."""
        tid = trajectory_ids[0]
        manifest = assets.manifest
        flow = is_flow_matching(manifest.scheduler)
        picture, noise = noise_levels(manifest.schedule_of(manifest.trajectories[tid]), flow)
        return {
            "id": section.id,
            "trajectory": trajectory_entry(assets, tid),
            "picture": [round(v, 4) for v in picture],
            "noise": [round(v, 4) for v in noise],
            "flow": flow,
            "scheduler": manifest.scheduler["class"],
            "follow": section.settings.follow,
        }


def is_flow_matching(scheduler: dict[str, Any]) -> bool:
    return scheduler["class"].startswith("FlowMatch")


def noise_levels(schedule: bundle.Schedule, flow: bool) -> tuple[list[float], list[float]]:
    """Per frame (the canvas before each of the N steps, then the result), how much of the clean
    picture and how much noise it holds: √ᾱ_t and √(1−ᾱ_t) on a DDPM-style schedule, where
    x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·noise; 1−σ and σ for flow matching, where x_t = (1−σ)·x0 + σ·noise."""
    if flow:
        return [1 - s for s in schedule.sigma], list(schedule.sigma)
    return [math.sqrt(a) for a in schedule.alpha_bar], [math.sqrt(1 - a) for a in schedule.alpha_bar]


WIDGET = Schedule()
