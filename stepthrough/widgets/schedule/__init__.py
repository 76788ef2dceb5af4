"""The noise schedule: how much picture and how much noise the canvas holds at each step of one
trajectory, for the model and scheduler in use (read from the bundle's scheduler record, computed
here without torch). schedule.html draws the two curves without JavaScript; schedule.js moves a
marker along them with a step slider, and follows a step-through viewer's step when told to."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from stepthrough.errors import StepthroughError
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
        trajectory = assets.manifest.trajectories[tid]
        scheduler = assets.manifest.scheduler
        try:
            picture, noise = noise_levels(scheduler, trajectory.timesteps)
        except ValueError as exc:
            raise StepthroughError(f"section {section.id} (widget: schedule): {exc}")
        flow = is_flow_matching(scheduler)
        return {
            "id": section.id,
            "trajectory": trajectory_entry(assets, tid),
            "picture": [round(v, 4) for v in picture],
            "noise": [round(v, 4) for v in noise],
            "flow": flow,
            "scheduler": scheduler["class"],
            "follow": section.settings.follow,
        }


def is_flow_matching(scheduler: dict[str, Any]) -> bool:
    return scheduler["class"].startswith("FlowMatch")


def noise_levels(scheduler: dict[str, Any], timesteps: list[float]) -> tuple[list[float], list[float]]:
    """Per frame (the canvas before each of the N steps, then the result), how much of the clean
    picture and how much noise it holds: √ᾱ_t and √(1−ᾱ_t) on a DDPM-style schedule, where
    x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·noise; 1−σ and σ for flow matching, where x_t = (1−σ)·x0 + σ·noise."""
    config = scheduler["config"]
    steps = np.asarray(timesteps, dtype=np.float64)
    if is_flow_matching(scheduler):
        sigma = steps / config.get("num_train_timesteps", 1000)
        return [*(1 - sigma).tolist(), 1.0], [*sigma.tolist(), 0.0]
    alphas_cumprod = _alphas_cumprod(config)
    if np.all(steps == np.round(steps)):
        keep = alphas_cumprod[steps.astype(int)]
    else:  # Euler-type schedulers may step at fractional timesteps: interpolate σ as they do
        clamped = np.maximum(alphas_cumprod, 2.0**-24)  # as Euler does where zero-SNR makes ᾱ 0
        sigmas = np.sqrt((1 - clamped) / clamped)
        keep = 1 / (1 + np.interp(steps, np.arange(len(sigmas)), sigmas) ** 2)
    # After the last step: DDIM lands on ᾱ = 1 (set_alpha_to_one) or on ᾱ at t = 0; Euler on σ = 0.
    ddim_at_zero = scheduler["class"] == "DDIMScheduler" and not config.get("set_alpha_to_one", True)
    final = alphas_cumprod[0] if ddim_at_zero else 1.0
    keep = np.append(keep, final)
    return np.sqrt(keep).tolist(), np.sqrt(1 - keep).tolist()


def _alphas_cumprod(config: dict[str, Any]) -> np.ndarray:
    """ᾱ at every training timestep, as diffusers' DDPM-family schedulers compute it from their config."""
    count = config.get("num_train_timesteps", 1000)
    start, end = config.get("beta_start", 0.0001), config.get("beta_end", 0.02)
    kind = config.get("beta_schedule", "linear")
    if config.get("trained_betas") is not None:
        betas = np.asarray(config["trained_betas"], dtype=np.float64)
    elif kind == "linear":
        betas = np.linspace(start, end, count, dtype=np.float64)
    elif kind == "scaled_linear":
        betas = np.linspace(start**0.5, end**0.5, count, dtype=np.float64) ** 2
    elif kind == "squaredcos_cap_v2":

        def alpha_bar(t: float) -> float:
            return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

        betas = np.array(
            [min(1 - alpha_bar((i + 1) / count) / alpha_bar(i / count), 0.999) for i in range(count)]
        )
    else:
        raise ValueError(f"the scheduler's beta_schedule {kind!r} is not one stepthrough can draw")
    alphas_cumprod = np.cumprod(1 - betas)
    if config.get("rescale_betas_zero_snr", False):  # the last timestep becomes pure noise
        root = np.sqrt(alphas_cumprod)
        root = (root - root[-1]) * root[0] / (root[0] - root[-1])
        alphas_cumprod = root**2
    return alphas_cumprod


WIDGET = Schedule()
