"""The noise schedule record: ᾱ and σ of every step as the sampler's own diffusers scheduler held
them, recorded once per sampler and step count at precompute; the schedule widget's numbers come
from it and from nothing else."""

from __future__ import annotations

import math

import numpy as np
import pytest
from diffusers import DDIMScheduler, EulerDiscreteScheduler, FlowMatchEulerDiscreteScheduler
from tiny_model import TinyModel

from stepthrough.bundle import Schedule
from stepthrough.bundle.ids import SCHEDULERS, Job
from stepthrough.precompute.capture import render
from stepthrough.precompute.schedule import recorded
from stepthrough.widgets.schedule import noise_levels


@pytest.mark.parametrize("sampler", ["", *SCHEDULERS])
def test_the_record_is_the_alpha_bar_each_step_of_the_loop_used(sampler):
    # x̂0 = (x_t − √(1−ᾱ)·ε̂)/√ᾱ: the loop's own x̂0 (Heun: two evaluations a step) from the recorded ᾱ
    [rendered] = render(TinyModel(), [Job("red apple", 1, 4, 3.0, sampler=sampler)])
    schedule, t = rendered.schedule, rendered.tensors
    assert schedule.timesteps == rendered.timesteps and len(schedule.alpha_bar) == 5
    c, y, x = t.probe_at
    for k in range(4):
        a = schedule.alpha_bar[k]
        x0 = (rendered.latents[k, c, y, x] - math.sqrt(1 - a) * t.predictions[k, c, y, x]) / math.sqrt(a)
        assert x0 == pytest.approx(t.probe["x0"][k], rel=1e-4, abs=1e-4)
    assert schedule.alpha_bar[0] < schedule.alpha_bar[2] < schedule.alpha_bar[-1] == 1.0  # then the picture
    assert bool(schedule.sigma) == (sampler in ("euler", "dpm++2m", "heun"))  # the schedulers that keep σ
    assert bool(schedule.alpha_bar_prev) == (sampler in ("", "ddim"))  # DDIM's own update target


@pytest.mark.parametrize(
    "scheduler",
    [
        DDIMScheduler(beta_schedule="squaredcos_cap_v2", timestep_spacing="trailing", set_alpha_to_one=True),
        DDIMScheduler(
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule="scaled_linear",
            set_alpha_to_one=False,
            steps_offset=1,
        ),
        DDIMScheduler(beta_schedule="linear", rescale_betas_zero_snr=True, timestep_spacing="trailing"),
    ],
)
def test_ddim_levels_are_the_schedulers_own_alphas(scheduler):
    scheduler.set_timesteps(10)
    schedule = recorded(scheduler, scheduler.timesteps.tolist(), list(range(10)), flow_matching=False)
    alphas = scheduler.alphas_cumprod[scheduler.timesteps].double().numpy()
    final = scheduler.final_alpha_cumprod.item()
    np.testing.assert_allclose(schedule.alpha_bar, [*alphas, final], atol=1e-7)
    jump = 1000 // 10
    targets = [scheduler.alphas_cumprod[t - jump].item() if t >= jump else final for t in scheduler.timesteps]
    np.testing.assert_allclose(schedule.alpha_bar_prev, targets, atol=1e-7)
    picture, noise = noise_levels(schedule, flow=False)
    np.testing.assert_allclose(picture, np.sqrt([*alphas, final]), atol=2e-5)
    assert picture[0] < picture[5] < picture[-1] and noise[0] > noise[5] > noise[-1]


def test_euler_levels_are_its_sigmas_at_fractional_timesteps():
    scheduler = EulerDiscreteScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    scheduler.set_timesteps(7)
    assert any(t != round(t) for t in scheduler.timesteps.tolist())  # "linspace" spacing: fractional
    schedule = recorded(scheduler, scheduler.timesteps.tolist(), list(range(7)), flow_matching=False)
    sigmas = scheduler.sigmas.double().numpy()  # the last one is 0: the finished picture
    np.testing.assert_allclose(schedule.sigma, sigmas, atol=1e-7, rtol=1e-7)
    picture, noise = noise_levels(schedule, flow=False)
    np.testing.assert_allclose(picture, 1 / np.sqrt(1 + sigmas**2), atol=2e-4)
    np.testing.assert_allclose(np.square(picture) + np.square(noise), 1, atol=1e-9)


def test_flow_matching_levels_are_one_minus_sigma_and_sigma():
    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0)
    scheduler.set_timesteps(6)
    schedule = recorded(scheduler, scheduler.timesteps.tolist(), list(range(6)), flow_matching=True)
    assert schedule.alpha_bar == [] and len(schedule.sigma) == 7
    picture, noise = noise_levels(schedule, flow=True)
    np.testing.assert_allclose(noise, scheduler.sigmas.numpy(), atol=1e-5)
    np.testing.assert_allclose(np.add(picture, noise), 1, atol=1e-9)


def test_the_widget_draws_the_record_it_is_given():
    schedule = Schedule(timesteps=[900.0, 400.0], alpha_bar=[0.04, 0.64, 1.0], sigma=[])
    assert noise_levels(schedule, flow=False) == ([0.2, 0.8, 1.0], [math.sqrt(0.96), 0.6, 0.0])
